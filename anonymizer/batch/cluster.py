"""Scale-out on an existing Dask distributed scheduler (``--cluster tcp://host:8786``).

Each recording is one Dask task. On the Dask worker the task runs in the same isolated
child process as a local batch (``IsolatedWorker``): the Dask worker keeps one child, hence
one model set, per worker process and reuses it for every task it gets; a crashing
recording kills that child, not the Dask worker. Workers read INBOX and write OUTBOX
through a path shared by every host (NFS, CIFS...), so the batch passes absolute paths.
Start workers with ``--nthreads 1``: more threads on one worker only queue on its child.

The device and the encoder are those the submitting host resolved (``--device``, in the
spec's ``config.runtime`` and hence in the batch's resume key): every Dask worker's child
probes them again and refuses to start if its host cannot run exactly those, so an output
never differs from what its key says (a CPU worker never stands in for a GPU one). Submit
from a host with the same kind of device as the workers.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from anonymizer.batch.worker import IsolatedWorker, Task, WorkerResult, WorkerSpec
from anonymizer.errors import ConfigError

_LOCK = threading.Lock()
_WORKERS: dict[str, IsolatedWorker] = {}


def process_on_worker(spec: WorkerSpec, task: Task, timeout_s: float, memory_mb: int) -> WorkerResult:
    """Runs on a Dask worker: one recording in this worker's isolated child."""
    key = hashlib.sha256(pickle.dumps((spec, timeout_s, memory_mb))).hexdigest()
    with _LOCK:
        worker = _WORKERS.get(key)
        if worker is None:
            worker = _WORKERS[key] = IsolatedWorker(spec, timeout_s=timeout_s, memory_mb=memory_mb)
        result = worker.run(task)
    result.host = _host()
    return result


def _host() -> str:
    import platform

    return platform.node()


def run_on_cluster(address: str, spec: WorkerSpec, items: Iterable[tuple[Any, Task]], *, timeout_s: float,
                   memory_mb: int) -> Iterator[tuple[Any, WorkerResult]]:
    """Submit every task to the scheduler at ``address``; yield (item, result) as they end."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError("--cluster needs the 'distributed' package") from exc
    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        futures = {}
        for item, task in items:
            fut = client.submit(process_on_worker, spec, task, timeout_s, memory_mb, pure=False)
            futures[fut] = item
        for fut in as_completed(futures):
            item = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost Dask worker, a scheduler error: recorded, batch goes on
                result = WorkerResult.failure("crashed", f"Dask task failed: {type(exc).__name__}: {exc}")
            yield item, result
    finally:
        client.close()
