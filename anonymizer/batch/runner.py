"""``anonymizer batch``: every recording under an inbox, once, isolated, resumable.

Order of work: refuse an inbox and outbox nested either way (before creating or deleting
anything), take the outbox's lock (one batch per outbox), remove what a killed run left
(temporary ``.NAME.part-*`` files, a plan or report whose MP4 never got published: only
those names, only regular files, only under the outbox), discover the recordings (links
and special files are ignored and listed), defer what is still being written (modified
within ``[batch] settle_s``, or an unfinished container), decide for each from the state
database (skip, retry, quota), run the rest on isolated workers (local processes or a
Dask cluster), record each outcome as it comes, print a summary. Outputs depend only on the input and the configuration
(the MP4 encoder is deterministic), so worker count and order do not matter.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer import audit
from anonymizer.batch.discover import Recording, discover
from anonymizer.batch.progress import Progress
from anonymizer.batch.state import FINAL, RETRYABLE, StateDB
from anonymizer.batch.worker import IsolatedWorker, Task, WorkerResult, WorkerSpec
from anonymizer.config import Config, parse_duration_s
from anonymizer.errors import ConfigError
from anonymizer.fsutil import fsync_dir, sha256_file
from anonymizer.ocr import cpu_threads

STATE_NAME = ".anonymizer-batch.sqlite"
LOCK_NAME = ".anonymizer-batch.lock"
_PART = re.compile(r"^\..+\.part-[0-9a-f]{8}(\.[A-Za-z0-9]+)?$")
_OUTPUT_SUFFIXES = (".mp4", ".plan.json", ".report.json")


@dataclass
class BatchOptions:
    inbox: Path
    outbox: Path
    config: Config
    roster: Path | None = None
    workers: int = 1
    cluster: str | None = None
    since_s: float | None = None
    asr_model: Path | None = None
    device: str = "auto"
    # In-process only (tests, benchmarks): a module-level function with
    # ``runtime.load_models``' signature; None loads the real models. Not a CLI option.
    models_factory: Callable[..., Any] | None = None


@dataclass
class Summary:
    inbox: str
    outbox: str
    files: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    quota: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, str]] = field(default_factory=list)  # still being written: tried again next run
    ignored: list[dict[str, str]] = field(default_factory=list)  # inbox entries not taken (links, special files)
    media_s: float = 0.0
    wall_s: float = 0.0
    cleaned: int = 0
    workers: int = 1
    cluster: str | None = None
    worker_rss_kb: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "inbox": self.inbox, "outbox": self.outbox, "files": self.files,
            "done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed), "quota_deferred": len(self.quota),
            "deferred": len(self.deferred), "ignored": len(self.ignored),
            "done_files": self.done, "skipped_files": self.skipped, "failures": self.failed, "quota_files": self.quota,
            "deferred_files": self.deferred, "ignored_files": self.ignored,
            "media_minutes": round(self.media_s / 60, 3), "wall_s": round(self.wall_s, 3),
            "real_time_factor": round(self.wall_s / self.media_s, 3) if self.media_s > 0 else None,
            "leftovers_removed": self.cleaned, "workers": self.workers, "cluster": self.cluster,
        }

    @property
    def ok(self) -> bool:
        return not self.failed


@contextlib.contextmanager
def outbox_lock(outbox: Path) -> Iterator[None]:
    fd = os.open(outbox / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError("another batch is running on this outbox", path=outbox) from exc
        yield
    finally:
        os.close(fd)


def clean_leftovers(outbox: Path, *, keep_out: tuple[Path, ...] = ()) -> int:
    """Remove what an interrupted run left under ``outbox``: temporary
    ``.NAME.part-XXXXXXXX`` files, and a ``NAME.anon.plan.json`` or ``NAME.anon.report.json``
    whose ``NAME.anon.mp4`` was never renamed into place. Only those names, only regular
    files (never a link), never in a folder under ``keep_out`` (the inbox, the quarantine)
    and never through a link to a folder. Returns how many files."""
    removed = 0
    outbox = Path(outbox).resolve()
    fences = [Path(k).resolve() for k in keep_out]
    for dirpath, dirnames, filenames in os.walk(outbox, followlinks=False):
        d = Path(dirpath)
        if any(d == f or d.is_relative_to(f) for f in fences):
            dirnames[:] = []
            continue
        for name in filenames:
            p = d / name
            orphan = False
            for suffix in (".plan.json", ".report.json"):
                if name.endswith(".anon" + suffix):
                    orphan = not (d / (name[: -len(suffix)] + ".mp4")).exists()
            if not (_PART.match(name) or orphan):
                continue
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(p.lstat().st_mode):
                    continue
                p.unlink()
                removed += 1
    return removed


def check_folders(inbox: Path, outbox: Path, quarantine: Path | None = None) -> None:
    """Refuse an inbox and an outbox that are the same folder or nested either way, and a
    quarantine inside the inbox (its MP4s would be discovered as recordings) or the outbox
    (the published tree: a quarantined MP4 still shows what it should hide), before
    anything is created or deleted. Compared after resolving links, so a link cannot hide
    the nesting."""
    i, o = Path(inbox).resolve(), Path(outbox).resolve()
    if i == o:
        raise ConfigError(f"the outbox must not be the inbox ({i})", path=outbox)
    if o.is_relative_to(i):
        raise ConfigError(f"the outbox must not be inside the inbox ({i})", path=outbox)
    if i.is_relative_to(o):
        raise ConfigError(f"the inbox must not be inside the outbox ({o})", path=inbox)
    if quarantine is not None and Path(quarantine).resolve().is_relative_to(i):
        raise ConfigError(f"the quarantine must not be inside the inbox ({i})", path=quarantine)
    if quarantine is not None and Path(quarantine).resolve().is_relative_to(o):
        raise ConfigError(f"the quarantine must not be inside the outbox ({o})", path=quarantine)


def config_hash(config: Config, roster: Path | None, asr_model: Path | None) -> str:
    parts = [config.processing_digest(), sha256_file(roster) if roster else "", str(asr_model or "")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _agent(rec: Recording) -> str | None:
    from anonymizer.sidecar import load_sidecar

    if rec.sidecar is None:
        return None
    try:
        return load_sidecar(rec.sidecar).agent_employee_id
    except ConfigError:
        return None  # the run will refuse the sidecar and say why


@dataclass
class _Item:
    rec: Recording
    input_hash: str
    agent: str | None


def _task(item: _Item, opts: BatchOptions) -> Task:
    stem = item.rec.output_stem(opts.outbox.resolve())
    stem.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    inbox = Path(opts.inbox).resolve()

    def under_inbox(p: Path) -> str:  # not p.resolve(): a link swapped in since discovery must not be followed
        return str(inbox / Path(p).relative_to(opts.inbox))

    return Task(video=under_inbox(item.rec.video), output=str(stem) + ".mp4",
                sidecar=under_inbox(item.rec.sidecar) if item.rec.sidecar else None,
                audio=under_inbox(item.rec.audio) if item.rec.audio else None,
                roster=str(Path(opts.roster).resolve()) if opts.roster else None)


def _remove_partials(output: str, status: str) -> str:
    """After a recording did not publish: remove its temporary files, a plan or report left
    without their MP4 (a worker killed between the renames), and, when the new result
    forbids publishing (refused, quarantined), a previous run's output of it. Returns a
    note for the summary."""
    out = Path(output)
    for p in out.parent.glob(f".{out.stem}.*.part-*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    trio = [out.with_name(out.stem + s) for s in _OUTPUT_SUFFIXES]
    report = trio[2]
    stale = False
    if report.exists():
        try:
            stale = not out.exists() or json.loads(report.read_text()).get("output", {}).get("sha256") != sha256_file(out)
        except (OSError, ValueError):
            stale = True
    if status in ("refused", "quarantined") and out.exists():
        for p in trio:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        fsync_dir(out.parent)
        return " (the output of an earlier run was withdrawn)"
    if stale:
        for p in trio[1:]:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return ""


def run_local(spec: WorkerSpec, items: Iterable[tuple[Any, Task]], *, workers: int, timeout_s: float,
              memory_mb: int) -> Iterator[tuple[Any, WorkerResult]]:
    """A pool of ``workers`` isolated child processes, each with its own model set."""
    if "ANONYMIZER_THREADS" not in os.environ:  # the workers share the cores (inherited by spawn)
        os.environ["ANONYMIZER_THREADS"] = str(max(1, cpu_threads() // max(1, workers)))
    pool: queue.Queue[IsolatedWorker] = queue.Queue()
    handles = [IsolatedWorker(spec, timeout_s=timeout_s, memory_mb=memory_mb) for _ in range(workers)]
    for h in handles:
        pool.put(h)

    def one(task: Task) -> WorkerResult:
        w = pool.get()
        try:
            return w.run(task)
        finally:
            pool.put(w)

    ex = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch")
    futures: dict[cf.Future[WorkerResult], Any] = {}
    try:
        futures = {ex.submit(one, task): item for item, task in items}
        for fut in cf.as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        for h in handles:
            h.stop()


def run_batch(opts: BatchOptions, *, progress: Progress | None = None, now: Callable[[], float] = time.time) -> Summary:
    """Process every recording under ``opts.inbox`` into ``opts.outbox``."""
    t0 = time.monotonic()
    inbox, outbox = Path(opts.inbox), Path(opts.outbox)
    if not inbox.is_dir():
        raise ConfigError("inbox is not a folder", path=inbox)
    if opts.models_factory is not None and not callable(opts.models_factory):
        raise ConfigError(f"models_factory is not a function: {opts.models_factory!r}")
    cfg = opts.config
    quarantine = cfg.policy.quarantine_path()
    check_folders(inbox, outbox, quarantine)
    if opts.roster is not None and not Path(opts.roster).is_file():
        raise ConfigError("roster file not found", path=opts.roster)
    outbox.mkdir(parents=True, exist_ok=True, mode=0o750)
    summary = Summary(inbox=str(inbox), outbox=str(outbox), workers=opts.workers, cluster=opts.cluster)
    with outbox_lock(outbox):
        summary.cleaned = clean_leftovers(outbox, keep_out=(inbox, quarantine))
        db = StateDB(outbox / STATE_NAME)
        try:
            _run(opts, cfg, db, summary, progress, now)
        finally:
            db.close()
    summary.wall_s = time.monotonic() - t0
    if cfg.policy.audit_log:
        audit.append(Path(cfg.policy.audit_log), "batch", os_user=audit.os_user_name(), inbox=str(inbox), outbox=str(outbox),
                     config_sha256=cfg.digest(), files=summary.files, done=len(summary.done), skipped=len(summary.skipped),
                     failed=len(summary.failed), quota_deferred=len(summary.quota))
    return summary


def _run(opts: BatchOptions, cfg: Config, db: StateDB, summary: Summary, progress: Progress | None,
         now: Callable[[], float]) -> None:
    chash = config_hash(cfg, opts.roster, opts.asr_model)
    todo = _schedule(opts, cfg, db, summary, chash, now)
    if progress is None:
        progress = Progress(len(todo), sum(i.rec.size for i in todo), enabled=False)
    else:
        progress.total_files, progress.total_bytes = len(todo), max(1, sum(i.rec.size for i in todo))
    if not todo:
        return
    spec = WorkerSpec(config=cfg, asr_model=str(opts.asr_model) if opts.asr_model else None, device=opts.device,
                      models_factory=opts.models_factory)
    tasks = [(item, _task(item, opts)) for item in todo]
    task_of = {id(item): task for item, task in tasks}
    runner = (run_local(spec, tasks, workers=opts.workers, timeout_s=cfg.batch.file_timeout_s, memory_mb=cfg.batch.memory_mb)
              if opts.cluster is None else
              _cluster(opts.cluster, spec, tasks, cfg))
    for item, result in runner:
        _record(item, result, task_of[id(item)], cfg, db, summary, chash, now)
        progress.update(item.rec.rel, result.status, item.rec.size, result.media_s, result.reason)


def _schedule(opts: BatchOptions, cfg: Config, db: StateDB, summary: Summary, chash: str,
              now: Callable[[], float]) -> list[_Item]:
    """The recordings to process now: settled, not a copy of another, not done or given up
    with these settings, within the agent's quota. The others go into ``summary``."""
    recs, ignored = discover(opts.inbox, since_s=opts.since_s, now=now())
    summary.ignored = [{"path": i.path, "reason": i.reason} for i in ignored]
    summary.files = len(recs)
    period_s = parse_duration_s(cfg.batch.quota_period) or 0.0
    quota = cfg.batch.quota_per_agent
    scheduled: dict[str | None, int] = {}
    seen: dict[str, str] = {}
    todo: list[_Item] = []
    for rec in recs:
        try:
            before = _stats(rec)
            why = _unsettled(before, now(), cfg.batch.settle_s)
            if why is None:
                ihash = rec.content_hash()
                why = "changed while being read (still being written?)" if _stats(rec) != before else None
        except OSError as exc:
            summary.failed.append({"path": rec.rel, "status": "bad_input", "exit_code": 3, "reason": f"cannot read: {exc.strerror}"})
            continue
        if why is not None:
            summary.deferred.append({"path": rec.rel, "reason": why})
            continue
        if ihash in seen:
            summary.skipped.append({"path": rec.rel, "reason": f"same content as {seen[ihash]}"})
            continue
        seen[ihash] = rec.rel
        prev = db.get(ihash, chash)
        if prev is not None and prev.status == "done":
            summary.skipped.append({"path": rec.rel, "reason": "done"})
            continue
        if prev is not None and (prev.status in FINAL or prev.attempts >= cfg.batch.max_attempts):
            why = "final" if prev.status in FINAL else f"gave up after {prev.attempts} attempts"
            summary.failed.append({"path": rec.rel, "status": prev.status, "exit_code": prev.exit_code,
                                   "reason": f"{prev.reason} (recorded earlier, {why})"})
            continue
        agent = _agent(rec)
        if quota > 0:
            counted = db.done_since(agent, now() - period_s)  # a reprocessing (new policy) is not one more
            used = len(counted) + scheduled.get(agent, 0)
            if ihash not in counted and used >= quota:
                summary.quota.append({"path": rec.rel, "agent_employee_id": agent,
                                      "reason": f"agent quota of {quota} per {cfg.batch.quota_period} reached"})
                continue
            if ihash not in counted:
                scheduled[agent] = scheduled.get(agent, 0) + 1
        todo.append(_Item(rec, ihash, agent))
    return todo


