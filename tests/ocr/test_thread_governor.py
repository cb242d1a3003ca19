"""The thread governor (anonymizer.ocr.ThreadGovernor): torch's CPU threads follow the cores
that other processes leave free, measured from /proc, never below 1 or above the ceiling."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from anonymizer.ocr import ThreadGovernor


def _scripted(samples: list[tuple[float, int, int]], ceiling: int = 2, cpus: int = 2) -> tuple[ThreadGovernor, list[int]]:
    set_to: list[int] = []
    g = ThreadGovernor(ceiling, interval_s=0.0, setter=set_to.append)
    g._cpus = list(range(cpus))
    g._tick = 100
    it = iter(samples)
    g._sample = lambda: next(it)  # type: ignore[method-assign]
    return g, set_to


def test_threads_follow_the_cores_others_leave() -> None:
    # (time s, busy jiffies of the CPUs, this process's jiffies); 100 jiffies a second
    g, set_to = _scripted([(0.0, 0, 0), (1.0, 200, 190), (2.0, 400, 290), (3.0, 600, 390), (4.0, 790, 580)])
    assert g.tick() == 2  # the first look only starts the window
    assert g.tick() == 2 and g.others == pytest.approx(0.1)  # busy 2 cores, 1.9 of them ours
    assert g.tick() == 1 and g.others == pytest.approx(1.0)  # another process took a core
    assert g.tick() == 1
    assert g.tick() == 2  # it stopped: ours is all the busy time again
    assert set_to == [1, 2] and g.changes == 2


def test_never_below_one_nor_above_the_ceiling() -> None:
    g, set_to = _scripted([(0.0, 0, 0), (1.0, 800, 0), (2.0, 800, 0)], ceiling=3, cpus=4)
    assert g.tick() == 3
    assert g.tick() == 1  # all 4 cores were busy with others (more than the CPUs: clamped)
    assert g.tick() == 3  # an idle host: the ceiling, not the 4 CPUs
    assert set_to == [1, 3]
    g2, _ = _scripted([(0.0, 0, 0), (1.0, 0, 0)])
    g2._sample = lambda: None  # type: ignore[method-assign]
    assert g2.tick() == 2  # /proc unreadable: the idle behaviour


@pytest.mark.skipif(not os.path.exists("/proc/stat") or not hasattr(os, "sched_getaffinity"), reason="needs Linux /proc")
def test_a_real_busy_loop_on_every_other_core_leaves_one_thread() -> None:
    cpus = len(os.sched_getaffinity(0))
    set_to: list[int] = []
    g = ThreadGovernor(cpus, interval_s=0.0, setter=set_to.append)
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpus)]
    try:
        time.sleep(0.5)
        g.tick()
        time.sleep(1.5)
        assert g.tick() == 1, g.others
        assert g.others is not None and g.others > cpus - 0.6
    finally:
        for p in loops:
            p.kill()
            p.wait()
