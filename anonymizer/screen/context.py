"""Screen context: the value of a labelled field is personal data, whatever it looks like.

A business application shows ``Nom  Dupont``, ``Téléphone  06 12 3`` (still being typed) or
a ``Handled by`` column: the label (``anonymizer.detect.labels``) says what the value is
even when no recognizer is sure (a rare surname, a partial number, OCR garbage).
``context_findings`` marks the text right of such a label on its line, or, when nothing
follows it, the text below it (a form field under its label, the cells of a table column).
``reference_values`` finds the values of labels of what is not a person (an order, a ticket).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from anonymizer.detect.labels import LABEL_RE, NAME_LABELS, PII_LABELS, REFERENCE_LABEL, is_ui_text
from anonymizer.screen.layout import Line
from anonymizer.textnorm import fold
from anonymizer.types import Box, Finding, TextBox


def reference_values(texts: list[TextBox]) -> set[TextBox]:
    """The boxes right of a reference label on their row (nearest box to their left)."""
    labels = [tb.box for tb in texts if REFERENCE_LABEL.search(fold(tb.text))]
    out: set[TextBox] = set()
    for tb in texts:
        b = tb.box
        if not any(lb.x1 <= b.x + b.h and lb.same_row(b) for lb in labels):
            continue  # no reference label on its row, to its left
        left: tuple[int, TextBox] | None = None
        for other in texts:
            o = other.box
            gap = b.x - o.x1
            if other is tb or not o.same_row(b) or not -b.h // 2 <= gap <= 20 * max(b.h, o.h):
                continue
            if left is None or gap < left[0]:
                left = (gap, other)
        if left is not None and REFERENCE_LABEL.search(fold(left[1].text)):
            out.add(tb)
    return out



@dataclass(frozen=True)
class _Label:
    line: int
    start: int  # label start in the line's text
    end: int  # end of the label and its colon
    category: str
    names: bool  # its value is a person's name


@dataclass(frozen=True)
class FieldValue:
    """``lines[line].text[finding.start:finding.end]`` is the value of a labelled field."""

    line: int
    finding: Finding
    names: bool


def _labels(lines: list[Line]) -> list[_Label]:
    out = []
    for i, line in enumerate(lines):
        folded = fold(line.text)
        if len(folded) != len(line.text):
            continue
        # a label starts an OCR box, follows a wide gap, or follows a separator inside a
        # box that joined several fields ("Chevalier · lchevalier · Matricule E64862")
        starts = ({off for off, _tb in line.pieces} | {m.end() for m in re.finditer(r"  ", line.text)}
                  | {m.end() for m in re.finditer(r"(?<=\S) [·•|.,;\-–] ", line.text)})
        for m in LABEL_RE.finditer(folded):
            if m.start() in starts:
                label = " ".join(m.group(1).split())
                out.append(_Label(i, m.start(), m.end(), PII_LABELS[label], label in NAME_LABELS))
    return out + _wrapped_labels(lines, {(lab.line, lab.start) for lab in out})


def _segment(line: Line, off: int) -> str:
    """The text of ``line`` from ``off`` to its next wide gap."""
    gap = line.text.find("  ", off)
    return line.text[off : gap if gap >= 0 else len(line.text)]


def _just_below(lines: list[Line], i: int, box: Box) -> tuple[int, int, TextBox] | None:
    """(line, offset, box) of the box that starts right under ``box`` (same left edge within
    a text height, its top within a text height of ``box``'s bottom): the next line of a
    text the layout wrapped."""
    h = max(1, box.h)
    for j in range(i + 1, len(lines)):
        for off, tb in lines[j].pieces:
            b = tb.box
            if abs(b.x - box.x) <= h and box.y1 - h // 2 <= b.y <= box.y1 + h:
                return j, off, tb
    return None


# The words of a label that another word of it follows ("securite" of "securite sociale"):
# a label wrapped over two lines ends its first line on one of them.
_WRAPPING_WORDS = frozenset(w for label in PII_LABELS for w in label.split()[:-1])


def _wrapped_labels(lines: list[Line], found: set[tuple[int, int]]) -> list[_Label]:
    """Labels a narrow column wrapped over two lines ("N° sécurité" over "sociale"): each
    part is a label of the same kind, so the value right of each part (the value wraps
    with it) is its field's value."""
    out = []
    for i, line in enumerate(lines):
        for off, tb in line.pieces:
            if (i, off) in found or (off > 0 and line.text[off - 2 : off] != "  "):
                continue  # only a segment's first box starts a label
            first = _segment(line, off)
            if not first.strip() or fold(first).split()[-1] not in _WRAPPING_WORDS:
                continue  # no label runs on from this line (checked before looking below)
            below = _just_below(lines, i, tb.box)
            if below is None:
                continue
            j, off2, _tb2 = below
            second = _segment(lines[j], off2)
            joined = f"{first} {second}"
            folded = fold(joined)
            # the label ends the joined text and runs over the wrap; it may start after a
            # word of the first line ("N°" of "N° sécurité sociale")
            m = next((m for m in LABEL_RE.finditer(folded) if m.start() < len(first) < m.end() - 1), None)
            if len(folded) != len(joined) or m is None or m.end() < len(joined.rstrip(" :")):
                continue
            label = " ".join(m.group(1).split())
            kind = (PII_LABELS[label], label in NAME_LABELS)
            out += [_Label(i, off, off + len(first), *kind), _Label(j, off2, off2 + len(second), *kind)]
    return out


# Words a name-label's value may hold ("Marie-Hélène Le Guen-Moreau" is 3): more, right of
# the label on its line, is a phrase or a menu. A longer name (5 words and up) is then left
# to the recognizers, as any text is; a label's value is positional evidence only.
MAX_NAME_WORDS = 4


def _value_from(line: Line, pos: int, label_starts: set[int]) -> tuple[int, int]:
    """The field value starting at ``pos``: up to the next wide gap or label (UI words at
    its ends, "Nom du client...", a trailing button, are cut by ``_without_ui_words``)."""
    text = line.text
    gap = text.find("  ", pos)
    end = len(text) if gap < 0 else gap
    for s in sorted(label_starts):  # the next label on the line ends the value
        if pos < s < end:
            end = s
    while end > pos and text[end - 1] in " :":
        end -= 1
    return pos, end


def _piece_at(line: Line, pos: int) -> tuple[int, TextBox] | None:
    for off, tb in line.pieces:
        if off <= pos < off + max(1, len(tb.text)):
            return off, tb
    return None


def _touching(lines: list[Line], j: int, off: int, h: int, by_line: dict[int, set[int]], category: str,
              names: bool) -> list[FieldValue]:
    """The other boxes on the row of ``lines[j]``'s box at ``off`` that overlap it or follow
    it with less than a line height between them, each as a field value."""
    piece = _piece_at(lines[j], off)
    if piece is None:
        return []
    chain = piece[1].box
    out = []
    row = sorted(((b.x, k, o, tb) for k, other in enumerate(lines) for o, tb in other.pieces
                  for b in [tb.box] if b.same_row(chain) and b.x1 > chain.x),
                 key=lambda r: r[0])
    for _x, k, o, tb in row:
        b = tb.box
        if (k, o) == (j, off) or o in by_line.get(k, set()) or is_ui_text(tb.text):
            continue
        if b.x > chain.x1 + h:
            break
        chain = chain.union(b)
        out.append(FieldValue(k, Finding("FIELD", o, o + len(tb.text), 0.5, category), names))
    return out


def context_findings(lines: list[Line]) -> list[FieldValue]:
    """Every value right of / below a PII label (type ``FIELD``). Score 0.5:
    a roster or recognizer finding on the same span (exact type, category) wins.

    Right of a label: the rest of its OCR box and what follows it after single spaces, or
    else the nearest box to its right at the same height (a value column; OCR lines may
    join it with another panel's row, so geometry decides, not the line's text)."""
    labels = _labels(lines)
    by_line: dict[int, set[int]] = {}
    for lab in labels:
        by_line.setdefault(lab.line, set()).add(lab.start)
    out: list[FieldValue] = []
    for lab in labels:
        lab_box = _label_box(lines[lab.line], lab)
        if lab_box is None:
            continue
        right = _right_of(lines, lab, lab_box, by_line)
        if right:
            right += _wrapped(lines, right[-1], lab_box, by_line)
        # Nothing on its right: a form field below its label, or a table column.
        out += _below(lines, lab, lab_box, by_line) if right is None else right
    return [fv for fv in (_without_ui_words(lines, fv) for fv in out) if fv is not None]


def _label_box(line: Line, lab: _Label) -> Box | None:
    """The box of the label's text: the union of the OCR boxes it spans (a reader that
    boxes word by word split "Date de naissance" in three)."""
    box = None
    for off, tb in line.pieces:
        if off < lab.end and lab.start < off + max(1, len(tb.text)):
            box = tb.box if box is None else box.union(tb.box)
    return box


# Lines a wrapped value may run on under its first (an address over three lines).
MAX_WRAPPED_LINES = 3


def _wrapped(lines: list[Line], value: FieldValue, lab_box: Box, by_line: dict[int, set[int]]) -> list[FieldValue]:
    """The lines a narrow column wrapped ``value`` onto ("89 impasse des" over "Roses,
    06000 Nice"): the text that starts right under the value's first box, while nothing
    stands in the label column left of it on its row (a label there, PII or not, starts
    the next field: "Montant mensuel" under "N° contrat")."""
    line = lines[value.line]
    first = next((tb for off, tb in line.pieces if value.finding.start <= off < value.finding.end), None)
    if first is None:
        return []
    out: list[FieldValue] = []
    above, i = first.box, value.line
    for _ in range(MAX_WRAPPED_LINES):
        below = _just_below(lines, i, above)
        if below is None:
            break
        j, off, tb = below
        b = tb.box
        if off in by_line.get(j, set()) or is_ui_text(tb.text) or any(
                o.x >= lab_box.x - b.h and o.x1 <= b.x and o.same_row(b)
                for other in lines for _o, otb in other.pieces for o in [otb.box]):
            break  # a text in the label column: the next field's label, whatever it says
        start, end = _value_from(lines[j], off, by_line.get(j, set()))
        if end <= start:
            break
        out.append(FieldValue(j, Finding("FIELD", start, end, 0.5, value.finding.category), value.names))
        above, i = b, j
    return out


def _right_of(lines: list[Line], lab: _Label, lab_box: Box, by_line: dict[int, set[int]]) -> list[FieldValue] | None:
    """The value right of ``lab`` (and the boxes touching it on its row); None when nothing
    is on its right (its value is below it)."""
    line = lines[lab.line]
    h = max(1, lab_box.h)
    pos = lab.end
    while pos < len(line.text) and line.text[pos] in " :：-–|" and line.text[pos : pos + 2] != "  ":
        pos += 1
    field_end = line.text.find("  ", pos)
    rest = line.text[pos : field_end if field_end >= 0 else len(line.text)].strip()
    if rest and is_ui_text(rest, fuzzy=True) and not rest.endswith("..."):
        return []  # "Address change", "Email updated": a UI phrase starting with a label word
    out: list[FieldValue] = []
    if pos < len(line.text) and line.text[pos] != " " and pos not in by_line[lab.line]:
        span = (lab.line, *_value_from(line, pos, by_line[lab.line]))
    else:
        best = _nearest_right(lines, lab_box, h)
        if best is None or best[1] in by_line.get(best[0], set()):
            return None
        j, off = best
        span = (j, *_value_from(lines[j], off, by_line.get(j, set())))
        # OCR may split one value into boxes that land on different lines (overlapping
        # reads of a garbled e-mail): the boxes touching it on its row are the same value.
        out += _touching(lines, j, off, h, by_line, lab.category, lab.names)
    value = lines[span[0]].text[span[1] : span[2]]
    if lab.names and sum(1 for w in value.split() if re.search(r"[^\W\d_]", w)) > MAX_NAME_WORDS:
        # "Customer Desk  Home  Customers  Requests  Statistics": a title and the menu after
        # it, not a person's name; the recognizers (NER, roster, known values) still judge
        # every word of the line.
        return out
    if span[2] > span[1]:
        out.append(FieldValue(span[0], Finding("FIELD", span[1], span[2], 0.5, lab.category), lab.names))
    return out


def _nearest_right(lines: list[Line], lab_box: Box, h: int) -> tuple[int, int] | None:
    """(line, offset) of the nearest box right of ``lab_box`` at its height, if any."""
    best = None
    for j, other in enumerate(lines):
        for off, tb in other.pieces:
            b = tb.box
            gap = b.x - lab_box.x1
            same_row = abs((b.y + b.h / 2) - (lab_box.y + lab_box.h / 2)) <= max(h, b.h) / 2
            if same_row and -h // 2 <= gap <= 20 * h and (best is None or gap < best[0]):
                best = (gap, j, off)
    return None if best is None else (best[1], best[2])


def _below(lines: list[Line], lab: _Label, lab_box: Box, by_line: dict[int, set[int]]) -> list[FieldValue]:
    """The values under ``lab``: the boxes starting under it, line after line, up to a
    UI text, a label or a gap of 3 line heights."""
    h = max(1, lab_box.h)
    out = []
    last_bottom = lab_box.y1
    for j in range(lab.line + 1, len(lines)):
        below = lines[j]
        hit = None
        for off, tb in below.pieces:
            b = tb.box
            if b.y >= last_bottom - h // 2 and lab_box.x - 2 * h <= b.x <= lab_box.x1 and b.x1 > lab_box.x:
                hit = (off, tb)
                break
        if hit is None:
            if below.pieces and min(tb.box.y for _o, tb in below.pieces) > last_bottom + 3 * h:
                break
            continue
        off, tb = hit
        if tb.box.y > last_bottom + 3 * h or is_ui_text(tb.text) or off in by_line.get(j, set()):
            break
        out.append(FieldValue(j, Finding("FIELD", off, off + len(tb.text), 0.5, lab.category), lab.names))
        last_bottom = tb.box.y1
    return out


def _without_ui_words(lines: list[Line], fv: FieldValue) -> FieldValue | None:
    """``fv`` less the UI words at either end ("change Wilson" -> "Wilson": a history
    action OCR joined with the name beside it); None when nothing else is left."""
    text = lines[fv.line].text
    words = list(re.finditer(r"\S+", text[fv.finding.start : fv.finding.end]))
    while words and is_ui_text(words[0].group()):
        words.pop(0)
    while words and is_ui_text(words[-1].group()):
        words.pop()
    if not words:
        return None
    start, end = fv.finding.start + words[0].start(), fv.finding.start + words[-1].end()
    if (start, end) == (fv.finding.start, fv.finding.end):
        return fv
    f = fv.finding
    return FieldValue(fv.line, Finding(f.entity_type, start, end, f.score, f.category), fv.names)

