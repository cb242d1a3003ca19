"""Text boxes -> lines in reading order with character offsets, and back to pixels.

Detection runs on whole lines ("Téléphone 06 12 34 56 78") so labels give context, then a
finding's character range is mapped back to the part of the box that holds it: only the
value is redacted and the label stays readable."""

from __future__ import annotations

from dataclasses import dataclass

from anonymizer.types import Box, Finding, TextBox


@dataclass(frozen=True)
class Line:
    text: str
    pieces: tuple[tuple[int, TextBox], ...]  # (offset of the piece's first char in text, box)


def build_lines(texts: list[TextBox]) -> list[Line]:
    """Group boxes whose vertical centres are within half a box height; sort by x."""
    rows: list[list[TextBox]] = []
    for tb in sorted(texts, key=lambda t: (t.box.y + t.box.h / 2, t.box.x)):
        for row in rows:
            ref = row[0].box
            if ref.same_row(tb.box):
                row.append(tb)
                break
        else:
            rows.append([tb])
    lines = []
    for row in rows:
        row.sort(key=lambda t: t.box.x)
        parts: list[str] = []
        pieces: list[tuple[int, TextBox]] = []
        pos = 0
        prev: TextBox | None = None
        for tb in row:
            if prev is not None:
                gap = tb.box.x - prev.box.x1
                # A wide gap separates table cells/fields: a double space keeps NER from
                # gluing two fields into one name.
                sep = "  " if gap > 2 * max(prev.box.h, tb.box.h) else " "
                parts.append(sep)
                pos += len(sep)
            pieces.append((pos, tb))
            parts.append(tb.text)
            pos += len(tb.text)
            prev = tb
        lines.append(Line("".join(parts), tuple(pieces)))
    return lines


def finding_boxes(line: Line, finding: Finding, pad_px: int) -> list[tuple[Box, float]]:
    """Pixel boxes (with each box's field ``since_s``) covering ``finding`` in ``line``.

    Character positions are mapped proportionally inside each OCR box and then padded by
    at least a third of the text height, so an imprecise split errs on the side of hiding."""
    out = []
    for start, tb in line.pieces:
        end = start + len(tb.text)
        cs, ce = max(finding.start, start), min(finding.end, end)
        if cs >= ce:
            continue
        n = max(1, len(tb.text))
        b = tb.box
        x0 = b.x + (b.w * (cs - start)) // n
        x1 = b.x + -(-(b.w * (ce - start)) // n)
        dx = max(pad_px, b.h // 3)
        out.append((Box(x0, b.y, max(1, x1 - x0), b.h).pad(dx, pad_px), tb.since_s))
    return out
