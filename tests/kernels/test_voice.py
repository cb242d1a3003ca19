"""The McAdams voice kernels (`kernels.voice`) against their numpy/scipy twin, on
synthetic vowels (a pulse train through three formant resonators)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from kernels import _voice_numba, voice
from kernels.voice_reference import mcadams_ref, wsola_ref

VOWEL_A = ((700, 80), (1220, 90), (2600, 120))  # /a/: formant (Hz, bandwidth Hz)


def vowel(rate: int, dur_s: float = 1.0, f0: float = 120.0, formants: tuple[tuple[int, int], ...] = VOWEL_A) -> np.ndarray:
    """``(N,) float32`` peak 0.5: a pulse train at ``f0`` through the ``formants``."""
    x = np.zeros(int(rate * dur_s))
    x[:: int(rate / f0)] = 1.0
    for f, bw in formants:
        r = np.exp(-np.pi * bw / rate)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / rate), r * r], x)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def first_formant_hz(x: np.ndarray, rate: int) -> float:
    """Frequency of the lowest peak of the LPC envelope of the whole signal."""
    order = voice.lpc_order(rate)
    r = np.correlate(x.astype(np.float64), x.astype(np.float64), "full")[x.size - 1: x.size + order]
    from scipy.linalg import solve_toeplitz

    a = np.concatenate([[1.0], solve_toeplitz(r[:-1], -r[1:])])
    freqs = np.linspace(0, rate / 2, 2048)
    env = -np.log(np.abs(np.polyval(a[::-1], np.exp(-2j * np.pi * freqs / rate))))  # 1/|A|
    peaks = np.flatnonzero((env[1:-1] > env[:-2]) & (env[1:-1] > env[2:])) + 1
    return float(freqs[peaks[0]])


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
@pytest.mark.parametrize("alphas", [0.8, [0.75, 0.9, 0.82]])
def test_numba_and_numpy_twin_agree(rate: int, alphas: float | list[float]) -> None:
    x = vowel(rate, 1.5)
    y = voice.mcadams(x, rate, alphas)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, mcadams_ref(x, rate, alphas), rtol=0, atol=1e-4)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("pitch", [0.87, 1.35])
def test_twins_agree_with_pitch_shift(rate: int, pitch: float) -> None:
    x = vowel(rate, 1.2, f0=140.0)
    y = voice.mcadams(x, rate, [0.9, 1.1], pitch_factor=pitch)
    np.testing.assert_allclose(y, mcadams_ref(x, rate, [0.9, 1.1], pitch_factor=pitch), rtol=0, atol=1e-4)


@pytest.mark.parametrize("n_out", [1, 700, 1600, 2500])
def test_wsola_twins_agree(n_out: int) -> None:
    x = vowel(8000, 0.2, f0=110.0).astype(np.float64)
    np.testing.assert_allclose(_voice_numba.wsola(x, n_out, 120, 60), wsola_ref(x, n_out, 120, 60), atol=1e-9)


@pytest.mark.parametrize("f0", [90.0, 150.0, 230.0])
def test_median_f0_finds_the_pitch(f0: float) -> None:
    x = vowel(16000, 1.0, f0=f0)
    assert voice.median_f0_hz(x, 16000) == pytest.approx(f0, rel=0.05)
    shifted = voice.mcadams(x, 16000, 1.0, pitch_factor=1.3)
    assert voice.median_f0_hz(shifted, 16000) == pytest.approx(1.3 * f0, rel=0.06)
    assert voice.median_f0_hz(np.zeros(16000), 16000) is None


def test_alpha_one_gives_the_input_back_and_output_is_deterministic() -> None:
    x = vowel(16000)
    np.testing.assert_allclose(voice.mcadams(x, 16000, 1.0), x, atol=1e-5)
    assert voice.mcadams(x, 16000, [0.8, 0.85]).tobytes() == voice.mcadams(x, 16000, [0.8, 0.85]).tobytes()


def test_alpha_below_one_raises_the_first_formant_and_keeps_the_level() -> None:
    x = vowel(16000)
    y = voice.mcadams(x, 16000, 0.8)
    # phi ** 0.8 at 16 kHz: 700 Hz -> ~1000 Hz
    assert first_formant_hz(y, 16000) > first_formant_hz(x, 16000) + 150
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.1)


@pytest.mark.parametrize("n", [0, 1, 5, 100, 161, 321])
def test_short_silent_and_clipped_input(n: int) -> None:
    for x in (np.zeros(n, np.float32), np.sign(np.sin(np.arange(n) * 0.3)).astype(np.float32)):
        y = voice.mcadams(x, 16000, 0.8)
        assert y.shape == x.shape and np.isfinite(y).all()
    assert not voice.mcadams(np.zeros(4000, np.float32), 8000, 0.8).any()  # silence stays silence


def test_square_wave_and_nan_stay_finite() -> None:
    t = np.arange(16000) / 16000
    y = voice.mcadams(np.sign(np.sin(2 * np.pi * 200 * t)), 16000, 0.75)
    assert np.isfinite(y).all() and np.abs(y).max() < 10
    x = vowel(16000)
    x[100:200] = np.nan
    assert np.isfinite(voice.mcadams(x, 16000, 0.8)).all()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        voice.mcadams(np.zeros(10), 1000, 0.8)
    with pytest.raises(ValueError, match="alphas"):
        voice.mcadams(np.zeros(10), 16000, [])
    with pytest.raises(ValueError, match=r"\(N,\)"):
        voice.mcadams(np.zeros((2, 10)), 16000, 0.8)


def test_frame_alphas_interpolate_between_segment_centres() -> None:
    a = voice.frame_alphas(201, 80, 8000, [0.8, 0.9], segment_s=1.0)  # frames every 10 ms over 2 s
    assert a[0] == 0.8 and a[50] == 0.8 and a[150] == pytest.approx(0.9) and a[100] == pytest.approx(0.85)
