"""The screen pass: decode the recording once, blank what lies outside the business windows,
and read the text of what changed (``ScreenState``); refuse a still image first."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.config import Config
from anonymizer.errors import CorruptInputError
from anonymizer.media import MediaInfo, iter_frames
from anonymizer.ocr import OcrEngine
from anonymizer.plan import Window, business_rects
from anonymizer.policy.gates import RuleRefusal
from anonymizer.screen.state import ScreenState
from anonymizer.timings import Timings
from anonymizer.types import TextBox

# A tile counts as changed when this share of its pixels changed: sparse codec noise (or
# noise added on purpose) flips a few scattered pixels, typing or a moving window whole
# glyphs and edges.
STILL_TILE_SHARE = 1 / 16
# A recording is not a still image once this share of the frame area has changed.
STILL_AREA_SHARE = 0.0025


def refuse_still_video(path: Path, threshold: int, tile_px: int = 16) -> None:
    """A "video" whose frames never change is a screenshot in disguise; the CNIL deems
    screenshots disproportionate.

    Judged on the *area* that changed over the whole recording, not on the largest pixel
    difference (issue 15: a screenshot looped into an H.264 file passed on a few pixels of
    codec noise). Each frame is compared with the first, luma differences of ``threshold``
    or more count per ``tile_px`` tile, a tile with enough of them is marked, marks
    accumulate over the recording, and decoding stops as soon as they cover
    ``STILL_AREA_SHARE`` of the frame."""
    first: np.ndarray | None = None
    changed: np.ndarray | None = None
    need_tiles = 1
    n = 0
    for fd in iter_frames(path):
        n += 1
        luma = fd.luma()
        if first is None:
            first = luma.astype(np.int16)
            h, w = first.shape
            th, tw = -(-h // tile_px), -(-w // tile_px)
            changed = np.zeros((th, tw), bool)
            need_tiles = max(1, round(STILL_AREA_SHARE * h * w / (tile_px * tile_px)))
            continue
        if luma.shape != first.shape:
            return  # the size changed: not one image
        assert changed is not None
        hot = np.abs(luma.astype(np.int16) - first) >= threshold
        th, tw = changed.shape
        padded = np.zeros((th * tile_px, tw * tile_px), np.int32)
        padded[: hot.shape[0], : hot.shape[1]] = hot
        counts = padded.reshape(th, tile_px, tw, tile_px).sum(axis=(1, 3))
        changed |= counts >= max(2, round(STILL_TILE_SHARE * tile_px * tile_px))
        if int(changed.sum()) >= need_tiles:
            return
    raise RuleRefusal("still_image", f"its {n} frame(s) never change over more than a few scattered pixels: "
                      "a still image, not a screen recording", path=path)


def expected_frames(info: MediaInfo) -> int:
    """Frames the container announces (for progress only; 0 when it cannot say)."""
    return round(info.duration_s * float(info.avg_rate)) if info.avg_rate and info.duration_s > 0 else 0


class _OutsideMask:
    """Blanks what lies outside the business windows before the screen is analysed: a
    messenger or a personal tab beside the application is never decoded into text, never
    read and never costs OCR time. The per-window-set mask is cached (windows change rarely)."""

    def __init__(self, windows: Sequence[Window], width: int, height: int) -> None:
        self.windows, self.width, self.height = tuple(windows), width, height
        self._key: bytes | None = None
        self._inside: np.ndarray | None = None

    def inside(self, t: float) -> np.ndarray | None:
        rects = business_rects(self.windows, t, self.width, self.height)
        if rects is None:
            return None
        key = rects.tobytes()
        if key != self._key or self._inside is None:
            inside = np.zeros((self.height, self.width), dtype=bool)
            for x, y, w, h in rects:
                inside[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = True
            self._key, self._inside = key, inside
        return self._inside


def analyse_screen(path: Path, info: MediaInfo, ocr: OcrEngine, cfg: Config, timings: Timings,
                   *, progress: Callable[[int], None] | None = None, windows: Sequence[Window] = ()
                   ) -> tuple[list[tuple[float, list[TextBox]]], list[float], Any]:
    """Decode once; OCR only changed regions. Returns the text states (start time, texts),
    every frame's time, and OCR statistics. Pixels outside the active business
    ``windows`` are blanked first, so they are never analysed (render blacks them out)."""
    v = cfg.video
    state = ScreenState(ocr=ocr, width=info.width, height=info.height, tile_px=v.tile_px, threshold=v.change_threshold,
                        pad_px=v.ocr_pad_px, text_detector=v.text_detector)
    states: list[tuple[float, list[TextBox]]] = []
    times: list[float] = []
    t_dec = time.monotonic()
    t_ocr = 0.0
    outside = _OutsideMask(windows, info.width, info.height)
    for fd in iter_frames(path):
        t0 = time.monotonic()
        inside = outside.inside(fd.t)
        if inside is None:
            changed = state.update(fd.t, fd.luma(), fd.rgb)
        else:
            changed = state.update(fd.t, np.where(inside, fd.luma(), np.uint8(0)), partial(_masked_rgb, fd, inside))
        t_ocr += time.monotonic() - t0
        if changed or not states:
            states.append((fd.t, list(state.texts)))
        times.append(fd.t)
        if progress is not None:
            progress(len(times))
    if not times:
        raise CorruptInputError("video stream has no decodable frame", path=path)
    # A truncated file can decode "successfully" up to the cut: compare with the duration
    # the container announced so a cut recording is never published as complete.
    expected = info.duration_s
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    if expected > 0 and times[-1] + 2 * step < expected - max(1.0, 0.05 * expected):
        raise CorruptInputError(f"truncated: video stops at {times[-1]:.1f} s of the announced {expected:.1f} s", path=path)
    st = state.stats
    timings.add("screen_change", st.change_s)
    timings.add("ocr_detector", st.detector_s)
    timings.add("ocr_recogniser", st.recogniser_s)
    timings.add("screen_other", max(0.0, t_ocr - st.change_s - st.detector_s - st.recogniser_s))
    timings.add("screen_decode", time.monotonic() - t_dec - t_ocr)
    return states, times, state.stats


def _masked_rgb(fd: Any, inside: np.ndarray) -> np.ndarray:
    rgb = fd.rgb()
    rgb[~inside] = 0
    return rgb
