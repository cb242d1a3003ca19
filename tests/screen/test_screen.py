"""Change-driven OCR and tracks, with a canned OCR engine (EasyOCR itself is exercised for
real by the end-to-end test): what is read, when, and how boxes follow over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.ocr import OcrEngine, OcrText
from anonymizer.screen.layout import build_lines, finding_boxes
from anonymizer.screen.state import ScreenState
from anonymizer.screen.tracks import StateBox, merge_tracks
from anonymizer.types import Box, Finding, TextBox

FONT = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 14)


class InkOcr(OcrEngine):
    """Reports one box per dark-ink blob row band, text = what the test drew there."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts  # y of line -> text
        self.calls: list[tuple[int, int]] = []

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        self.calls.append(rgb.shape[:2])
        ink = rgb.min(axis=2) < 128
        rows = np.flatnonzero(ink.any(axis=1))
        out = []
        if rows.size == 0:
            return out
        bands = np.split(rows, np.flatnonzero(np.diff(rows) > 3) + 1)
        for band in bands:
            cols = np.flatnonzero(ink[band[0] : band[-1] + 1].any(axis=0))
            out.append(OcrText(Box(int(cols[0]), int(band[0]), int(cols[-1] - cols[0] + 1), int(band[-1] - band[0] + 1)), "ink", 0.9))
        return out


def _frame(lines: dict[int, str], w: int = 320, h: int = 160) -> np.ndarray:
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    for y, text in lines.items():
        d.text((10, y), text, fill="black", font=FONT)
    return np.asarray(img).copy()


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb.mean(axis=2).astype(np.uint8))


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_static_frames_are_read_once(detector: str) -> None:
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    f = _frame({20: "Name Jean Martin", 60: "Phone 06 12 34 56 78"})
    assert st.update(0.0, _luma(f), lambda: f)
    first = len(ocr.calls)
    for i in range(1, 20):
        assert not st.update(i / 10, _luma(f), lambda: f)
    assert first >= 1 and len(ocr.calls) == first  # nothing read again
    assert st.stats.frames == 20 and st.stats.frames_changed == 1


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_only_changed_region_is_read_and_typing_keeps_since(detector: str) -> None:
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    base = {20: "Name Jean Martin"}
    f0 = _frame(base)
    st.update(0.0, _luma(f0), lambda: f0)
    typed = "06 12 34"
    for k in range(1, len(typed) + 1):
        f = _frame({**base, 100: typed[:k]})
        st.update(k / 10, _luma(f), lambda f=f: f)
    # every read after the first is a small crop around the typed field, never the frame
    assert all(h * w < 320 * 160 / 3 for h, w in ocr.calls[1:])
    typed_boxes = [tb for tb in st.texts if tb.box.y > 80]
    assert len(typed_boxes) == 1
    assert typed_boxes[0].since_s == 0.1  # the field's first keystroke, not the last read


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_a_three_frame_popup_is_read(detector: str) -> None:
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    f0 = _frame({20: "Name"})
    pop = _frame({20: "Name", 120: "Marc: call me"})
    st.update(0.0, _luma(f0), lambda: f0)
    seen = []
    for i, f in enumerate([pop, pop, pop, f0]):
        st.update((i + 1) / 10, _luma(f), lambda f=f: f)
        seen.append(any(tb.box.y > 100 for tb in st.texts))
    assert seen == [True, True, True, False]


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_scroll_moves_known_boxes_and_reads_only_new_rows(detector: str) -> None:
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    rows = {y: f"row {y}" for y in range(10, 160, 20)}
    f0 = _frame(rows)
    st.update(0.0, _luma(f0), lambda: f0)
    before = sorted(tb.box.y for tb in st.texts)
    f1 = _frame({y - 6: t for y, t in rows.items()})
    st.update(0.1, _luma(f1), lambda: f1)
    assert st.stats.scrolls == 1
    after = sorted(tb.box.y for tb in st.texts)
    assert after[1:4] == [y - 6 for y in before[1:4]]
    h, _w = ocr.calls[-1]
    assert h < 80  # only the newly exposed strip was read again
    # a moved row is at its new place since the scroll: its look-back does not reach
    # over the frames where it was elsewhere
    assert {tb.since_s for tb in st.texts} == {0.1}


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_a_field_being_typed_keeps_its_first_keystroke_when_scrolled(detector: str) -> None:
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    rows = {y: f"row {y}" for y in range(10, 100, 20)}
    for k, typed in enumerate(("06", "06 12", "06 12 34"), start=0):
        f = _frame({**rows, 110: typed})
        st.update(k / 10, _luma(f), lambda f=f: f)
    f = _frame({**{y - 6: t for y, t in rows.items()}, 104: "06 12 34"})
    st.update(0.3, _luma(f), lambda: f)
    assert st.stats.scrolls == 1
    (typed_box,) = [tb for tb in st.texts if tb.box.y > 95]
    assert typed_box.edited and typed_box.since_s == 0.0  # its first keystroke
    assert all(tb.since_s == 0.3 for tb in st.texts if tb.box.y < 95)


