"""The ways ``ScreenState`` reads what changed on screen: small classes of one method each,
as a scene-detection library's detectors are. ``ScreenState`` (``anonymizer.screen.state``)
decides which one reads a region and keeps the text they read; each reads and updates the
state it serves.

Known content, followed without the text detector:

- ``Scroll``: a region shows the state's content shifted vertically (a list scrolled): the
  state and its text boxes are shifted to match; only what the shift does not explain is read.
- ``KnownLines``: every pixel that changed lies on the rows of text lines already known (a
  clock ticking, a field being typed, a value replaced): the lines' new extents are found
  from their ink and read by the recogniser alone.

Anything else (a pop-up, rows scrolled into view, a new panel) goes through a text
detector, on a canvas sized to the text height seen so far (``[video] text_detector``):

- ``InkRuns`` ("ink"): the region's text runs found from their ink (``inklines``);
- ``Craft`` ("craft"): the OCR engine's own neural detector (EasyOCR's CRAFT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from anonymizer.screen.changes import content_boxes
from anonymizer.screen.inklines import BACKGROUND_WINDOW, text_boxes
from anonymizer.types import Box, TextBox

if TYPE_CHECKING:
    from anonymizer.screen.state import ScreenState

# A scroll explains a region when at most this share of its pixels differ once shifted
# (compression noise is tolerated through the change threshold).
SCROLL_MISMATCH = 0.002


class TextDetector(Protocol):
    def read(self, region: Box, luma: np.ndarray, rgb: Callable[[], np.ndarray], t: float) -> list[TextBox]:
        """The text in ``region`` of the frame at ``t`` (``rgb()``: the frame in colour,
        taken only by a detector that needs it)."""
        ...


class Scroll:
    def __init__(self, state: ScreenState) -> None:
        self.state = state

    def follow(self, region: Box, luma: np.ndarray, t: float) -> bool:
        """If ``region`` shows the state's content shifted vertically (a scrolled list),
        shift the state and its text boxes to match and return True.

        The shift is the dy for which almost no pixel differs. Boxes leaving the region are
        clipped, not dropped: a half-visible line stays hidden. A moved text is at its new
        place since ``t``: its look-back must not cover the new place over frames where the
        text was elsewhere (every row of a scrolled list was hidden at each of its positions
        back to when the list appeared: 3,042 boxes at once on the busy benchmark call).
        Only a field being typed keeps its first keystroke: where it was typed is not tracked."""
        st = self.state
        assert st._luma is not None
        tile = st.tile_px
        if region.h < 3 * tile or region.w < 2 * tile:
            return False
        # Only the rows that changed scroll: a tile-aligned region also holds still rows
        # above and below the list (its header, a frame), which must not be shifted (they
        # were read again, with the row half-hidden under the header, at every step).
        rows = st._changed_rows(region, luma)
        if rows.size == 0 or rows[-1] + 1 - rows[0] < 3 * tile:
            return False
        region = Box(region.x, region.y + int(rows[0]), region.w, int(rows[-1] + 1 - rows[0]))
        prev = st._luma[region.y : region.y1, region.x : region.x1]
        cur = luma[region.y : region.y1, region.x : region.x1]
        dy, bad = _best_shift(prev, cur, st.threshold)
        if bad > SCROLL_MISMATCH:
            return False
        st._luma[region.y : region.y1, region.x : region.x1] = _shifted(prev, cur, dy)
        st._scrolled.append(region)
        moved = []
        for tb in st.texts:
            if inside(tb.box, region):
                nb = Box(tb.box.x, tb.box.y - dy, tb.box.w, tb.box.h)
                clipped = Box(nb.x, max(nb.y, region.y), nb.w, min(nb.y1, region.y1) - max(nb.y, region.y))
                if clipped.h > 0:
                    moved.append(replace(tb, box=clipped, since_s=tb.since_s if tb.edited else t))
            else:
                moved.append(tb)
        st.texts = moved
        st._moved = True
        return True


def _best_shift(prev: np.ndarray, cur: np.ndarray, threshold: int) -> tuple[int, float]:
    """(dy, share of pixels that differ by ``threshold`` once shifted) of the vertical shift
    of ``prev`` (up to half its height, every other column) that best matches ``cur``."""
    p16, c16 = prev[:, ::2].astype(np.int16), cur[:, ::2].astype(np.int16)
    h = prev.shape[0]
    best_dy, best_bad = 0, 1.0
    for dy in range(-(h // 2), h // 2 + 1):
        if dy == 0:
            continue
        if dy > 0:  # content moved up: cur[y] == prev[y + dy]
            d = np.abs(c16[: h - dy] - p16[dy:])
        else:
            d = np.abs(c16[-dy:] - p16[: h + dy])
        bad = float((d >= threshold).mean())
        if bad < best_bad:
            best_dy, best_bad = dy, bad
    return best_dy, best_bad


def _shifted(prev: np.ndarray, cur: np.ndarray, dy: int) -> np.ndarray:
    """``prev`` shifted by ``dy``. The rows scrolled into view are the list's own background
    there (the ink detector's: a median wider than a text line), not the stale rows they
    replace: only their ink is a change (a row already read, next to them, is not read
    again), faint text on a highlighted row included."""
    h = prev.shape[0]
    shifted = prev.copy()
    if dy > 0:
        shifted[: h - dy] = prev[dy:]
        exposed = slice(h - dy, h)
    else:
        shifted[-dy:] = prev[: h + dy]
        exposed = slice(0, -dy)
    shifted[exposed] = cv2.medianBlur(np.ascontiguousarray(cur), BACKGROUND_WINDOW)[exposed]
    return shifted


class KnownLines:
    def __init__(self, state: ScreenState) -> None:
        self.state = state

    def read(self, region: Box, luma: np.ndarray, t: float) -> tuple[list[Box], list[TextBox]] | None:
        """If every pixel that changed in ``region`` lies on the rows of a text line already
        known there, read the changed lines by the recogniser alone and return (their bands
        across the region, the texts read: one per ink run on those rows, the lines' new
        extents); else None (a text detector reads the region).

        Ink runs closer than a line height are one box (words of a field); a run touching
        the region's side may continue outside it: detector."""
        st = self.state
        if st._luma is None:
            return None
        known = [tb.box for tb in st.texts if tb.box.intersects(region)]
        if not known:
            return None
        changed_rows = st._changed_rows(region, luma) + region.y
        if changed_rows.size == 0:
            return None
        bands = _line_bands(known, region)
        on_band = np.zeros(st.height, dtype=bool)
        for y0, y1 in bands:
            on_band[y0:y1] = True
        if not on_band[changed_rows].all():
            return None
        rows_changed = np.zeros(st.height, dtype=bool)
        rows_changed[changed_rows] = True
        read: list[Box] = []
        boxes: list[Box] = []
        for y0, y1 in bands:
            if not rows_changed[y0:y1].any():
                continue  # this line did not change: its text is kept as read
            read.append(Box(region.x, y0, region.w, y1 - y0))
            runs = _band_runs(luma, region, y0, y1, st.threshold, st.width)
            if runs is None:
                return None
            boxes += runs
        st.stats.line_reads += 1
        return read, [TextBox(item.box, item.text, item.conf, t) for item in st.ocr.read_boxes(luma, boxes)]


def _line_bands(known: list[Box], region: Box) -> list[tuple[int, int]]:
    """One (y0, y1) per known line in ``region`` (a line's boxes unioned), a row of margin
    above and below."""
    bands: list[tuple[int, int]] = []
    for b in sorted(known, key=lambda b: b.y):
        y0, y1 = max(region.y, b.y - 1), min(region.y1, b.y1 + 1)
        for k, (a0, a1) in enumerate(bands):
            if min(a1, y1) - max(a0, y0) > min(a1 - a0, y1 - y0) // 2:
                bands[k] = (min(a0, y0), max(a1, y1))
                break
        else:
            bands.append((y0, y1))
    return bands


def _band_runs(luma: np.ndarray, region: Box, y0: int, y1: int, threshold: int, width: int) -> list[Box] | None:
    """The boxes of the ink runs on rows ``y0:y1`` of ``region`` (none: the line was
    erased); None when only the detector can place that line."""
    band = luma[y0:y1, region.x : region.x1]
    ink = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) >= threshold
    cols = np.flatnonzero(ink)
    if cols.size == 0:
        return []  # the line was erased
    if cols[0] == 0 or cols[-1] == region.w - 1:
        return None
    # Glyphs reaching the band's first or last row may be cut (text moved, a taller
    # line): only the detector can place that line.
    bg = int(np.median(band))
    if (np.abs(band[[0, -1]].astype(np.int16) - bg) >= threshold).any():
        return None
    gap = y1 - y0
    boxes = []
    for run in np.split(cols, np.flatnonzero(np.diff(cols) > gap) + 1):
        x0 = max(0, region.x + int(run[0]) - 2)
        x1 = min(width, region.x + int(run[-1]) + 3)
        boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return boxes


