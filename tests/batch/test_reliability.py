"""Reliability at test size (full size: ``python -m benchmarks.batch_reliability``):
corrupt inputs, SIGKILL at random moments, memory over many files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import psutil

from anonymizer.batch import BatchOptions, run_batch
from anonymizer.batch.runner import STATE_NAME
from anonymizer.config import load_config
from benchmarks.batch_mutate import KINDS, mutate
from benchmarks.corpus import RecordingPaths
from tests.batch.conftest import FAST, batch_args, leftovers, make_inbox, output_hashes, run_batch_cli, write_policy
from tests.conftest import ROOT


def test_corrupt_inputs_never_crash_the_batch_nor_publish(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    kinds = mutate([s.video for s in seeds[:3]], inbox, n=216, seed=1)
    assert len(kinds) >= 200 and set(kinds.values()) == set(KINDS)
    proc, s = run_batch_cli(inbox, out, write_policy(tmp_path / "p.toml"), workers=2)
    assert proc.returncode == 7 and s["files"] == len(kinds)  # finished, and says some failed
    failed = {f["path"]: f for f in s["failures"]}
    skipped = {k["path"]: k for k in s["skipped_files"]}
    assert set(failed) | set(s["done_files"]) | set(skipped) == set(kinds), "every file has a status"
    assert all(f["reason"] and f["status"] in ("bad_input", "failed", "refused", "crashed", "memory", "timeout")
               for f in failed.values())
    assert all(k["reason"].startswith("same content as ") for k in skipped.values())  # e.g. the zero-length ones
    assert {k for k, v in kinds.items() if v in ("zero_length", "not_media", "truncate_header")} <= set(failed) | set(skipped)
    published = output_hashes(out)
    for name in failed:
        stem = Path(name).stem
        assert not any((out / f"{stem}.anon{x}").exists() for x in (".mp4", ".plan.json", ".report.json")), name
    assert len(published) == len(s["done_files"])
    assert leftovers(out) == []


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_sigkill_at_random_moments_leaves_no_partial_output(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, ref, out = tmp_path / "in", tmp_path / "ref", tmp_path / "out"
    make_inbox(inbox, seeds[:8])
    policy = write_policy(tmp_path / "p.toml")
    t0 = time.monotonic()
    first_output: float | None = None
    with subprocess.Popen(batch_args(inbox, ref, policy, workers=1), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as p:
        while p.poll() is None:
            if first_output is None and any(ref.rglob("*.anon.mp4")):
                first_output = time.monotonic() - t0
            time.sleep(0.05)
    total = time.monotonic() - t0
    expected = output_hashes(ref)
    assert len(expected) == 8 and first_output is not None

    rng = random.Random(7)
    interrupted = 0
    for k in range(20):
        # every other kill lands while recordings are being processed, the rest anywhere
        delay = rng.uniform(0.05, total) if k % 2 else rng.uniform(first_output * 0.9, total)
        proc = subprocess.Popen(batch_args(inbox, out, policy, workers=2), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)  # the batch first, then its workers
        for c in children:
            try:
                c.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        interrupted += proc.wait() == -signal.SIGKILL
        psutil.wait_procs(children, timeout=10)
        got = output_hashes(out)
        assert all(got[rel] == expected[rel] for rel in got), f"kill {k}: an output at its final path is not complete"
        for report in out.rglob("*.anon.report.json"):
            json.loads(report.read_text())  # complete, parseable
    assert interrupted >= 15
    proc2, s = run_batch_cli(inbox, out, policy, workers=2)
    assert proc2.returncode == 0 and s["done"] + s["skipped"] == 8
    assert output_hashes(out) == expected
    assert leftovers(out) == []
    assert not [r for r in out.rglob("*.anon.report.json") if not r.with_name(r.name.replace(".report.json", ".mp4")).exists()]


def test_worker_memory_stays_flat_over_50_files(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:10], copies=5)
    cfg = load_config(write_policy(tmp_path / "p.toml"))
    s = run_batch(BatchOptions(inbox=inbox, outbox=out, config=cfg, workers=1, models_factory=FAST))
    assert len(s.done) == 50 and s.ok
    peaks = s.worker_rss_kb  # the worker's peak RSS after each file, in order
    assert len(peaks) == 50
    assert peaks[-1] <= 1.10 * peaks[4], (peaks[4], peaks[-1])
    assert (out / STATE_NAME).is_file() and os.path.getsize(out / STATE_NAME) > 0
