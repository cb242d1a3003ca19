"""McAdams-coefficient voice disguise (the VoicePrivacy challenge's signal-processing
baseline B2, Patino et al. 2021), for ``(N,)`` float mono signals at 8-48 kHz.

Why this method: it needs no model and no training data, runs at ~1/100 real time on
one core, and keeps what a listener needs (words, timing, intonation) while moving what
a speaker recogniser keys on (the formant positions of the spectral envelope).

How: the signal is cut into 20 ms frames (50% overlap, square-root periodic Hann for
analysis and for synthesis, so that frames sum back exactly). Per frame, an LPC
polynomial ``A(z)`` (order :func:`lpc_order`) models the spectral envelope; the residual
``A(z) x`` keeps the excitation (pitch, voicing, timing). Each complex pole of ``1/A`` at
angle ``phi`` (radians at 16 kHz, so the warp in Hz is the same at every sample rate) is
moved to ``phi ** alpha`` with its radius kept; the residual goes through the new
all-pole filter, is scaled back to the frame's input energy (loudness is preserved frame
by frame) and overlap-added. With ``alpha < 1`` formants below ~2.5 kHz move up and those
above move down; ``alpha > 1`` the reverse. Optionally the excitation's pitch is shifted
first (:func:`pitch_shift`, WSOLA + resampling; the envelope stays the input's), since
pitch survives the pole warp and is a strong speaker cue.

Why it resists inversion (the caller draws ``alpha`` from a secret key,
:mod:`anonymizer.speech.disguise`): the warp is applied to the *pole angles* of a
per-frame envelope, so undoing it needs the exponent; an attacker who does not know
``alpha`` can only guess it from a continuous range. ``alpha`` also changes over time
(one value per ``segment_s`` from the key, interpolated between segment centres), so
there is no single global inverse: one recording needs the whole key-derived sequence.
Re-estimating LPC on the output and warping back is lossy anyway (the per-frame energy
matching, the clipping and the re-estimation error of merged or crossed poles). This is
a disguise, not encryption: speaking rate, intonation and the relative formant pattern
survive, and ``benchmarks/voice_attack.py`` shows an attacker who enrols speakers on
speech disguised with other keys still recognises most synthetic speakers.

:mod:`kernels.voice_reference` is the plain-numpy/scipy twin that the tests compare with.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _voice_numba as _nb

__all__ = [
    "FRAME_MS", "SEGMENT_S", "frame_alphas", "geometry", "lpc_order", "mcadams", "median_f0_hz", "pitch_shift",
    "warmup", "warp_poles", "window",
]

FRAME_MS = 20
SEGMENT_S = 1.0  # one alpha per second of audio, linearly interpolated between segments
WSOLA_MS = 30  # pitch shifting: WSOLA frame length
WARP_RATE = 16000  # pole angles are warped as radians at this rate (B2's setting)
MAX_RADIUS = 0.999  # poles are kept strictly inside the unit circle
MIN_RATE, MAX_RATE = 4000, 192000  # 8-48 kHz is what is tested and measured


def lpc_order(sample_rate: int) -> int:
    """LPC order: 20 at 16 kHz (B2), 12 at 8 kHz, at most 32 (there is little formant
    structure above 8 kHz, and high orders make root finding fragile)."""
    return min(32, round(sample_rate / 1000) + 4)


def geometry(n_samples: int, sample_rate: int) -> tuple[int, int, int]:
    """``(frame_len, hop, n_frames)`` for a signal padded with ``hop`` zeros before and
    ``(n_frames + 1) * hop - n_samples - hop`` after, so every sample lies in exactly two
    frames (``frame_len == 2 * hop``)."""
    hop = max(1, round(sample_rate * FRAME_MS / 2000))
    return 2 * hop, hop, -(-n_samples // hop) + 1


def window(frame_len: int) -> np.ndarray:
    """``(L,) float64`` square-root periodic Hann: its squares sum to 1 at 50% overlap."""
    n = np.arange(frame_len)
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / frame_len))


def frame_alphas(n_frames: int, hop: int, sample_rate: int, segment_alphas: npt.ArrayLike,
                 segment_s: float = SEGMENT_S) -> np.ndarray:
    """``(F,) float64`` alpha per frame: ``segment_alphas[i]`` holds at the centre of
    segment ``i`` (``(i + 0.5) * segment_s``), linear in between, constant past the ends."""
    seg = np.atleast_1d(np.asarray(segment_alphas, np.float64))
    centre_s = np.arange(n_frames) * hop / sample_rate  # frame m's centre, in unpadded time
    if seg.size == 1:
        return np.full(n_frames, seg[0])
    return np.interp(centre_s, (np.arange(seg.size) + 0.5) * segment_s, seg)


def _roots(a: np.ndarray) -> np.ndarray:
    """``(F, p)`` complex roots of the ``(F, p + 1)`` polynomials ``a`` (``a[:, 0] == 1``):
    one batched eigenvalue call on the companion matrices; conjugate pairs come out exactly
    conjugate."""
    f, p1 = a.shape
    p = p1 - 1
    comp = np.zeros((f, p, p))
    comp[:, 0, :] = -a[:, 1:]
    comp[:, np.arange(1, p), np.arange(p - 1)] = 1.0
    return np.linalg.eigvals(comp)


def warp_poles(a: np.ndarray, alphas: np.ndarray, sample_rate: int) -> np.ndarray:
    """``a``: ``(F, p + 1)`` LPC polynomials; returns the ``(F, p + 1)`` polynomials whose
    complex roots have angle ``phi ** alphas[f]`` (``phi`` in radians at 16 kHz, clipped to
    ``(0, pi)`` at ``sample_rate``) and the same radius (capped at ``MAX_RADIUS``); real roots
    are kept. Vectorised: all frames' roots come from one batched eigenvalue call."""
    f, p1 = a.shape
    p = p1 - 1
    if f == 0 or p == 0:
        return a.copy()
    roots = _roots(a)
    theta = np.angle(roots)
    radius = np.minimum(np.abs(roots), MAX_RADIUS)
    scale = sample_rate / WARP_RATE
    phi = np.abs(theta) * scale
    warped = np.clip(phi ** alphas[:, None] / scale, 0.0, np.pi)
    is_complex = np.abs(roots.imag) > 1e-12
    new_theta = np.where(is_complex, np.sign(theta) * warped, theta)
    new_roots = np.where(is_complex, radius * np.exp(1j * new_theta), roots)
    coeffs = np.zeros((f, p1), np.complex128)
    coeffs[:, 0] = 1.0
    for k in range(p):  # multiply by (1 - r_k z^-1), all frames at once
        coeffs[:, 1:k + 2] -= new_roots[:, k:k + 1] * coeffs[:, 0:k + 1].copy()
    return np.ascontiguousarray(coeffs.real)