def _record(item: _Item, result: WorkerResult, task: Task, cfg: Config, db: StateDB, summary: Summary, chash: str,
            now: Callable[[], float]) -> None:
    """One recording's outcome into the state database, the summary and (for a worker that
    died before it could) the audit log. ``result`` is updated to what is recorded."""
    if result.status != "done":
        result.reason += _remove_partials(task.output, result.status)
    abandoned = _abandoned(item.rec, now(), cfg.batch.settle_s) if result.status == "deferred" else None
    if abandoned is not None:  # never finished: a failure someone must look at, not a wait
        result.status, result.exit_code = "bad_input", 3
        result.reason = f"{result.reason or 'incomplete container'}; {abandoned}"
    status = result.status
    if status == "deferred":  # an unfinished container: no outcome to remember, next run tries again
        summary.deferred.append({"path": item.rec.rel, "reason": result.reason})
        return
    db.record(item.input_hash, chash, path=item.rec.rel, status=status, reason=result.reason, exit_code=result.exit_code,
              agent_id=item.agent, media_s=result.media_s, output_sha256=result.output_sha256, now_epoch=now())
    if result.maxrss_kb is not None:
        summary.worker_rss_kb.append(result.maxrss_kb)
    if status == "done":
        summary.done.append(item.rec.rel)
        summary.media_s += result.media_s
        return
    summary.failed.append({"path": item.rec.rel, "status": status, "exit_code": result.exit_code, "reason": result.reason,
                           "retry": status in RETRYABLE})
    if status in ("crashed", "timeout", "memory") and cfg.policy.audit_log:
        # the child died before it could write its own audit record
        audit.record_run(Path(cfg.policy.audit_log), input=item.rec.video, output=task.output, config_sha256=cfg.digest(),
                         result="failed", reason=result.reason, exit_code=result.exit_code)


