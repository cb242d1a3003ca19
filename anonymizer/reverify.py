"""Verification of a re-render against the run's verified output (``anonymizer render``).

A re-render applies the same kernel to the same decoded frames with the same boxes,
except where the reviewer's overrides changed the plan. So the new output can differ from
the run's output (which verification already read, and found clean) in two ways only:

* the changed boxes (un-hidden, added) and the boxes near them: ``fill`` takes its colour
  from a 1-px ring, so a box touching one un-hidden or added is drawn anew;
* encoder noise: x264 spends its bits differently once some frames differ.

``reverify`` checks exactly that instead of re-reading the whole recording: it decodes the
two outputs side by side and requires every luma difference outside the changed regions
(grown by ``MARGIN_PX`` and one frame), as a mean over 8x8 blocks, to stay below ``NOISE_LEVEL`` (codec noise, which
carries no glyph); then it verifies, with :func:`anonymizer.verify.verify_output`, only
the plan's boxes that meet a changed region: a flat one (no glyph inside) passes, any
other is OCR'd. A value's first sight, which the run read around its box, was read then:
its surroundings changed only where the reviewer decided. Any larger difference elsewhere means the two
renders are not what this reasoning assumes: the caller falls back to a full verification
(fail closed). The audio needs no re-hearing: the bleeps the run's verification heard are
applied again to the same samples, and added bleeps only replace sound by the tone.

With ``fill`` (the default) the re-read boxes are flat, so no OCR model is loaded at all;
``blur``/``pixelate`` boxes near a change are OCR'd (the engine is loaded on first use)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

import numpy as np

from anonymizer.detect import Detector
from anonymizer.media import iter_frames
from anonymizer.ocr import OcrEngine, OcrText
from anonymizer.plan import Plan, PlanBox
from anonymizer.types import Box
from anonymizer.verify import Problem, VerifyStats, verify_output

MARGIN_PX = 16  # a change's codec noise and ring reach: one macroblock
# Encoder noise is a few levels on average, with single pixels up to ~50 along sharp edges;
# text that appears or changes moves a whole block: its glyphs differ by 100+ levels over a
# fifth of it or more. So the measure is the mean difference of each 8x8 block.
BLOCK = 8
NOISE_LEVEL = 8.0  # a block mean this large outside every changed region is not encoder noise


def _block_means(a: np.ndarray, b: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """The mean absolute difference of two luma planes over each 8x8 block ((bh, bw);
    edge blocks are padded with zeros)."""
    d = np.maximum(a, b)
    d -= np.minimum(a, b)  # |a - b| in uint8, without a widening copy
    h, w = d.shape
    if h != bh * BLOCK or w != bw * BLOCK:
        d = np.pad(d, ((0, bh * BLOCK - h), (0, bw * BLOCK - w)))
    sums = d.reshape(bh, BLOCK, bw, BLOCK).sum(axis=(1, 3), dtype=np.int32)
    return sums / (BLOCK * BLOCK)


@dataclass(frozen=True)
class Region:
    x0: int
    y0: int
    x1: int
    y1: int
    t0: float
    t1: float

    def meets(self, b: PlanBox) -> bool:
        return (b.x < self.x1 and b.x + b.w > self.x0 and b.y < self.y1 and b.y + b.h > self.y0
                and b.start_s <= self.t1 and b.end_s >= self.t0)


def changed_regions(old: Plan, new: Plan, frame_s: float) -> list[Region]:
    """Where and when the new plan's boxes differ from the old one's (removed or added),
    grown by ``MARGIN_PX`` and one frame."""
    a, b = Counter(old.boxes), Counter(new.boxes)
    diff = list((a - b).elements()) + list((b - a).elements())
    m = MARGIN_PX
    return [Region(x.x - m, x.y - m, x.x + x.w + m, x.y + x.h + m, x.start_s - frame_s, x.end_s + frame_s) for x in diff]


@dataclass
class Reverify:
    frames: int = 0
    max_noise_outside: float = 0.0  # largest 8x8-block mean luma difference outside the changed regions
    frames_over: list[float] = field(default_factory=list)  # times where it reached NOISE_LEVEL
    boxes_rechecked: int = 0

    @property
    def consistent(self) -> bool:
        return not self.frames_over


def compare_outputs(new: Path, baseline: Path, regions: list[Region], width: int, height: int) -> Reverify:
    """Decode both renders in step and measure their difference outside ``regions``."""
    r = Reverify()
    bh, bw = -(-height // BLOCK), -(-width // BLOCK)
    for fa, fb in zip_longest(iter_frames(new), iter_frames(baseline)):
        r.frames += 1
        if fa is None or fb is None or abs(fa.t - fb.t) > 1e-3:
            r.frames_over.append(-1.0 if fa is None else round(fa.t, 3))  # out of step: nothing below holds
            break
        means = _block_means(fa.luma(), fb.luma(), bh, bw)
        for g in regions:  # every block a changed region touches is left out
            if g.t0 - 1e-6 <= fa.t <= g.t1 + 1e-6:
                means[max(0, g.y0) // BLOCK : max(0, -(-g.y1 // BLOCK)), max(0, g.x0) // BLOCK : max(0, -(-g.x1 // BLOCK))] = 0
        worst = round(float(means.max()), 2) if means.size else 0.0
        r.max_noise_outside = max(r.max_noise_outside, worst)
        if worst >= NOISE_LEVEL:
            r.frames_over.append(round(fa.t, 3))
    return r


class LazyOcr(OcrEngine):
    """An OCR engine loaded only if a crop must actually be read."""

    def __init__(self, load: Callable[[], OcrEngine]) -> None:
        self._load = load
        self._engine: OcrEngine | None = None

    def _get(self) -> OcrEngine:
        if self._engine is None:
            self._engine = self._load()
        return self._engine

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        return self._get().read(rgb)

    def read_line(self, rgb: np.ndarray) -> str:
        return self._get().read_line(rgb)

    def read_boxes(self, grey: np.ndarray, boxes: list[Box]) -> list[OcrText]:
        return self._get().read_boxes(grey, boxes)

    @property
    def loaded(self) -> bool:
        return self._engine is not None


def reverify(new_output: Path, baseline: Path, old: Plan, new: Plan, detector: Detector, ocr: OcrEngine, *,
             width: int, height: int, frame_s: float, threshold: int, min_interval_s: float,
             text_detector: str) -> tuple[Reverify, list[Problem], VerifyStats] | None:
    """Verify ``new_output`` against the run's verified ``baseline``; None when the two are
    not consistent (a difference beyond noise outside the changed regions): verify fully."""
    regions = changed_regions(old, new, frame_s)
    near = [b for b in new.boxes if any(g.meets(b) for g in regions)]
    # The comparison decodes both renders while the boxes near the changes are verified:
    # two decoders, two cores (PyAV and the kernels release the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compare") as pool:
        compared = pool.submit(compare_outputs, new_output, baseline, regions, width, height)
        problems, stats = verify_output(new_output, replace(new, boxes=near, audio_spans=[]), detector, ocr, None,
                                        width=width, height=height, threshold=threshold, min_interval_s=min_interval_s,
                                        text_detector=text_detector, first_sights=False)
        r = compared.result()
    if not r.consistent:
        return None
    r.boxes_rechecked = len(near)
    return r, problems, stats
