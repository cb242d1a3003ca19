"""Verification gate: read the rendered output again before publishing it.

Outside the redacted boxes the output's pixels are the input's, already read and checked
by the analysis pass; what must be proven is that nothing is readable *where* values were.
So every redacted region is OCR'd in the output whenever its pixels change (by the same
threshold the analysis uses; unchanged regions read the same), and the output audio is
transcribed again. Any roster entry or any value of the
recording's registry found again means the file is not published (quarantined)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anonymizer.detect import Detector
from anonymizer.media import iter_frames, read_audio, resample_mono
from anonymizer.ocr import OcrEngine
from anonymizer.plan import Plan
from anonymizer.screen.changes import merge_boxes
from anonymizer.speech import Transcriber
from anonymizer.speech.normalize import normalize, render
from anonymizer.types import Box


@dataclass(frozen=True)
class Problem:
    """Something found again in the output (never the value itself)."""

    modality: str  # screen | audio
    entity_type: str
    t: float


@dataclass
class VerifyStats:
    frames: int = 0
    crops_read: int = 0
    crops_cached: int = 0
    words: int = 0


def verify_output(path: Path, plan: Plan, detector: Detector, ocr: OcrEngine, transcriber: Transcriber | None,
                  *, width: int, height: int, threshold: int = 24, min_interval_s: float = 0.5,
                  max_problems: int = 20) -> tuple[list[Problem], VerifyStats]:
    stats = VerifyStats()
    problems: list[Problem] = []
    boxes = sorted(plan.boxes, key=lambda b: b.start_s)
    last: dict[tuple[int, int, int, int], tuple[float, np.ndarray]] = {}
    for fd in iter_frames(path):
        stats.frames += 1
        active = [Box(b.x, b.y, b.w, b.h).clip(width, height) for b in boxes if b.active(fd.t)]
        active = [b for b in active if b.area() > 0]
        if not active:
            continue
        rgb = fd.rgb()
        # Overlapping boxes (a scrolled list, a field and its registry match) are read as
        # one region; a region is read again when its pixels moved by the analysis change
        # threshold (re-encoding noise alone does not count), at most every min_interval_s.
        for region in merge_boxes([b.pad(max(4, b.h // 2), 1).clip(width, height) for b in active]):
            gray = rgb[region.y : region.y1, region.x : region.x1].mean(axis=2).astype(np.int16)
            key = (region.x, region.y, region.w, region.h)
            prev = last.get(key)
            if prev is not None and (int(np.abs(gray - prev[1]).max()) < threshold or fd.t - prev[0] < min_interval_s):
                stats.crops_cached += 1
                continue
            last[key] = (fd.t, gray)
            crop = np.ascontiguousarray(rgb[region.y : region.y1, region.x : region.x1])
            one_line = region.h <= 2 * min(b.h for b in active if b.intersects(region))
            text = ocr.read_line(crop) if one_line else " ".join(t.text for t in ocr.read(crop))
            stats.crops_read += 1
            for f in detector.find_known(text):
                problems.append(Problem("screen", f.entity_type, round(fd.t, 3)))
        if len(problems) >= max_problems:
            break  # enough to refuse publication; the audio is still checked
    if transcriber is not None:
        track = read_audio(path)
        words = transcriber.words(resample_mono(track, 16000))
        stats.words = len(words)
        tokens = normalize([w.text for w in words])
        text, _ = render(tokens)
        for f in detector.find_known(text):
            problems.append(Problem("audio", f.entity_type, 0.0))
    return problems, stats
