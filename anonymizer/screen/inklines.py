"""A text-line detector for screen text: ink found by morphology, grouped into word runs.

Application text is drawn crisp on flat panels: a glyph stroke is a thin structure whose
luma differs from the panel around it. The median of a window wider than a text line
rebuilds the panel without its text (and keeps the panel's edges); what differs from it by
the change threshold, where the luma also changes from left to right (glyphs are made of
vertical strokes; bands and rule bodies are not), is ink. Thin lines longer than a glyph
are rules and are dropped. Ink closer than about a glyph's height is one run (the letters
of a word, the words of a field); a wider gap (a label and its value, table cells)
separates runs. Each run is one box for the recogniser.

This replaces the neural detector (CRAFT) on screen content; EasyOCR's recogniser still
reads every box. ``make bench-recogniser`` (whole 1280x720 frames, 2 cores): finding the
boxes takes ~27 ms a frame where CRAFT takes seconds; with the recogniser, 2.6 s against
7.1 s a frame, and the pipeline reads only changed regions, caching crops it has read.
Straight rules (table grids, field and button frames) are not text and are dropped;
anything else with ink is boxed, so nothing on screen goes unread (ink the recogniser
cannot read is hidden as unsure)."""

from __future__ import annotations

import cv2
import numpy as np

from anonymizer.types import Box

# Window of the background estimate: text covers well under half of it for UI fonts up
# to ~20 px (a line's ink is a band about half its height).
BACKGROUND_WINDOW = 21
MIN_H = 5  # a run shorter and narrower than this is a speck, not text (px)
DEFAULT_GLYPH_H = 8.0  # when a region holds too few glyphs to measure
MAX_GLYPH_H = 24  # pieces of ink taller than this are not glyphs of UI text


def ink_mask(luma: np.ndarray, threshold: int) -> np.ndarray:
    """(H, W) bool: pixels that differ by ``threshold`` or more from the background around
    them (the median of a window wider than a text line: it keeps a panel's edges and
    loses the thin strokes drawn on it)."""
    bg = cv2.medianBlur(luma, BACKGROUND_WINDOW)
    return np.asarray(cv2.absdiff(luma, bg) >= threshold)


def text_boxes(luma: np.ndarray, threshold: int) -> list[Box]:
    """Boxes of the text runs in ``luma`` ((H, W) uint8), in its coordinates.

    Sizes come from the glyphs themselves (the median height of the ink's pieces): letters
    and words closer than about a glyph's height join one run, so a label and a value a
    column apart stay two boxes; a thin line taller than two glyphs or longer than four is
    a rule, not a stroke."""
    ink = ink_mask(luma, threshold)
    if not ink.any():
        return []
    # Glyphs are made of vertical strokes: ink with no left-right contrast within a pixel
    # is a band or a rule's body (a light strip under a dark title bar), not text.
    dx = cv2.absdiff(luma[:, 1:], luma[:, :-1]) >= threshold
    edges = np.zeros_like(ink)
    edges[:, 1:] |= dx
    edges[:, :-1] |= dx
    u8 = (ink & cv2.dilate(edges.astype(np.uint8), np.ones((1, 3), np.uint8)).astype(bool)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(u8, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[(heights >= 3) & (heights <= MAX_GLYPH_H)]  # taller: frames, rules
    glyph_h = float(np.median(heights)) if heights.size >= 3 else DEFAULT_GLYPH_H

    def opened(img: np.ndarray, w: int, h: int) -> np.ndarray:
        return np.asarray(cv2.morphologyEx(img, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w, h))))

    # Rules: thin ink lines longer than a glyph's stroke (a word's ink can be a solid band
    # as long, but it is thicker than a rule): table grids, field and button frames.
    horiz = opened(u8, max(12, int(4 * glyph_h)), 1)
    vert = opened(u8, 1, max(10, int(2.2 * glyph_h)))
    rules = (horiz & (1 - opened(horiz, 1, 5))) | (vert & (1 - opened(vert, 6, 1)))
    u8 &= 1 - cv2.dilate(rules, np.ones((3, 3), np.uint8))  # with where rules cross and fade
    # Join glyphs into runs: across letter and word spaces, and over an i's dot or an accent.
    gap = max(3, round(0.9 * glyph_h))
    joined = cv2.dilate(u8, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 3)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    h_img, w_img = luma.shape
    out = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        ys, xs = np.nonzero(u8[y : y + h, x : x + w])  # the run's own ink, without the dilation
        if ys.size == 0:
            continue
        x0, x1 = x + int(xs.min()), x + int(xs.max()) + 1
        y0, y1 = y + int(ys.min()), y + int(ys.max()) + 1
        bh = y1 - y0
        if bh < 3 or (bh < MIN_H and x1 - x0 < MIN_H):
            continue  # a speck: a caret's end, compression noise
        pad_y, pad_x = max(2, bh // 5), max(2, bh // 4)
        bx0, by0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
        out.append(Box(bx0, by0, min(w_img, x1 + pad_x) - bx0, min(h_img, y1 + pad_y) - by0))
    return out
