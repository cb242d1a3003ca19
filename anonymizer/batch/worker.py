"""Each recording runs in an isolated worker process; the batch survives whatever kills it.

Why a long-lived child rather than one process per file: loading EasyOCR, Whisper and
spaCy costs seconds to tens of seconds, so a worker loads one model set once (on the device
the batch resolved at start, ``anonymizer.runtime``) and then takes recordings one at a time. Why a child at all: a decoder may
segfault on a truncated file, a hostile header may ask for absurd memory, a stage may hang.
The parent (``IsolatedWorker``) enforces, per recording:

* a wall-time limit (``[batch] file_timeout_s``, counted from when the worker is ready, so
  model loading does not eat into the first file's time);
* a memory cap (``[batch] memory_mb``): the parent polls the child's resident memory and
  kills it past the cap; on CPU the child also sets ``RLIMIT_AS`` to what it had after
  loading its models plus the cap, so a sudden huge allocation fails at once inside the
  child instead of dragging the host into swap (not on CUDA, whose driver reserves huge
  address ranges);
* a crash (any signal) kills that child only: the recording is recorded as failed with
  the signal's name, a fresh worker is started for the next one.

The child asks Linux to SIGKILL it when the parent dies (``PR_SET_PDEATHSIG``), so killing
a batch never leaves an orphan writing into the outbox behind the next run's back.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import stat
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from anonymizer.config import Config
from anonymizer.errors import AnonymizerError, ConfigError, IncompleteInputError, InputError, PolicyRefusal, VerificationError

READY_TIMEOUT_S = 900.0  # loading the models on a busy host
_POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to load its models (picklable: it crosses to the child)."""

    config: Config
    asr_model: str | None = None
    # "cpu" or "cuda:N", as the batch resolved it (``config.runtime.device``); "auto": the
    # config's device. A worker that cannot run it, or the config's encoder, refuses to start.
    device: str = "auto"
    # A module-level function with ``runtime.load_models``' signature (None: that one).
    # A callable, never a name to import: nothing on the command line or in the
    # environment can make a worker load code (issue 15, 11). Tests pass fakes in-process.
    models_factory: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Task:
    """One recording; paths as strings (they cross processes and hosts)."""

    video: str
    output: str
    sidecar: str | None = None
    audio: str | None = None
    roster: str | None = None


@dataclass
class WorkerResult:
    """What one recording came to, as its worker reports it (it crosses the child's pipe
    and Dask). ``status`` is ``done`` or a failure status of :func:`classify` (or
    ``crashed``, ``timeout``, ``memory`` when the parent had to stop the child)."""

    status: str
    exit_code: int
    reason: str = ""
    output_sha256: str | None = None
    media_s: float = 0.0
    wall_s: float | None = None
    pid: int | None = None
    rss_kb: int | None = None
    maxrss_kb: int | None = None  # the child's peak resident memory
    host: str | None = None  # the Dask worker's host

    @classmethod
    def failure(cls, status: str, reason: str) -> WorkerResult:
        return cls(status=status, exit_code=4 if status in ("timeout", "memory") else 1, reason=reason)


