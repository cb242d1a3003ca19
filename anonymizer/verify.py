"""Verification gate: read the rendered output again before publishing it.

Outside the redacted boxes the output's pixels are the input's, already read and checked
by the analysis pass; what must be proven is that nothing is readable *where* values were.
The output is decoded once and checked on its luma plane (the plane OCR reads: EasyOCR
works on grey images):

* a box whose interior spans fewer luma levels than the change threshold holds no glyph
  any OCR could read (text needs contrast): it is proven unreadable without OCR. The
  ``fill`` style always passes this test; a renderer that hid nothing never does.
* any other redacted region (blur/pixelate styles, a broken renderer) is OCR'd whenever
  its pixels change (at most every ``min_interval_s``), with recognition results cached
  by crop content;
* the first time each value's box appears, its padded region is OCR'd once anyway, so a
  box in the wrong place is caught even when its interior is flat; a new value in a box
  already read at the same place (a field being typed, a ticking clock) is not a new sight.

The output audio is transcribed again around every bleeped span (elsewhere it is the
input's, already transcribed and searched by the analysis pass). Any roster entry or any value of the recording's
registry found again means the file is not published (quarantined)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import kernels
from anonymizer.detect import Detector
from anonymizer.media import iter_frames, read_audio, resample_mono
from anonymizer.ocr import OcrEngine
from anonymizer.plan import LiveBoxes, Plan, PlanBox
from anonymizer.screen.changes import merge_boxes
from anonymizer.screen.inklines import text_boxes
from anonymizer.speech import Transcriber
from anonymizer.speech.normalize import normalize, render
from anonymizer.types import Box

AUDIO_CONTEXT_S = 3.0  # audio re-transcribed either side of a bleeped span
EDGE_PX = 2  # codec ringing at a box's border is not content: the flatness test skips it


@dataclass(frozen=True)
class Problem:
    """Something found again in the output (never the value itself)."""

    modality: str  # screen | audio
    entity_type: str
    t: float


@dataclass
class VerifyStats:
    frames: int = 0
    crops_read: int = 0  # OCR'd
    crops_cached: int = 0  # unchanged since read, or same content as a crop already read
    crops_flat: int = 0  # proven unreadable: no contrast inside any of its boxes
    words: int = 0


def flat_interior(luma: np.ndarray, box: Box, threshold: int) -> bool:
    """True when ``box`` (less ``EDGE_PX`` on each side) spans fewer than ``threshold``
    luma levels: no glyph can be read there. Boxes too thin to have an interior are not
    flat (they get OCR'd)."""
    return bool(_flat(luma, *interiors([box]), threshold)[0])


def interiors(boxes: list[Box]) -> tuple[np.ndarray, np.ndarray]:
    """Each box less ``EDGE_PX`` on each side, as an (N, 4) array, and whether each has an
    interior at all (2 px or more each way)."""
    inner = [b.pad(-EDGE_PX, -EDGE_PX) for b in boxes]
    has = np.array([i.w >= 2 and i.h >= 2 for i in inner], dtype=bool)
    return np.array([[i.x, i.y, max(1, i.w), max(1, i.h)] for i in inner], dtype=np.int32).reshape(-1, 4), has


def _flat(luma: np.ndarray, inner: np.ndarray, has: np.ndarray, threshold: int) -> np.ndarray:
    spread = kernels.luma_ranges(np.ascontiguousarray(luma), inner)  # one Numba call for a frame's boxes
    return has & (spread >= 0) & (spread < threshold)


def _place(box: Box) -> tuple[int, int, int]:
    """Where a box starts on screen, to within a few pixels, and its line height."""
    return box.x // 8, box.y // 8, box.h // 4


@dataclass
class _Group:
    """Overlapping boxes (a scrolled list, a field and its registry match), read as one
    region of the output."""

    region: Box
    members: np.ndarray  # indexes of its boxes in the frame's box arrays
    near: list[Box]  # its boxes, padded, in region coordinates
    one_line: bool
    first_sight: bool  # a value (or a place) not seen before: read even when flat
    boxes: list[Box]  # its boxes, clipped, in the order the renderer drew them


def flat_visible(luma: np.ndarray, region: Box, boxes: list[Box], threshold: int) -> bool:
    """True when every box of a group is flat on the part of it that shows: the renderer
    draws boxes in order, so where boxes overlap the later one's fill is seen. Overlapping
    boxes of different fill colours fail the per-box test (two colours in one interior)
    and were OCR'd for nothing. Here each box's visible part, less ``EDGE_PX`` from every
    border (codec ringing), must span fewer than ``threshold`` levels; a part that shows
    but is too thin to have such a core proves nothing (False, as for a thin box); and the
    bands along the borders *between* boxes must stay within the fills' levels (ringing
    between two fills lies between them; a stroke on the border does not)."""
    h, w = region.h, region.w
    e = EDGE_PX
    if h <= 2 * e or w <= 2 * e:
        return False
    owner = np.full((h, w), -1, np.int32)
    for i, b in enumerate(boxes):
        owner[max(0, b.y - region.y) : max(0, b.y1 - region.y), max(0, b.x - region.x) : max(0, b.x1 - region.x)] = i
    centre = owner[e : h - e, e : w - e]
    core = centre >= 0  # a core pixel: every pixel within EDGE_PX shows the same box
    near_outside = np.zeros_like(core)
    for dy in range(-e, e + 1):
        for dx in range(-e, e + 1):
            shifted = owner[e + dy : h - e + dy, e + dx : w - e + dx]
            core &= shifted == centre
            near_outside |= shifted < 0
    n = len(boxes)
    shows = np.bincount(owner[owner >= 0], minlength=n) > 0
    labels = centre[core]
    if (shows & (np.bincount(labels, minlength=n) == 0)).any():
        return False  # a box shows only as a strip too thin to prove anything
    if labels.size == 0:
        return True
    seen = luma[region.y + e : region.y1 - e, region.x + e : region.x1 - e]
    lo = np.full(n, 255, np.int32)
    hi = np.zeros(n, np.int32)
    np.minimum.at(lo, labels, seen[core])
    np.maximum.at(hi, labels, seen[core])
    if not bool(((hi - lo) < threshold)[shows].all()):
        return False
    between = (centre >= 0) & ~core & ~near_outside  # borders between boxes, away from the outside
    if between.any():
        band = seen[between]
        if int(band.min()) < int(lo[shows].min()) - threshold or int(band.max()) > int(hi[shows].max()) + threshold:
            return False
    return True


def _groups(live: list[PlanBox], width: int, height: int, values_seen: set[str],
            places_seen: set[tuple[int, int, int]], first_sights: bool = True) -> tuple[list[_Group], np.ndarray, np.ndarray]:
    """The regions read for the boxes ``live`` now, each box's interior (less ``EDGE_PX``)
    as an (N, 4) array, and whether each has one (a box too thin to hold an interior is
    never proven flat)."""
    active = [(bx, b) for bx, b in ((Box(b.x, b.y, b.w, b.h).clip(width, height), b) for b in live) if bx.area() > 0]
    inner, has_interior = interiors([bx for bx, _ in active])
    padded = [bx.pad(max(4, bx.h // 2), 1).clip(width, height) for bx, _ in active]
    groups = []
    for region in merge_boxes(padded):
        members = [i for i, (bx, _) in enumerate(active) if bx.intersects(region)]
        inside = [active[i] for i in members]
        # A value is read once where it first appears; a new value in a box already read
        # at the same place (a field being typed, a ticking clock) is not a new sight.
        first_sight = first_sights and any(b.value_hash not in values_seen and _place(bx) not in places_seen for bx, b in inside)
        values_seen.update(b.value_hash for _, b in inside)
        places_seen.update(_place(bx) for bx, _ in inside)
        near = [Box(padded[i].x - region.x, padded[i].y - region.y, padded[i].w, padded[i].h) for i in members]
        one_line = region.h <= 2 * min(bx.h for bx, _ in inside)
        groups.append(_Group(region, np.array(members, dtype=np.intp), near, one_line, first_sight, [bx for bx, _ in inside]))
    return groups, inner, has_interior


def span_windows(mono: np.ndarray, rate: int, plan: Plan, start_s: float, context_s: float = AUDIO_CONTEXT_S) -> np.ndarray:
    """The output audio around every bleeped span (``context_s`` either side), joined with
    short silences. Elsewhere the output's audio is the input's, already transcribed and
    searched with the whole registry by the analysis pass; what must be proven is that
    nothing is said *where* values were. With no span at all, the whole track."""
    if not plan.audio_spans:
        return mono
    windows: list[list[int]] = []
    for sp in sorted(plan.audio_spans, key=lambda a: a.start_s):
        i0 = max(0, int((sp.start_s - context_s - start_s) * rate))
        i1 = min(mono.size, int((sp.end_s + context_s - start_s) * rate) + 1)
        if i1 <= i0:
            continue
        if windows and i0 <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], i1)
        else:
            windows.append([i0, i1])
    gap = np.zeros(rate // 2, dtype=mono.dtype)
    parts: list[np.ndarray] = []
    for i0, i1 in windows:
        parts += [mono[i0:i1], gap]
    return np.concatenate(parts) if parts else mono[:0]


def verify_output(path: Path, plan: Plan, detector: Detector, ocr: OcrEngine, transcriber: Transcriber | None,
                  *, width: int, height: int, threshold: int = 24, min_interval_s: float = 0.5,
                  max_problems: int = 20, text_detector: str = "ink", first_sights: bool = True) -> tuple[list[Problem], VerifyStats]:
    """Re-read ``path`` (the rendered output) where ``plan`` redacted it and hear its bleeped
    audio again: every known value found is a problem. A region of several lines is split
    into lines by ``text_detector`` ("ink": ``inklines`` at half the change threshold, so
    faint text left by a blur is still read; "craft": EasyOCR's detector).
    ``first_sights=False``: a flat region is not read even where a value first appears
    (``anonymizer.reverify``: the run's verification read those sights already)."""
    stats = VerifyStats()
    problems = _verify_screen(path, plan, detector, ocr, stats, width=width, height=height, threshold=threshold,
                              min_interval_s=min_interval_s, max_problems=max_problems, text_detector=text_detector,
                              first_sights=first_sights)
    if transcriber is not None:
        track = read_audio(path)
        words = transcriber.words(span_windows(resample_mono(track, 16000), 16000, plan, track.start_s))
        stats.words = len(words)
        tokens = normalize([w.text for w in words])
        text, _ = render(tokens)
        for f in detector.find_known(text):
            problems.append(Problem("audio", f.entity_type, 0.0))
    return problems, stats


def _verify_screen(path: Path, plan: Plan, detector: Detector, ocr: OcrEngine, stats: VerifyStats, *, width: int, height: int,
                   threshold: int, min_interval_s: float, max_problems: int, text_detector: str,
                   first_sights: bool) -> list[Problem]:
    problems: list[Problem] = []
    sweep = LiveBoxes(plan.boxes)
    last: dict[tuple[int, int, int, int], tuple[float, np.ndarray]] = {}
    texts: dict[tuple[bytes, int, int], str] = {}  # crop content -> text read
    values_seen: set[str] = set()
    places_seen: set[tuple[int, int, int]] = set()
    live_ids: tuple[int, ...] | None = None
    groups: list[_Group] = []
    inner = np.empty((0, 4), np.int32)
    has_interior = np.empty(0, bool)
    for fd in iter_frames(path):
        stats.frames += 1
        live = sweep.at(fd.t)
        ids = tuple(map(id, live))
        if ids != live_ids:  # the regions change only when a box starts or ends
            live_ids = ids
            groups, inner, has_interior = _groups(live, width, height, values_seen, places_seen, first_sights)
        if not groups:
            continue
        luma = fd.luma()
        flat = _flat(luma, inner, has_interior, threshold)
        rgb = functools.cache(fd.rgb)  # converted once, and only if a crop needs colour
        seen_now: dict[tuple[int, int, int, int], tuple[float, np.ndarray]] = {}
        for g in groups:
            first_sight, g.first_sight = g.first_sight, False
            if not first_sight and flat[g.members].all():
                stats.crops_flat += 1
                continue
            text = _group_text(g, fd.t, luma, rgb, first_sight, last, seen_now, texts, ocr, stats, threshold=threshold,
                               min_interval_s=min_interval_s, text_detector=text_detector)
            for f in detector.find_known(text or ""):
                problems.append(Problem("screen", f.entity_type, round(fd.t, 3)))
        last = seen_now  # only regions on screen now: memory stays flat
        if len(problems) >= max_problems:
            break  # enough to refuse publication; the audio is still checked
    return problems


def _group_text(g: _Group, t: float, luma: np.ndarray, rgb: Callable[[], np.ndarray], first_sight: bool,
                last: dict[tuple[int, int, int, int], tuple[float, np.ndarray]],
                seen_now: dict[tuple[int, int, int, int], tuple[float, np.ndarray]], texts: dict[tuple[bytes, int, int], str],
                ocr: OcrEngine, stats: VerifyStats, *, threshold: int, min_interval_s: float, text_detector: str) -> str | None:
    """The text of group ``g``'s region now, or None when it need not be read again: the
    same as when last read (or read too recently), or flat wherever each box shows."""
    region = g.region
    gray = luma[region.y : region.y1, region.x : region.x1].astype(np.int16)
    key = (region.x, region.y, region.w, region.h)
    prev = last.get(key)
    if prev is not None:
        seen_now[key] = prev
    if not first_sight and prev is not None and (int(np.abs(gray - prev[1]).max()) < threshold or t - prev[0] < min_interval_s):
        stats.crops_cached += 1
        return None
    seen_now[key] = (t, gray)
    if not first_sight and flat_visible(luma, region, g.boxes, threshold):
        stats.crops_flat += 1  # boxes of different fills overlapping: each flat where it shows
        return None
    digest = (hashlib.blake2b(np.ascontiguousarray(gray >> 3).tobytes(), digest_size=16).digest(), region.w, region.h)
    text = texts.get(digest)
    if text is not None:
        stats.crops_cached += 1
        return text
    if text_detector == "ink" and not g.one_line:
        grey = np.ascontiguousarray(luma[region.y : region.y1, region.x : region.x1])
        # only the text where values were: a line away from every box is the input's, already
        # read by the analysis pass
        runs = [r for r in text_boxes(grey, max(8, threshold // 2)) if any(r.intersects(n) for n in g.near)]
        text = " ".join(tb.text for tb in ocr.read_boxes(grey, runs))
    else:
        crop = np.ascontiguousarray(rgb()[region.y : region.y1, region.x : region.x1])
        text = ocr.read_line(crop) if g.one_line else " ".join(tb.text for tb in ocr.read(crop))
    if len(texts) >= 4096:
        texts.clear()  # bounded: memory stays flat
    texts[digest] = text
    stats.crops_read += 1
    return text
