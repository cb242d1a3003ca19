"""Input validation shared by the Numba kernels and the numpy reference twins."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

STYLES: tuple[str, ...] = ("fill", "blur", "pixelate")

_I32_MIN = -(2**31)
_I32_MAX = 2**31 - 1


def check_frame(frame: object) -> np.ndarray:
    """Return `frame` if it is a writeable C-contiguous (H, W, 3) uint8 array."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame must be a numpy.ndarray, got {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame must be an (H, W, 3) uint8 array, got shape {frame.shape} dtype {frame.dtype}"
        )
    if not frame.flags.c_contiguous:
        raise ValueError("frame must be C-contiguous (use np.ascontiguousarray)")
    if not frame.flags.writeable:
        raise ValueError("frame must be writeable (kernels work in place)")
    return frame


def check_plane(plane: object, name: str = "plane", *, min_shape: tuple[int, int] = (0, 0),
                writeable: bool = False) -> np.ndarray:
    """Return `plane` if it is a C-contiguous (H, W) uint8 array of at least `min_shape`
    (rows may be padded past the width), writeable when `writeable` is asked."""
    if not isinstance(plane, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(plane).__name__}")
    if plane.dtype != np.uint8 or plane.ndim != 2:
        raise ValueError(f"{name} must be an (H, W) uint8 array, got shape {plane.shape} dtype {plane.dtype}")
    if not plane.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if plane.shape[0] < min_shape[0] or plane.shape[1] < min_shape[1]:
        raise ValueError(f"{name} {plane.shape} is smaller than {min_shape[0]}x{min_shape[1]}")
    if writeable and not plane.flags.writeable:
        raise ValueError(f"{name} must be writeable (kernels work in place)")
    return plane


def check_boxes(boxes: npt.ArrayLike, what: str = "box") -> np.ndarray:
    """Return boxes as a C-contiguous (N, 4) int32 array (x, y, w, h).

    Accepts any integer array-like, or floats with integral values; an empty
    input gives N == 0.  Raises ValueError naming the first bad box when a
    width or height is <= 0, and for wrong shapes / non-integral / out-of-int32
    values."""
    if (
        isinstance(boxes, np.ndarray)
        and boxes.dtype == np.int32
        and boxes.ndim == 2
        and boxes.shape[1] == 4
        and boxes.flags.c_contiguous
    ):
        b = boxes
    else:
        plural = what + ("es" if what.endswith("x") else "s")
        a = np.asarray(boxes)
        if a.size == 0:
            return np.empty((0, 4), np.int32)
        if a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(f"{plural} must have shape (N, 4) as (x, y, w, h), got {a.shape}")
        if a.dtype.kind == "f":
            ok = np.isfinite(a).all(axis=1) & (a == np.round(a)).all(axis=1)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise ValueError(f"{what} {i} {a[i].tolist()} has non-integer coordinates")
        elif a.dtype.kind not in "iub":
            raise ValueError(f"{plural} must be integers, got dtype {a.dtype}")
        lo = a.min(axis=1) < _I32_MIN
        hi = a.max(axis=1) > _I32_MAX
        if lo.any() or hi.any():
            i = int(np.flatnonzero(lo | hi)[0])
            raise ValueError(f"{what} {i} {a[i].tolist()} does not fit in int32")
        b = np.ascontiguousarray(a, dtype=np.int32)
    if b.shape[0] and b[:, 2:].min() <= 0:
        i = int(np.flatnonzero((b[:, 2] <= 0) | (b[:, 3] <= 0))[0])
        x, y, w, h = (int(v) for v in b[i])
        raise ValueError(
            f"{what} {i} (x={x}, y={y}, w={w}, h={h}) is empty: width and height must be > 0"
        )
    return b


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    return style


def check_int(value: object, name: str, lo: int, hi: int) -> int:
    """Return `value` as a Python int in [lo, hi]: TypeError if it is not an
    integer (bools included), ValueError if out of range."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        v = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def seed64(seed: object) -> int:
    """Any integer seed -> non-negative int64 (the low 62 bits)."""
    if isinstance(seed, bool | np.bool_):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    try:
        s = operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"seed must be an integer, got {seed!r}") from None
    return s & ((1 << 62) - 1)


def check_yuv420(planes: Sequence[np.ndarray], width: int, height: int, boxes: npt.ArrayLike, style: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The checks of ``redact_yuv420`` (and its numpy twin): even sizes, three writeable
    planes at least ``height x width`` (chroma half that), valid boxes and style.
    Returns the planes and the boxes as an (N, 4) int32 array."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"yuv420p frames here have even sizes, got {width}x{height}")
    y, u, v = planes
    check_plane(y, "Y plane", min_shape=(height, width), writeable=True)
    check_plane(u, "U plane", min_shape=(height // 2, width // 2), writeable=True)
    check_plane(v, "V plane", min_shape=(height // 2, width // 2), writeable=True)
    b = check_boxes(boxes)
    check_style(style)
    return y, u, v, b
