"""The text on screen over time, maintained incrementally from changed regions only.

For each frame: compare its luma with the state already read; OCR only the changed regions,
grown to whole text lines (existing text boxes they touch are re-read whole); keep every
other text box as it was. Each text box remembers ``since_s``, when its field instance first
appeared, so a value recognised only once complete (a phone number typed digit by digit)
can be hidden from its first keystroke.

Two ways to read a changed region: when every changed pixel lies on the rows of text lines
already known there (a clock ticking, a field being typed, a value replaced), the lines'
new extents are found from their ink and read by the recogniser alone; anything else (a
pop-up, rows scrolled into view, a new panel) goes through the text detector, on a canvas
sized to the text height seen so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from anonymizer.detect.labels import is_ui_text
from anonymizer.ocr import OcrEngine
from anonymizer.screen.changes import changed_tiles, content_boxes, ink_tiles, merge_boxes, regions_from_tiles
from anonymizer.screen.inklines import BACKGROUND_WINDOW, MAX_GLYPH_H, text_boxes
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

    def update(self, t: float, luma: np.ndarray, rgb_fn: object) -> bool:
        """Bring the text state up to the frame at time ``t``. ``luma``: (H, W) uint8;
        ``rgb_fn()`` returns the frame's (H, W, 3) uint8 RGB and is called only if some
        region must be read. Returns True when the text state changed."""
        self.stats.frames += 1
        self._moved = False
        self._scrolled = []
        self.stats.frame_pixels += self.width * self.height
        t_change = time.perf_counter()
        if self._luma is None:
            regions = [Box(0, 0, self.width, self.height)]
        else:
            mask = changed_tiles(self._luma, luma, self.tile_px, self.threshold)
            regions = regions_from_tiles(mask, self.tile_px, self.width, self.height)
            if any(self._follow_scroll(r, luma, t) for r in regions):
                # Known content moved: only what the shift does not explain is read.
                mask = changed_tiles(self._luma, luma, self.tile_px, self.threshold)
                regions = regions_from_tiles(mask, self.tile_px, self.width, self.height)
                self.stats.scrolls += 1
                # Text left unread in the list (a row cut by its edge) is looked at again at
                # every step, so it is read once in view even if no new pixel of it shows.
                regions += [tb.box for tb in self.texts if tb.cut]
        if not regions:
            self.stats.change_s += time.perf_counter() - t_change
            return self._moved
        self.stats.frames_changed += 1
        regions = self._grow(regions, luma)
        self.stats.change_s += time.perf_counter() - t_change
        rgb: np.ndarray | None = None
        new_texts: list[TextBox] = []
        read: list[Box] = []  # what was read again: texts mostly inside are replaced
        for region in regions:
            t_read = time.perf_counter()
            # In a list being scrolled, rows are found from their ink (a row cut by the
            # list's edge is not read) rather than as known lines changing in place.
            lines = None if any(region.intersects(b) for b in self._scrolled) else self._known_lines(region, luma)
            if lines is not None:
                bands, boxes = lines
                self.stats.line_reads += 1
                read.extend(bands)
                for item in self.ocr.read_boxes(luma, boxes):
                    new_texts.append(TextBox(item.box, item.text, item.conf, t))
                self.stats.recogniser_s += time.perf_counter() - t_read
                continue
            read.append(region)
            if self.text_detector == "ink":
                found = self._read_ink_runs(region, luma, t)
            else:
                if rgb is None:
                    rgb = rgb_fn()  # type: ignore[operator]
                found = self._read_with_detector(region, luma, rgb, t)
            new_texts += found + self._unread_ink(region, luma, found, t)
            self.stats.detector_s += time.perf_counter() - t_read
        kept = [tb for tb in self.texts if not any(_inside(tb.box, r) for r in read)]
        replaced = [tb for tb in self.texts if any(_inside(tb.box, r) for r in read)]
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

    def _read_ink_runs(self, region: Box, luma: np.ndarray, t: float) -> list[TextBox]:
        """The region's text runs found from their ink (``inklines``), each read by the recogniser."""
        runs = [Box(b.x + region.x, b.y + region.y, b.w, b.h)
                for b in text_boxes(luma[region.y : region.y1, region.x : region.x1], self.threshold)]
        self.stats.ink_reads += 1
        self.stats.ink_pixels += region.area()
        # A row cut by the edge of a list being scrolled (half scrolled into view) cannot be
        # read whole: it is unread text, hidden, until it is in view (read then).
        cut = [r for r in runs if self._cut_by_scroll(r, luma)]
        runs = [r for r in runs if r not in cut]
        self.stats.boxes_read += len(runs)
        return [TextBox(item.box, item.text, item.conf, t) for item in self.ocr.read_boxes(luma, runs)] + [
            TextBox(r, "?", 0.0, t, cut=True) for r in cut]

    def _cut_by_scroll(self, run: Box, luma: np.ndarray) -> bool:
        """The run's ink reaches the first or last row of a band scrolled this frame, and it
        is shorter than the list's read rows: its glyphs go on past the list's edge."""
        for band in self._scrolled:
            if not run.intersects(band):
                continue
            rows = [tb.box.h for tb in self.texts if tb.conf > 0.0 and _inside(tb.box, band)]
            if rows and run.h >= float(np.median(rows)):
                continue
            x0, x1 = max(run.x, band.x), min(run.x1, band.x1)
            for y in (band.y, band.y1 - 1):
                if run.y <= y < run.y1:
                    row = luma[y, x0:x1].astype(np.int16)
                    if row.size and int(row.max()) - int(row.min()) >= self.threshold:
                        return True
        return False

    def _read_with_detector(self, region: Box, luma: np.ndarray, rgb: np.ndarray, t: float) -> list[TextBox]:
        """The region read by the OCR engine's own text detector; blank background inside
        it holds no text: only its content goes to the detector."""
        found = []
        for sub in content_boxes(luma[region.y : region.y1, region.x : region.x1], self.tile_px, self.threshold):
            x0, y0 = region.x + sub.x, region.y + sub.y
            crop = np.ascontiguousarray(rgb[y0 : y0 + sub.h, x0 : x0 + sub.w])
            self.stats.ocr_calls += 1
            self.stats.ocr_pixels += sub.area()
            for item in self.ocr.read(crop):
                b = item.box
                found.append(TextBox(Box(b.x + x0, b.y + y0, b.w, b.h), item.text, item.conf, t))
        found = [self._snap_to_ink(tb, luma) for tb in found]
        return [TextBox(tb.box, "?", 0.0, t, cut=True) if self._cut_by_scroll(tb.box, luma) else tb for tb in found]

    def _known_lines(self, region: Box, luma: np.ndarray) -> tuple[list[Box], list[Box]] | None:
        """If every pixel that changed in ``region`` lies on the rows of a text line already
        known there, return (the changed lines' bands across the region, the boxes of the
        ink runs on those rows: the lines' new extents); else None (use the detector).

        Ink runs closer than a line height are one box (words of a field); a run touching
        the region's side may continue outside it: detector."""
        if self._luma is None:
            return None
        known = [tb.box for tb in self.texts if tb.box.intersects(region)]
        if not known:
            return None
        changed_rows = self._changed_rows(region, luma) + region.y
        if changed_rows.size == 0:
            return None
        bands: list[tuple[int, int]] = []  # one (y0, y1) per known line, a line's boxes unioned
        for b in sorted(known, key=lambda b: b.y):
            y0, y1 = max(region.y, b.y - 1), min(region.y1, b.y1 + 1)
            for k, (a0, a1) in enumerate(bands):
                if min(a1, y1) - max(a0, y0) > min(a1 - a0, y1 - y0) // 2:
                    bands[k] = (min(a0, y0), max(a1, y1))
                    break
            else:
                bands.append((y0, y1))
        on_band = np.zeros(self.height, dtype=bool)
        for y0, y1 in bands:
            on_band[y0:y1] = True
        if not on_band[changed_rows].all():
            return None
        rows_changed = np.zeros(self.height, dtype=bool)
        rows_changed[changed_rows] = True
        read: list[Box] = []
        boxes: list[Box] = []
        for y0, y1 in bands:
            if not rows_changed[y0:y1].any():
                continue  # this line did not change: its text is kept as read
            read.append(Box(region.x, y0, region.w, y1 - y0))
            band = luma[y0:y1, region.x : region.x1]
            ink = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) >= self.threshold
            cols = np.flatnonzero(ink)
            if cols.size == 0:
                continue  # the line was erased
            if cols[0] == 0 or cols[-1] == region.w - 1:
                return None
            # Glyphs reaching the band's first or last row may be cut (text moved, a taller
            # line): only the detector can place that line.
            bg = int(np.median(band))
            if (np.abs(band[[0, -1]].astype(np.int16) - bg) >= self.threshold).any():
                return None
            gap = y1 - y0
            for run in np.split(cols, np.flatnonzero(np.diff(cols) > gap) + 1):
                x0 = max(0, region.x + int(run[0]) - 2)
                x1 = min(self.width, region.x + int(run[-1]) + 3)
                boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
        return read, boxes

    def _follow_scroll(self, region: Box, luma: np.ndarray, t: float) -> bool:
        """If ``region`` shows the state's content shifted vertically (a scrolled list),
        shift the state and its text boxes to match and return True.

        The shift is the dy for which almost no pixel differs; compression noise is
        tolerated through the change threshold. Boxes leaving the region are clipped, not
        dropped: a half-visible line stays hidden. A moved text is at its new place since
        ``t``: its look-back must not cover the new place over frames where the text was
        elsewhere (every row of a scrolled list was hidden at each of its positions back to
        when the list appeared: 3,042 boxes at once on the busy benchmark call). Only a
        field being typed keeps its first keystroke: where it was typed is not tracked."""
        assert self._luma is not None
        if region.h < 3 * self.tile_px or region.w < 2 * self.tile_px:
            return False
        # Only the rows that changed scroll: a tile-aligned region also holds still rows
        # above and below the list (its header, a frame), which must not be shifted (they
        # were read again, with the row half-hidden under the header, at every step).
        rows = self._changed_rows(region, luma)
        if rows.size == 0 or rows[-1] + 1 - rows[0] < 3 * self.tile_px:
            return False
        region = Box(region.x, region.y + int(rows[0]), region.w, int(rows[-1] + 1 - rows[0]))
        prev = self._luma[region.y : region.y1, region.x : region.x1]
        cur = luma[region.y : region.y1, region.x : region.x1]
        p16, c16 = prev[:, ::2].astype(np.int16), cur[:, ::2].astype(np.int16)
        h = region.h
        best_dy, best_bad = 0, 1.0
        for dy in range(-(h // 2), h // 2 + 1):
            if dy == 0:
                continue
            if dy > 0:  # content moved up: cur[y] == prev[y + dy]
                d = np.abs(c16[: h - dy] - p16[dy:])
            else:
                d = np.abs(c16[-dy:] - p16[: h + dy])
            bad = float((d >= self.threshold).mean())
            if bad < best_bad:
                best_dy, best_bad = dy, bad
        if best_bad > 0.002:
            return False
        dy = best_dy
        shifted = prev.copy()
        if dy > 0:
            shifted[: h - dy] = prev[dy:]
            exposed = slice(h - dy, h)
        else:
            shifted[-dy:] = prev[: h + dy]
            exposed = slice(0, -dy)
        # The rows scrolled into view are compared with the list's own background there
        # (the ink detector's: a median wider than a text line), not with the stale rows
        # they replace: only their ink is a change (a row already read, next to them, is not
        # read again), faint text on a highlighted row included.
        shifted[exposed] = cv2.medianBlur(np.ascontiguousarray(cur), BACKGROUND_WINDOW)[exposed]
        self._luma[region.y : region.y1, region.x : region.x1] = shifted
        self._scrolled.append(region)
        moved = []
        for tb in self.texts:
            if _inside(tb.box, region):
                nb = Box(tb.box.x, tb.box.y - dy, tb.box.w, tb.box.h)
                clipped = Box(nb.x, max(nb.y, region.y), nb.w, min(nb.y1, region.y1) - max(nb.y, region.y))
                if clipped.h > 0:
                    moved.append(replace(tb, box=clipped, since_s=tb.since_s if tb.edited else t))
            else:
                moved.append(tb)
        self.texts = moved
        self._moved = True
        return True

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

    def _snap_to_ink(self, tb: TextBox, luma: np.ndarray) -> TextBox:
        """Widen ``tb`` over glyphs its OCR box cut off: the ink on its rows that continues
        past either side with no gap as wide as a word space. OCR boxes can be a few pixels
        short of the text (more so on scrolled or small text), and a value is hidden inside
        its line's box: a box is only ever widened here, never narrowed."""
        b = tb.box.clip(self.width, self.height)
        if b.area() == 0:
            return tb
        reach = 3 * b.h
        x0, x1 = max(0, b.x - reach), min(self.width, b.x1 + reach)
        band = luma[b.y : b.y1, x0:x1]
        ink = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) >= self.threshold
        inside = np.flatnonzero(ink[b.x - x0 : b.x1 - x0])
        if inside.size == 0:
            return tb
        # Scan out from the box's outermost glyphs, not its edges (OCR boxes have margins):
        # letters of one word are at most ``gap`` blank columns apart, words further.
        gap = max(2, round(b.h * 0.12))
        left, right = b.x - x0 + int(inside[0]), b.x - x0 + int(inside[-1]) + 1
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
        right = b.x1 - x0 if right >= ink.size and x1 < self.width else right
        left, right = min(left, b.x - x0), max(right, b.x1 - x0)
        if left == b.x - x0 and right == b.x1 - x0:
            return tb
        nx0, nx1 = x0 + left, x0 + right
        return replace(tb, box=Box(nx0, tb.box.y, nx1 - nx0, tb.box.h))

    @staticmethod
    def _inherit(new: TextBox, old: list[TextBox]) -> TextBox:
        """A re-read text that overlaps an older one on the same line, starting at the
        same place, is the same field being edited: keep its ``since_s``. Not a label's or
        a placeholder's: what replaces "Customer name..." starts when it appears, and a
        misread of a header ("Handled by" as "LX,") does not reach back over its reads."""
        best = None
        for ob in old:
            if is_ui_text(ob.text, fuzzy=True):
                continue
            same_line = abs((ob.box.y + ob.box.h / 2) - (new.box.y + new.box.h / 2)) < max(ob.box.h, new.box.h) / 2
            same_start = abs(ob.box.x - new.box.x) <= max(ob.box.h, new.box.h) * 2
            if same_line and same_start and new.box.intersects(ob.box):
                if best is None or ob.since_s < best.since_s:
                    best = ob
        if best is None or best.since_s >= new.since_s:
            return new
        return replace(new, since_s=best.since_s, edited=True)


def _contains(outer: Box, inner: Box) -> bool:
    return outer.x <= inner.x and outer.y <= inner.y and inner.x1 <= outer.x1 and inner.y1 <= outer.y1


def _inside(inner: Box, outer: Box) -> bool:
    """Mostly inside: at least half of ``inner``'s area lies in ``outer``."""
    return inner.intersection(outer) * 2 >= inner.area()
