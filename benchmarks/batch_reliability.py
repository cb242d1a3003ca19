"""Batch reliability at full size: corrupt inputs, SIGKILLs at random moments, memory over
many files, a Dask cluster against the local run. Prints the figures.

    python -m benchmarks.batch_reliability [--mutated 1000] [--kills 50] [--memory 50] [--dask 20]
        [--workers 2] [--models-factory tests.batch.fakes:load_models] [--work DIR]

The test suite (tests/batch/) runs the same functions at test size. The default model set
is the tests' fast OCR (the batch machinery is what is measured); pass
``--models-factory anonymizer.pipeline:load_models`` for the real models (slow on CPU).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psutil

from benchmarks.batch_mutate import mutate
from benchmarks.corpus import RecordingPaths, generate

ROOT = Path(__file__).resolve().parent.parent
FAST = "tests.batch.fakes:load_models"
POLICY = '[audio]\nrequired = false\n[detect]\nlanguages = ["en"]\n'


def seeds(out_dir: Path, n: int) -> list[RecordingPaths]:
    """``n`` distinct tiny recordings (320x180, 1 s, 5 fps, no audio)."""
    return [generate(out_dir, name=f"seed{i:02d}", width=320, height=180, duration_s=1.0, fps=5.0, seed=100 + i, audio=False)
            for i in range(n)]


def make_inbox(inbox: Path, recordings: Sequence[RecordingPaths], *, copies: int = 1, agent: str | None = None,
               folders: bool = True) -> list[Path]:
    """Copy recordings (and their sidecars, one call id per copy) into ``inbox``. Copies of
    one video differ by their sidecar, so each is its own piece of work."""
    out = []
    for i, rec in enumerate(recordings):
        for c in range(copies):
            sub = inbox / (f"team{i % 2}" if folders else "")
            sub.mkdir(parents=True, exist_ok=True)
            video = sub / f"call{i:02d}_{c:02d}.mp4"
            shutil.copyfile(rec.video, video)
            side = json.loads(rec.sidecar.read_text())
            side["call_id"] = f"{rec.video.stem}-{c}"
            if agent is not None:
                side["agent_employee_id"] = agent
            (sub / f"{video.stem}.sidecar.json").write_text(json.dumps(side))
            out.append(video)
    return out


def write_policy(path: Path, extra: str = "") -> Path:
    text = POLICY + extra
    if "settle_s" not in text:  # the recordings were copied a moment ago: do not wait for them to settle
        text = text.replace("[batch]\n", "[batch]\nsettle_s = 0\n", 1) if "[batch]\n" in text else text + "[batch]\nsettle_s = 0\n"
    path.write_text(text)
    return path


def batch_args(inbox: Path, outbox: Path, policy: Path, *extra: str, factory: str = FAST, workers: int = 1) -> list[str]:
    # the production CLI has no --models-factory: the test tree's harness passes the factory in-process
    return [sys.executable, "-m", "tests.batch.cli", factory, "batch", str(inbox), "--out", str(outbox), "--policy", str(policy),
            "--workers", str(workers), "--json", *extra]


def run_cli(inbox: Path, outbox: Path, policy: Path, *extra: str, factory: str = FAST, workers: int = 1,
            timeout: float = 3600) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``anonymizer batch`` as cron would; (process, parsed --json summary)."""
    proc = subprocess.run(batch_args(inbox, outbox, policy, *extra, factory=factory, workers=workers),
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    if proc.returncode not in (0, 7):
        raise RuntimeError(f"batch exited {proc.returncode}: {proc.stderr[-3000:]}")
    return proc, json.loads(proc.stdout)


def output_hashes(outbox: Path) -> dict[str, str]:
    """sha256 of every published MP4, by path relative to the outbox."""
    from anonymizer.fsutil import sha256_file

    return {p.relative_to(outbox).as_posix(): sha256_file(p) for p in sorted(outbox.rglob("*.anon.mp4"))
            if "quarantine" not in p.parts}


def leftovers(outbox: Path) -> list[Path]:
    return list(outbox.rglob(".*.part-*"))


def corrupt(seed_videos: Sequence[Path], work: Path, *, n: int, workers: int, factory: str = FAST) -> dict[str, Any]:
    """``n`` mutated files through one batch."""
    inbox, out = work / "corrupt-in", work / "corrupt-out"
    kinds = mutate(seed_videos, inbox, n=n, seed=1)
    t0 = time.monotonic()
    proc, s = run_cli(inbox, out, write_policy(work / "corrupt.toml"), workers=workers, factory=factory)
    failed = {f["path"]: f for f in s["failures"]}
    skipped = {k["path"]: k for k in s["skipped_files"]}
    deferred = {k["path"]: k for k in s["deferred_files"]}  # an unfinished-looking container: not published either
    published_from_failed = [name for name in failed
                             if any((out / f"{Path(name).stem}.anon{x}").exists() for x in (".mp4", ".plan.json", ".report.json"))]
    return {
        "files": len(kinds), "kinds": dict(collections.Counter(kinds.values())), "exit_code": proc.returncode,
        "done": len(s["done_files"]), "failed": len(failed), "duplicates": len(skipped),
        "statuses": dict(collections.Counter(f["status"] for f in failed.values())),
        "deferred": len(deferred),
        "without_status": sorted(set(kinds) - set(failed) - set(s["done_files"]) - set(skipped) - set(deferred)),
        "without_reason": sorted(k for k, f in failed.items() if not f["reason"]),
        "internal_errors": sorted(f"{k}: {f['reason']}" for k, f in failed.items() if f["exit_code"] == 1),
        "published_from_failed": published_from_failed, "published": len(output_hashes(out)),
        "leftovers": len(leftovers(out)), "wall_s": round(time.monotonic() - t0, 1), "summary": s, "kinds_by_file": kinds,
    }


def _kill_tree(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """SIGKILL the batch first, then its workers (as a crash or `kill -9` of the group would)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.send_signal(signal.SIGKILL)
    for c in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            c.send_signal(signal.SIGKILL)
    return children


def kills(inbox: Path, work: Path, *, n: int, workers: int, factory: str = FAST, seed: int = 7) -> dict[str, Any]:
    """An uninterrupted one-worker reference run, then ``n`` runs SIGKILLed at random
    moments (every other one while recordings are being processed), then a run to the end
    with ``workers`` workers (so the outputs are also shown not to depend on the count)."""
    ref, out = work / "kills-ref", work / "kills-out"
    policy = write_policy(work / "kills.toml")
    t0 = time.monotonic()
    first: float | None = None
    with subprocess.Popen(batch_args(inbox, ref, policy, workers=1, factory=factory), cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as p:
        while p.poll() is None:
            if first is None and any(ref.rglob("*.anon.mp4")):
                first = time.monotonic() - t0
            time.sleep(0.05)
    total = time.monotonic() - t0
    first = total if first is None else first
    expected = output_hashes(ref)
    per_file = max(0.05, (total - first) / max(1, len(expected)))
    rng = random.Random(seed)
    interrupted = incomplete = rounds = 0
    outputs_seen = []
    for k in range(n):
        if len(output_hashes(out)) == len(expected):  # all done: check, then start over so every kill has work to hit
            rounds += 1
            incomplete += output_hashes(out) != expected
            shutil.rmtree(out)
        before = set(output_hashes(out)) if out.exists() else set()
        proc = subprocess.Popen(batch_args(inbox, out, policy, workers=1 + k % workers, factory=factory), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if k % 2:  # anywhere: start-up, discovery, model loading, processing
            time.sleep(rng.uniform(0.05, total))
        else:  # while recordings are being processed: just after one was published, plus a random part of the next
            deadline = time.monotonic() + 2 * total
            while proc.poll() is None and time.monotonic() < deadline and not (set(output_hashes(out)) - before if out.exists() else set()):
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, per_file))
        children = _kill_tree(proc)
        interrupted += proc.wait() == -signal.SIGKILL
        psutil.wait_procs(children, timeout=10)
        got = output_hashes(out) if out.exists() else {}
        outputs_seen.append(len(got))
        incomplete += sum(got[rel] != expected.get(rel) for rel in got)
        for report in out.rglob("*.anon.report.json"):
            try:
                json.loads(report.read_text())
            except ValueError:
                incomplete += 1
    proc2, s = run_cli(inbox, out, policy, workers=workers, factory=factory)
    final = output_hashes(out)
    return {
        "kills": n, "interrupted": interrupted, "partial_at_final_path": incomplete, "outputs_after_each_kill": outputs_seen,
        "completed_and_restarted": rounds,
        "final_exit_code": proc2.returncode, "final_done_or_skipped": s["done"] + s["skipped"],
        "final_equals_uninterrupted": final == expected, "recordings": len(expected), "leftovers": len(leftovers(out)),
        "reports_without_mp4": sum(not r.with_name(r.name.replace(".report.json", ".mp4")).exists()
                                   for r in out.rglob("*.anon.report.json")),
        "reference_run_s": round(total, 2),
    }


def memory(inbox: Path, work: Path, *, factory: str = FAST) -> dict[str, Any]:
    """Every recording of ``inbox`` through one worker; its peak RSS after each file."""
    from anonymizer.batch import BatchOptions, run_batch
    from anonymizer.config import load_config
    from tests.batch.cli import resolve

    cfg = load_config(write_policy(work / "memory.toml"))
    s = run_batch(BatchOptions(inbox=inbox, outbox=work / "memory-out", config=cfg, workers=1, models_factory=resolve(factory)))
    peaks = s.worker_rss_kb
    warm = peaks[min(4, len(peaks) - 1)] if peaks else 0
    return {"files": len(s.done), "failed": len(s.failed), "peak_rss_kb": peaks, "warm_kb": warm,
            "last_kb": peaks[-1] if peaks else 0, "growth": round(peaks[-1] / warm - 1, 4) if warm else None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dask_cluster(log: Path, workers: int = 2) -> Iterator[str]:
    """A real ``dask scheduler`` and ``workers`` ``dask worker`` processes on loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    with open(log, "w") as f:
        procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], cwd=ROOT, stdout=f, stderr=f)]
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError(f"dask scheduler did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            for i in range(workers):
                procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                                               "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}"],
                                              cwd=ROOT, stdout=f, stderr=f))
            from distributed import Client

            with Client(address, timeout="60s") as client:
                client.wait_for_workers(workers, timeout=120)
            yield address
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


