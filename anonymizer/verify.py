"""Verification gate: read the rendered output again before publishing it.

Outside the redacted boxes the output's pixels are the input's, already read and checked
by the analysis pass; what must be proven is that nothing is readable *where* values were.
So every redacted region is OCR'd in the output whenever its pixels change (a content-hash
cache skips identical crops, and a crop is read again at least every ``verify_every_s``),
and the output audio is transcribed again. Any roster entry or any value of the
recording's registry found again means the file is not published (quarantined)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from anonymizer.detect import Detector
from anonymizer.media import iter_frames, read_audio, resample_mono
from anonymizer.ocr import OcrEngine
from anonymizer.plan import Plan
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
                  *, every_s: float, width: int, height: int) -> tuple[list[Problem], VerifyStats]:
    stats = VerifyStats()
    problems: list[Problem] = []
    boxes = sorted(plan.boxes, key=lambda b: b.start_s)
    last_read: dict[tuple[int, int, int, int, str], float] = {}
    cache: dict[str, list[str]] = {}
    for fd in iter_frames(path):
        stats.frames += 1
        active = [b for b in boxes if b.active(fd.t)]
        if not active:
            continue
        rgb = None
        for b in active:
            r = Box(b.x, b.y, b.w, b.h).pad(max(4, b.h // 2), max(2, b.h // 4)).clip(width, height)
            if r.area() == 0:
                continue
            if rgb is None:
                rgb = fd.rgb()
            crop = rgb[r.y : r.y1, r.x : r.x1]
            digest = hashlib.blake2b(crop.tobytes(), digest_size=12).hexdigest()
            key = (r.x, r.y, r.w, r.h, digest)
            if key in last_read and fd.t - last_read[key] < every_s:
                stats.crops_cached += 1
                continue
            last_read[key] = fd.t
            texts = cache.get(digest)
            if texts is None:
                texts = [item.text for item in ocr.read(crop.copy())]
                cache[digest] = texts
                stats.crops_read += 1
            else:
                stats.crops_cached += 1
            for text in texts:
                for f in detector.find_known(text):
                    problems.append(Problem("screen", f.entity_type, round(fd.t, 3)))
    if transcriber is not None and plan.audio_spans is not None:
        track = read_audio(path)
        words = transcriber.words(resample_mono(track, 16000))
        stats.words = len(words)
        tokens = normalize([w.text for w in words])
        text, _ = render(tokens)
        for f in detector.find_known(text):
            problems.append(Problem("audio", f.entity_type, 0.0))
    return problems, stats
