"""Atomic, private output files: a temporary name in the destination folder, fsync,
rename over the final name, fsync the folder. A crash at any moment leaves either the old
state or the complete new file at the final path, never a partial one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

OUTPUT_MODE = 0o640


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success it becomes ``final``."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.part-{secrets.token_hex(4)}{final.suffix}")
    try:
        yield tmp
        publish(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def publish(tmp: Path, final: Path) -> None:
    """Make the finished file ``tmp`` (in ``final``'s folder) become ``final``: fsync it,
    restrict its mode, rename it, fsync the folder."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.chmod(tmp, OUTPUT_MODE)
    os.replace(tmp, final)
    fsync_dir(Path(final).parent)


def write_atomic(final: Path, data: str | bytes) -> None:
    with atomic_path(final) as tmp:
        Path(tmp).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