def dask_vs_local(inbox: Path, work: Path, *, workers: int = 2, factory: str = FAST) -> dict[str, Any]:
    policy = write_policy(work / "dask.toml")
    t0 = time.monotonic()
    _, local = run_cli(inbox, work / "dask-local", policy, workers=1, factory=factory)
    t_local = time.monotonic() - t0
    with dask_cluster(work / "dask.log", workers) as address:
        t0 = time.monotonic()
        _, remote = run_cli(inbox, work / "dask-out", policy, "--cluster", address, factory=factory)
        t_remote = time.monotonic() - t0
        _, again = run_cli(inbox, work / "dask-out", policy, "--cluster", address, factory=factory)
    return {"recordings": local["files"], "local_done": local["done"], "dask_done": remote["done"],
            "hashes_equal": output_hashes(work / "dask-out") == output_hashes(work / "dask-local"),
            "rerun_done": again["done"], "rerun_skipped": again["skipped"], "cluster": remote["cluster"],
            "local_1_worker_s": round(t_local, 1), "dask_2_workers_s": round(t_remote, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batch_reliability", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mutated", type=int, default=1000)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--memory", type=int, default=50, help="files in a row through one worker")
    ap.add_argument("--dask", type=int, default=20, help="recordings for the Dask run (0: skip)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models-factory", default=FAST)
    ap.add_argument("--work", type=Path, help="keep everything here (default: a temporary folder)")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="batch-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    recs = seeds(work / "seeds", 20)
    print(f"work folder: {work}")

    def show(name: str, fig: dict[str, Any]) -> None:
        print(f"\n== {name}")
        for k, v in fig.items():
            if k not in ("summary", "kinds_by_file", "peak_rss_kb"):
                print(f"  {k}: {v}")

    if args.mutated:
        c = corrupt([r.video for r in recs[:5]], work, n=args.mutated, workers=args.workers, factory=args.models_factory)
        show(f"corrupt inputs ({args.mutated} mutated files)", c)
    if args.kills:
        make_inbox(work / "kills-in", recs[:8])
        show(f"SIGKILL at {args.kills} random moments", kills(work / "kills-in", work, n=args.kills, workers=args.workers,
                                                               factory=args.models_factory))
    if args.memory:
        make_inbox(work / "memory-in", recs, copies=max(1, -(-args.memory // len(recs))))
        for extra in sorted((work / "memory-in").rglob("*.mp4"))[args.memory:]:
            extra.unlink()
        show(f"memory over {args.memory} files", memory(work / "memory-in", work, factory=args.models_factory))
    if args.dask:
        make_inbox(work / "dask-in", recs[: args.dask])
        show(f"Dask (2 workers) vs local over {args.dask} recordings", dask_vs_local(work / "dask-in", work,
                                                                                    factory=args.models_factory))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())
