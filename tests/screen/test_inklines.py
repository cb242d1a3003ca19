"""The ink text-line detector on drawn application screens: every text is inside exactly
one box, a label and its value a column apart are two boxes, and the chrome around them
(rules, field frames, bands under a title bar) is no text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.screen.inklines import text_boxes
from anonymizer.types import Box

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _screen(px: int) -> tuple[np.ndarray, dict[str, Box]]:
    """A CRM-like screen at font size ``px``; returns its luma and each text's ink box."""
    font = ImageFont.truetype(FONT_PATH, px)
    img = Image.new("L", (640, 360), 240)
    d = ImageDraw.Draw(img)
    texts: dict[str, Box] = {}

    def text(x: int, y: int, s: str, fill: int = 30) -> None:
        d.text((x, y), s, fill=fill, font=font)
        x0, y0, x1, y1 = d.textbbox((x, y), s, font=font)
        texts[s] = Box(x0, y0, x1 - x0, y1 - y0)

    d.rectangle((0, 0, 640, 2 * px), fill=60)  # dark title bar, then a light band under it
    d.rectangle((0, 2 * px, 640, 2 * px + 5), fill=250)
    text(8, px // 3, "CallDesk CRM", fill=250)
    row = 3 * px
    for label, value in [("Nom", "Amélie Zorglub"), ("Téléphone", "06 12 34 56 78"), ("E-mail", "a.zorglub@free.fr")]:
        text(10, row, label)
        d.rectangle((150, row - 4, 420, row + px + 6), outline=120, fill=255)  # a field's frame
        text(156, row, value)
        row += 2 * px + 4
    # a table with a grid
    top = row + px
    for k, (date, action) in enumerate([("12/09/2026", "Appel entrant"), ("03/08/2026", "Réclamation")]):
        y = top + k * (px + 10)
        d.line((8, y - 4, 600, y - 4), fill=150)
        text(10, y, date)
        text(200, y, action)
    d.line((190, top - 4, 190, top + 2 * (px + 10)), fill=150)
    return np.asarray(img).copy(), texts


@pytest.mark.parametrize("px", [11, 14, 18])
def test_every_text_is_in_exactly_one_box(px: int) -> None:
    luma, texts = _screen(px)
    boxes = text_boxes(luma, 24)
    for s, tb in texts.items():
        holding = [b for b in boxes if b.intersection(tb) >= 0.9 * tb.area()]
        touching = [b for b in boxes if b.intersection(tb) > 0]
        assert len(holding) == 1 and len(touching) == 1, (s, tb, touching)
    # a label and its value a column apart, a date and its action: never one box
    for a, b in [("Nom", "Amélie Zorglub"), ("Téléphone", "06 12 34 56 78"), ("12/09/2026", "Appel entrant")]:
        assert not any(k.intersection(texts[a]) and k.intersection(texts[b]) for k in boxes), (a, b)
    # boxes hold text, not chrome: each one overlaps a drawn text
    assert all(any(k.intersection(tb) for tb in texts.values()) for k in boxes), boxes


def test_a_box_leaves_room_around_its_glyphs() -> None:
    """The recogniser reads a crop: the box has a margin over the ink, never cuts it."""
    luma, texts = _screen(14)
    for b in text_boxes(luma, 24):
        tb = next(t for t in texts.values() if t.intersection(b))
        assert b.x < tb.x and b.x1 > tb.x1 - 1 and b.y <= tb.y and b.y1 >= tb.y1 - 1


def test_chrome_alone_is_no_text() -> None:
    img = Image.new("L", (320, 200), 240)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 320, 30), fill=60)
    d.rectangle((0, 30, 320, 35), fill=250)
    d.rectangle((20, 60, 300, 84), outline=120, fill=255)
    d.line((10, 120, 310, 120), fill=150)
    d.line((160, 100, 160, 190), fill=150)
    assert text_boxes(np.asarray(img), 24) == []
    assert text_boxes(np.full((50, 50), 200, np.uint8), 24) == []
