"""Plain-numpy twins of :mod:`kernels` (same signatures, same in-place semantics).

Written for clarity, not speed; the tests require the Numba kernels to match
these bit for bit.  Integer arithmetic only, so there is no rounding slack.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ._validate import STYLES, check_boxes, check_frame, check_int, check_plane, check_style, check_yuv420, seed64

__all__ = ["STYLES", "mask_outside_ref", "redact_ref", "redact_yuv420_ref"]

# Constants mirrored from kernels._numba (tests assert they agree).
MAX_RADIUS = 101
RING_SAMPLES = 32
TEX_AMP_X = 3
TEX_AMP_Y = 2
TEX_AMP = TEX_AMP_X + TEX_AMP_Y
FILL_FALLBACK = 128


def _mix(h: int, v: int) -> int:
    h = h ^ (v & 0x7FFFFFFF)
    h = (h * 1103515245 + 12345) & 0x7FFFFFFF
    return h ^ (h >> 13)


def texture_params(seed: int, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
    s = _mix(0x2545F491, seed & 0x7FFFFFFF)
    s = _mix(s, (seed >> 31) & 0x7FFFFFFF)
    for v in (x, y, w, h, 0x5BD1E995):
        s = _mix(s, v)
    p1 = 24 + s % 40
    s = _mix(s, 1)
    ph1 = s % p1
    s = _mix(s, 2)
    p2 = 16 + s % 32
    s = _mix(s, 3)
    ph2 = s % p2
    return p1, ph1, p2, ph2


def _tri(u: np.ndarray, p: int, a: int) -> np.ndarray:
    return np.asarray((np.abs(2 * u - p) * 2 * a + p // 2) // p - a)


def _clip(b: np.ndarray, hgt: int, wid: int) -> list[tuple[int, int, int, int]]:
    out = []
    for x, y, w, h in b.astype(np.int64).tolist():
        x0, y0 = min(max(x, 0), wid), min(max(y, 0), hgt)
        x1, y1 = min(x + w, wid), min(y + h, hgt)
        out.append((x0, y0, max(x1, x0), max(y1, y0)))
    return out


def _ring_point(t: int, x: int, y: int, w: int, h: int) -> tuple[int, int]:
    if t < w + 2:
        return x - 1 + t, y - 1
    t -= w + 2
    if t < w + 2:
        return x - 1 + t, y + h
    t -= w + 2
    if t < h:
        return x - 1, y + t
    return x + w, y + t - h


def _fill(frame: np.ndarray, b: np.ndarray, seed: int) -> None:
    hgt, wid = frame.shape[:2]
    cb = _clip(b, hgt, wid)
    live = [c for c in cb if c[0] < c[2] and c[1] < c[3]]
    cols: list[np.ndarray | None] = []
    for (x, y, w, h), (x0, y0, x1, y1) in zip(b.astype(np.int64).tolist(), cb, strict=True):
        if x0 >= x1 or y0 >= y1:
            cols.append(None)
            continue
        length = 2 * (w + 2) + 2 * h
        ns = min(length, RING_SAMPLES)
        pix = []
        for m in range(ns):
            px, py = _ring_point(((2 * m + 1) * length) // (2 * ns), x, y, w, h)
            if not (0 <= px < wid and 0 <= py < hgt):
                continue
            if any(c[0] <= px < c[2] and c[1] <= py < c[3] for c in live):
                continue
            pix.append(frame[py, px].astype(np.int64))
        if pix:
            v = np.sort(np.array(pix), axis=0)
            cols.append(v[(len(pix) - 1) // 2])
        else:
            cols.append(np.full(3, FILL_FALLBACK, np.int64))
    for (x, y, w, h), (x0, y0, x1, y1), col in zip(b.astype(np.int64).tolist(), cb, cols, strict=True):
        if col is None:
            continue
        p1, ph1, p2, ph2 = texture_params(seed, x, y, w, h)
        tx = _tri((np.arange(x0, x1) - x + ph1) % p1, p1, TEX_AMP_X)
        ty = _tri((np.arange(y0, y1) - y + ph2) % p2, p2, TEX_AMP_Y)
        c = np.clip(col, TEX_AMP, 255 - TEX_AMP)
        frame[y0:y1, x0:x1] = (c[None, None, :] + tx[None, :, None] + ty[:, None, None]).astype(
            np.uint8
        )


def _box_sum(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Sum over a (2r+1)-window along `axis`, indexes clamped to the array."""
    n = a.shape[axis]
    p = np.take(a, np.clip(np.arange(-r, n + r), 0, n - 1), axis=axis)
    c = np.cumsum(p, axis=axis)
    zero = np.zeros_like(np.take(c, [0], axis=axis))
    c = np.concatenate([zero, c], axis=axis)
    d = 2 * r + 1
    return np.asarray(np.take(c, np.arange(d, d + n), axis=axis) - np.take(c, np.arange(n), axis=axis))


