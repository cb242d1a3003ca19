"""Disguise the voices of chosen channels so colleagues cannot recognise the speaker
(issue 21): McAdams-coefficient LPC pole warping (:mod:`kernels.voice`), with the
coefficients drawn from the secret key, per recording, channel and second of audio, and
the pitch moved toward a key-drawn target.

The key matters: with a fixed coefficient everyone would sound disguised the same way and
anybody could run the inverse warp; drawn from HMAC-SHA256 of the key and the recording,
the coefficients are unknown to a viewer, differ between recordings (two calls of one agent
are not disguised alike) and change every ``segment_s`` (no single inverse for a whole
recording). The same key and recording give the same bytes, so re-runs are reproducible.
Measured against a GMM-UBM speaker identifier and Whisper in ``benchmarks/voice_attack.py``:
it defeats an identifier enrolled on clean speech far better than one enrolled on speech
disguised with other keys; the bands are as wide as the word error budget allows.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import numpy as np

from anonymizer.errors import ConfigError
from anonymizer.media import AudioTrack
from kernels import voice

__all__ = ["METHOD", "disguise_track", "pitch_target_hz", "segment_alphas"]

# Per segment, alpha is drawn from one of two bands on either side of 1 (so the formants move
# up in some seconds and down in others). Measured with Whisper tiny.en on espeak-ng speech
# (benchmarks/voice_attack.py): a constant 0.9 / 0.85 / 0.8 cost +6 / +14 / +31 WER points,
# 1.1 / 1.15 cost +2 / +13; the budget is +15. These bands with PITCH_FACTOR measured +16
# (narrower ones, (0.88, 0.92) / (1.08, 1.12) and pitch (0.9, 1.12), did no better: +18).
ALPHA_RANGES = ((0.87, 0.92), (1.08, 1.13))
_SEGMENT_S = voice.SEGMENT_S
# Pitch: the channel's median pitch is moved toward a key-drawn target (log-uniform in
# PITCH_HZ), by a factor of at most PITCH_FACTOR (larger shifts cost too many words:
# x1.3 alone cost +14 WER points, x0.8 +6).
PITCH_HZ = (90.0, 250.0)
PITCH_FACTOR = (0.87, 1.15)

# What the plan and the report record: the method, never anything derived from the key.
METHOD: dict[str, Any] = {
    "method": "mcadams-lpc",
    "alpha_ranges": [list(r) for r in ALPHA_RANGES],
    "alpha_segment_s": _SEGMENT_S,
    "frame_ms": voice.FRAME_MS,
    "lpc_order": voice.lpc_order(16000),  # at 16 kHz; round(rate / 1000) + 4, at most 32
    "level_match": "frame",
    "pitch_target_hz": list(PITCH_HZ),
    "pitch_factor": list(PITCH_FACTOR),
    "version": 2,
}


def _seed(key: bytes, input_sha256: str, channel: int) -> bytes:
    return hmac.new(key, f"voice:{input_sha256}:{channel}".encode(), hashlib.sha256).digest()


def _uniform(seed: bytes, label: bytes) -> float:
    """A fraction in [0, 1) from the first 8 bytes of HMAC-SHA256(seed, label)."""
    return int.from_bytes(hmac.new(seed, label, hashlib.sha256).digest()[:8], "big") / 2.0**64


def segment_alphas(key: bytes, input_sha256: str, channel: int, n_segments: int) -> np.ndarray:
    """``(n_segments,) float64`` coefficients in ``ALPHA_RANGES``, one per segment: the
    channel's seed is HMAC-SHA256(key, ``voice:<input_sha256>:<channel>``), and segment
    ``i`` takes the first 8 bytes of HMAC-SHA256(seed, ``i``) as a uniform fraction ``u``:
    the lower band for ``u < 0.5``, the upper one otherwise, linear within the band."""
    seed = _seed(key, input_sha256, channel)
    out = np.empty(max(1, n_segments))
    for i in range(out.size):
        u = 2.0 * _uniform(seed, i.to_bytes(8, "big"))
        lo, hi = ALPHA_RANGES[int(u >= 1.0)]
        out[i] = lo + (hi - lo) * (u % 1.0)
    return out


def pitch_target_hz(key: bytes, input_sha256: str, channel: int) -> float:
    """The channel's key-drawn pitch target (Hz)."""
    lo, hi = PITCH_HZ
    return float(lo * (hi / lo) ** _uniform(_seed(key, input_sha256, channel), b"pitch"))


def disguise_track(track: AudioTrack, key: bytes, *, input_sha256: str, channels: list[int]) -> AudioTrack:
    """A new track whose ``channels`` (indexes into ``track.samples``) carry the disguised
    voice, clipped to [-1, 1]; every other channel is a byte-identical copy. Same dtype
    (float32), shape, rate, layout and start as ``track``."""
    samples = np.array(track.samples, dtype=np.float32, copy=True)
    n_ch, n = samples.shape
    bad = [c for c in channels if not 0 <= c < n_ch]
    if bad:
        raise ConfigError(f"voice disguise channels {bad} do not exist in a {n_ch}-channel track")
    if not key:
        raise ConfigError("voice disguise needs a non-empty key")
    rate = track.sample_rate
    n_segments = -(-n // round(_SEGMENT_S * rate)) if n else 1
    for c in sorted(set(channels)):
        x = samples[c]
        alphas = segment_alphas(key, input_sha256, c, n_segments)
        f0 = voice.median_f0_hz(x, rate)
        wanted = pitch_target_hz(key, input_sha256, c)
        pitch = 1.0 if f0 is None else float(np.clip(wanted / f0, *PITCH_FACTOR))
        y = voice.mcadams(x, rate, alphas, segment_s=_SEGMENT_S, pitch_factor=pitch)
        samples[c] = np.clip(y, -1.0, 1.0)
    return AudioTrack(samples=samples, sample_rate=rate, layout=track.layout, start_s=track.start_s)
