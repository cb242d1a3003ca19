"""Encode the anonymized recording: H.264 video keeping every input pts, AAC audio keeping
the input's sample rate and channel layout, muxed into MP4.

Audio is interleaved with video as encoding goes, so the muxer never has to buffer a
whole stream (memory stays flat on long calls).

The encoder is chosen by opening it (``choose_encoder``): NVENC is absent from data-centre
GPUs (H100, H200) and consumer cards cap concurrent sessions, so a CUDA host is no promise
that ``h264_nvenc`` opens."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from anonymizer.errors import ProcessingError
from anonymizer.media.audio import AudioTrack

AAC_FRAME = 1024
ENCODERS = ("libx264", "h264_nvenc")
_PROBE_PX = 256  # NVENC refuses frames below about 145x49

log = logging.getLogger(__name__)


def _cuda_index(device: str) -> int:
    return int(device.split(":")[1]) if device.startswith("cuda:") else 0


def probe_encoder(name: str, device: str = "cpu") -> None:
    """Open encoder ``name`` and encode one small frame; raises (``av.error.FFmpegError``,
    ``ValueError`` for a codec this FFmpeg lacks) if it cannot."""
    ctx: Any = av.CodecContext.create(name, "w")
    ctx.width = ctx.height = _PROBE_PX
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, 25)
    ctx.framerate = Fraction(25)
    if name == "h264_nvenc":
        ctx.options = {"gpu": str(_cuda_index(device))}
    ctx.open()
    frame = av.VideoFrame.from_ndarray(np.zeros((_PROBE_PX, _PROBE_PX, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
    frame.pts = 0
    packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    if not packets:
        raise ValueError(f"{name} produced no packet for one frame")


def choose_encoder(device: str) -> tuple[str, str]:
    """(encoder, why) for ``device`` ("cpu" or "cuda:N"): on CUDA ``h264_nvenc`` if it
    opens and encodes one frame, else libx264 with one log line saying why."""
    if not device.startswith("cuda"):
        return "libx264", "CPU run: libx264"
    try:
        probe_encoder("h264_nvenc", device)
    except (av.error.FFmpegError, ValueError, RuntimeError, OSError) as exc:
        reason = f"h264_nvenc cannot open on {device} ({type(exc).__name__}: {exc}); fell back to libx264"
        log.warning("%s", reason)
        return "libx264", reason
    return "h264_nvenc", f"h264_nvenc opened and encoded a test frame on {device}"


def _audio_frames(track: AudioTrack) -> Iterator[tuple[float, Any]]:
    rate = track.sample_rate
    start = round(track.start_s * rate)
    data = track.samples
    for i in range(0, data.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(data[:, i : i + AAC_FRAME], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=track.layout)
        frame.sample_rate = rate
        frame.pts = start + i
        frame.time_base = Fraction(1, rate)
        yield (start + i) / rate, frame


def write_recording(
    path: Path,
    *,
    width: int,
    height: int,
    time_base: Fraction,
    rate: Fraction | None,
    frames: Iterable[tuple[int, Any]],
    audio: AudioTrack | None,
    crf: int = 20,
    preset: str = "veryfast",
    codec: str = "libx264",
    device: str = "cpu",
) -> int:
    """Write ``frames`` — ``(pts, av.VideoFrame | (H, W, 3) uint8 RGB array)`` — and
    ``audio`` to ``path`` (MP4). Returns the number of video frames written.

    ``codec``: "libx264", or "h264_nvenc" on ``device`` "cuda:N" (constant quality ``crf``),
    as ``choose_encoder`` chose it."""
    if codec not in ENCODERS:
        raise ValueError(f"unsupported encoder {codec!r}")
    path = Path(path)
    try:
        out = av.open(str(path), mode="w", format="mp4")
    except av.error.FFmpegError as exc:
        raise ProcessingError(f"cannot create output ({exc})", path=path) from exc
    written = 0
    try:
        vs = _video_stream(out, width=width, height=height, time_base=time_base, rate=rate, crf=crf, preset=preset, codec=codec,
                           device=device)
        audio_out = _AudioMuxer(out, audio)
        for pts, frame in frames:
            if isinstance(frame, np.ndarray):
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            else:
                vf = frame
                vf.pict_type = av.video.frame.PictureType.NONE
            vf.pts = pts
            vf.time_base = time_base
            for packet in vs.encode(vf):
                out.mux(packet)
            written += 1
            audio_out.flush(float(pts * time_base))
        for packet in vs.encode(None):
            out.mux(packet)
        audio_out.close()
    except av.error.FFmpegError as exc:
        raise ProcessingError(f"encoding failed ({exc})", path=path) from exc
    finally:
        out.close()
    return written


def _video_stream(out: Any, *, width: int, height: int, time_base: Fraction, rate: Fraction | None, crf: int, preset: str,
                  codec: str, device: str) -> Any:
    vrate = rate or Fraction(25)
    vs = out.add_stream("libx264", rate=vrate) if codec == "libx264" else out.add_stream("h264_nvenc", rate=vrate)
    vs.width, vs.height = width, height
    # libx264 4:2:0 needs even sizes; odd-sized screens keep their size in 4:4:4.
    vs.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    vs.time_base = time_base
    vs.codec_context.time_base = time_base
    if codec == "libx264":
        vs.options = {"crf": str(crf), "preset": preset}
    else:
        vs.options = {"rc": "vbr", "cq": str(crf), "preset": "p4", "gpu": str(_cuda_index(device))}
    return vs


class _AudioMuxer:
    """The audio track encoded (AAC) and muxed as the video advances: frames up to the
    video's time go in after each video frame, so the two streams stay interleaved."""

    def __init__(self, out: Any, audio: AudioTrack | None) -> None:
        self.out = out
        self.stream: Any = None
        self.frames: Iterator[tuple[float, Any]] | None = None
        self.pending: tuple[float, Any] | None = None
        if audio is not None:
            self.stream = out.add_stream("aac", rate=audio.sample_rate, layout=audio.layout)
            self.stream.time_base = Fraction(1, audio.sample_rate)
            self.frames = _audio_frames(audio)
            self.pending = next(self.frames, None)

    def flush(self, until_s: float) -> None:
        while self.stream is not None and self.frames is not None and self.pending is not None and self.pending[0] <= until_s:
            for packet in self.stream.encode(self.pending[1]):
                self.out.mux(packet)
            self.pending = next(self.frames, None)

    def close(self) -> None:
        self.flush(float("inf"))
        if self.stream is not None:
            for packet in self.stream.encode(None):
                self.out.mux(packet)