def _blur(frame: np.ndarray, b: np.ndarray, strength: int) -> None:
    hgt, wid = frame.shape[:2]
    for (_x, _y, _w, h), (x0, y0, x1, y1) in zip(b.astype(np.int64).tolist(), _clip(b, hgt, wid), strict=True):
        if x0 >= x1 or y0 >= y1:
            continue
        r = min(strength if strength > 0 else max(2, h // 2), MAX_RADIUS)
        dd = (2 * r + 1) ** 3
        s = frame[y0:y1, x0:x1].astype(np.int64)
        for axis in (1, 0):
            for _ in range(3):
                s = _box_sum(s, r, axis)
            s = (s + dd // 2) // dd
        frame[y0:y1, x0:x1] = s


def _pixelate(frame: np.ndarray, b: np.ndarray, strength: int) -> None:
    hgt, wid = frame.shape[:2]
    for (x, y, _w, h), (x0, y0, x1, y1) in zip(b.astype(np.int64).tolist(), _clip(b, hgt, wid), strict=True):
        if x0 >= x1 or y0 >= y1:
            continue
        bs = strength if strength > 0 else max(4, h // 2)
        for by in range(y + ((y0 - y) // bs) * bs, y1, bs):
            ra, rb = max(by, y0), min(by + bs, y1)
            for bx in range(x + ((x0 - x) // bs) * bs, x1, bs):
                ca, cc = max(bx, x0), min(bx + bs, x1)
                blk = frame[ra:rb, ca:cc]
                cnt = blk.shape[0] * blk.shape[1]
                s = blk.astype(np.int64).sum(axis=(0, 1))
                blk[...] = (s + cnt // 2) // cnt


def redact_ref(
    frame: np.ndarray,
    boxes: npt.ArrayLike,
    style: str = "fill",
    *,
    seed: int = 0,
    strength: int = 0,
) -> None:
    """Numpy twin of :func:`kernels.redact`."""
    check_frame(frame)
    b = check_boxes(boxes)
    check_style(style)
    if strength:
        strength = check_int(strength, "strength", 0, 1 << 30)
    if b.shape[0] == 0:
        return
    if style == "fill":
        _fill(frame, b, seed64(seed))
    elif style == "blur":
        _blur(frame, b, strength)
    else:
        _pixelate(frame, b, strength)


def mask_outside_ref(frame: np.ndarray, rects: npt.ArrayLike, value: int = 0) -> None:
    """Numpy twin of :func:`kernels.mask_outside`."""
    check_frame(frame)
    r = check_boxes(rects, "rect")
    v = check_int(value, "value", 0, 255)
    hgt, wid = frame.shape[:2]
    keep = np.zeros((hgt, wid), bool)
    for x0, y0, x1, y1 in _clip(r, hgt, wid):
        keep[y0:y1, x0:x1] = True
    frame[~keep] = v


def luma_ranges_ref(plane: np.ndarray, boxes: npt.ArrayLike) -> np.ndarray:
    """Numpy twin of :func:`kernels.luma_ranges`."""
    check_plane(plane)
    b = check_boxes(boxes)
    hgt, wid = plane.shape
    out = np.full(b.shape[0], -1, np.int32)
    for i, (x, y, w, h) in enumerate(b.tolist()):
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, wid), min(y + h, hgt)
        if x1 > x0 and y1 > y0:
            crop = plane[y0:y1, x0:x1]
            out[i] = int(crop.max()) - int(crop.min())
    return out


def _yuv_to_rgb(yb: np.ndarray, ub: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """BT.601 limited range, 8-bit fixed point: (h, w) luma + (h/2, w/2) chroma -> (h, w, 3)."""
    c = 298 * (yb.astype(np.int64) - 16) + 128
    d = np.repeat(np.repeat(ub.astype(np.int64) - 128, 2, axis=0), 2, axis=1)
    e = np.repeat(np.repeat(vb.astype(np.int64) - 128, 2, axis=0), 2, axis=1)
    rgb = np.stack([(c + 409 * e) >> 8, (c - 100 * d - 208 * e) >> 8, (c + 516 * d) >> 8], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def redact_yuv420_ref(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | list[np.ndarray],
    width: int,
    height: int,
    boxes: npt.ArrayLike,
    style: str = "fill",
    *,
    seed: int = 0,
    strength: int = 0,
    redact: Callable[..., None] | None = None,
) -> None:
    """Numpy twin of :func:`kernels.redact_yuv420`, box by box (the algorithm the
    kernel had before it converted the union of the boxes once): a zeroed RGB frame,
    each box grown by 2 px and widened to whole 2x2 chroma blocks converted to RGB,
    ``redact`` (default :func:`redact_ref`; tests may pass :func:`kernels.redact` for
    speed) on it, then per box the luma inside it and the chroma of the blocks it
    touches (from the block's mean colour) written back.  Planes may be padded."""
    y, u, v, b = check_yuv420(planes, width, height, boxes, style)
    if b.shape[0] == 0:
        return
    rects = [c for c in _clip(b, height, width) if c[0] < c[2] and c[1] < c[3]]
    rgb = np.zeros((height, width, 3), np.uint8)
    for x0, y0, x1, y1 in rects:
        gx0, gy0 = max(0, x0 - 2) & ~1, max(0, y0 - 2) & ~1
        gx1, gy1 = min(width, (x1 + 3) & ~1), min(height, (y1 + 3) & ~1)
        rgb[gy0:gy1, gx0:gx1] = _yuv_to_rgb(
            y[gy0:gy1, gx0:gx1], u[gy0 // 2 : gy1 // 2, gx0 // 2 : gx1 // 2], v[gy0 // 2 : gy1 // 2, gx0 // 2 : gx1 // 2]
        )
    (redact or redact_ref)(rgb, b, style, seed=seed, strength=strength)
    px = rgb.astype(np.int64)
    luma = ((66 * px[..., 0] + 129 * px[..., 1] + 25 * px[..., 2] + 128) >> 8) + 16
    s = px.reshape(height // 2, 2, width // 2, 2, 3).sum(axis=(1, 3))
    cu = ((-38 * s[..., 0] - 74 * s[..., 1] + 112 * s[..., 2] + 512) >> 10) + 128
    cv = ((112 * s[..., 0] - 94 * s[..., 1] - 18 * s[..., 2] + 512) >> 10) + 128
    for x0, y0, x1, y1 in rects:
        y[y0:y1, x0:x1] = luma[y0:y1, x0:x1]
        bx0, by0, bx1, by1 = x0 >> 1, y0 >> 1, (x1 + 1) >> 1, (y1 + 1) >> 1
        u[by0:by1, bx0:bx1] = cu[by0:by1, bx0:bx1]
        v[by0:by1, bx0:bx1] = cv[by0:by1, bx0:bx1]
