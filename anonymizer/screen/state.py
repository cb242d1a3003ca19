"""The text on screen over time, maintained incrementally from changed regions only.

For each frame: compare its luma with the state already read; OCR only the changed regions,
grown to whole text lines (existing text boxes they touch are re-read whole); keep every
other text box as it was. Each text box remembers ``since_s``, when its field instance first
appeared, so a value recognised only once complete (a phone number typed digit by digit)
can be hidden from its first keystroke.

The ways to read a changed region are ``anonymizer.screen.readers``: known content followed
(a scroll; known lines changing in place, read by the recogniser alone), else a text
detector ("ink" runs or "craft"). ``ScreenState`` coordinates them: what changed, grown to
whole lines, read by which, and which texts the reads replace."""

from __future__ import annotations

import difflib
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from anonymizer.detect.labels import is_ui_text
from anonymizer.ocr import OcrEngine
from anonymizer.screen.changes import changed_tiles, ink_tiles, merge_boxes, regions_from_tiles
from anonymizer.screen.inklines import MAX_GLYPH_H
from anonymizer.screen.readers import Craft, InkRuns, KnownLines, Scroll, TextDetector, inside
from anonymizer.textnorm import ocr_canonical
from anonymizer.types import Box, TextBox


@dataclass
class ScreenStats:
    frames: int = 0
    frames_changed: int = 0
    ocr_calls: int = 0  # neural text-detector (CRAFT) calls
    ocr_pixels: int = 0  # pixels sent to the neural text detector
    ink_reads: int = 0  # regions whose text lines were found from their ink (``inklines``)
    ink_pixels: int = 0  # pixels of those regions
    boxes_read: int = 0  # text boxes sent to the recogniser from ink-found lines
    line_reads: int = 0  # regions read by the recogniser alone (known lines)
    change_s: float = 0.0  # seconds in the change map and scroll matching
    detector_s: float = 0.0  # seconds in detector reads (detection + recognition of what it found)
    recogniser_s: float = 0.0  # seconds in recogniser-only reads of known lines
    frame_pixels: int = 0
    scrolls: int = 0