def _stats(rec: Recording) -> list[tuple[int, int]]:
    """(size, mtime in ns) of each of the recording's files, links not followed."""
    return [(st.st_size, st.st_mtime_ns) for st in (p.lstat() for p in rec.files())]


# An unfinished container is waited for (the recorder may still be writing it) until it has
# not changed for this long, or ten times [batch] settle_s if that is longer: then its
# recorder is gone, and the night's batch reports it (bad_input, exit 7) instead of deferring it forever.
ABANDONED_S = 86400.0


def _abandoned(rec: Recording, now_s: float, settle_s: float) -> str | None:
    """Why an unfinished recording is no longer waited for, or None while it may still grow."""
    try:
        age_s = now_s - max(mtime_ns for _, mtime_ns in _stats(rec)) / 1e9
    except (OSError, ValueError):
        return None
    if age_s < max(ABANDONED_S, 10 * settle_s):
        return None
    return (f"unchanged for {age_s / 3600:.0f} h, so its recorder will not finish it: if the recording is whole, remux it "
            f"(ffmpeg -i {rec.video.name} -c copy fixed.mp4) and put that in the inbox; else remove it")


def _unsettled(stats: list[tuple[int, int]], now_s: float, settle_s: float) -> str | None:
    """Why a recording must wait: one of its files was modified less than ``settle_s``
    ago (a recorder or a copy may still be writing it), or in the future."""
    newest_s = max(m for _, m in stats) / 1e9
    age_s = now_s - newest_s
    if age_s < 0:
        return f"modified {-age_s:.0f} s in the future (clock skew?): waiting until it has settled"
    if age_s < settle_s:
        return f"modified {age_s:.0f} s ago, within [batch] settle_s = {settle_s:g} s: still being written?"
    return None


def _cluster(address: str, spec: WorkerSpec, tasks: list[tuple[_Item, Task]], cfg: Config) -> Iterator[tuple[Any, WorkerResult]]:
    from anonymizer.batch.cluster import run_on_cluster

    return run_on_cluster(address, spec, tasks, timeout_s=cfg.batch.file_timeout_s, memory_mb=cfg.batch.memory_mb)
