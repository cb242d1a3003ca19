"""In-place redaction kernels (Numba) for ``(H, W, 3) uint8`` video frames.

Public API (the pipeline calls exactly these)::

    STYLES = ("fill", "blur", "pixelate")
    redact(frame, boxes, style="fill", *, seed=0, strength=0) -> None
    mask_outside(frame, rects, value=0) -> None
    luma_ranges(plane, boxes) -> (N,) int32
    redact_yuv420(planes, width, height, boxes, style="fill", *, seed=0, strength=0) -> None
    warmup() -> None

``boxes``/``rects`` are ``(N, 4)`` ``(x, y, w, h)`` integer arrays (converted
to int32).  Boxes with ``w <= 0`` or ``h <= 0`` raise ``ValueError`` naming the
box, *before* any kernel runs (so a bad box never leaves a half-redacted
frame).  Valid boxes are clipped to the frame (a box entirely outside is a
no-op); overlapping boxes are fine and are applied in index order.  A frame
that is not a writeable C-contiguous ``(H, W, 3) uint8`` array raises
``ValueError`` (``TypeError`` if it is not an ndarray at all).
:mod:`kernels.reference` holds plain-numpy twins with the same semantics.

Styles
------
``fill`` (default, irreversible)
    Each box becomes ``clip(colour, 5, 250) + tx(x) + ty(y)``: ``colour`` is the
    per-channel lower median of up to ``RING_SAMPLES`` (32) evenly spaced pixels
    of the 1-px ring just *outside* the box, and ``tx``/``ty`` are integer
    triangle waves (amplitude 3 and 2 grey levels, periods 24-63 / 16-47 px,
    phases from a hash of ``(seed, x, y, w, h)``), so the box reads as a soft
    "redacted" patch in the local background colour.  Nothing inside any box
    is ever read, so the output cannot depend on the redacted glyphs.

    Why the two phases and the exclusion rule: colours are computed for *all*
    boxes from the original frame before anything is written, and ring pixels
    that lie inside *any* box of the set are dropped (``FILL_FALLBACK`` = 128
    grey when no ring pixel is left).  Otherwise, with overlapping or adjacent
    boxes, box B's ring could sample glyph pixels of box A (still unredacted,
    or - if A was filled first - the order would matter), leaking A's content
    into B's colour.  Ring pixels may still be text of *neighbouring* lines;
    that is fine, they are outside every box and stay visible anyway, and the
    median ignores them unless they are the majority of the ring.  The median
    over a fixed sample keeps the cost per box O(1) instead of O(perimeter).

``blur``
    Three running-sum box passes per axis (~Gaussian, cost independent of the
    radius) with integer accumulators: three unnormalised horizontal passes,
    one rounding ``(S + D // 2) // D`` with ``D = (2r + 1) ** 3``, then the same
    vertically.  Radius ``r = max(2, h // 2)`` (``h`` = unclipped box height;
    ``strength`` overrides it), capped at ``MAX_RADIUS`` = 101 (keeps the int32
    accumulators and the multiply-shift division exact).  Samples outside the
    box are clamped to the box edge, so only pixels inside the box are read
    or written.  Not irreversible: see ``benchmarks/kernel_attack.py``.

``pixelate``
    Block means (rounded half up) on a grid of ``b x b`` blocks anchored at the
    unclipped box origin, ``b = max(4, h // 2)`` (``strength`` overrides it).
    Not irreversible either.

``mask_outside(frame, rects, value)`` sets every pixel that is not inside any
rect to ``value``; with no rects the whole frame becomes ``value``.

``redact_yuv420(planes, width, height, boxes, ...)`` redacts a decoded ``yuv420p``
frame in place, given its ``(Y, U, V)`` planes (rows may be padded past ``width``):
only the pixels around the boxes are converted to RGB (BT.601, limited range, in
8-bit fixed point), ``redact`` runs on them with the boxes at their frame
coordinates (same texture phases as on an RGB frame), and what comes back is the luma
of the pixels inside the boxes and the chroma of the 2x2 blocks they touch. Nothing
else of the frame is written; a whole-frame RGB round trip (~6 ms per 1280x720 frame)
is never made. Both conversions work on the union of the boxes (a flag byte per 2x2
chroma block), so a pixel under many overlapping boxes is converted once; the bytes
are those of converting box by box (``reference.redact_yuv420_ref``).

``luma_ranges(plane, boxes)`` reads a ``(H, W) uint8`` plane (it writes nothing): per
box, the spread ``max - min`` of the pixels inside the clipped box, ``-1`` for a box
that is empty once clipped. The verification gate asks it of every box of every output
frame (a box spanning fewer levels than the change threshold holds no readable glyph).

Performance: all boxes of a frame are processed in one ``njit`` call, with
scratch memory allocated once per call; ``fill`` samples a fixed 32 ring pixels
per box and writes each row as one vectorised byte add; a box whose every pixel
later boxes overwrite is skipped (its colour and fill leave no trace).  The kernels are
single-threaded on purpose: ``prange`` variants (connected components of
overlapping boxes in parallel, bit-identical output; see
``benchmarks/bench_kernels.py``) were ~1.8x faster for blur and mask_outside on
an idle 2-core machine but 3-100x slower whenever another process kept a core
busy (OpenMP threads wait at the barrier for a preempted peer), and in the
pipeline these kernels run next to OCR / ASR / codec threads.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _numba as _nb
from ._validate import STYLES, check_boxes, check_frame, check_int, check_plane, check_style, check_yuv420, seed64

__all__ = ["MAX_RADIUS", "RING_SAMPLES", "STYLES", "luma_ranges", "mask_outside", "redact", "redact_yuv420", "warmup"]

MAX_RADIUS: int = _nb.MAX_RADIUS
RING_SAMPLES: int = _nb.RING_SAMPLES
_MAX_STRENGTH = 1 << 30


def redact(
    frame: np.ndarray,
    boxes: npt.ArrayLike,
    style: str = "fill",
    *,
    seed: int = 0,
    strength: int = 0,
) -> None:
    """Redact `boxes` of `frame` in place with `style` (see module docstring).

    seed: texture seed for ``fill`` (any int).  strength: blur radius /
    pixelation block size in px, 0 = scaled to the box height (ignored by
    ``fill``)."""
    check_frame(frame)
    b = check_boxes(boxes)
    check_style(style)
    if strength:
        strength = check_int(strength, "strength", 0, _MAX_STRENGTH)
    if b.shape[0] == 0:
        return
    if style == "fill":
        _nb.fill_serial(frame, b, seed64(seed))
    elif style == "blur":
        _nb.blur_serial(frame, b, strength)
    else:
        _nb.pixelate_serial(frame, b, strength)


def mask_outside(frame: np.ndarray, rects: npt.ArrayLike, value: int = 0) -> None:
    """Set every pixel of `frame` not inside any of `rects` to `value`, in place."""
    check_frame(frame)
    r = check_boxes(rects, "rect")
    v = check_int(value, "value", 0, 255)
    _nb.mask_outside_serial(frame, r, v)


def redact_yuv420(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | list[np.ndarray],
    width: int,
    height: int,
    boxes: npt.ArrayLike,
    style: str = "fill",
    *,
    seed: int = 0,
    strength: int = 0,
) -> None:
    """Redact `boxes` of a yuv420p frame in place (see module docstring)."""
    y, u, v, b = check_yuv420(planes, width, height, boxes, style)
    if b.shape[0] == 0:
        return
    if strength:
        strength = check_int(strength, "strength", 0, _MAX_STRENGTH)
    # One flag byte per 2x2 chroma block: the union of the boxes grown by the ring
    # (1 px) and widened to whole blocks is converted to RGB once, however many boxes
    # overlap there; the union of the boxes is written back once.
    flags, ext = _nb.yuv420_block_flags(b, height, width, 2)
    # Not zeroed: ``redact`` reads only pixels inside the boxes and their 1-px ring,
    # and the write-back only whole blocks touched by a box, all inside the converted
    # union, so no pixel outside it is ever read.
    rgb = np.empty((height, width, 3), np.uint8)
    _nb.yuv420_to_rgb_blocks(y, u, v, rgb, flags, ext)
    redact(rgb, b, style, seed=seed, strength=strength)
    _nb.rgb_to_yuv420_blocks(rgb, y, u, v, flags, ext)


def luma_ranges(plane: np.ndarray, boxes: npt.ArrayLike) -> np.ndarray:
    """Per box, ``max - min`` of ``plane`` inside it (``-1``: empty once clipped)."""
    check_plane(plane)
    b = check_boxes(boxes)
    if b.shape[0] == 0:
        return np.empty(0, np.int32)
    out: np.ndarray = _nb.luma_ranges_serial(plane, b)
    return out


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel on a tiny frame."""
    frame = np.zeros((8, 8, 3), np.uint8)
    boxes = np.array([[1, 1, 4, 3], [3, 2, 4, 4]], np.int32)
    for style in STYLES:
        redact(frame, boxes, style)
    mask_outside(frame, boxes)
    luma_ranges(frame[:, :, 0].copy(), boxes)
    planes = (np.zeros((8, 8), np.uint8), np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8))
    for style in STYLES:
        redact_yuv420(planes, 8, 8, boxes, style)
