"""`anonymizer.speech.disguise`: keyed, deterministic, channel-selective voice disguise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anonymizer.errors import ConfigError
from anonymizer.media import AudioTrack
from anonymizer.speech.disguise import ALPHA_RANGES, METHOD, PITCH_FACTOR, disguise_track, pitch_target_hz, segment_alphas
from kernels import voice
from tests.kernels.test_voice import first_formant_hz, vowel

SHA = "ab" * 32
KEY = b"k" * 32


NEUTRAL = ((420, 80), (1000, 90), (2300, 120))  # a schwa-like vowel, near the formant targets


def _track(rate: int = 16000, channels: int = 1, dur_s: float = 1.5) -> AudioTrack:
    x = vowel(rate, dur_s, formants=NEUTRAL)
    samples = np.stack([x, vowel(rate, dur_s, f0=210.0)][:channels]) if channels > 1 else x[None]
    return AudioTrack(samples=np.ascontiguousarray(samples), sample_rate=rate,
                      layout="stereo" if channels == 2 else "mono", start_s=1.25)


def test_method_is_json_and_holds_nothing_from_a_key() -> None:
    assert json.loads(json.dumps(METHOD)) == METHOD
    assert METHOD["method"] == "mcadams-lpc" and METHOD["alpha_ranges"] == [list(r) for r in ALPHA_RANGES]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_same_key_same_bytes_other_key_other_voice(rate: int) -> None:
    track = _track(rate)
    a = disguise_track(track, KEY, input_sha256=SHA, channels=[0])
    b = disguise_track(track, KEY, input_sha256=SHA, channels=[0])
    assert a.samples.tobytes() == b.samples.tobytes()
    assert (a.samples.dtype, a.samples.shape, a.sample_rate, a.layout, a.start_s) == (
        np.float32, track.samples.shape, rate, "mono", 1.25)
    assert np.abs(a.samples).max() <= 1.0 and np.isfinite(a.samples).all()
    # keys whose coefficients lie on either side of 1 move the first formant apart
    keys = sorted((bytes([i]) * 32 for i in range(40)), key=lambda k: segment_alphas(k, SHA, 0, 2).mean())
    lo, hi = (disguise_track(track, k, input_sha256=SHA, channels=[0]) for k in (keys[0], keys[-1]))
    assert not np.array_equal(lo.samples, hi.samples)
    assert first_formant_hz(lo.samples[0], rate) > first_formant_hz(hi.samples[0], rate) + 100
    # and each key moves the pitch (120 Hz) toward its own target, within PITCH_FACTOR
    for k in keys[:3]:
        want = 120.0 * float(np.clip(pitch_target_hz(k, SHA, 0) / 120.0, *PITCH_FACTOR))
        out = disguise_track(track, k, input_sha256=SHA, channels=[0]).samples[0]
        assert voice.median_f0_hz(out, rate) == pytest.approx(want, rel=0.06)


def test_only_listed_channels_change() -> None:
    track = _track(channels=2)
    before = track.samples.copy()
    out = disguise_track(track, KEY, input_sha256=SHA, channels=[0])
    assert out.samples[1].tobytes() == track.samples[1].tobytes()
    assert not np.array_equal(out.samples[0], track.samples[0])
    assert np.array_equal(track.samples, before)  # the input is not modified
    both = disguise_track(track, KEY, input_sha256=SHA, channels=[0, 1])
    assert both.samples[0].tobytes() == out.samples[0].tobytes()  # channel index in the key, not order
    assert disguise_track(track, KEY, input_sha256=SHA, channels=[]).samples.tobytes() == track.samples.tobytes()


def test_alphas_depend_on_key_recording_and_channel() -> None:
    a = segment_alphas(KEY, SHA, 0, 50)
    (lo0, hi0), (lo1, hi1) = ALPHA_RANGES
    assert a.shape == (50,) and (((a >= lo0) & (a <= hi0)) | ((a >= lo1) & (a <= hi1))).all()
    assert (a < 1).any() and (a > 1).any()
    assert not np.array_equal(a, segment_alphas(KEY, SHA, 1, 50))
    assert not np.array_equal(a, segment_alphas(KEY, "cd" * 32, 0, 50))
    assert not np.array_equal(a, segment_alphas(b"j" * 32, SHA, 0, 50))
    assert np.array_equal(a[:10], segment_alphas(KEY, SHA, 0, 10))
    assert pitch_target_hz(KEY, SHA, 0) != pitch_target_hz(KEY, SHA, 1)


def test_silence_clipping_short_and_bad_channels() -> None:
    for samples in (np.zeros((1, 16000), np.float32), np.sign(np.sin(np.arange(16000) * 0.08))[None].astype(np.float32),
                    np.full((1, 50), 0.3, np.float32), np.zeros((1, 0), np.float32)):
        out = disguise_track(AudioTrack(samples, 16000, "mono"), KEY, input_sha256=SHA, channels=[0]).samples
        assert out.shape == samples.shape and np.isfinite(out).all() and np.abs(out).max(initial=0) <= 1.0
    with pytest.raises(ConfigError, match="channels"):
        disguise_track(_track(), KEY, input_sha256=SHA, channels=[1])
