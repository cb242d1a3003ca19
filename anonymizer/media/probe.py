"""Describe a recording before any heavy work, rejecting what cannot be processed.

A container a recorder (or a copy) is still writing can open and decode without error and
yet hold only the first minutes of the call; anonymizing it would publish a cut recording
as done. ``incomplete_reason`` recognises the unfinished states of the containers we take,
from their own structure (issue 15, 6):

* Matroska/WebM: the muxer writes the segment's duration and size when it closes the
  file. No duration (a file still being written, or one written to a pipe without seeking
  back), or a segment declared longer than the file (cut before its end), is unfinished.
* ISO-BMFF (MP4, MOV, M4V): a top-level box running past the end of the file is cut. A
  fragmented file (``moof`` boxes) is readable after every fragment, so one is finished
  only when it ends with the ``mfra`` index (with its ``mfro`` trailer) that FFmpeg and
  other muxers write on close. A plain MP4 without its ``moov`` does not open at all (a
  corrupt input, as before).

Such a file is refused with ``IncompleteInputError`` (exit 3); a batch defers it to its
next run. A complete file written without these markers (a live WebM, a fragmented MP4
from a muxer that writes no ``mfra``) is refused too: remuxing it (``ffmpeg -i IN -c copy
OUT.mkv``) writes them.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from anonymizer.errors import IncompleteInputError, InputError
from anonymizer.media._open import STILL_SUFFIXES, open_input


@dataclass(frozen=True)
class MediaInfo:
    path: str
    width: int
    height: int
    time_base: Fraction
    avg_rate: Fraction | None
    duration_s: float
    video_codec: str
    has_audio: bool
    audio_rate: int | None
    audio_channels: int | None
    audio_layout: str | None


def probe(path: Path) -> MediaInfo:
    path = Path(path)
    if path.suffix.lower() in STILL_SUFFIXES:
        raise InputError("still images are not accepted: a screen *video* of the call is required", path=path)
    with open_input(path) as container:
        if not container.streams.video:
            raise InputError("no video stream", path=path)
        vs = container.streams.video[0]
        if vs.codec_context is None:  # a damaged header naming no known codec
            raise InputError("video stream has an unknown codec (corrupt header?)", path=path)
        if vs.codec_context.name in ("png", "mjpeg", "bmp", "gif", "tiff", "webp") and (vs.frames or 0) <= 1:
            raise InputError("still images are not accepted: a screen *video* of the call is required", path=path)
        width, height = vs.codec_context.width, vs.codec_context.height
        if not width or not height:
            raise InputError("video stream has no frame size", path=path)
        if width > 8192 or height > 8192:
            raise InputError(f"video size {width}x{height} is beyond 8192x8192", path=path)
        if vs.time_base is None:
            raise InputError("video stream has no time base", path=path)
        why = incomplete_reason(path, container)
        if why:
            raise IncompleteInputError(f"incomplete container: {why}", path=path)
        duration_s = 0.0
        if vs.duration is not None:
            duration_s = float(vs.duration * vs.time_base)
        elif container.duration is not None:
            duration_s = container.duration / 1_000_000
        aus = container.streams.audio[0] if container.streams.audio else None
        return MediaInfo(
            path=str(path),
            width=width,
            height=height,
            time_base=Fraction(vs.time_base),
            avg_rate=Fraction(vs.average_rate) if vs.average_rate else None,
            duration_s=duration_s,
            video_codec=vs.codec_context.name,
            has_audio=aus is not None,
            audio_rate=aus.codec_context.sample_rate if aus else None,
            audio_channels=aus.codec_context.channels if aus else None,
            audio_layout=aus.codec_context.layout.name if aus else None,
        )


_MAX_BOXES = 1_000_000  # a 30-minute fragmented recording has a few thousand


def incomplete_reason(path: Path, container: Any) -> str | None:
    """Why the opened ``container`` of ``path`` is unfinished, or None (see the module)."""
    fmt = container.format.name or ""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if "matroska" in fmt or "webm" in fmt:
            if container.duration is None:
                return "Matroska/WebM without a duration (still being written?)"
            return _ebml_cut(f, size)
        if "mp4" in fmt or "mov" in fmt:
            return _bmff_unfinished(f, size)
    return None


def _ebml_cut(f: Any, size: int) -> str | None:
    """The EBML header, then the Segment: a declared size beyond the file is a cut."""
    f.seek(0)
    head = f.read(64)
    pos = 0
    for expected in (b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"):
        if head[pos : pos + 4] != expected:
            return None  # not the layout FFmpeg writes: leave it to the decoder
        length, value, unknown = _vint(head, pos + 4)
        if length == 0:
            return None
        pos += 4 + length
        if expected == b"\x18\x53\x80\x67":
            if unknown:
                return "Matroska segment of unknown size (written without seeking back: still being written?)"
            if pos + value > size:
                return f"file ends {pos + value - size} bytes before its Matroska segment does (cut before its end)"
            return None
        pos += value
    return None


def _vint(data: bytes, pos: int) -> tuple[int, int, bool]:
    """(length in bytes, value, all value bits set = unknown size) of an EBML
    variable-size integer at ``pos``; length 0 when malformed."""
    if pos >= len(data) or data[pos] == 0:
        return 0, 0, False
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return 0, 0, False
    value = first & ((1 << (8 - length)) - 1)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    return length, value, value == (1 << (7 * length)) - 1


def _bmff_unfinished(f: Any, size: int) -> str | None:
    """Walk the top-level boxes: one cut short, or fragments without a closing index."""
    pos = 0
    fragmented = False
    last: tuple[bytes, int, int] | None = None
    for _ in range(_MAX_BOXES):
        if pos + 8 > size:
            break
        f.seek(pos)
        head = f.read(16)
        box_size, kind = struct.unpack(">I4s", head[:8])
        if box_size == 1:
            if len(head) < 16:
                return "file ends inside a box header (cut before its end)"
            box_size = struct.unpack(">Q", head[8:16])[0]
        elif box_size == 0:  # "to the end of the file": a writer that never came back to size it
            return f"last box {kind.decode('latin-1')!r} has no size (still being written?)"
        if box_size < 8:
            return None  # malformed: the decoder already accepted it, its errors say more
        if pos + box_size > size:
            return (f"file ends {pos + box_size - size} bytes inside its {kind.decode('latin-1')!r} box "
                    "(still being written, or cut before its end)")
        fragmented |= kind == b"moof"
        last = (kind, pos, box_size)
        pos += box_size
    if pos != size and pos + 8 > size:
        return "file ends inside a box header (cut before its end)"
    if fragmented and not _closing_mfra(f, last):
        return "fragmented MP4 without its closing index (mfra): still being written?"
    return None


def _closing_mfra(f: Any, last: tuple[bytes, int, int] | None) -> bool:
    """True when the last box is ``mfra`` and its ``mfro`` trailer gives its size."""
    if last is None or last[0] != b"mfra" or last[2] < 16:
        return False
    _, pos, box_size = last
    f.seek(pos + box_size - 16)
    tail = f.read(16)
    return len(tail) == 16 and tail[4:8] == b"mfro" and struct.unpack(">I", tail[12:16])[0] == box_size
