"""Tests for the Numba redaction kernels (`kernels`) against their numpy twins."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import kernels
from kernels import _numba, reference
from kernels.reference import luma_ranges_ref, mask_outside_ref, redact_ref

FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _random_case(
    rng: np.random.Generator, *, max_hw: int = 48, max_n: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    h, w = (int(v) for v in rng.integers(1, max_hw, 2))
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if rng.random() < 0.3:  # flat background with a few "glyph" pixels
        frame[:] = rng.integers(0, 256, 3)
        frame[rng.random((h, w)) < 0.1] = rng.integers(0, 256, 3)
    n = int(rng.integers(0, max_n + 1))
    boxes = np.stack(
        [
            rng.integers(-8, w + 4, n),
            rng.integers(-8, h + 4, n),
            rng.integers(1, w + 10, n),
            rng.integers(1, h + 10, n),
        ],
        axis=1,
    ).astype(np.int32)
    return frame, boxes.reshape(n, 4)


EDGE_BOXES = [
    [[0, 0, 1, 1]],  # 1-pixel box in the corner
    [[5, 5, 1, 1], [6, 5, 1, 1], [5, 6, 1, 1]],  # adjacent 1-pixel boxes
    [[-3, -2, 6, 5]],  # partly outside top-left
    [[30, 20, 20, 20]],  # partly outside bottom-right
    [[-10, -10, 100, 100]],  # covers the whole frame
    [[100, 100, 5, 5], [-20, 3, 5, 5]],  # entirely outside
    [[3, 3, 15, 9], [10, 6, 15, 9], [12, 1, 4, 20]],  # overlaps
    [[4, 4, 11, 7], [4, 4, 11, 7]],  # duplicates
    [[2, 10, 33, 1], [17, 0, 1, 24]],  # 1-px high / 1-px wide lines
    [[1, 1, 7, 3], [1, 5, 7, 3], [1, 9, 7, 3]],  # stacked text lines
]


@pytest.mark.parametrize("style", kernels.STYLES)
@pytest.mark.parametrize("strength", [0, 1, 3])
def test_twins_agree_random(style: str, strength: int) -> None:
    rng = np.random.default_rng(1234 + strength)
    for case in range(120):
        frame, boxes = _random_case(rng)
        a, b = frame.copy(), frame.copy()
        kernels.redact(a, boxes, style, seed=case, strength=strength)
        redact_ref(b, boxes, style, seed=case, strength=strength)
        np.testing.assert_array_equal(a, b, err_msg=f"{style} case {case} boxes {boxes.tolist()}")


@pytest.mark.parametrize("style", kernels.STYLES)
@pytest.mark.parametrize("boxes", EDGE_BOXES)
def test_twins_agree_edge_cases(style: str, boxes: list[list[int]]) -> None:
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (24, 35, 3), dtype=np.uint8)
    for strength in (0, 1, 2, 500):  # 500: capped at MAX_RADIUS for blur
        a, b = frame.copy(), frame.copy()
        kernels.redact(a, boxes, style, seed=3, strength=strength)
        redact_ref(b, boxes, style, seed=3, strength=strength)
        np.testing.assert_array_equal(a, b)


def test_twins_agree_text_sized_boxes() -> None:
    """Realistic sizes (and radii up to the cap) on a bigger frame."""
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (160, 420, 3), dtype=np.uint8)
    boxes = np.array(
        [[10, 10, 400, 28], [30, 50, 120, 14], [-5, 90, 300, 21], [200, 120, 260, 60], [0, 0, 420, 160]],
        np.int32,
    )
    for style in kernels.STYLES:
        for sl in (slice(0, 4), slice(4, 5)):
            a, b = frame.copy(), frame.copy()
            kernels.redact(a, boxes[sl], style, seed=11)
            redact_ref(b, boxes[sl], style, seed=11)
            np.testing.assert_array_equal(a, b, err_msg=style)


@pytest.mark.parametrize("style", kernels.STYLES)
def test_pixels_outside_boxes_untouched(style: str) -> None:
    rng = np.random.default_rng(99)
    for _ in range(60):
        frame, boxes = _random_case(rng)
        out = frame.copy()
        kernels.redact(out, boxes, style, seed=1)
        inside = np.zeros(frame.shape[:2], bool)
        for x, y, w, h in boxes.tolist():
            inside[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
        np.testing.assert_array_equal(out[~inside], frame[~inside])


@pytest.mark.parametrize("style", kernels.STYLES)
def test_flat_region_stays_flat_for_blur_and_pixelate(style: str) -> None:
    frame = np.full((30, 40, 3), (12, 200, 77), np.uint8)
    out = frame.copy()
    kernels.redact(out, [[3, 4, 30, 20]], style)
    if style == "fill":  # ring colour +/- a low-contrast texture
        d = out.astype(int) - frame
        assert np.abs(d).max() <= _numba.TEX_AMP
        assert len(np.unique(out[4:24, 3:33, 1])) > 1  # there is a texture
    else:
        np.testing.assert_array_equal(out, frame)


def test_blur_and_pixelate_actually_change_text() -> None:
    frame = _text_frame("0123456789", FONTS[0], 16, dark_on_light=True)
    box = np.array([[8, 6, 110, 24]], np.int32)
    for style in ("blur", "pixelate"):
        out = frame.copy()
        kernels.redact(out, box, style)
        assert np.abs(out.astype(int) - frame).max() > 50


@pytest.mark.parametrize(
    ("boxes", "match"),
    [
        ([[0, 0, 5, 5], [1, 1, 0, 4]], r"box 1 \(x=1, y=1, w=0, h=4\)"),
        ([[0, 0, 5, -2]], r"box 0 .*h=-2"),
        ([[0, 0, 5, 5], [0, 0, 5, 5], [2, 2, -1, -1]], r"box 2 "),
        ([[0, 0, 5]], r"shape \(N, 4\)"),
        ([[[0, 0, 5, 5]]], r"shape \(N, 4\)"),
        ([[0.5, 0, 5, 5]], r"box 0 .*non-integer"),
        ([[np.nan, 0, 5, 5]], r"non-integer"),
        ([[0, 0, 2**31, 5]], r"int32"),
        ([["a", "b", "c", "d"]], r"integers"),
    ],
)
def test_invalid_boxes_rejected_before_any_write(boxes: list, match: str) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    for style in kernels.STYLES:
        out = frame.copy()
        with pytest.raises(ValueError, match=match):
            kernels.redact(out, boxes, style)
        np.testing.assert_array_equal(out, frame)  # nothing was redacted
        with pytest.raises(ValueError, match=match):
            redact_ref(out, boxes, style)
    with pytest.raises(ValueError, match=match.replace("box", "rect")):
        kernels.mask_outside(frame.copy(), boxes)


def test_box_inputs_accepted() -> None:
    """Every accepted box form redacts exactly what the canonical int32 box does, inside the
    box only; empty forms change nothing."""
    rng = np.random.default_rng(5)
    original = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)  # noise: every style changes it
    inside = np.zeros((10, 10), bool)
    inside[1:4, 1:4] = True  # (x, y, w, h) = (1, 1, 3, 3)
    for style in kernels.STYLES:
        expected = original.copy()
        kernels.redact(expected, np.array([[1, 1, 3, 3]], np.int32), style)
        assert (expected[~inside] == original[~inside]).all(), style
        assert (expected[inside] != original[inside]).any(), style
        for boxes in ([[1, 1, 3, 3]], np.array([[1.0, 1.0, 3.0, 3.0]]), np.array([[1, 1, 3, 3]], np.int64),
                      np.array([[1, 1, 3, 3]], np.uint16), np.array([[1, 1, 3, 3]], np.int32).T.copy().T):
            frame = original.copy()
            kernels.redact(frame, boxes, style)
            np.testing.assert_array_equal(frame, expected, err_msg=f"{style} {type(boxes).__name__}")
        for empty in ([], np.zeros((0, 4))):
            frame = original.copy()
            kernels.redact(frame, empty, style)
            np.testing.assert_array_equal(frame, original)


@pytest.mark.parametrize(
    ("frame", "exc"),
    [
        (np.zeros((4, 4, 3), np.float32), ValueError),
        (np.zeros((4, 4), np.uint8), ValueError),
        (np.zeros((4, 4, 4), np.uint8), ValueError),
        (np.zeros((4, 8, 3), np.uint8)[:, ::2], ValueError),
        ([[[0, 0, 0]]], TypeError),
    ],
)
def test_invalid_frame_rejected(frame: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        kernels.redact(frame, [[0, 0, 1, 1]])  # type: ignore[arg-type]
    with pytest.raises(exc):
        kernels.mask_outside(frame, [[0, 0, 1, 1]])  # type: ignore[arg-type]


def test_readonly_frame_and_bad_arguments_rejected() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    ro = frame.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        kernels.redact(ro, [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="unknown style"):
        kernels.redact(frame, [[0, 0, 1, 1]], "smudge")
    with pytest.raises(ValueError, match="value"):
        kernels.mask_outside(frame, [[0, 0, 1, 1]], 256)
    with pytest.raises(TypeError):
        kernels.mask_outside(frame, [[0, 0, 1, 1]], 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kernels.redact(frame, [[0, 0, 1, 1]], seed="x")  # type: ignore[arg-type]


def _text_frame(text: str, font_path: str, size: int, *, dark_on_light: bool) -> np.ndarray:
    bg, fg = ((250, 250, 248), (20, 20, 20)) if dark_on_light else ((30, 32, 40), (230, 230, 210))
    img = Image.new("RGB", (180, 40), bg)
    ImageDraw.Draw(img).text((10, 8), text, font=ImageFont.truetype(font_path, size), fill=fg)
    return np.ascontiguousarray(np.asarray(img))


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("dark_on_light", [True, False])
def test_fill_output_independent_of_glyphs(font: str, dark_on_light: bool) -> None:
    a = _text_frame("0612345678", font, 16, dark_on_light=dark_on_light)
    b = _text_frame("0798765432", font, 16, dark_on_light=dark_on_light)
    box = np.array([[8, 6, 150, 26]], np.int32)
    assert not np.array_equal(a, b)
    for seed in (0, 1, 2**40 + 3, -5):
        fa, fb = a.copy(), b.copy()
        kernels.redact(fa, box, seed=seed)
        kernels.redact(fb, box, seed=seed)
        np.testing.assert_array_equal(fa, fb)
    # and the texture really depends on the seed
    fa, fb = a.copy(), a.copy()
    kernels.redact(fa, box, seed=1)
    kernels.redact(fb, box, seed=2)
    assert not np.array_equal(fa, fb)


def test_fill_overlapping_boxes_do_not_leak_content() -> None:
    """Whatever is inside ANY box (glyphs) must not influence the output, even
    when a box's ring runs through another box; and the colour estimate must
    not depend on box order."""
    rng = np.random.default_rng(3)
    for _ in range(80):
        frame, boxes = _random_case(rng, max_n=6)
        inside = np.zeros(frame.shape[:2], bool)
        for x, y, w, h in boxes.tolist():
            inside[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
        other = frame.copy()
        other[inside] = rng.integers(0, 256, (int(inside.sum()), 3))
        fa, fb = frame.copy(), other.copy()
        kernels.redact(fa, boxes, seed=9)
        kernels.redact(fb, boxes, seed=9)
        np.testing.assert_array_equal(fa, fb)


def test_fill_colour_from_ring_median() -> None:
    frame = np.full((20, 40, 3), 200, np.uint8)
    frame[5:10, 5:30] = 0  # "glyphs" inside the box
    frame[4, 5:12] = 0  # some neighbouring text touching the ring (minority)
    out = frame.copy()
    kernels.redact(out, [[5, 5, 25, 5]])
    assert np.abs(out[5:10, 5:30].astype(int) - 200).max() <= _numba.TEX_AMP


def test_fill_no_ring_left_uses_grey() -> None:
    frame = np.zeros((6, 6, 3), np.uint8)
    out = frame.copy()
    kernels.redact(out, [[0, 0, 6, 6]])
    assert np.abs(out.astype(int) - _numba.FILL_FALLBACK).max() <= _numba.TEX_AMP


def test_mask_outside_matches_reference_and_semantics() -> None:
    rng = np.random.default_rng(8)
    for case in range(150):
        frame, rects = _random_case(rng)
        value = int(rng.integers(0, 256))
        a, b = frame.copy(), frame.copy()
        kernels.mask_outside(a, rects, value)
        mask_outside_ref(b, rects, value)
        np.testing.assert_array_equal(a, b, err_msg=f"case {case}")
        keep = np.zeros(frame.shape[:2], bool)
        for x, y, w, h in rects.tolist():
            keep[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
        np.testing.assert_array_equal(a[keep], frame[keep])
        assert (a[~keep] == value).all()


def test_mask_outside_no_rects_masks_everything() -> None:
    frame = np.full((7, 9, 3), 99, np.uint8)
    kernels.mask_outside(frame, np.zeros((0, 4), np.int32))
    assert not frame.any()
    kernels.mask_outside(frame, [], 17)
    assert (frame == 17).all()


def test_reference_constants_mirror_kernels() -> None:
    for name in ("MAX_RADIUS", "RING_SAMPLES", "TEX_AMP_X", "TEX_AMP_Y", "TEX_AMP", "FILL_FALLBACK"):
        assert getattr(reference, name) == getattr(_numba, name), name
    assert kernels.MAX_RADIUS == _numba.MAX_RADIUS


def _triangle(u: int, p: int, a: int) -> int:
    """The triangle wave from its definition, in exact arithmetic: +a at u = 0, -a at
    u = p/2, straight lines between (and back up to +a at u = p), rounded half up."""
    v = Fraction(a) - Fraction(4 * a * min(u, p - u), p)
    return math.floor(v + Fraction(1, 2))


def test_triangle_tables_match_the_triangle_wave() -> None:
    # rows worked by hand: p = 4, amplitude 3 (x); p = 5, amplitude 2 (y)
    assert _numba.TRI_X[4, :4].tolist() == [3, 0, -3, 0]
    assert _numba.TRI_Y[5, :5].tolist() == [2, 0, -1, -1, 0]
    for tab, amp in ((_numba.TRI_X, _numba.TEX_AMP_X), (_numba.TRI_Y, _numba.TEX_AMP_Y)):
        for p in range(1, tab.shape[0]):
            row = tab[p, :p].tolist()
            assert row == [_triangle(u, p, amp) for u in range(p)], p
            assert row[0] == amp and min(row) >= -amp and max(row) <= amp, p
            assert row[1:] == row[1:][::-1], p  # symmetric about p/2
            assert not tab[p, p:].any(), p  # past the period: unused, zero


def test_warmup_and_empty_inputs() -> None:
    kernels.warmup()
    frame = np.full((5, 5, 3), 7, np.uint8)
    for style in kernels.STYLES:
        kernels.redact(frame, np.zeros((0, 4), np.int32), style)
    assert (frame == 7).all()


def test_luma_ranges_match_reference() -> None:
    """The verification gate's flatness measure: the spread of levels inside each box."""
    rng = np.random.default_rng(11)
    for case in range(150):
        frame, boxes = _random_case(rng)
        plane = np.ascontiguousarray(frame[:, :, 1])
        np.testing.assert_array_equal(kernels.luma_ranges(plane, boxes), luma_ranges_ref(plane, boxes), err_msg=f"case {case}")
    plane = np.full((20, 30), 200, np.uint8)
    plane[5, 7] = 20  # one glyph pixel
    assert kernels.luma_ranges(plane, [[0, 0, 30, 20], [8, 0, 10, 10], [40, 0, 5, 5]]).tolist() == [180, 0, -1]
    with pytest.raises(ValueError, match="plane must be"):
        kernels.luma_ranges(np.zeros((4, 4, 3), np.uint8), [[0, 0, 1, 1]])