@pytest.mark.parametrize("detector", ["ink", "craft"])
def test_scroll_under_a_still_header_does_not_read_the_header_again(detector: str) -> None:
    """A list scrolled under its header: the header (in the same changed tiles) stays
    where it is and is not read again; the row half-hidden under it keeps its text."""
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)

    def screen(offset: int) -> np.ndarray:
        f = _frame({y - offset: f"row {y}" for y in range(36, 200, 20)})
        f[:34] = 255  # the list is drawn under its header...
        f[:34] = _frame({12: "Handled by"})[:34]  # ...which does not move
        return np.ascontiguousarray(f)

    f0 = screen(0)
    st.update(0.0, _luma(f0), lambda: f0)
    n0 = len(ocr.calls)
    for step, offset in enumerate((6, 12), start=1):
        f = screen(offset)
        st.update(0.1 * step, _luma(f), lambda f=f: f)  # type: ignore[misc]
    assert st.stats.scrolls == 2
    header = [tb for tb in st.texts if tb.box.y < 30]
    assert len(header) == 1 and header[0].since_s == 0.0  # never read again
    assert all(h < 60 for h, _w in ocr.calls[n0:])  # only the exposed strips were read


@pytest.mark.parametrize("detector", ["ink", "craft"])
@pytest.mark.parametrize("frame", [True, False])
@pytest.mark.parametrize("step", [1, 2, 4])
def test_a_row_scrolling_into_view_is_hidden_while_cut_and_read_once_in_view(detector: str, frame: bool, step: int) -> None:
    """A list scrolled up under a still footer: the row entering at its bottom edge is
    unread text (hidden) while the edge cuts it, then read once, whole; the rows already
    read are not read again."""
    ocr = InkOcr({})
    st = ScreenState(ocr=ocr, width=320, height=160, text_detector=detector)
    edge = 119 if frame else 120  # the first row below the list

    def rows(offset: int) -> np.ndarray:
        return _frame({y - offset: f"Row {y}" for y in range(10, 400, 20)})

    def screen(offset: int) -> np.ndarray:
        f = rows(offset)
        f[120:] = _frame({132: "Footer"})[120:]
        if frame:
            f[119, :] = 128  # the list's frame
        return np.ascontiguousarray(f)

    def cut(offset: int) -> bool:  # glyphs on the list's last 3 rows go on below it
        return bool((_luma(rows(offset))[edge - 3 : edge + 1, :80] < 128).any(axis=1).all())

    f0 = screen(0)
    st.update(0.0, _luma(f0), lambda: f0)
    first = len(ocr.calls)
    entered = 0
    for k, offset in enumerate(range(step, 60, step), start=1):
        f = screen(offset)
        st.update(k / 10, _luma(f), lambda f=f: f)  # type: ignore[misc]
        assert all(tb.text == "ink" for tb in st.texts if tb.box.y1 < edge - 1)  # in view: read
        unread = [tb for tb in st.texts if tb.text == "?"]
        assert all(tb.cut and tb.box.y1 >= edge - 1 for tb in unread), offset
        if detector == "ink":  # (the canned "craft" OCR also boxes 2-row slivers)
            assert bool(unread) == cut(offset), offset
        entered += cut(offset - step) and not cut(offset)
    assert st.stats.scrolls == len(range(step, 60, step))
    assert entered == 3
    if detector == "ink":
        assert len(ocr.calls) - first <= entered  # each entering row read once, whole