class InkRuns:
    def __init__(self, state: ScreenState) -> None:
        self.state = state

    def read(self, region: Box, luma: np.ndarray, rgb: Callable[[], np.ndarray], t: float) -> list[TextBox]:
        """The region's text runs found from their ink (``inklines``), each read by the recogniser."""
        st = self.state
        runs = [Box(b.x + region.x, b.y + region.y, b.w, b.h)
                for b in text_boxes(luma[region.y : region.y1, region.x : region.x1], st.threshold)]
        st.stats.ink_reads += 1
        st.stats.ink_pixels += region.area()
        # A row cut by the edge of a list being scrolled (half scrolled into view) cannot be
        # read whole: it is unread text, hidden, until it is in view (read then).
        cut = [r for r in runs if _cut_by_scroll(st, r, luma)]
        runs = [r for r in runs if r not in cut]
        st.stats.boxes_read += len(runs)
        return [TextBox(item.box, item.text, item.conf, t) for item in st.ocr.read_boxes(luma, runs)] + [
            TextBox(r, "?", 0.0, t, cut=True) for r in cut]


class Craft:
    def __init__(self, state: ScreenState) -> None:
        self.state = state

    def read(self, region: Box, luma: np.ndarray, rgb: Callable[[], np.ndarray], t: float) -> list[TextBox]:
        """The region read by the OCR engine's own text detector; blank background inside
        it holds no text: only its content goes to the detector."""
        st = self.state
        frame = rgb()
        found = []
        for sub in content_boxes(luma[region.y : region.y1, region.x : region.x1], st.tile_px, st.threshold):
            x0, y0 = region.x + sub.x, region.y + sub.y
            crop = np.ascontiguousarray(frame[y0 : y0 + sub.h, x0 : x0 + sub.w])
            st.stats.ocr_calls += 1
            st.stats.ocr_pixels += sub.area()
            for item in st.ocr.read(crop):
                b = item.box
                found.append(TextBox(Box(b.x + x0, b.y + y0, b.w, b.h), item.text, item.conf, t))
        found = [_snap_to_ink(tb, luma, st.width, st.height, st.threshold) for tb in found]
        return [TextBox(tb.box, "?", 0.0, t, cut=True) if _cut_by_scroll(st, tb.box, luma) else tb for tb in found]


