"""``kernels.redact_yuv420`` converts the union of many overlapping boxes once (and
``fill`` skips boxes that later boxes cover): the planes must be byte for byte those
of the box-by-box algorithm it replaced (``reference.redact_yuv420_ref``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import kernels
from kernels import _numba
from kernels.reference import redact_ref, redact_yuv420_ref


def _redact_unpruned(frame: np.ndarray, boxes: np.ndarray, style: str = "fill", *, seed: int = 0, strength: int = 0) -> None:
    """``kernels.redact`` as it was: ``fill`` fills every box, covered by later ones or not."""
    if style == "fill":
        _numba.fill_serial_unpruned(frame, np.ascontiguousarray(boxes, np.int32), seed & ((1 << 62) - 1))
    else:
        kernels.redact(frame, boxes, style, seed=seed, strength=strength)


def _planes(rng: np.random.Generator, w: int, h: int, pad: int, flat: bool) -> list[np.ndarray]:
    """Random planes, rows padded by ``pad`` (luma) / ``pad // 2`` (chroma) like line_size."""
    y = rng.integers(0, 256, (h, w + pad), dtype=np.uint8)
    u = rng.integers(0, 256, (h // 2, w // 2 + pad // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (h // 2, w // 2 + pad // 2), dtype=np.uint8)
    if flat:  # a flat background with sparse "glyphs": ring medians hit real colours
        y[:] = rng.integers(16, 236)
        y[rng.random(y.shape) < 0.1] = rng.integers(16, 236)
        u[:] = rng.integers(16, 241)
        v[:] = rng.integers(16, 241)
    return [y, u, v]


def _boxes(rng: np.random.Generator, w: int, h: int, n: int, max_wh: int) -> np.ndarray:
    """Overlapping small boxes, some past the edges, plus nested copies, duplicates and
    boxes entirely outside the frame (empty once clipped)."""
    b = np.stack(
        [rng.integers(-6, w + 3, n), rng.integers(-6, h + 3, n), rng.integers(1, max_wh, n), rng.integers(1, max_wh, n)],
        axis=1,
    )
    k = max(1, n // 4)
    inner = b[rng.integers(0, n, k)].copy()  # boxes nested in others (shrunk)
    dx = rng.integers(0, 3, k)
    dy = rng.integers(0, 3, k)
    inner[:, 0] += dx
    inner[:, 1] += dy
    inner[:, 2] = np.maximum(1, inner[:, 2] - dx - rng.integers(0, 3, k))
    inner[:, 3] = np.maximum(1, inner[:, 3] - dy - rng.integers(0, 3, k))
    dup = b[rng.integers(0, n, k)]
    outside = np.array([[w + 5, 0, 4, 4], [-9, -9, 3, 30], [0, h, 7, 2]])
    allb = np.concatenate([b, inner, dup, outside])
    return allb[rng.permutation(len(allb))].astype(np.int32)


def _check(
    planes: list[np.ndarray], w: int, h: int, boxes: np.ndarray, style: str, seed: int, strength: int, ref_redact: Any = None
) -> None:
    want = [p.copy() for p in planes]
    got = [p.copy() for p in planes]
    redact_yuv420_ref(want, w, h, boxes, style, seed=seed, strength=strength, redact=ref_redact)
    kernels.redact_yuv420(got, w, h, boxes, style, seed=seed, strength=strength)
    for k in range(3):
        np.testing.assert_array_equal(got[k], want[k], err_msg=f"{style} plane {k} ({w}x{h}, {len(boxes)} boxes)")


@pytest.mark.parametrize("style", kernels.STYLES)
def test_small_frames_match_the_numpy_twin(style: str) -> None:
    """Few boxes, every step in numpy (redact_ref too): odd edges, padding, clipping."""
    rng = np.random.default_rng(20 + len(style))
    for case in range(60):
        w, h = (2 * int(v) for v in rng.integers(1, 24, 2))
        planes = _planes(rng, w, h, int(rng.integers(0, 4)) * 2, bool(rng.random() < 0.4))
        boxes = _boxes(rng, w, h, int(rng.integers(1, 6)), max(2, w // 2))
        strength = int(rng.choice([0, 0, 1, 3]))
        _check(planes, w, h, boxes, style, case, strength if style != "fill" else 0, redact_ref)


@pytest.mark.parametrize("style", kernels.STYLES)
def test_thousands_of_overlapping_boxes(style: str) -> None:
    """Thousands of small, nested and duplicate boxes (redact in Numba on both sides,
    ``fill`` without skipping covered boxes on the reference side)."""
    rng = np.random.default_rng(7)
    for case, (w, h, n, max_wh) in enumerate([(160, 96, 2000, 12), (98, 64, 600, 30), (64, 40, 300, 70), (2, 2, 20, 3)]):
        planes = _planes(rng, w, h, 6 * (case % 2), case == 1)
        _check(planes, w, h, _boxes(rng, w, h, n, max_wh), style, 100 + case, 0, _redact_unpruned)


def test_text_lines_and_words() -> None:
    """The demo's pattern: the same lines in several plan entries, their words inside."""
    rng = np.random.default_rng(3)
    w, h = 200, 120
    lines = [[4 + (i % 3), 3 + 13 * i, 150 + 7 * (i % 4), 11] for i in range(9)]
    words = [[x + 30 * k + 1, y + 1, 25, 9] for x, y, _, _ in lines for k in range(5)]
    boxes = np.array(lines * 3 + words + lines + [[-3, 110, 210, 12]], np.int32)
    for style in kernels.STYLES:
        for order in (boxes, boxes[::-1].copy(), boxes[rng.permutation(len(boxes))]):
            _check(_planes(rng, w, h, 16, True), w, h, order, style, 9, 0, _redact_unpruned)


def test_edge_cases() -> None:
    rng = np.random.default_rng(5)
    w, h = 24, 16
    cases = [
        [[0, 0, 1, 1]],
        [[23, 15, 1, 1]],  # last pixel: odd coordinates in the last block
        [[-5, -5, 100, 100]],  # the whole frame
        [[30, 2, 4, 4], [-9, 3, 5, 5]],  # all empty once clipped: nothing written
        [[1, 1, 1, 1], [2, 1, 1, 1], [1, 2, 1, 1], [2, 2, 1, 1]],  # touching 1-px boxes
        [[3, 3, 9, 7], [3, 3, 9, 7], [4, 4, 2, 2], [3, 3, 9, 7]],  # duplicates around a nested box
        [[5, 0, 1, 16], [0, 7, 24, 1]],  # odd 1-px lines through the frame
    ]
    for boxes in cases:
        b = np.array(boxes, np.int32)
        for style in kernels.STYLES:
            for strength in (0, 2):
                _check(_planes(rng, w, h, 4, False), w, h, b, style, 1, strength if style != "fill" else 0, redact_ref)
    planes = _planes(rng, w, h, 0, False)
    before = [p.copy() for p in planes]
    kernels.redact_yuv420(planes, w, h, [[40, 40, 3, 3]], "blur")
    assert all(np.array_equal(a, b) for a, b in zip(planes, before, strict=True))
    with pytest.raises(ValueError, match="strength"):  # checked even if every box is outside
        kernels.redact_yuv420(planes, w, h, [[40, 40, 3, 3]], "blur", strength=-1)


def test_rgb_scratch_outside_the_union_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The RGB scratch frame is not zeroed: fill it with noise, the planes do not change."""

    class _NoisyNumpy:
        def __getattr__(self, name: str) -> Any:
            return getattr(np, name)

        @staticmethod
        def empty(shape: Any, dtype: Any = float) -> np.ndarray:
            return np.random.default_rng(0).integers(0, 256, shape).astype(dtype)

    rng = np.random.default_rng(11)
    w, h = 64, 48
    cases = [(_planes(rng, w, h, 2, True), _boxes(rng, w, h, 40, 20)) for _ in range(4)]
    clean = []
    for planes, boxes in cases:
        for style in kernels.STYLES:
            kernels.redact_yuv420(p := [q.copy() for q in planes], w, h, boxes, style, seed=4)
            clean.append(p)
    monkeypatch.setattr(kernels, "np", _NoisyNumpy())
    got = []
    for planes, boxes in cases:
        for style in kernels.STYLES:
            kernels.redact_yuv420(p := [q.copy() for q in planes], w, h, boxes, style, seed=4)
            got.append(p)
    for a, b in zip(clean, got, strict=True):
        for k in range(3):
            np.testing.assert_array_equal(a[k], b[k])


def test_numpy_twin_is_the_per_box_numba_path() -> None:
    """``redact_yuv420_ref`` is exactly the per-box Numba kernels the union replaced."""
    rng = np.random.default_rng(13)
    w, h = 90, 60
    for style in kernels.STYLES:
        planes = _planes(rng, w, h, 10, True)
        boxes = _boxes(rng, w, h, 200, 25)
        want = [p.copy() for p in planes]
        redact_yuv420_ref(want, w, h, boxes, style, seed=2, redact=_redact_unpruned)
        y, u, v = got = [p.copy() for p in planes]
        rgb = np.zeros((h, w, 3), np.uint8)
        _numba.yuv420_to_rgb_around(y, u, v, rgb, boxes, 2)
        _redact_unpruned(rgb, boxes, style, seed=2)
        _numba.rgb_to_yuv420_in(rgb, y, u, v, boxes)
        for k in range(3):
            np.testing.assert_array_equal(got[k], want[k])


def test_fill_skips_covered_boxes_identically() -> None:
    """On RGB frames too: ``fill`` skipping boxes covered by later ones changes no byte."""
    rng = np.random.default_rng(17)
    for case in range(30):
        w, h = (int(v) for v in rng.integers(4, 60, 2))
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        boxes = _boxes(rng, w, h, int(rng.integers(2, 30)), max(3, w // 2))
        a, b, c = frame.copy(), frame.copy(), frame.copy()
        kernels.redact(a, boxes, "fill", seed=case)
        _redact_unpruned(b, boxes, "fill", seed=case)
        np.testing.assert_array_equal(a, b, err_msg=f"case {case}")
        if case < 8:
            redact_ref(c, boxes, "fill", seed=case)
            np.testing.assert_array_equal(a, c, err_msg=f"case {case}")
