"""Known lines are re-read by the recogniser alone; anything new goes through the detector;
the verification gate proves flat (filled) boxes unreadable without OCR and still reads a
box whose pixels were not hidden. A canned OCR engine stands in for EasyOCR (EasyOCR
itself is exercised for real by the end-to-end tests)."""

from __future__ import annotations

import numpy as np
import pytest

import kernels
from anonymizer.ocr import OcrEngine, OcrText
from anonymizer.screen.changes import content_boxes
from anonymizer.screen.state import ScreenState
from anonymizer.types import Box, TextBox
from anonymizer.verify import flat_interior, flat_visible
from tests.screen.test_screen import FONT, _luma
from tests.screen.test_screen import _frame as text_frame


class CountingOcr(OcrEngine):
    """Detector: one box per band of dark rows. Both read a text as long as its ink is wide,
    so a longer text reads differently and text typed on reads as the same text extended."""

    def __init__(self) -> None:
        self.detector_calls = 0
        self.line_calls = 0

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        self.detector_calls += 1
        ink = rgb.min(axis=2) < 128
        rows = np.flatnonzero(ink.any(axis=1))
        out = []
        if rows.size:
            for band in np.split(rows, np.flatnonzero(np.diff(rows) > 3) + 1):
                cols = np.flatnonzero(ink[band[0] : band[-1] + 1].any(axis=0))
                out.append(OcrText(Box(int(cols[0]), int(band[0]), int(cols[-1] - cols[0] + 1), int(band[-1] - band[0] + 1)),
                                   _width_text(cols.size), 0.9))
        return out

    def read_line(self, rgb: np.ndarray) -> str:
        self.line_calls += 1
        ink = rgb.min(axis=2) < 128
        return _width_text(int(np.flatnonzero(ink.any(axis=0)).size))