def _yuv420(rgb: np.ndarray) -> list[np.ndarray]:
    """``rgb`` as libswscale converts it (what a decoder hands the renderer), plane copies."""
    import av

    f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size).copy() for p in f.planes]


@pytest.mark.parametrize("font", FONTS)
@pytest.mark.parametrize("dark_on_light", [True, False])
def test_yuv420_fill_independent_of_glyphs_and_touches_only_the_boxes(font: str, dark_on_light: bool) -> None:
    """The renderer's path for decoded frames: the planes that come out do not depend on
    the hidden digits; luma outside the boxes and chroma of blocks no box touches are the
    input's, bit for bit."""
    a = _yuv420(_text_frame("0612345678", font, 16, dark_on_light=dark_on_light))
    b = _yuv420(_text_frame("0798765432", font, 16, dark_on_light=dark_on_light))
    box = np.array([[9, 7, 149, 25], [120, 2, 30, 9]], np.int32)  # odd edges: chroma blocks half in a box
    assert not np.array_equal(a[0], b[0])
    for style in kernels.STYLES:
        pa, pb = [p.copy() for p in a], [p.copy() for p in a]
        kernels.redact_yuv420(pa, 180, 40, box, style, seed=7)
        inside = np.zeros((40, 180), bool)
        chroma = np.zeros((20, 90), bool)
        for x, y, w, h in box.tolist():
            inside[y : y + h, x : x + w] = True
            chroma[y // 2 : (y + h + 1) // 2, x // 2 : (x + w + 1) // 2] = True
        np.testing.assert_array_equal(pa[0][:, :180][~inside], a[0][:, :180][~inside])
        for k in (1, 2):
            np.testing.assert_array_equal(pa[k][:20, :90][~chroma], a[k][:20, :90][~chroma])
        assert not np.array_equal(pa[0][:, :180][inside], a[0][:, :180][inside]), style
        if style == "fill":  # irreversible: the other digits give the very same planes
            kernels.redact_yuv420(pb := [p.copy() for p in b], 180, 40, box, style, seed=7)
            for k, (h, w) in enumerate([(40, 180), (20, 90), (20, 90)]):
                np.testing.assert_array_equal(pa[k][:h, :w], pb[k][:h, :w])


def test_yuv420_matches_the_rgb_path() -> None:
    """Redacting the planes gives what redacting the RGB frame and converting it gives,
    to within the rounding of the two conversions."""
    import av

    rgb = _text_frame("Jean Dupont 0612345678", FONTS[1], 14, dark_on_light=True).copy()
    rgb[:, 90:] = (40, 90, 160)  # a coloured panel under part of the text
    box = np.array([[6, 6, 170, 26]], np.int32)
    for style in kernels.STYLES:
        planes = _yuv420(rgb)
        kernels.redact_yuv420(planes, 180, 40, box, style, seed=3)
        ref = rgb.copy()
        kernels.redact(ref, box, style, seed=3)
        want = _yuv420(ref)
        assert np.abs(planes[0][:40, :180].astype(int) - want[0][:40, :180]).max() <= 3, style
        assert np.abs(planes[1][:20, :90].astype(int) - want[1][:20, :90]).max() <= 6, style
    del av


def test_yuv420_rejects_bad_frames() -> None:
    y, u, v = np.zeros((10, 12), np.uint8), np.zeros((5, 6), np.uint8), np.zeros((5, 6), np.uint8)
    with pytest.raises(ValueError, match="even sizes"):
        kernels.redact_yuv420((y, u, v), 11, 10, [[0, 0, 2, 2]])
    with pytest.raises(ValueError, match="U plane"):
        kernels.redact_yuv420((y, u[:4], v), 12, 10, [[0, 0, 2, 2]])
    with pytest.raises(ValueError, match="box 0"):
        kernels.redact_yuv420((y, u, v), 12, 10, [[0, 0, 0, 2]])
