"""How the real models are loaded: thread budgets shared by EasyOCR (torch) and Whisper
(CTranslate2), and EasyOCR's CRAFT detector loaded only when it is used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from anonymizer.ocr import EasyOcrEngine
from anonymizer.pipeline import asr_threads
from tests.anonymizer.test_screen import _frame


@pytest.mark.parametrize(("threads", "cpus", "shared", "expected"), [
    (2, 2, True, 1),  # a shared runtime managing 3 threads on 2 CPUs stops spin-waiting
    (4, 16, True, 4),  # a batch worker's share of a big host: both fit
    (16, 16, True, 1),
    (2, 2, False, 2),  # separate runtimes: Whisper may use every OCR thread
    (1, 1, True, 1),
])
def test_asr_threads_keep_a_shared_openmp_runtime_within_the_cpus(threads: int, cpus: int, shared: bool, expected: int) -> None:
    assert asr_threads(threads, cpus, shared_openmp=shared) == expected


LOAD = """
import json, sys
if sys.argv[1] == "torch-first":
    import torch
from anonymizer.config import load_config
from anonymizer.ocr import available_cpus, cpu_threads
from anonymizer.pipeline import asr_threads, load_models
m = load_models(load_config(None))
import torch
print(json.dumps({"asr": m.transcriber.threads, "torch": torch.get_num_threads(), "threads": cpu_threads(),
                  "shared": asr_threads(cpu_threads(), available_cpus(), shared_openmp=True)}))
"""


@pytest.mark.parametrize("order", ["product", "torch-first"])
def test_load_models_sizes_whisper_for_its_openmp_runtime(order: str) -> None:
    """``load_models`` loads Whisper first (CTranslate2 then keeps its own OpenMP runtime,
    and may use every thread); when torch was imported first the runtime is shared and
    Whisper's team is cut so the OCR keeps spin-waiting. Torch keeps the OCR's threads."""
    out = subprocess.run([sys.executable, "-c", LOAD, order], check=True, capture_output=True, text=True).stdout
    got = json.loads(out.splitlines()[-1])
    assert got["torch"] == got["threads"]
    assert got["asr"] == (got["threads"] if order == "product" else got["shared"])


def test_craft_detector_loads_on_first_use() -> None:
    """The ink text detector needs only the recogniser: CRAFT is not loaded until ``read``
    (the craft text detector, or a craft verification) asks for it."""
    engine = EasyOcrEngine(detector=False)
    assert not engine.has_detector
    found = " ".join(t.text for t in engine.read(_frame({30: "Invoice 482913"}, w=320, h=90)))
    assert engine.has_detector and "482913" in found


def test_detection_preload_says_a_missing_model_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy loads in the background while the screen is read, but a model that is not
    installed is an error before any frame is decoded."""
    import models
    from anonymizer.config import DetectConfig
    from anonymizer.detect import preload
    from anonymizer.errors import ModelError

    monkeypatch.setitem(models.SPACY_PACKAGES, "fr", "no_such_spacy_model_pkg")
    with pytest.raises(ModelError, match="'fr'"):
        preload(DetectConfig(languages=("en", "fr")))