def classify(exc: BaseException) -> tuple[str, int]:
    """(status, exit code) for an exception raised while processing one recording."""
    if isinstance(exc, MemoryError):
        return "memory", 4
    if isinstance(exc, VerificationError):
        return "quarantined", exc.exit_code
    if isinstance(exc, IncompleteInputError):  # still being written: the batch tries again next run
        return "deferred", exc.exit_code
    if isinstance(exc, PolicyRefusal):
        return "refused", exc.exit_code
    if isinstance(exc, InputError):
        return "bad_input", exc.exit_code
    if isinstance(exc, ConfigError):
        return "bad_config", exc.exit_code
    if isinstance(exc, AnonymizerError):
        return "failed", exc.exit_code
    return "failed", 1


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (0 when gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _vm_size_bytes() -> int:
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


class Loaded:
    """A worker's model set, loaded once (used in the child and by Dask workers)."""

    def __init__(self, spec: WorkerSpec) -> None:
        from anonymizer.detect import Detector
        from anonymizer.runtime import check_runtime

        self.spec = spec
        # Probed again here: a Dask worker's host is not the one that resolved the device.
        self.device = check_runtime(spec.config, spec.device).device
        self.gpu = self.device != "cpu"
        if spec.models_factory is None:
            from anonymizer.runtime import load_models as factory
        else:
            factory = spec.models_factory
        self.models = factory(spec.config, asr_model=Path(spec.asr_model) if spec.asr_model else None, device=self.device, need_audio=True)
        Detector(spec.config.detect)  # loads spaCy/Presidio now (cached per process), not in the first file's time

    def process(self, task: Task) -> WorkerResult:
        """Run one recording; never raises (except on interpreter exit)."""
        from anonymizer import pipeline

        t0 = time.monotonic()
        out = WorkerResult(status="done", exit_code=0)
        try:
            for p in (task.video, task.sidecar, task.audio):
                _still_where_found(p)
            job = pipeline.Job(input=Path(task.video), output=Path(task.output), config=self.spec.config,
                               roster=Path(task.roster) if task.roster else None,
                               sidecar=Path(task.sidecar) if task.sidecar else None,
                               audio=Path(task.audio) if task.audio else None,
                               asr_model=Path(self.spec.asr_model) if self.spec.asr_model else None)
            report = pipeline.run(job, self.models).report
            out.output_sha256 = report.output.sha256
            out.media_s = float(report.input.duration_s or 0.0)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded status
            out.status, out.exit_code = classify(exc)
            out.reason = (str(exc) or type(exc).__name__) if isinstance(exc, AnonymizerError) else f"{type(exc).__name__}: {exc}"
        out.wall_s = time.monotonic() - t0
        out.pid = os.getpid()
        out.rss_kb = rss_kb(os.getpid())
        out.maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return out


def _still_where_found(path: str | None) -> None:
    """The batch found ``path`` as a regular file under the inbox, no link on the way; it
    must still be one now, just before it is read (it could have been swapped for a link)."""
    if path is None:
        return
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise InputError(f"cannot be read any more: {exc.strerror}", path=path) from exc
    if not stat.S_ISREG(st.st_mode) or os.path.realpath(path) != os.path.abspath(path):
        raise InputError("was replaced by a symbolic link or a non-regular file after discovery; not read", path=path)


def _child_main(conn: Connection, spec: WorkerSpec, memory_mb: int) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)
    try:
        loaded = Loaded(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the batch
        status, code = classify(exc)
        conn.send({"ready": False, "status": status, "exit_code": code, "reason": str(exc) or type(exc).__name__})
        return
    if not loaded.gpu:
        limit = _vm_size_bytes() + memory_mb * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send({"ready": True, "pid": os.getpid(), "gpu": loaded.gpu})
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(loaded.process(task))


class WorkerStartError(AnonymizerError):
    """A worker could not load its models: nothing can be processed."""

    exit_code = 4


class IsolatedWorker:
    """Parent-side handle of one child worker; replaces it after a crash."""

    def __init__(self, spec: WorkerSpec, *, timeout_s: float, memory_mb: int) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self.started = 0  # how many children this handle has started
        self.gpu = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_child_main, args=(child, self.spec, self.memory_mb), daemon=True,
                                 name="anonymizer-batch-worker")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self.started += 1
        msg = self._wait(READY_TIMEOUT_S, what="loading the models")
        if isinstance(msg, WorkerResult) or not msg.get("ready"):
            self.stop()
            reason = msg.reason if isinstance(msg, WorkerResult) else msg.get("reason")
            raise WorkerStartError(f"a batch worker could not start: {reason}")
        self.gpu = bool(msg.get("gpu"))

    def _wait(self, timeout_s: float, *, what: str) -> Any:
        """The child's next message (its start message, or a recording's ``WorkerResult``),
        or a failure ``WorkerResult`` after killing it (timeout, memory, crash)."""
        assert self._proc is not None and self._conn is not None
        deadline = time.monotonic() + timeout_s
        cap_kb = self.memory_mb * 1024
        while True:
            if self._conn.poll(_POLL_S):
                try:
                    return self._conn.recv()
                except (EOFError, OSError):
                    pass  # the child died while or before sending: reported below
            if not self._proc.is_alive() or self._conn.closed:
                self._proc.join(5)
                code = self._proc.exitcode
                self._forget()
                if code is not None and code < 0:
                    name = signal.Signals(-code).name
                    if -code == signal.SIGKILL:  # what the kernel's OOM killer sends
                        return WorkerResult.failure("memory", f"worker killed with SIGKILL (out of memory, or from outside) while {what}")
                    return WorkerResult.failure("crashed", f"worker crashed with {name} while {what}")
                return WorkerResult.failure("crashed", f"worker exited with status {code} while {what}")
            rss = rss_kb(self._proc.pid)
            if rss > cap_kb:
                self.kill()
                return WorkerResult.failure("memory", f"worker used {rss // 1024} MiB, over the {self.memory_mb} MiB cap, while {what}; killed")
            if time.monotonic() > deadline:
                self.kill()
                return WorkerResult.failure("timeout", f"{what} took over {timeout_s:.0f} s; worker killed")

    def run(self, task: Task) -> WorkerResult:
        if self._proc is None or not self._proc.is_alive():
            self._forget()
            self._start()
        assert self._conn is not None
        try:
            self._conn.send(task)
        except (BrokenPipeError, OSError):
            self.kill()
            return WorkerResult.failure("crashed", "worker died before it got the recording")
        result: WorkerResult = self._wait(self.timeout_s, what="processing")
        return result

    def kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, OSError):
                os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.join(10)
        self._forget()

    def stop(self) -> None:
        """Ask the child to exit after its current recording; kill it if it does not."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None:
            self._proc.join(10)
        self.kill()

    def _forget(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._proc, self._conn = None, None


