"""Plain-numpy/scipy twin of :func:`kernels.voice.mcadams` (same signature and result).

Written for clarity, not speed: LPC by ``scipy.linalg.solve_toeplitz`` instead of the
Levinson loop, ``scipy.signal.lfilter`` for both filters, a Python overlap-add. The tests
require it to agree with the Numba path to float rounding (``allclose``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from ._voice_numba import MAX_GAIN, NOISE_FLOOR, SILENT_POWER
from .voice import (
    SEGMENT_S,
    WSOLA_MS,
    check_alphas,
    check_signal,
    frame_alphas,
    geometry,
    lpc_order,
    warp_poles,
    window,
)

__all__ = ["mcadams_ref", "pitch_shift_ref", "wsola_ref"]


def _lpc(seg: np.ndarray, order: int) -> np.ndarray | None:
    """``(order + 1,)`` LPC polynomial of a windowed frame, None when it is silent."""
    r = np.array([seg[k:] @ seg[: len(seg) - k] for k in range(order + 1)])
    if r[0] <= SILENT_POWER * len(seg):
        return None
    r[0] *= 1.0 + NOISE_FLOOR
    return np.concatenate([[1.0], solve_toeplitz(r[:-1], -r[1:])])


def wsola_ref(x: np.ndarray, n_out: int, half: int, tol: int) -> np.ndarray:
    """Numpy twin of ``kernels._voice_numba.wsola``."""
    wl = 2 * half
    pad = wl + tol + 1
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad + wl)])
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(wl) / wl)
    ratio = x.size / n_out
    n_frames = n_out // half + 2
    y = np.zeros((n_frames + 1) * half)
    prev = -1
    for k in range(n_frames):
        nominal = pad + int(np.floor(k * half * ratio + 0.5)) - half
        nominal = min(max(nominal, tol), xp.size - wl - tol - 1)
        best = nominal
        if prev >= 0:
            cand = np.lib.stride_tricks.sliding_window_view(xp[nominal - tol: nominal + tol + wl], wl)
            c = cand @ xp[prev + half: prev + half + wl]
            if c.max() > c[tol]:  # ties keep the nominal position, then the earliest
                best = nominal - tol + int(np.argmax(c))
        y[k * half: k * half + wl] += xp[best: best + wl] * win
        prev = best
    return y[half: half + n_out]


def pitch_shift_ref(x: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Numpy twin of :func:`kernels.voice.pitch_shift`."""
    n = x.size
    if factor == 1.0 or n == 0:
        return x
    half = max(1, round(sample_rate * WSOLA_MS / 2000))
    stretched = wsola_ref(x, max(1, round(n * factor)), half, half // 2)
    return np.interp(np.arange(n) * (stretched.size / n), np.arange(stretched.size), stretched)


def mcadams_ref(x: npt.ArrayLike, sample_rate: int, alphas: npt.ArrayLike, *, segment_s: float = SEGMENT_S,
                pitch_factor: float = 1.0) -> np.ndarray:
    """Numpy twin of :func:`kernels.voice.mcadams`."""
    sig = check_signal(x, sample_rate)
    seg_alphas = check_alphas(alphas)
    n = sig.shape[0]
    if n == 0:
        return np.zeros(0, np.float32)
    frame_len, hop, n_frames = geometry(n, sample_rate)
    order = lpc_order(sample_rate)
    padded = np.zeros((n_frames + 1) * hop)
    padded[hop:hop + n] = sig
    src = np.zeros_like(padded)
    src[hop:hop + n] = pitch_shift_ref(sig, sample_rate, pitch_factor)
    win = window(frame_len)
    frames = [padded[m * hop: m * hop + frame_len] * win for m in range(n_frames)]
    src_frames = [src[m * hop: m * hop + frame_len] * win for m in range(n_frames)]
    lpcs = [_lpc(f, order) for f in frames]
    unit = np.eye(1, order + 1)[0]
    a = np.array([unit if p is None else p for p in lpcs])
    a_src = np.array([unit if p is None else p for p in (_lpc(f, order) for f in src_frames)])
    b = warp_poles(a, frame_alphas(n_frames, hop, sample_rate, seg_alphas, segment_s), sample_rate)
    y = np.zeros_like(padded)
    for m, f in enumerate(frames):
        if lpcs[m] is None:
            out = f
        else:
            out = lfilter([1.0], b[m], lfilter(a_src[m], [1.0], src_frames[m]))
            e_out = float(out @ out)
            g = np.sqrt(float(f @ f) / e_out) if e_out > 0 else 0.0
            out = out * (g if g <= MAX_GAIN else MAX_GAIN)
        y[m * hop: m * hop + frame_len] += out * win
    return y[hop:hop + n].astype(np.float32)
