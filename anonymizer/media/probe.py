"""Describe a recording before any heavy work, rejecting what cannot be processed."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from anonymizer.errors import InputError
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