@pytest.mark.parametrize("across_edge", ["nothing", "a frame", "ink"])
def test_padding_stops_at_a_read_line_above_the_change_never_in_ink(across_edge: str) -> None:
    """A change's padding stops below an unchanged line already read, on a row without ink:
    a panel's frame crossing that row is not ink, text of another column is."""
    st = ScreenState(ocr=InkOcr({}), width=200, height=100, threshold=24)
    before = np.full((100, 200), 240, np.uint8)
    before[22:32, 12:60] = 20  # a line already read: box (10, 20, 52, 14)
    if across_edge == "a frame":
        before[:, 70] = 120
    elif across_edge == "ink":
        before[31:37, 120:122] = 20  # a glyph of another column, on the edge row (34)
    st._luma = before.copy()
    st.texts = [TextBox(Box(10, 20, 52, 14), "Name", 0.9, 0.0)]
    now = before.copy()
    now[40:46, 100:150] = 20  # the change
    padded = Box(40, 28, 134, 28)
    got = st._trim(Box(96, 32, 64, 16), padded, now)
    assert got.y == (28 if across_edge == "ink" else 34) and got.y1 == padded.y1


def test_lines_and_value_boxes_keep_labels_readable() -> None:
    label = TextBox(Box(10, 20, 50, 14), "Phone", 0.9, 0.0)
    value = TextBox(Box(100, 20, 140, 14), "06 12 34 56 78", 0.9, 0.0)
    (line,) = build_lines([value, label])
    assert line.text.startswith("Phone") and "06 12 34 56 78" in line.text
    start = line.text.index("06")
    boxes = finding_boxes(line, Finding("PHONE_NUMBER", start, start + 14, 1.0), pad_px=2)
    assert len(boxes) == 1
    b, _since = boxes[0]
    assert b.x >= 60 and b.x1 >= 240  # label untouched, value fully covered


def test_tracks_merge_and_reach_back_to_first_keystroke() -> None:
    times = [i / 10 for i in range(30)]
    b = Box(100, 100, 80, 16)
    states = [
        (0.0, []),
        (0.5, [StateBox(b, "PHONE_NUMBER", "customer", "ocr", "h1", since_s=0.2)]),
        (1.0, [StateBox(b, "PHONE_NUMBER", "customer", "ocr", "h1", since_s=0.2)]),
        (2.0, []),
    ]
    (pb,) = merge_tracks(states, times, pad_s=0.0, width=320, height=240)
    assert (pb.start_s, pb.end_s) == (0.2, 1.9)
    assert not pb.active(0.1) and pb.active(0.2) and pb.active(1.9) and not pb.active(2.0)


@pytest.mark.parametrize("masked", [True, False])
def test_pixels_outside_the_business_windows_are_never_analysed(tmp_path: Path, masked: bool) -> None:
    """A messenger right of the application changes every frame: with the sidecar's window
    on the application only, its pixels are blanked before the screen is analysed, so no
    text is read there and its changes never make a new state."""
    from fractions import Fraction

    import av

    from anonymizer.config import load_config
    from anonymizer.media import probe
    from anonymizer.plan import Window
    from anonymizer.screen.analyse import analyse_screen
    from anonymizer.timings import Timings

    video = tmp_path / "screen.mp4"
    with av.open(str(video), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 320, 160, "yuv420p"
        vs.codec_context.options = {"qp": "0"}  # lossless: only the messenger changes
        for i in range(12):
            img = Image.new("RGB", (320, 160), "white")
            d = ImageDraw.Draw(img)
            d.text((10, 20), "Name Jean Martin", fill="black", font=FONT)
            d.text((200, 20 + 10 * (i % 6)), f"msg {i}", fill="black", font=FONT)  # the messenger
            vf = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 10)
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    ocr = InkOcr({})
    windows = [Window(0, 0, 180, 160)] if masked else []
    states, times, stats = analyse_screen(video, probe(video), ocr, load_config(), Timings(), windows=windows)
    assert len(times) == 12
    right = [tb for _, texts in states for tb in texts if tb.box.x + tb.box.w > 180]
    if masked:
        assert not right and len(states) == 1 and stats.frames_changed == 1
        assert any(tb.box.x < 180 for tb in states[0][1])  # the application itself is read
    else:  # the control: without the window, the messenger is read and keeps changing
        assert right and len(states) > 6
