"""Atomic, private output files: a temporary name in the destination folder, fsync,
rename over the final name, fsync the folder. A crash at any moment leaves either the old
state or the complete new file at the final path, never a partial one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from anonymizer.errors import ConfigError

OUTPUT_MODE = 0o640
PRIVATE_MODE = 0o600  # quarantined outputs: they still hold personal data


@contextlib.contextmanager
def atomic_path(final: Path, *, mode: int = OUTPUT_MODE) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success it becomes ``final``."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.part-{secrets.token_hex(4)}{final.suffix}")
    try:
        yield tmp
        publish(tmp, final, mode=mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def publish(tmp: Path, final: Path, *, mode: int = OUTPUT_MODE) -> None:
    """Make the finished file ``tmp`` (in ``final``'s folder) become ``final``: fsync it,
    restrict its mode, rename it, fsync the folder."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, final)
    fsync_dir(Path(final).parent)


def write_atomic(final: Path, data: str | bytes, *, mode: int = OUTPUT_MODE) -> None:
    with atomic_path(final, mode=mode) as tmp:
        Path(tmp).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def check_writable_dir(directory: Path, what: str) -> None:
    """Raise ConfigError naming ``directory`` unless a file can be created in it. Tried for
    real (a private probe file, removed at once): permission bits say nothing for root, a
    read-only mount or an ACL."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".anonymizer-probe-", dir=directory)
    except OSError as exc:
        raise ConfigError(f"{what} is not writable: {exc.strerror}", path=directory) from exc
    os.close(fd)
    os.unlink(probe)


def check_appendable(path: Path, what: str) -> None:
    """Raise ConfigError naming ``path`` unless records can be appended to it: an existing
    regular file opened for appending (nothing written), or a new one creatable in its folder."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} is a folder, not a file", path=path)
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR | os.O_APPEND))
        except OSError as exc:
            raise ConfigError(f"{what} is not writable: {exc.strerror}", path=path) from exc
        return
    if not path.parent.is_dir():
        raise ConfigError(f"{what} folder does not exist", path=path.parent)
    check_writable_dir(path.parent, f"{what} folder")


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
