"""Encode the anonymized recording: H.264 video keeping every input pts, AAC audio keeping
the input's sample rate and channel layout, muxed into MP4.

Audio is interleaved with video as encoding goes, so the muxer never has to buffer a
whole stream (memory stays flat on long calls)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from anonymizer.errors import ProcessingError
from anonymizer.media.audio import AudioTrack

AAC_FRAME = 1024


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
) -> int:
    """Write ``frames`` — ``(pts, av.VideoFrame | (H, W, 3) uint8 RGB array)`` — and
    ``audio`` to ``path`` (MP4). Returns the number of video frames written.

    ``codec``: "libx264", or "h264_nvenc" on CUDA hosts (constant quality ``crf``)."""
    if codec not in ("libx264", "h264_nvenc"):
        raise ValueError(f"unsupported encoder {codec!r}")
    path = Path(path)
    try:
        out = av.open(str(path), mode="w", format="mp4")
    except av.error.FFmpegError as exc:
        raise ProcessingError(f"cannot create output ({exc})", path=path) from exc
    written = 0
    try:
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
            vs.options = {"rc": "vbr", "cq": str(crf), "preset": "p4"}
        astream = None
        audio_iter: Iterator[tuple[float, Any]] | None = None
        pending: tuple[float, Any] | None = None
        if audio is not None:
            astream = out.add_stream("aac", rate=audio.sample_rate, layout=audio.layout)
            astream.time_base = Fraction(1, audio.sample_rate)
            audio_iter = _audio_frames(audio)
            pending = next(audio_iter, None)

        def flush_audio(until_s: float) -> None:
            nonlocal pending
            while astream is not None and audio_iter is not None and pending is not None and pending[0] <= until_s:
                for packet in astream.encode(pending[1]):
                    out.mux(packet)
                pending = next(audio_iter, None)

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
            flush_audio(float(pts * time_base))
        for packet in vs.encode(None):
            out.mux(packet)
        flush_audio(float("inf"))
        if astream is not None:
            for packet in astream.encode(None):
                out.mux(packet)
    except av.error.FFmpegError as exc:
        raise ProcessingError(f"encoding failed ({exc})", path=path) from exc
    finally:
        out.close()
    return written
