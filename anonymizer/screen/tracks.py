"""Screen text states over time -> redaction boxes with time ranges.

A state is the text on screen from one change to the next. A box found in a state covers
that whole state (its pixels did not change), reaches back to when its field started being
typed (``since_s``), and consecutive states with the same box merge into one track, so a
box is never dropped for a frame between two reads."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from anonymizer.detect.labels import is_ui_text
from anonymizer.detect.phonetic import is_common
from anonymizer.plan import PlanBox
from anonymizer.types import Box, TextBox


@dataclass(frozen=True)
class StateBox:
    box: Box
    type: str
    category: str
    source: str
    value_hash: str
    since_s: float


def merge_tracks(
    states: list[tuple[float, list[StateBox]]],
    frame_times: list[float],
    *,
    pad_s: float,
    width: int,
    height: int,
) -> list[PlanBox]:
    """``states``: (start time, boxes) in time order; ``frame_times``: every frame's time."""
    if not frame_times:
        return []
    last_t = frame_times[-1]
    Key = tuple[str, str, str, str]
    open_tracks: dict[Key, list[float]] = {}
    meta: dict[Key, StateBox] = {}
    done: list[tuple[Key, float, float]] = []
    for k, (t0, boxes) in enumerate(states):
        t_next = states[k + 1][0] if k + 1 < len(states) else None
        if t_next is None:
            t_end = last_t
        else:  # the last frame strictly before the next state
            i = bisect.bisect_left(frame_times, t_next - 1e-9)
            t_end = frame_times[max(0, i - 1)]
        seen = set()
        for sb in boxes:
            clipped = sb.box.clip(width, height)
            if clipped.area() == 0:
                continue
            key: Key = (repr(clipped.as_list()), sb.type, sb.category, sb.value_hash)
            seen.add(key)
            start = min(t0, sb.since_s)
            if key in open_tracks:
                open_tracks[key][1] = t_end
                open_tracks[key][0] = min(open_tracks[key][0], start)
            else:
                open_tracks[key] = [start, t_end]
                meta[key] = StateBox(clipped, sb.type, sb.category, sb.source, sb.value_hash, sb.since_s)
        for gone in [k2 for k2 in open_tracks if k2 not in seen]:
            s, e = open_tracks.pop(gone)
            done.append((gone, s, e))
    done.extend((k3, s, e) for k3, (s, e) in open_tracks.items())
    out = []
    for k4, s, e in done:
        sb = meta[k4]
        b = sb.box
        out.append(
            PlanBox(b.x, b.y, b.w, b.h, round(max(0.0, s - pad_s), 6), round(e + pad_s, 6),
                    sb.type, sb.category, sb.source, sb.value_hash)
        )
    out.sort(key=lambda p: (p.start_s, p.y, p.x))
    return out


def unsure_boxes(texts: list[TextBox], *, conf: float, min_digits: int, pad_px: int, hasher: Callable[[str], str]) -> list[StateBox]:
    """Text OCR could barely read (half-scrolled rows, glyphs cut by a panel edge) may be a
    name or an identifier no recognizer can match: hide it. Digits raise the bar, and so
    does a word that is no UI or common word in a box cut shorter than the screen's text:
    a name's half-scrolled glyphs ("Olivier" read "Aliior" at 0.37 in a box 11 px high
    among 15 px lines, under a list's edge, held-out browser seed 1006; capitalised or not,
    since a cut capital reads as anything). Not whatever its confidence: a word without
    ascenders ("8 min") is as short as a cut one."""
    out = []
    text_h = sorted(tb.box.h for tb in texts)[len(texts) // 2] if texts else 0
    for tb in texts:
        if tb.conf > 0 and len(tb.text.strip()) == 1 and tb.box.w <= tb.box.h:
            continue  # one glyph read (an icon, a status dot): no value is one character
        n_digits = sum(c.isdigit() for c in tb.text)
        if tb.conf < conf or (tb.conf < 2 * conf and (n_digits >= min_digits or (tb.box.h < 0.85 * text_h and _uncommon_word(tb.text)))):
            out.append(StateBox(tb.box.pad(pad_px, pad_px), "UNSURE", "customer", "unsure", hasher(tb.text), tb.since_s))
    return out


def _uncommon_word(text: str) -> bool:
    """A word of three letters or more that is no UI word and no common word."""
    return any(not is_common(w) and not is_ui_text(w, fuzzy=True)
               for w in re.findall(r"[^\W\d_]{3,}", text))