def _cut_by_scroll(st: ScreenState, run: Box, luma: np.ndarray) -> bool:
    """The run's ink reaches the first or last row of a band scrolled this frame, and it
    is shorter than the list's read rows: its glyphs go on past the list's edge."""
    for band in st._scrolled:
        if not run.intersects(band):
            continue
        rows = [tb.box.h for tb in st.texts if tb.conf > 0.0 and inside(tb.box, band)]
        if rows and run.h >= float(np.median(rows)):
            continue
        x0, x1 = max(run.x, band.x), min(run.x1, band.x1)
        for y in (band.y, band.y1 - 1):
            if run.y <= y < run.y1:
                row = luma[y, x0:x1].astype(np.int16)
                if row.size and int(row.max()) - int(row.min()) >= st.threshold:
                    return True
    return False


def _snap_to_ink(tb: TextBox, luma: np.ndarray, width: int, height: int, threshold: int) -> TextBox:
    """Widen ``tb`` over glyphs its OCR box cut off: the ink on its rows that continues
    past either side with no gap as wide as a word space. OCR boxes can be a few pixels
    short of the text (more so on scrolled or small text), and a value is hidden inside
    its line's box: a box is only ever widened here, never narrowed."""
    b = tb.box.clip(width, height)
    if b.area() == 0:
        return tb
    reach = 3 * b.h
    x0, x1 = max(0, b.x - reach), min(width, b.x1 + reach)
    band = luma[b.y : b.y1, x0:x1]
    ink = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) >= threshold
    inked = np.flatnonzero(ink[b.x - x0 : b.x1 - x0])
    if inked.size == 0:
        return tb
    # Scan out from the box's outermost glyphs, not its edges (OCR boxes have margins):
    # letters of one word are at most ``gap`` blank columns apart, words further.
    gap = max(2, round(b.h * 0.12))
    left, right = b.x - x0 + int(inked[0]), b.x - x0 + int(inked[-1]) + 1
    c = left - 1
    while c >= 0 and left - c <= gap + 1:
        if ink[c]:
            left = c
        c -= 1
    c = right
    while c < ink.size and c - right < gap + 1:
        if ink[c]:
            right = c + 1
        c += 1
    # Ink all the way to the window's edge is a rule or a border, not letters.
    left = b.x - x0 if left <= 0 < x0 else left
    right = b.x1 - x0 if right >= ink.size and x1 < width else right
    left, right = min(left, b.x - x0), max(right, b.x1 - x0)
    if left == b.x - x0 and right == b.x1 - x0:
        return tb
    nx0, nx1 = x0 + left, x0 + right
    return replace(tb, box=Box(nx0, tb.box.y, nx1 - nx0, tb.box.h))


def inside(inner: Box, outer: Box) -> bool:
    """Mostly inside: at least half of ``inner``'s area lies in ``outer``."""
    return inner.intersection(outer) * 2 >= inner.area()