def _width_text(ink_columns: int) -> str:
    return "w" * max(1, ink_columns // 3)


def _frame(lines: dict[int, str]) -> np.ndarray:
    return text_frame(lines, w=400, h=200)


def test_typing_on_a_known_line_uses_the_recogniser_only() -> None:
    ocr = CountingOcr()
    st = ScreenState(ocr=ocr, width=400, height=200, text_detector="craft")
    base = {20: "Title", 100: "Phone 06"}
    f0 = _frame(base)
    st.update(0.0, _luma(f0), lambda: f0)
    first_calls, first_pixels = ocr.detector_calls, st.stats.ocr_pixels
    assert first_calls >= 1 and first_pixels < 400 * 200 / 2  # blank background skipped
    for k, typed in enumerate(["Phone 06 1", "Phone 06 12", "Phone 06 12 3"], start=1):
        f = _frame({**base, 100: typed})
        st.update(k / 10, _luma(f), lambda f=f: f)
    assert ocr.detector_calls == first_calls  # no detector after the first frame
    assert ocr.line_calls >= 3
    phone = [tb for tb in st.texts if tb.box.y > 80]
    assert len(phone) == 1 and phone[0].text.startswith("w")
    assert phone[0].since_s == 0.0  # the same field: look-back reaches its first appearance
    assert phone[0].box.x1 > 10 + FONT.getlength("Phone 06 12")  # the box grew with the text
    assert st.stats.ocr_pixels == first_pixels  # only the first frame went to the detector


def test_text_off_the_known_lines_goes_to_the_detector() -> None:
    ocr = CountingOcr()
    st = ScreenState(ocr=ocr, width=400, height=200, text_detector="craft")
    f0 = _frame({20: "Title"})
    f1 = _frame({20: "Title", 140: "Popup: call Marc"})
    st.update(0.0, _luma(f0), lambda: f0)
    calls, pixels = ocr.detector_calls, st.stats.ocr_pixels
    st.update(0.1, _luma(f1), lambda: f1)
    assert ocr.detector_calls > calls
    assert any(tb.box.y > 130 for tb in st.texts)
    assert st.stats.ocr_pixels - pixels < 400 * 200 * 0.2  # only the pop-up's text


def test_filled_boxes_are_flat_and_text_is_not() -> None:
    rgb = _frame({20: "Jean Martin 06 12 34 56 78"})
    box = Box(8, 18, 220, 22)
    luma = _luma(rgb)
    assert not flat_interior(luma, box, 24)
    kernels.redact(rgb, np.array([[box.x, box.y, box.w, box.h]], dtype=np.int32), "fill", seed=7)
    assert flat_interior(_luma(rgb), box, 24)
    assert not flat_interior(_luma(rgb), Box(8, 18, 3, 22), 24)  # too thin to prove anything: OCR it


def test_overlapping_fills_of_two_colours_are_flat_where_each_shows_and_a_glyph_is_not() -> None:
    rgb = _frame({20: "Jean Dupont 06 12 34 56 78", 40: "Marie Curie 07 00"})
    first, second = Box(10, 10, 150, 30), Box(60, 20, 150, 30)  # the second is drawn over the first
    boxes = np.array([[b.x, b.y, b.w, b.h] for b in (first, second)], np.int32)
    kernels.redact(rgb, boxes, "fill")
    rgb[20:50, 60:210] = (40, 40, 40)  # a dark fill next to a light one (fill takes each box's ring colour)
    luma = _luma(rgb)
    region = Box(0, 0, 400, 200)
    assert not flat_interior(luma, first, 24)  # two colours in the first box's interior
    assert flat_visible(luma, region, [first, second], 24)
    assert not flat_visible(luma, region, [second, first], 24)  # drawn the other way round, what shows is not one fill
    rgb[30:36, 20:50] = 0  # a stroke in the part of the first box that shows
    assert not flat_visible(_luma(rgb), region, [first, second], 24)
    rgb[30:36, 20:50] = rgb[15, 20]
    assert flat_visible(_luma(rgb), region, [first, second], 24)
    rgb[18:22, 70:120] = 0  # a stroke on the border between the two fills, where no core reaches
    assert not flat_visible(_luma(rgb), region, [first, second], 24)


def test_boxes_stacked_a_few_pixels_apart_prove_nothing_about_the_text_under_them() -> None:
    rgb = _frame({20: "Jean Dupont 06 12 34 56 78"})
    stack = [Box(8, 18 + 4 * k, 220, 22) for k in range(7)]  # a scrolled value: each shows as a 4-px strip
    kernels.redact(rgb, np.array([[b.x, b.y, b.w, b.h] for b in stack], np.int32), "fill", seed=7)
    rgb[27:29, 20:200:6] = 0  # a stroke in one strip, narrower than any core
    # each earlier box shows only as a strip too thin for a core: not proven flat, OCR'd
    assert not flat_visible(_luma(rgb), Box(0, 0, 400, 200), stack, 24)
    assert flat_visible(_luma(rgb), Box(0, 0, 400, 200), stack[-1:], 24)  # the last one alone is a flat fill


def test_content_boxes_skip_background_and_rules_but_keep_every_glyph() -> None:
    rgb = _frame({20: "Name Jean", 150: "x"})
    rgb[100, :, :] = 0  # a horizontal rule across the screen
    rgb[:, 300, :] = 0  # a vertical rule
    luma = _luma(rgb)
    boxes = content_boxes(luma, 16, 24)
    ink = luma < 128
    ink[100, :] = ink[:, 300] = False
    ys, xs = np.nonzero(ink)
    assert all(any(b.x <= x < b.x1 and b.y <= y < b.y1 for b in boxes) for y, x in zip(ys, xs, strict=True))
    assert sum(b.area() for b in boxes) < 0.25 * luma.size


def test_a_line_that_moved_off_its_known_rows_goes_to_the_detector() -> None:
    ocr = CountingOcr()
    st = ScreenState(ocr=ocr, width=400, height=200, text_detector="craft")
    f0 = _frame({20: "Title", 100: "Phone 06 12"})
    f1 = _frame({20: "Title", 104: "Phone 06 12"})  # shifted by 4 px: the old rows cut its glyphs
    st.update(0.0, _luma(f0), lambda: f0)
    calls = ocr.detector_calls
    st.update(0.1, _luma(f1), lambda: f1)
    assert ocr.detector_calls > calls
    (phone,) = [tb for tb in st.texts if tb.box.y > 80]
    ink_rows = np.flatnonzero((_luma(f1) < 128)[:, :200].any(axis=1))
    assert phone.box.y <= ink_rows[ink_rows > 80][0] and phone.box.y1 > ink_rows[-1]


class ShortBoxOcr(CountingOcr):
    """A detector whose boxes stop ``cut`` px short of the last glyph of each word (as
    EasyOCR's do now and then on small or scrolled text)."""

    def __init__(self, cut: int) -> None:
        super().__init__()
        self.cut = cut

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        ink = rgb.min(axis=2) < 128
        out = []
        for item in super().read(rgb):
            b = item.box
            cols = np.flatnonzero(ink[b.y : b.y1, b.x : b.x1].any(axis=0)) + b.x
            # words: runs of ink columns more than 3 px apart
            for run in np.split(cols, np.flatnonzero(np.diff(cols) > 3) + 1):
                x0, x1 = int(run[0]), int(run[-1]) + 1 - self.cut
                out.append(OcrText(Box(x0, b.y, x1 - x0, b.h), "word", 0.9))
        return out


def test_a_box_cut_short_is_widened_to_its_glyphs_not_to_the_next_word() -> None:
    f = _frame({100: "Robinson arobinson"})
    luma = _luma(f)
    ink_cols = np.flatnonzero((luma[90:130] < 128).any(axis=0))
    words = np.split(ink_cols, np.flatnonzero(np.diff(ink_cols) > 3) + 1)
    assert len(words) == 2
    st = ScreenState(ocr=ShortBoxOcr(cut=7), width=400, height=200, text_detector="craft")
    st.update(0.0, luma, lambda: f)
    boxes = sorted((tb.box for tb in st.texts), key=lambda b: b.x)
    assert len(boxes) == 2
    for box, word in zip(boxes, words, strict=True):
        assert box.x <= word[0] and box.x1 >= word[-1] + 1  # every glyph of the word inside
        assert box.x1 < word[-1] + 1 + 3  # and not beyond the word space
    # exact boxes stay as they are
    st2 = ScreenState(ocr=ShortBoxOcr(cut=0), width=400, height=200, text_detector="craft")
    st2.update(0.0, luma, lambda: f)
    assert sorted((tb.box for tb in st2.texts), key=lambda b: b.x) == boxes


class BlindOcr(CountingOcr):
    """A detector that reads the first crop it is given and finds nothing in the others
    (a half-scrolled row, glyphs at a crop's edge)."""

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        found = super().read(rgb)
        return found if self.detector_calls == 1 else []

    def read_line(self, rgb: np.ndarray) -> str:  # the recogniser, on lines found from ink
        text = super().read_line(rgb)
        return text if self.line_calls == 1 else ""


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_ink_the_detector_did_not_read_is_kept_as_unreadable_text(detector: str) -> None:
    f0 = _frame({20: "Title"})
    f = _frame({20: "Title", 100: "Hall"})  # a row appears that the detector cannot read
    st = ScreenState(ocr=BlindOcr(), width=400, height=200, text_detector=detector)
    st.update(0.0, _luma(f0), lambda: f0)
    st.update(0.2, _luma(f), lambda: f)
    hall = np.flatnonzero((_luma(f)[80:140] < 128).any(axis=0))
    unread = [tb for tb in st.texts if tb.conf == 0.0]
    assert unread and all(tb.text == "?" for tb in unread)
    assert any(tb.box.x <= hall[0] and tb.box.x1 > hall[-1] and 80 <= tb.box.y1 for tb in unread)
    assert not any(tb.box.y1 < 60 for tb in unread)  # the title was read: not unsure
    # and the pipeline hides it as unsure
    from anonymizer.config import Config
    from anonymizer.screen.findings import unsure_candidates
    from anonymizer.screen.tracks import unsure_boxes
    v = Config().video
    hidden = unsure_boxes(unsure_candidates(st.texts), conf=v.unsure_conf, min_digits=v.unsure_min_digits, pad_px=0,
                          hasher=str)
    assert any(h.box.x <= hall[0] and h.box.x1 > hall[-1] for h in hidden)


class TextOnlyOcr(CountingOcr):
    """Like EasyOCR, boxes the text and not the frame drawn around it."""

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        rgb = rgb.copy()
        dark = rgb.min(axis=2) < 128
        rgb[dark.sum(axis=1) > 20] = 255  # long straight runs: rules and frames
        rgb[:, dark.sum(axis=0) > 20] = 255
        return super().read(rgb)


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_a_new_frame_around_read_text_is_not_unread_ink(detector: str) -> None:
    """A button drawn around text the detector did read: its border is no glyph."""
    f0 = _frame({20: "Title"})
    f = _frame({20: "Title", 100: "Save"})
    ink = _luma(f) < 128
    rows = np.flatnonzero(ink[80:140].any(axis=1)) + 80
    cols = np.flatnonzero(ink[80:140].any(axis=0))
    y0, y1, x0, x1 = int(rows[0]) - 12, int(rows[-1]) + 12, int(cols[0]) - 8, int(cols[-1]) + 8
    f = f.copy()
    f[y0, x0:x1] = f[y1, x0:x1] = 0
    f[y0:y1 + 1, x0] = f[y0:y1 + 1, x1] = 0
    st = ScreenState(ocr=TextOnlyOcr(), width=400, height=200, text_detector=detector)
    st.update(0.0, _luma(f0), lambda: f0)
    st.update(0.2, _luma(f), lambda: f)
    assert [tb for tb in st.texts if tb.conf > 0 and tb.box.y > 80]  # the text was read
    assert not [tb for tb in st.texts if tb.conf == 0.0]


def test_typed_text_does_not_inherit_a_placeholders_first_sight() -> None:
    """Look-back reaches the first keystroke of a field, not the time its placeholder or a
    header (now misread) was first shown: those were read, and were labels."""
    placeholder = TextBox(Box(60, 60, 100, 12), "Customer name...", 0.99, 0.0)
    typed = TextBox(Box(60, 60, 30, 12), "Geo", 0.9, 4.2)
    earlier = TextBox(Box(60, 60, 20, 12), "Ge", 0.9, 4.0)
    assert ScreenState._inherit(typed, [placeholder]).since_s == 4.2
    assert ScreenState._inherit(typed, [placeholder, earlier]).since_s == 4.0
    header = TextBox(Box(720, 116, 70, 13), "Handled by", 0.97, 0.0)
    assert ScreenState._inherit(TextBox(Box(718, 116, 75, 21), "LX,", 0.29, 5.4), [header]).since_s == 5.4


def test_another_text_in_a_fields_place_does_not_inherit_its_first_sight() -> None:
    """A value typed on, erased back or corrected (even misread on the way) is the same
    field; the next tab's or the next record's value at the same place is not, and its box
    must not reach back over what the screen showed before it."""
    name = TextBox(Box(412, 210, 140, 17), "Mme Julie Gauthier", 0.9, 9.73)
    iban = TextBox(Box(412, 208, 291, 17), "FR76 2004 1205 5656 0867 1645 209", 0.8, 18.0)
    assert ScreenState._inherit(iban, [name]).since_s == 18.0
    other = TextBox(Box(412, 210, 140, 17), "Mme Marie Durand", 0.9, 20.0)
    assert ScreenState._inherit(other, [name]).since_s == 20.0
    typing = [("06 1", 1.0), ("O6 12", 1.2), ("06 12 3|", 1.4), ("06 12 34", 1.6), ("06 12 3", 1.8), ("06 72 3", 2.0),
              ("?", 2.2), ("06 72 35", 2.4)]
    prev = TextBox(Box(60, 60, 30, 12), "0", 0.9, 0.8)
    for text, t in typing:
        prev = ScreenState._inherit(TextBox(Box(60, 60, 40, 12), text, 0.9, t), [prev])
        assert prev.since_s == 0.8, text


def test_one_glyph_is_not_an_unsure_value() -> None:
    """An icon or a status dot read as one barely sure character ('L', '1', '?') holds no
    value: no box, so the label beside it stays readable. The same character read in a
    box wider than tall (several glyphs seen, one read) and two characters stay hidden."""
    from anonymizer.screen.tracks import unsure_boxes

    def hidden(text: str, w: int, h: int = 16) -> bool:
        return bool(unsure_boxes([TextBox(Box(10, 10, w, h), text, 0.05, 0.0)], conf=0.35, min_digits=3, pad_px=3,
                                 hasher=lambda v: v))

    assert not hidden("L", 14) and not hidden("1", 10) and not hidden("?", 16)
    assert hidden("L", 40) and hidden("TC", 16) and hidden("Jn", 20)
    # ink nothing read at all (ScreenState's "?" at confidence 0) stays hidden, whatever its size
    unread = TextBox(Box(10, 10, 12, 16), "?", 0.0, 0.0)
    assert unsure_boxes([unread], conf=0.35, min_digits=3, pad_px=3, hasher=lambda v: v)


def test_a_name_cut_by_a_lists_edge_is_hidden_at_a_middling_confidence() -> None:
    """A row half-scrolled under a list's edge: "Olivier" read "Aliior" at 0.37 in a box
    11 px high among 15 px lines. A word that is no UI or common word, in a box
    cut shorter than the screen's text, is hidden below twice the unsure confidence; the
    same word at full height, a cut UI or common word and a surer read stay readable."""
    from anonymizer.screen.tracks import unsure_boxes

    lines = [TextBox(Box(10, 10 + 20 * k, 60, 15), f"Row {k}", 0.99, 0.0) for k in range(5)]

    def hidden(text: str, h: int, conf: float) -> bool:
        box = TextBox(Box(10, 120, 44, h), text, conf, 0.0)
        return any(sb.box.y > 100 for sb in unsure_boxes([*lines, box], conf=0.35, min_digits=3, pad_px=0,
                                                          hasher=lambda v: v))

    assert hidden("Aliior", 11, 0.37) and hidden("0livier", 11, 0.5)  # a cut capital reads as anything
    assert not hidden("Aliior", 15, 0.37)  # a whole line read at that confidence: as before
    assert not hidden("Historique", 11, 0.37) and not hidden("about", 11, 0.37)
    assert not hidden("Aliior", 11, 0.75)