@dataclass
class ScreenState:
    ocr: OcrEngine
    width: int
    height: int
    tile_px: int = 16
    threshold: int = 24
    pad_px: int = 24
    text_detector: str = "ink"  # "ink": lines found from their ink (inklines); "craft": EasyOCR's detector
    texts: list[TextBox] = field(default_factory=list)
    stats: ScreenStats = field(default_factory=ScreenStats)
    _luma: np.ndarray | None = None
    _moved: bool = False
    _scrolled: list[Box] = field(default_factory=list)  # this frame's scrolled bands (a list's visible rows)
    _scroll: Scroll = field(init=False, repr=False, compare=False)
    _known_lines: KnownLines = field(init=False, repr=False, compare=False)
    _detector: TextDetector = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._scroll = Scroll(self)
        self._known_lines = KnownLines(self)
        self._detector = InkRuns(self) if self.text_detector == "ink" else Craft(self)

    def update(self, t: float, luma: np.ndarray, rgb_fn: Callable[[], np.ndarray]) -> bool:
        """Bring the text state up to the frame at time ``t``. ``luma``: (H, W) uint8;
        ``rgb_fn()`` returns the frame's (H, W, 3) uint8 RGB and is called only if some
        region must be read. Returns True when the text state changed."""
        self.stats.frames += 1
        self._moved = False
        self._scrolled = []
        self.stats.frame_pixels += self.width * self.height
        t_change = time.perf_counter()
        regions = self._changed_regions(luma, t)
        if not regions:
            self.stats.change_s += time.perf_counter() - t_change
            return self._moved
        self.stats.frames_changed += 1
        regions = self._grow(regions, luma)
        self.stats.change_s += time.perf_counter() - t_change
        new_texts, read = self._read(regions, luma, functools.cache(rgb_fn), t)
        return self._replace(new_texts, read, regions, luma)

    def _changed_regions(self, luma: np.ndarray, t: float) -> list[Box]:
        """The regions of the frame that differ from the state read, after following a
        scroll (known content moved: only what the shift does not explain is read)."""
        if self._luma is None:
            return [Box(0, 0, self.width, self.height)]
        mask = changed_tiles(self._luma, luma, self.tile_px, self.threshold)
        regions = regions_from_tiles(mask, self.tile_px, self.width, self.height)
        if any(self._scroll.follow(r, luma, t) for r in regions):
            mask = changed_tiles(self._luma, luma, self.tile_px, self.threshold)
            regions = regions_from_tiles(mask, self.tile_px, self.width, self.height)
            self.stats.scrolls += 1
            # Text left unread in the list (a row cut by its edge) is looked at again at
            # every step, so it is read once in view even if no new pixel of it shows.
            regions += [tb.box for tb in self.texts if tb.cut]
        return regions

    def _read(self, regions: list[Box], luma: np.ndarray, rgb: Callable[[], np.ndarray],
              t: float) -> tuple[list[TextBox], list[Box]]:
        """The texts read in ``regions``, and what was read again (texts mostly inside it
        are replaced): known lines changing in place by the recogniser alone, anything else
        by the text detector (and its new ink left unread as unreadable text)."""
        new_texts: list[TextBox] = []
        read: list[Box] = []
        for region in regions:
            t_read = time.perf_counter()
            # In a list being scrolled, rows are found from their ink (a row cut by the
            # list's edge is not read) rather than as known lines changing in place.
            lines = None if any(region.intersects(b) for b in self._scrolled) else self._known_lines.read(region, luma, t)
            if lines is not None:
                read.extend(lines[0])
                new_texts += lines[1]
                self.stats.recogniser_s += time.perf_counter() - t_read
                continue
            read.append(region)
            found = self._detector.read(region, luma, rgb, t)
            new_texts += found + self._unread_ink(region, luma, found, t)
            self.stats.detector_s += time.perf_counter() - t_read
        return new_texts, read

    def _replace(self, new_texts: list[TextBox], read: list[Box], regions: list[Box], luma: np.ndarray) -> bool:
        """Replace the texts mostly inside what was read again by ``new_texts``, take the
        changed ``regions`` of ``luma`` as read; True when the text state changed."""
        kept = [tb for tb in self.texts if not any(inside(tb.box, r) for r in read)]
        replaced = [tb for tb in self.texts if any(inside(tb.box, r) for r in read)]
        # A text whose own pixels did not change and that the new read did not find again
        # (OCR misses lines at the edge of a large crop) is still on screen: keep it.
        for tb in replaced:
            if not self._pixels_changed(tb.box, luma) and not any(nt.box.intersects(tb.box) for nt in new_texts):
                kept.append(tb)
        new_texts = [self._inherit(nt, replaced) for nt in new_texts]
        before = sorted((tb.box.as_list(), tb.text) for tb in self.texts)
        self.texts = kept + new_texts
        if self._luma is None:
            self._luma = luma.copy()
        else:
            for r in regions:
                self._luma[r.y : r.y1, r.x : r.x1] = luma[r.y : r.y1, r.x : r.x1]
        after = sorted((tb.box.as_list(), tb.text) for tb in self.texts)
        if self.texts:
            self.ocr.set_text_height(float(np.median([tb.box.h for tb in self.texts])))
        return before != after or self._moved

    def _changed_rows(self, region: Box, luma: np.ndarray) -> np.ndarray:
        """Rows of ``region`` (a box inside the frame; indexes from its top) where a pixel
        differs from the state read by the change threshold."""
        assert self._luma is not None
        prev = self._luma[region.y : region.y1, region.x : region.x1]
        return np.flatnonzero((cv2.absdiff(prev, luma[region.y : region.y1, region.x : region.x1]) >= self.threshold).any(axis=1))

    def _pixels_changed(self, box: Box, luma: np.ndarray) -> bool:
        if self._luma is None:
            return True
        b = box.clip(self.width, self.height)
        if b.area() == 0:
            return True
        a = self._luma[b.y : b.y1, b.x : b.x1].astype(np.int16)
        c = luma[b.y : b.y1, b.x : b.x1].astype(np.int16)
        return bool((np.abs(a - c) >= self.threshold).any())

    def _grow(self, regions: list[Box], luma: np.ndarray) -> list[Box]:
        """Pad changed regions and extend them over every text box they touch, so a text
        line is always read whole (a partly read line would mis-place offsets). The padding
        stops at a known line above or below the changed rows whose pixels did not change:
        it is read already (the padding reached the last full row of a scrolled list, read
        again at every step)."""
        pad = self.pad_px
        grown = [self._trim(r, r.pad(pad, pad // 2).clip(self.width, self.height), luma) for r in regions]
        while True:
            grown = merge_boxes(grown)
            extended = []
            for r in grown:
                for tb in self.texts:
                    if r.intersects(tb.box) and not _contains(r, tb.box):
                        r = r.union(tb.box.pad(4, 2)).clip(self.width, self.height)
                extended.append(r)
            if extended == grown:
                return grown
            grown = extended

    def _trim(self, changed: Box, padded: Box, luma: np.ndarray) -> Box:
        """``padded`` (``changed`` grown by the padding) with its top and bottom moved in past
        the unchanged known lines that lie wholly above or below the rows that changed in
        ``changed``, at least 2 rows away from them (a line cut by the change, or ending just
        where it starts, is read again whole), onto a row without ink."""
        if self._luma is None or not self.texts:
            return padded
        c = changed.clip(self.width, self.height)
        rows = self._changed_rows(c, luma)
        if rows.size == 0:
            return changed  # unread text looked at again (see update): as it is
        first, last = c.y + int(rows[0]), c.y + int(rows[-1])
        top, bottom = padded.y, padded.y1
        for tb in self.texts:
            b = tb.box
            if not b.intersects(padded):
                continue
            if b.y1 <= first - 2 and b.y1 > top and not self._pixels_changed(b, luma):
                top = b.y1
            elif b.y >= last + 3 and b.y < bottom and not self._pixels_changed(b, luma):
                bottom = b.y

        def blank(y: int, step: int) -> bool:
            """A new edge never cuts ink (text of another column); a vertical rule (one
            shade over more than a glyph's height away from the changes: a panel's
            frame) is not ink."""
            row = luma[y, padded.x : padded.x1].astype(np.int16)
            cols = np.flatnonzero(np.abs(row - int(np.median(row))) >= self.threshold) + padded.x
            if cols.size == 0:
                return True
            y0, y1 = sorted((y, y - step * MAX_GLYPH_H))
            if y0 < 0 or y1 >= self.height:
                return False  # too near the frame's edge to tell a rule from a glyph
            span = luma[y0 : y1 + 1, cols]
            return bool(((span.max(axis=0).astype(np.int16) - span.min(axis=0)) < self.threshold).all())

        top = top if top == padded.y or blank(top, 1) else padded.y
        bottom = bottom if bottom == padded.y1 or blank(bottom - 1, -1) else padded.y1
        return Box(padded.x, top, padded.w, bottom - top)

    def _unread_ink(self, region: Box, luma: np.ndarray, found: list[TextBox], t: float) -> list[TextBox]:
        """New ink the detector found no text in (a row half scrolled into view, glyphs at a
        crop's edge): an unreadable text box (``"?"``, confidence 0), so it is hidden as
        unsure, never shown. Ink under a text box, or that did not change since the last
        frame read (UI chrome OCR never reads), is not ink left unread."""
        if self._luma is None:
            return []  # the first frame: no change to compare with (its misses are as before)
        tile = self.tile_px
        before = self._luma[region.y : region.y1, region.x : region.x1]
        now = luma[region.y : region.y1, region.x : region.x1]
        changed = cv2.absdiff(before, now) >= self.threshold
        ink_mask = ink_tiles(luma[region.y : region.y1, region.x : region.x1], tile, self.threshold)
        if not ink_mask.any():
            return []
        mask = ink_mask.copy()
        covered = np.zeros((region.h, region.w), dtype=bool)
        for b in [tb.box.pad(2, 2) for tb in found] + [
                tb.box for tb in self.texts if tb.box.intersects(region) and not self._pixels_changed(tb.box, luma)]:
            covered[max(0, b.y - region.y) : max(0, b.y1 - region.y), max(0, b.x - region.x) : max(0, b.x1 - region.x)] = True
        unread = np.zeros((region.h, region.w), dtype=bool)  # unread ink pixels
        for ty, tx in zip(*np.nonzero(mask), strict=True):
            y0, x0 = int(ty) * tile, int(tx) * tile
            cell = luma[region.y + y0 : region.y + min(y0 + tile, region.h), region.x + x0 : region.x + min(x0 + tile, region.w)]
            ink = np.abs(cell.astype(np.int16) - int(np.median(cell))) >= self.threshold
            ink &= ~covered[y0 : y0 + cell.shape[0], x0 : x0 + cell.shape[1]]
            ink &= changed[y0 : y0 + cell.shape[0], x0 : x0 + cell.shape[1]]  # new ink only
            # a border or a rule crossing the tile (a button's frame, a table's grid) is no glyph
            ink[ink.mean(axis=1) >= 0.5, :] = False
            ink[:, ink.mean(axis=0) >= 0.5] = False
            unread[y0 : y0 + cell.shape[0], x0 : x0 + cell.shape[1]] = ink
            ys, xs = np.nonzero(ink)
            # a glyph's worth of ink left unread; a caret or a rule's end is not one
            if ys.size < 6 or xs.max() - xs.min() < 2 or ys.max() - ys.min() < 3:
                mask[ty, tx] = False
        if not mask.any():
            return []
        # the rest of that word: ink tiles next to an unread one
        mask |= ink_mask & cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        out = []
        for r in regions_from_tiles(mask, tile, region.w, region.h):
            # the unread ink itself, not the whole tiles: labels beside it stay readable
            ys, xs = np.nonzero(unread[r.y : r.y1, r.x : r.x1])
            if ys.size == 0:
                continue
            b = Box(region.x + r.x + int(xs.min()), region.y + r.y + int(ys.min()),
                    int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1).pad(4, 5).clip(self.width, self.height)
            out.append(TextBox(b, "?", 0.0, t))
        return out

    @staticmethod
    def _inherit(new: TextBox, old: list[TextBox]) -> TextBox:
        """A re-read text that overlaps an older one on the same line, starting at the
        same place, is the same field being edited: keep its ``since_s``. Not a label's or
        a placeholder's: what replaces "Customer name..." starts when it appears, and a
        misread of a header ("Handled by" as "LX,") does not reach back over its reads.
        Nor a different text that took the place of another: a tab switched, the next
        record shown (an IBAN where a name was read reached back 8 s over the other tab,
        hiding its labels). An edit keeps its start or most of its letters (``_edited``)."""
        best = None
        for ob in old:
            same_line = abs((ob.box.y + ob.box.h / 2) - (new.box.y + new.box.h / 2)) < max(ob.box.h, new.box.h) / 2
            same_start = abs(ob.box.x - new.box.x) <= max(ob.box.h, new.box.h) * 2
            if not (same_line and same_start and new.box.intersects(ob.box)):
                continue  # the place first: the text comparisons below cost more
            if not is_ui_text(ob.text, fuzzy=True) and _edited(ob.text, new.text):
                if best is None or ob.since_s < best.since_s:
                    best = ob
        if best is None or best.since_s >= new.since_s:
            return new
        return replace(new, since_s=best.since_s, edited=True)


def _edited(before: str, after: str) -> bool:
    """Whether ``after`` can be ``before`` typed on, erased back or corrected: one of them
    (less its last character: a half-drawn glyph, the caret) starts the other, or they share
    most of their characters. Compared as OCR reads them (no spaces, confusable glyphs on
    one representative); text that could not be read ("?") may be anything."""
    a, b = (ocr_canonical(re.sub(r"\s+", "", x)) for x in (before, after))
    if not a or not b or "?" in (before.strip(), after.strip()):
        return True
    short, long_ = sorted((a, b), key=len)
    if long_.startswith(short[:-1] if len(short) > 1 else short):
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.8


def _contains(outer: Box, inner: Box) -> bool:
    return outer.x <= inner.x and outer.y <= inner.y and inner.x1 <= outer.x1 and inner.y1 <= outer.y1

