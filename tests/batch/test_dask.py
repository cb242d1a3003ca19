"""Scale-out: a real ``dask scheduler`` and two ``dask worker`` processes on loopback; the
cluster's outputs are byte for byte the local run's."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.corpus import RecordingPaths
from tests.batch.conftest import make_inbox, output_hashes, run_batch_cli, write_policy
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "dask.log"
    with open(log, "w") as f:
        procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], cwd=ROOT, stdout=f, stderr=f)]
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                assert time.monotonic() < deadline and procs[0].poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
            for i in range(2):
                procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                                               "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}"],
                                              cwd=ROOT, stdout=f, stderr=f))
            from distributed import Client

            with Client(address, timeout="60s") as client:
                client.wait_for_workers(2, timeout=120)
            yield address
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


def test_dask_cluster_matches_local_run(seeds: list[RecordingPaths], tmp_path: Path, dask_cluster: str) -> None:
    inbox = tmp_path / "in"
    make_inbox(inbox, seeds[:20])
    policy = write_policy(tmp_path / "p.toml")
    proc, local = run_batch_cli(inbox, tmp_path / "local", policy, workers=1)
    assert proc.returncode == 0 and local["done"] == 20
    proc, remote = run_batch_cli(inbox, tmp_path / "dask", policy, "--cluster", dask_cluster)
    assert proc.returncode == 0 and remote["done"] == 20 and remote["cluster"] == dask_cluster, proc.stderr[-2000:]
    assert output_hashes(tmp_path / "dask") == output_hashes(tmp_path / "local")
    # a rerun through the cluster finds everything done
    _, again = run_batch_cli(inbox, tmp_path / "dask", policy, "--cluster", dask_cluster)
    assert again["done"] == 0 and again["skipped"] == 20
