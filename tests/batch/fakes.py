"""Test-only model sets for batch tests (``python -m tests.batch.cli tests.batch.fakes:NAME
batch ...``, or ``BatchOptions(models_factory=NAME)`` in-process).

The batch machinery is what these tests check; EasyOCR and Whisper are tested for real in
tests/pipeline. ``FastOcr`` is honest about what it is: it "reads" one fixed customer
phone number over the ink of any region large enough, so detection, planning, the redaction
kernel, encoding and verification all run for real on every recording, in milliseconds.
``LeakyOcr`` reads a roster name back from every region verification re-reads: the batch
must then quarantine the recording and publish nothing (issue 15: with only ``FastOcr``,
whose line reads are empty, no batch test could see verification refuse)."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.config import Config
from anonymizer.ocr import OcrEngine, OcrText
from anonymizer.pipeline import Models
from anonymizer.speech import Transcriber
from anonymizer.types import Box, Word

PHONE_TEXT = "Phone 0612345678"
ROSTER_NAME = "Jeanne Dupont"  # LeakyOcr reads it; tests put her in their roster


def _ink(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of the pixels that stand out from the crop's background (text contrast)."""
    grey = rgb.mean(axis=2)
    ys, xs = np.nonzero(np.abs(grey - np.median(grey)) >= 24)
    return ys, xs


class FastOcr(OcrEngine):
    def read(self, rgb: np.ndarray) -> list[OcrText]:
        h, w = rgb.shape[:2]
        if w < 40 or h < 16:
            return []
        # one text box over all the crop's ink (the pipeline hides ink OCR left unread:
        # a box over part of it would leave the rest to be hidden as unsure)
        ys, xs = _ink(rgb)
        if ys.size == 0:
            return []
        box = Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1)
        return [OcrText(box, PHONE_TEXT, 0.99)]

    def read_line(self, rgb: np.ndarray) -> str:
        # A known line reads as nothing. Reading the label ("Phone") here instead changes
        # the analysis (a line read is no longer hidden as unsure) and so every output; the
        # refusal path is exercised by LeakyOcr, and by the real models in tests/pipeline.
        return ""


class LeakyOcr(FastOcr):
    """Analysis as ``FastOcr``; verification reads a roster name back from the output
    (as if the renderer had left an agent's name readable next to a hidden field)."""

    def read_line(self, rgb: np.ndarray) -> str:
        return f"Agent {ROSTER_NAME}"

    def read_boxes(self, grey: np.ndarray, boxes: list[Box]) -> list[OcrText]:
        return [OcrText(b, f"Agent {ROSTER_NAME}", 0.99) for b in boxes]


class HearAll(Transcriber):
    """One confident word over the whole audio: nothing is unheard, so nothing is bleeped
    by a run, and a reviewer's bleep or a voice disguise is the only change to the sound."""

    def words(self, audio: np.ndarray) -> list[Word]:
        return [Word("hello", 0.0, audio.size / 16000, 1.0)] if audio.size else []


class DeafTranscriber(Transcriber):
    def words(self, audio: np.ndarray) -> list[Word]:
        return []


def load_models(config: Config, *, asr_model: Path | None = None, device: str | None = None, need_audio: bool = True) -> Models:
    return Models(ocr=FastOcr(), transcriber=DeafTranscriber() if need_audio else None)


def leaky_models(config: Config, **_: Any) -> Models:
    return Models(ocr=LeakyOcr(), transcriber=DeafTranscriber())


class _Misbehaving(FastOcr):
    """Misbehaves on the first read, however the screen's text lines were found."""

    def read_boxes(self, grey: np.ndarray, boxes: list[Box]) -> list[OcrText]:
        return self.read(np.repeat(grey[:, :, None], 3, axis=2))


class _Crash(_Misbehaving):
    def read(self, rgb: np.ndarray) -> list[OcrText]:
        ctypes.string_at(0)  # a segfault, as a decoder's on a hostile file
        return []


class _Hog(_Misbehaving):
    def read(self, rgb: np.ndarray) -> list[OcrText]:
        hoard: list[Any] = []
        while True:  # touch every page: resident memory grows until the cap stops it
            hoard.append(np.ones(16 * 1024 * 1024, dtype=np.uint8))
            time.sleep(0.01)


class _Hang(_Misbehaving):
    def read(self, rgb: np.ndarray) -> list[OcrText]:
        time.sleep(3600)
        return []


def crashing_models(config: Config, **_: Any) -> Models:
    return Models(ocr=_Crash(), transcriber=DeafTranscriber())


def hogging_models(config: Config, **_: Any) -> Models:
    return Models(ocr=_Hog(), transcriber=DeafTranscriber())


def hanging_models(config: Config, **_: Any) -> Models:
    return Models(ocr=_Hang(), transcriber=DeafTranscriber())
