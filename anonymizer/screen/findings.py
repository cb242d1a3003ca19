"""What the screen's text holds: findings per OCR line (registry, Presidio, context
labels), turned into redaction boxes with their hashes, and barely readable text kept
hidden unless it plainly is not personal (a clock, a date, an amount, a UI label)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from anonymizer.config import Config
from anonymizer.detect import Detector, full_name_shape
from anonymizer.detect.labels import REFERENCE_LABEL, is_ui_text
from anonymizer.screen.context import context_findings, reference_values
from anonymizer.screen.layout import Line, build_lines, finding_boxes
from anonymizer.screen.tracks import StateBox, unsure_boxes
from anonymizer.textnorm import digits, fold
from anonymizer.types import Box, Finding, TextBox

_CLOCK_IN_LINE = re.compile(r"(?<![\w:.])\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?![\w:.])")


def _zeroed_clock(m: re.Match[str], year: int) -> str:
    """A clock's digits as zeros (same length): a status bar whose clock ticks is the same
    text to the detector from one second to the next (its findings are cached by text)."""
    return re.sub(r"\d", "0", m.group()) if _plainly_not_pii(m.group(), year) else m.group()


def _line_findings(texts: list[TextBox], detector: Detector) -> tuple[list[Line], list[tuple[int, Finding]]]:
    """The screen's lines and the detector's findings on each, less the generic shapes
    (an employee-id-like code, a number shorter than a card's) in the value of a
    reference label: "Ticket  T-48623" names a ticket, even on a line where OCR split the
    label off."""
    lines = build_lines(texts)
    refs = reference_values(texts)
    year = time.gmtime().tm_year
    found = []
    for k, line in enumerate(lines):
        for f in detector.find(_CLOCK_IN_LINE.sub(lambda m: _zeroed_clock(m, year), line.text)):
            generic = f.entity_type == "EMPLOYEE_ID" or (f.entity_type == "NUMBER" and len(digits(line.text[f.start : f.end])) < 12)
            if generic and f.category == "customer":
                pieces = [tb for off, tb in line.pieces if off < f.end and f.start < off + len(tb.text)]
                if pieces and all(tb in refs for tb in pieces):
                    continue
            found.append((k, f))
    return lines, found


def screen_findings(texts: list[TextBox], detector: Detector, cfg: Config) -> list[tuple[Line, Finding]]:
    """Every finding on one screen state, per line: recognizers, roster and registry, and
    the values of labelled fields (``FIELD``: right of or below a label such as "Nom",
    "Handled by"), minus what the ``[redact]`` policy keeps. A field value is dropped only
    when kept findings cover all of it ("Agent: Claire Dubois" with agent = "keep")."""
    lines, found = _line_findings(texts, detector)
    if "FIELD" in cfg.detect.entities:
        found += [(fv.line, fv.finding) for fv in context_findings(lines)]
    keep = cfg.redact
    kept: dict[int, list[Finding]] = {}
    for k, f in found:
        if keep.keeps(f.category, f.entity_type):
            kept.setdefault(k, []).append(f)
    out = []
    for k, f in found:
        if keep.keeps(f.category, f.entity_type):
            continue
        if f.entity_type == "FIELD" and k in kept:
            rest = _unfound(lines[k].text[f.start : f.end], f.start, [(g.start, g.end) for g in kept[k]])
            if not re.search(r"[^\W_]{2,}", rest):
                continue
        out.append((lines[k], f))
    return out


def register_screen(texts: list[TextBox], detector: Detector) -> None:
    """Add one screen state's values to the recording's registry (searched everywhere)."""
    lines, found = _line_findings(texts, detector)
    for k, f in found:
        value = lines[k].text[f.start : f.end]
        if detector.registers(f.entity_type) and (f.entity_type != "PERSON" or f.score >= 1.0 or _registrable_name(value)):
            detector.add_known(f.entity_type, value, f.category)
    # A field's value is searched too, but never as proof of a leak (a misread label could
    # make anything a "value"); names as names (fuzzy, by sound only if strong elsewhere).
    for fv in context_findings(lines):
        value = lines[fv.line].text[fv.finding.start : fv.finding.end].strip()
        if len(digits(value)) >= 4 and len(digits(value)) * 2 >= len(re.sub(r"\W", "", value)):
            detector.add_known("NUMBER", value, fv.finding.category)
        elif len(value) >= 4:
            detector.add_known("PERSON" if fv.names else "FIELD", value, fv.finding.category, strong=False)


def _registrable_name(value: str) -> bool:
    """Whether a name the language model found is searched for everywhere else: a full name
    of distinct words. One word the model called a person ("Marseillen" of a results row,
    OCR's "Marseille Marseille") was, and hid every city of that name in every list for the
    rest of the call. It stays hidden where it was found; a full name's words are still
    searched on their own (its surname in a chat pop-up)."""
    words = [fold(w) for w in value.split()]
    return full_name_shape(value) and len(set(words)) == len(words)


_CLOCK = re.compile(r"^(\d{1,2})([:.])(\d{2})(?:\2(\d{2}))?$")
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{2}[-/.]\d{2}|\d{2}[-/.]\d{2}[-/.]\d{4})$")
_MONEY = re.compile(r"^(?:[£$€]\s?)?\d{1,3}(?:[ \u202f.,]?\d{3})*[.,]\d{2}(?:\s?(?:[£$€]|EUR|GBP|USD))?$", re.IGNORECASE)
_LEADING_UI = re.compile(r"^(?:[^\W\d_]+\.?:?\s+)+")


def _plainly_not_pii(text: str, year: int) -> bool:
    """A clock (a dotted one only with its seconds: "12.34.56" is how OCR often reads
    "12:34:56", "06.12" may be a phone being typed), a date of the last ten years or the
    next two (history rows, appointments, contract ends; no customer is born in them), an
    amount with its currency sign."""
    clock = _CLOCK.match(text)
    if clock:
        h, sep, m, sec = clock.groups()
        return int(h) < 24 and int(m) < 60 and ((sec is None and sep == ":") or (sec is not None and int(sec) < 60))
    if _DATE.match(text):
        return any(str(y) in text for y in range(year - 10, year + 3))
    return bool(_MONEY.match(text)) and bool(re.search(r"[£$€]|EUR|GBP|USD", text, re.IGNORECASE))


def found_chars(found: list[tuple[Line, Finding]]) -> dict[int, list[tuple[int, int]]]:
    """Per OCR box (by ``id``), the character ranges of its text that findings cover."""
    out: dict[int, list[tuple[int, int]]] = {}
    for line, f in found:
        for off, tb in line.pieces:
            a, b = max(f.start, off), min(f.end, off + len(tb.text))
            if a < b:
                out.setdefault(id(tb), []).append((a - off, b - off))
    return out


def _unfound(text: str, start: int, covered: list[tuple[int, int]]) -> str:
    """``text`` (which starts at ``start`` in its line or box) with the characters of the
    ``covered`` ranges (in the same coordinates) blanked."""
    chars = list(text)
    for a, b in covered:
        for c in range(max(a, start), min(b, start + len(text))):
            chars[c - start] = " "
    return "".join(chars)


def unsure_candidates(texts: list[TextBox], found: dict[int, list[tuple[int, int]]] | None = None) -> list[TextBox]:
    """The parts of OCR boxes that may hide an unreadable value. A box is split at its
    wide gaps ("Connecté en tant que jdupont   Poste 5872") and each part judged alone:
    UI labels, clocks, recent dates and amounts stay readable (``_plainly_not_pii``), and
    so do the values of reference labels (an order, a ticket: ``reference_values``). A part
    that starts with UI words ("Ext. 4127") is cut to the rest. A cut is moved a character
    and a third of the text height into what stays readable, so the value keeps its glyphs.
    ``found`` (``found_chars``): what the findings of the same state cover, hidden by their
    own boxes; a part whose other characters are only UI words and punctuation holds nothing
    unsure ("Conseiller [name] . Poste [extension]", barely read because of its digits)."""
    year = time.gmtime().tm_year
    refs = reference_values(texts)
    out = []
    for tb in texts:
        if tb in refs:
            continue
        b, n = tb.box, max(1, len(tb.text))
        for part in re.finditer(r"\S+(?: \S+)*", tb.text):
            start, text = part.start(), part.group()
            if is_ui_text(text, fuzzy=True) or _plainly_not_pii(text, year):
                continue
            covered = (found or {}).get(id(tb))
            if covered:
                rest = _unfound(text, start, covered)
                if not re.search(r"[^\W_]", rest) or is_ui_text(rest, fuzzy=True):
                    continue
            lead = _LEADING_UI.match(text)
            if lead and is_ui_text(lead.group()):
                if REFERENCE_LABEL.search(fold(lead.group())):
                    continue  # "Ticket T-48623" in one box
                start, text = start + lead.end(), text[lead.end() :]
                if _plainly_not_pii(text, year):
                    continue
            end = start + len(text)
            if (start, end) == (0, len(tb.text)):
                out.append(tb)
                continue
            margin = b.w // n + b.h // 3
            x0 = b.x + b.w * start // n - (margin if start > 0 else 0)
            x1 = b.x + -(-(b.w * end) // n) + (margin if end < len(tb.text) else 0)
            x0, x1 = max(b.x, x0), min(b.x1, x1)
            out.append(TextBox(Box(x0, b.y, max(1, x1 - x0), b.h), text, tb.conf, tb.since_s))
    return out


def screen_boxes(texts: list[TextBox], detector: Detector, cfg: Config, hasher: Callable[[str], str]) -> list[StateBox]:
    out: list[StateBox] = []
    found = screen_findings(texts, detector, cfg)
    for line, f in found:
        value = line.text[f.start : f.end]
        source = "registry" if f.score >= 1.0 and f.category != "customer" else "ocr"
        for box, since in finding_boxes(line, f, cfg.video.pad_px):
            out.append(StateBox(box, f.entity_type, f.category, source, hasher(value), since))
    if "UNSURE" in cfg.detect.entities and not cfg.redact.keeps("customer", "UNSURE"):
        # Barely readable text stays hidden unless it reads as a known UI label.
        out += unsure_boxes(unsure_candidates(texts, found_chars(found)), conf=cfg.video.unsure_conf, min_digits=cfg.video.unsure_min_digits, pad_px=cfg.video.pad_px, hasher=hasher)
    return out