def check_signal(x: npt.ArrayLike, sample_rate: int) -> np.ndarray:
    """``x`` as a C-contiguous ``(N,) float64`` array, NaN set to 0 and +-inf to +-1."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise TypeError(f"sample_rate must be an integer, got {sample_rate!r}")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise ValueError(f"sample_rate must be in [{MIN_RATE}, {MAX_RATE}] Hz, got {sample_rate}")
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"signal must be (N,), got shape {arr.shape}")
    return np.ascontiguousarray(np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0))


def check_alphas(alphas: npt.ArrayLike) -> np.ndarray:
    seg = np.atleast_1d(np.asarray(alphas, np.float64))
    if seg.ndim != 1 or seg.size == 0 or not np.all((seg > 0.3) & (seg < 3.0)):
        raise ValueError(f"alphas must be a non-empty (S,) array in (0.3, 3), got {seg!r}")
    return seg


def pitch_shift(x: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """``(N,) float64``: ``x`` with its pitch (and, incidentally, its formants) times
    ``factor`` and its duration kept: WSOLA time-stretch by ``factor`` (30 ms frames,
    +-7.5 ms search) then linear-interpolation resampling back to ``N`` samples."""
    n = x.shape[0]
    if factor == 1.0 or n == 0:
        return x
    half = max(1, round(sample_rate * WSOLA_MS / 2000))
    stretched = _nb.wsola(x, max(1, round(n * factor)), half, half // 2)
    return np.interp(np.arange(n) * (stretched.size / n), np.arange(stretched.size), stretched)


def mcadams(x: npt.ArrayLike, sample_rate: int, alphas: npt.ArrayLike, *, segment_s: float = SEGMENT_S,
            pitch_factor: float = 1.0) -> np.ndarray:
    """Disguised ``(N,) float32`` copy of ``x`` (``(N,)`` float, any scale; not clipped).

    ``alphas``: one McAdams coefficient, or ``(S,)`` of them, one per ``segment_s`` of
    audio (see :func:`frame_alphas`). ``pitch_factor`` multiplies the pitch of the
    excitation (the residual is taken from :func:`pitch_shift`'s output, the envelope and
    the level from ``x``). Alpha and pitch 1 give back ``x`` (to float rounding). Deterministic: the
    same input and parameters give the same bytes."""
    sig = check_signal(x, sample_rate)
    seg = check_alphas(alphas)
    if not 0.25 <= pitch_factor <= 4.0:
        raise ValueError(f"pitch_factor must be in [0.25, 4], got {pitch_factor}")
    n = sig.shape[0]
    if n == 0:
        return np.zeros(0, np.float32)
    frame_len, hop, n_frames = geometry(n, sample_rate)
    order = lpc_order(sample_rate)
    padded = np.zeros((n_frames + 1) * hop)
    padded[hop:hop + n] = sig
    win = window(frame_len)
    a, silent = _nb.lpc_frames(padded, frame_len, hop, n_frames, win, order)
    src = padded
    a_src = a
    if pitch_factor != 1.0:
        src = np.zeros_like(padded)
        src[hop:hop + n] = pitch_shift(sig, sample_rate, pitch_factor)
        a_src, _ = _nb.lpc_frames(src, frame_len, hop, n_frames, win, order)
    alpha = frame_alphas(n_frames, hop, sample_rate, seg, segment_s)
    b = warp_poles(a, alpha, sample_rate)
    y = _nb.resynth_ola(padded, src, frame_len, hop, n_frames, win, a_src, b, silent)
    return y[hop:hop + n].astype(np.float32)


def median_f0_hz(x: npt.ArrayLike, sample_rate: int) -> float | None:
    """Median pitch (Hz, 60-400) of the voiced 40 ms frames of ``x`` (normalised
    autocorrelation peak above 0.5, frame within 20 dB of the loudest), None when fewer
    than 5 frames are voiced."""
    sig = check_signal(x, sample_rate)
    wl = round(0.04 * sample_rate)
    if sig.size < wl:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(sig, wl)[:: wl // 2]
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = (frames**2).sum(axis=1)
    loud = energy > 0.01 * energy.max() if energy.max() > 0 else np.zeros(energy.size, bool)
    if loud.sum() < 5:
        return None
    w = np.hanning(wl)
    n_fft = 1 << (2 * wl - 1).bit_length()
    ac = np.fft.irfft(np.abs(np.fft.rfft(frames[loud] * w, n_fft)) ** 2, n_fft)[:, :wl]
    ac_w = np.fft.irfft(np.abs(np.fft.rfft(w, n_fft)) ** 2, n_fft)[:wl]
    r = ac / np.maximum(ac[:, :1], 1e-12) / np.maximum(ac_w / ac_w[0], 1e-3)  # Boersma's window correction
    lo, hi = int(sample_rate / 400), int(sample_rate / 60)
    band = r[:, lo - 1:hi + 1]
    peak = (band[:, 1:-1] >= band[:, :-2]) & (band[:, 1:-1] >= band[:, 2:])
    # the shortest lag whose peak is within 10% of the best: a period's multiples score
    # nearly as high, and picking them would halve the pitch
    ok = peak & (band[:, 1:-1] >= 0.9 * band[:, 1:-1].max(axis=1, keepdims=True))
    lag = lo + np.argmax(ok, axis=1)
    voiced = ok.any(axis=1) & (r[np.arange(lag.size), lag] > 0.5)
    if voiced.sum() < 5:
        return None
    return float(np.median(sample_rate / lag[voiced]))


def warmup() -> None:
    """Compile (or load from the on-disk cache) the voice kernels on a tiny signal."""
    t = np.arange(800) / 8000
    mcadams(np.sin(2 * np.pi * 200 * t) * np.sin(2 * np.pi * 3 * t), 8000, [0.8, 0.85], pitch_factor=1.1)
