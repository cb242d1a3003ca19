"""Open a container, turning PyAV/FFmpeg failures into our errors with the file name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from anonymizer.errors import CorruptInputError, InputError

# The one list of what a recording may be: batch discovery and retention (purge) both read
# it, so a type the batch accepts is never one that purge leaves behind (issue 15, 8).
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".m4v")
AUDIO_SUFFIXES = (".wav", ".flac", ".m4a", ".mp3", ".ogg", ".opus")  # a recording's separate call audio
RECORDING_SUFFIXES = VIDEO_SUFFIXES + AUDIO_SUFFIXES
SIDECAR_SUFFIXES = (".sidecar.json", ".json")  # NAME.sidecar.json first: it wins over NAME.json
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def open_input(path: Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if not path.is_file():
        raise InputError("not a regular file", path=path)
    if path.stat().st_size == 0:
        raise InputError("file is empty", path=path)
    try:
        # metadata we never use must not make a recording unreadable (a flipped byte in a
        # handler name is not valid UTF-8)
        return av.open(str(path), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise CorruptInputError(f"not a readable media file ({_reason(exc)})", path=path) from exc


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0] if text else type(exc).__name__


def decode_error(path: Path, exc: BaseException, what: str) -> CorruptInputError:
    return CorruptInputError(f"{what} could not be decoded, file corrupt or truncated ({_reason(exc)})", path=path)
