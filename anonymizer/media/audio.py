"""Decode the call audio (from the container or a separate file) to float samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from anonymizer.errors import CorruptInputError, InputError
from anonymizer.media._open import decode_error, open_input


@dataclass
class AudioTrack:
    """``samples``: (C, N) float32 in [-1, 1] at ``sample_rate``; ``layout`` e.g. 'mono'."""

    samples: np.ndarray
    sample_rate: int
    layout: str
    start_s: float = 0.0  # pts of the first sample relative to the file start

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])


def read_audio(path: Path) -> AudioTrack:
    path = Path(path)
    with open_input(path) as container:
        if not container.streams.audio:
            raise InputError("no audio stream", path=path)
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        layout = stream.codec_context.layout.name
        channels = stream.codec_context.channels
        if not rate or not channels:
            raise InputError("audio stream has no sample rate or channels", path=path)
        # Normalise every decoded frame to planar float at the stream's own rate/layout.
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks: list[np.ndarray] = []
        start_s: float | None = None
        try:
            for frame in container.decode(stream):
                if start_s is None and frame.pts is not None and frame.time_base is not None:
                    start_s = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(channels, -1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(channels, -1))
        except av.error.FFmpegError as exc:
            raise decode_error(path, exc, "audio") from exc
        except ValueError as exc:  # layout/shape mismatch from a damaged stream
            raise CorruptInputError(f"audio could not be decoded ({exc})", path=path) from exc
    if not chunks:
        raise CorruptInputError("audio stream has no decodable samples", path=path)
    samples = np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32)
    return AudioTrack(samples=samples, sample_rate=rate, layout=layout, start_s=max(0.0, start_s or 0.0))


def resample_mono(track: AudioTrack, rate: int = 16000, *, channel: int | None = None) -> np.ndarray:
    """(N,) float32 mono at ``rate``, as speech-to-text models expect: the mix of all
    channels, or ``channel`` alone."""
    mono = (track.samples.mean(axis=0) if channel is None else track.samples[channel]).astype(np.float32)
    if track.sample_rate == rate:
        return mono
    frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="fltp", layout="mono")
    frame.sample_rate = track.sample_rate
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
