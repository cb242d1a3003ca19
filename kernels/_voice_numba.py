# mypy: ignore-errors
# (numba kernels: their types come from numba's inference, not from annotations)
"""Numba loops behind :mod:`kernels.voice` (LPC analysis, filtering, overlap-add).

Both kernels take the signal already padded (``kernels.voice._frames`` says how) as a
C-contiguous ``(N,) float64`` array, the frame length and hop in samples and the
``(L,) float64`` analysis/synthesis window; frame ``m`` covers ``x[m * hop : m * hop + L]``.
Single-threaded on purpose (see the package docstring: these run beside ASR threads).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# A frame whose windowed energy is below this (per sample, i.e. under -100 dBFS) is
# silence: its LPC is degenerate and it is passed through (as zeros) untouched.
SILENT_POWER = 1e-10
# White-noise correction of the autocorrelation (Levinson on a square wave or a pure
# tone is otherwise ill-conditioned); -60 dB, far below any formant structure.
NOISE_FLOOR = 1e-6
MAX_GAIN = 100.0  # level matching never amplifies a frame by more than 40 dB


@njit(cache=True, nogil=True)
def lpc_frames(x, frame_len, hop, n_frames, win, order):
    """LPC polynomials ``(F, order + 1)`` (``a[:, 0] == 1``) of the windowed frames, by
    autocorrelation and Levinson-Durbin, and a ``(F,)`` bool mask of the silent frames
    (their polynomial is ``1``: no filtering)."""
    a_all = np.zeros((n_frames, order + 1))
    silent = np.zeros(n_frames, np.bool_)
    seg = np.empty(frame_len)
    r = np.empty(order + 1)
    a = np.empty(order + 1)
    tmp = np.empty(order + 1)
    for m in range(n_frames):
        base = m * hop
        for n in range(frame_len):
            seg[n] = x[base + n] * win[n]
        for k in range(order + 1):
            s = 0.0
            for n in range(k, frame_len):
                s += seg[n] * seg[n - k]
            r[k] = s
        a_all[m, 0] = 1.0
        if r[0] <= SILENT_POWER * frame_len:
            silent[m] = True
            continue
        r[0] *= 1.0 + NOISE_FLOOR
        a[0] = 1.0
        for k in range(1, order + 1):
            a[k] = 0.0
        err = r[0]
        for i in range(1, order + 1):
            acc = r[i]
            for j in range(1, i):
                acc += a[j] * r[i - j]
            k_i = -acc / err
            for j in range(1, i):
                tmp[j] = a[j] + k_i * a[i - j]
            for j in range(1, i):
                a[j] = tmp[j]
            a[i] = k_i
            err *= 1.0 - k_i * k_i
            if err <= 0.0:
                break
        for k in range(order + 1):
            a_all[m, k] = a[k]
    return a_all, silent


@njit(cache=True, nogil=True)
def resynth_ola(ref, src, frame_len, hop, n_frames, win, a_all, b_all, silent):
    """Per frame: residual = ``a`` (FIR, ``src``'s LPC) applied to ``src``'s windowed frame,
    resynthesis = residual through the all-pole ``1 / b``, scaled to the energy of ``ref``'s
    windowed frame, windowed again and overlap-added. Silent frames add ``ref`` windowed
    twice (``win**2``). ``ref`` and ``src`` have the same length (often the same array)."""
    order = a_all.shape[1] - 1
    y = np.zeros(ref.shape[0])
    seg = np.empty(frame_len)
    out = np.empty(frame_len)
    for m in range(n_frames):
        base = m * hop
        e_in = 0.0
        for n in range(frame_len):
            v = ref[base + n] * win[n]
            e_in += v * v
        if silent[m]:
            for n in range(frame_len):
                y[base + n] += ref[base + n] * win[n] * win[n]
            continue
        for n in range(frame_len):
            seg[n] = src[base + n] * win[n]
        e_out = 0.0
        for n in range(frame_len):
            res = seg[n]
            for k in range(1, min(order, n) + 1):
                res += a_all[m, k] * seg[n - k]
            v = res
            for k in range(1, min(order, n) + 1):
                v -= b_all[m, k] * out[n - k]
            out[n] = v
            e_out += v * v
        g = np.sqrt(e_in / e_out) if e_out > 0.0 else 0.0
        if not g <= MAX_GAIN:  # also catches NaN
            g = MAX_GAIN if g > MAX_GAIN else 0.0
        for n in range(frame_len):
            y[base + n] += g * out[n] * win[n]
    return y


@njit(cache=True, nogil=True)
def wsola(x, n_out, half, tol):
    """``x`` time-stretched to ``n_out`` samples without changing its pitch (WSOLA).

    Output frames of ``2 * half`` samples (periodic Hann, 50% overlap) are copied from
    ``x`` around the input position mapped linearly from their centre, shifted by up to
    ``tol`` samples to best continue the previous frame (largest cross-correlation)."""
    n_in = x.shape[0]
    wl = 2 * half
    pad = wl + tol + 1
    xp = np.zeros(n_in + 2 * pad + wl)
    for n in range(n_in):
        xp[pad + n] = x[n]
    win = np.empty(wl)
    for n in range(wl):
        win[n] = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / wl)
    ratio = n_in / n_out
    n_frames = n_out // half + 2
    y = np.zeros((n_frames + 1) * half)
    prev = -1
    for k in range(n_frames):
        # output frame k covers y[k * half : k * half + wl], i.e. output time (k - 1) * half ...
        centre_in = k * half * ratio  # input time of the frame centre (output time k * half)
        nominal = pad + int(np.floor(centre_in + 0.5)) - half
        nominal = min(max(nominal, tol), xp.shape[0] - wl - tol - 1)
        best = nominal
        if prev >= 0:
            target = prev + half
            best_c = 0.0
            for n in range(wl):
                best_c += xp[nominal + n] * xp[target + n]
            for d in range(-tol, tol + 1):  # ties keep the earlier / nominal position
                s = nominal + d
                c = 0.0
                for n in range(wl):
                    c += xp[s + n] * xp[target + n]
                if c > best_c:
                    best_c = c
                    best = s
        for n in range(wl):
            y[k * half + n] += xp[best + n] * win[n]
        prev = best
    return y[half: half + n_out]
