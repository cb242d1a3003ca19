"""Run configuration: one TOML policy file plus CLI flags, validated once at start.

Every section is a frozen dataclass; each key is declared once, with :func:`setting`: its
default, type, range or choices and meaning sit beside the field, and ``Config.validate``
checks them all in one loop. Unknown sections or keys, wrong types, out-of-range values,
a ``hash_key_file`` that cannot be read and an ``audit_log`` in a folder that does not exist
are ``ConfigError``. ``anonymizer.config_doc`` prints the same declarations as the policy's
JSON Schema and the configuration reference. ``Config.digest()`` (sha256 of the canonical
JSON) goes into every plan, report and audit record so a result can be tied to the exact
settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from anonymizer.errors import ConfigError

STYLES = ("fill", "blur", "pixelate")
TEXT_DETECTORS = ("ink", "craft")
AUDIO_MODES = ("tone", "silence")
VOICES = ("keep", "disguise")
CHANNELS = ("left", "right")
LANGUAGES = ("en", "fr")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")  # libx264's
ENTITY_TYPES = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "CREDIT_CARD",
    "DATE_OF_BIRTH",
    "ADDRESS",
    "EMPLOYEE_ID",
    "LOGIN",
    "EXTENSION",
    "NUMBER",
    "UNSURE",
    "FR_NIR",
    "FR_RIB",
    "FR_SIREN",
    "FR_SIRET",
    "CVV",
    "FIELD",
)
CATEGORIES = ("customer", "colleague", "agent")  # whose data a finding is (Finding.category)
ACTIONS = ("redact", "keep")
PATH_RULES = {  # setting(path=...): what a non-empty path must be, as the reference says it
    "absolute": "an absolute path",
    "file": "a readable regular file",
    "folder": "in a folder that exists",
}


def setting(default: Any, *, help: str, lo: float | None = None, hi: float | None = None, choices: tuple[str, ...] = (),
            items: tuple[str, ...] = (), noun: str = "", min_items: int = 0, pattern: str = "",
            valid: Callable[[str], bool] | None = None, must: str = "", path: str = "", required: bool = False) -> Any:
    """One key of the policy file: its ``default`` and, beside it, what it may be and what it
    means (``help``). ``lo``..``hi``: an inclusive range; ``choices``: the allowed values;
    ``items``: the values a list may hold (any other is an unknown ``noun``);
    ``min_items``: a list's least length; ``pattern`` (the whole value) or ``valid`` (a
    test): a string's shape, described by ``must`` ("be ...", "look like ..."); ``path``:
    a key of ``PATH_RULES``; ``required``: must be given (``id_patterns`` tables only).
    ``Config.validate`` checks them; ``anonymizer.config_doc`` prints them."""
    assert (lo is None) == (hi is None) and path in ("", *PATH_RULES) and bool(must) == bool(pattern or valid)
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "items": items, "noun": noun, "min_items": min_items,
            "pattern": pattern, "valid": valid, "must": must, "path": path, "required": required}
    return field(default=default, metadata=meta)


def settings(cls: type) -> list[Field[Any]]:
    """The keys of a section (or of an ``id_patterns`` table), in file order."""
    return [f for f in fields(cls) if f.metadata]


def kind(f: Field[Any]) -> str:
    """A key's TOML type: ``bool``, ``int``, ``float``, ``str``, ``strs`` (a list of strings)
    or ``tables`` (``id_patterns``)."""
    return {"bool": "bool", "int": "int", "float": "float", "str": "str", "tuple[str, ...]": "strs",
            "tuple[IdPattern, ...]": "tables"}[str(f.type)]


def _is_duration(text: str) -> bool:
    return parse_duration_s(text) is not None


@dataclass(frozen=True)
class VideoConfig:
    """How the screen video is redacted and encoded."""

    style: str = setting("fill", choices=STYLES, help="how a redacted box is drawn: fill (irreversible, the default), blur or pixelate")
    pad_px: int = setting(3, lo=0, hi=64, help="grown around every redacted box (pixels)")
    pad_s: float = setting(0.2, lo=0.0, hi=5.0, help="a box is shown this long before and after its track (seconds)")
    tile_px: int = setting(16, lo=4, hi=256, help="change-map tile size (pixels)")
    change_threshold: int = setting(24, lo=1, hi=255, help="luma difference that counts as a changed pixel")
    ocr_pad_px: int = setting(24, lo=0, hi=256, help="a changed region is grown by this before OCR (pixels)")
    text_detector: str = setting("ink", choices=TEXT_DETECTORS,
                                 help="how text lines are found: ink (from their ink, fast, screen text) or craft (EasyOCR's neural detector, slower)")
    unsure_min_digits: int = setting(3, lo=1, hi=32, help="low-confidence OCR text (below twice unsure_conf) with this many digits is redacted")
    unsure_conf: float = setting(0.35, lo=0.0, hi=1.0, help="OCR text read with less confidence than this is redacted (half-visible, garbled)")
    crf: int = setting(20, lo=0, hi=51, help="libx264 quality (lower: better and larger)")
    preset: str = setting("veryfast", choices=PRESETS, help="libx264 speed preset")


@dataclass(frozen=True)
class AudioConfig:
    """How speech is found and bleeped, and whose voice is disguised."""

    required: bool = setting(True, help="a recording without audio is an error (CLI: --no-audio)")
    mode: str = setting("tone", choices=AUDIO_MODES, help="what replaces a bleeped span: a tone or silence")
    tone_hz: float = setting(1000.0, lo=20.0, hi=8000.0, help="the tone's pitch (Hz)")
    pad_ms: int = setting(250, lo=0, hi=5000, help="padding around every bleeped span (milliseconds)")
    language: str = setting("en", choices=(*LANGUAGES, "auto"), help="the calls' language (fr and auto: the bundled multilingual model)")
    min_digits: int = setting(4, lo=1, hi=32, help="a spoken run of this many digits is always redacted")
    unsure_prob: float = setting(0.5, lo=0.0, hi=1.0, help="a word speech-to-text is less sure of than this is redacted (0: off)")
    bridge_ms: int = setting(1000, lo=0, hi=10000, help="two bleeps closer than this become one (milliseconds)")
    voice: str = setting("keep", choices=VOICES, help="disguise: the agent's voice (with stereo, the agent's channel; in mono the "
                                                      "whole call) is transformed so colleagues cannot recognise it (CLI: --voice)")
    customer_voice: str = setting("keep", choices=VOICES, help="stereo only: disguise transforms the customer's channel too")
    agent_channel: str = setting("left", choices=CHANNELS, help="stereo: the channel the agent speaks on")


@dataclass(frozen=True)
class IdPattern:
    """A customer/contract id shape of this business (``[detect] id_patterns``)."""

    name: str = setting("", required=True, pattern=r"[A-Z][A-Z0-9_]{1,40}", must="be an upper-case entity name like CONTRACT_ID",
                        help="entity type reported, e.g. CONTRACT_ID (not a built-in one)")
    regex: str = setting("", required=True, help="Python regular expression of the whole id (must not match the empty string)")
    context: tuple[str, ...] = setting((), help="label words that raise the score when just before the id")
    score: float = setting(0.85, lo=0.35, hi=1.0, help="score of a match without a label word")


@dataclass(frozen=True)
class DetectConfig:
    """What counts as personal data, in the screen's text and in speech."""

    languages: tuple[str, ...] = setting(("en", "fr"), items=LANGUAGES, noun="language", help="languages the text is searched in")
    score_threshold: float = setting(0.35, lo=0.0, hi=1.0, help="a finding scored below this is dropped")
    entities: tuple[str, ...] = setting(ENTITY_TYPES, items=ENTITY_TYPES, noun="entity type",
                                        help='the kinds of personal data redacted (FIELD: the value of a labelled field, "Nom", "Handled by"...)')
    id_patterns: tuple[IdPattern, ...] = setting((), help="this business's own ids, always searched, e.g. "
                                                          '`{name = "CONTRACT_ID", regex = "CT-\\\\d{8}", context = ["contrat"]}`')


@dataclass(frozen=True)
class PolicyConfig:
    """The CNIL's guarantees for recording the screen with the call (staff training only,
    known windows and call times, limited retention, every access logged) and the
    deployment's files."""

    purposes: tuple[str, ...] = setting(("training",), min_items=1, noun="purpose",
                                        help="the sidecar purposes accepted (the CNIL allows training only)")
    excluded_lines: tuple[str, ...] = setting((), help="phone lines never processed (staff representatives)")
    require_windows: bool = setting(False, help="refuse when no business-window rectangle is known")
    require_call_times: bool = setting(False, help="refuse when off-hook/on-hook times are unknown")
    retention_days: int = setting(30, lo=0, hi=3650, help="`anonymizer purge` deletes originals older than this (days)")
    audit_log: str = setting("", path="folder", help="hash-chained JSONL audit log; empty: none")
    quarantine_dir: str = setting("", help="outputs failing verification go here, never inside the output folder "
                                           "(empty: $XDG_STATE_HOME/anonymizer/quarantine)")
    verify: bool = setting(True, help="re-read the output before publishing it")
    verify_min_interval_s: float = setting(0.5, lo=0.0, hi=60.0,
                                           help="a changing redacted region is re-read at most this often (seconds; 0: every change)")
    access_file: str = setting("", path="absolute", help="`anonymizer export`: who may export what (owned by the service)")
    report_key_file: str = setting("", path="absolute",
                                   help="HMAC key (32+ random bytes, mode 0600) signing reports; export trusts only signed ones")

    def quarantine_path(self) -> Path:
        """Where outputs that fail verification go: ``quarantine_dir``, else
        ``$XDG_STATE_HOME/anonymizer/quarantine`` (``~/.local/state/...`` when unset or not
        absolute, as the XDG spec says): private to the service user, outside any output tree."""
        if self.quarantine_dir:
            return Path(self.quarantine_dir)
        state = os.environ.get("XDG_STATE_HOME", "")
        base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
        return base / "anonymizer" / "quarantine"


@dataclass(frozen=True)
class RedactConfig:
    """Per category of person: redact or keep. A trainer may keep the recorded agent's own
    name and login readable; customers and colleagues are redacted unless said otherwise."""

    customer: str = setting("redact", choices=ACTIONS, help="the caller: names, numbers, addresses... (anything not in the roster)")
    colleague: str = setting("redact", choices=ACTIONS, help="roster employees other than the recorded agent")
    agent: str = setting("redact", choices=ACTIONS,
                         help="the recorded agent (sidecar agent_employee_id): name, id, login, email, extension")

    def keeps(self, category: str, entity_type: str = "") -> bool:
        """Is a finding of ``category`` kept readable? Values whose owner is unknown
        (``UNSURE`` text, words after a carrier phrase) are kept only if every category is."""
        if entity_type in ("UNSURE", "ANNOUNCED") or category not in CATEGORIES:
            return all(getattr(self, c) == "keep" for c in CATEGORIES)
        return bool(getattr(self, category) == "keep")


@dataclass(frozen=True)
class OutputConfig:
    """The key of the value hashes that plans carry."""

    hash_key_file: str = setting("", path="file", help="HMAC key (32+ bytes) for value hashes in plans and the voice disguise; "
                                                       "empty: a random key per run (then `render` cannot reproduce a disguised voice)")


@dataclass(frozen=True)
class BatchConfig:
    """``anonymizer batch`` only: how many recordings, how long, how much memory. None of
    it changes an output, so it is left out of ``Config.processing_digest()`` (the
    ``processing_sha256`` of ``anonymizer config show``)."""

    quota_per_agent: int = setting(0, lo=0, hi=1_000_000, help="at most this many recordings per agent per period (0: no quota)")
    quota_period: str = setting("7d", valid=_is_duration, must="look like 24h, 7d or 4w", help="the quota's sliding window: Nh, Nd or Nw")
    max_attempts: int = setting(3, lo=1, hi=100, help="a crashed, timed-out or failed recording is tried this many times in all")
    file_timeout_s: float = setting(3600.0, lo=1.0, hi=7 * 86400.0, help="wall-time limit for one recording (seconds)")
    memory_mb: int = setting(6144, lo=64, hi=1_048_576, help="memory cap of a worker process beyond its loaded models (MiB)")
    settle_s: float = setting(120.0, lo=0.0, hi=86400.0,
                              help="a recording (or companion) modified more recently than this is deferred: still being written (seconds)")


@dataclass(frozen=True)
class RuntimeConfig:
    """Where the models ran and which encoder wrote the video: set by ``anonymizer.runtime``
    from ``--device`` and the probes, never by the policy file. Device and encoder are in
    every digest (GPU and CPU outputs differ); the reasons are prose for the report only."""

    device: str = "cpu"  # "cpu" or "cuda:N"
    encoder: str = "libx264"  # or "h264_nvenc"
    device_reason: str = field(default="default (cpu)", compare=False)
    encoder_reason: str = field(default="default (libx264)", compare=False)


@dataclass(frozen=True)
class Config:
    video: VideoConfig = field(default_factory=VideoConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    redact: RedactConfig = field(default_factory=RedactConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    # The policy file this was read from: an input no output may overwrite. Not a setting,
    # so it is left out of to_dict() and every digest (moving the file changes nothing).
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source")
        d["runtime"] = {"device": self.runtime.device, "encoder": self.runtime.encoder}  # reasons: prose, not settings
        return d

    def digest(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def processing_digest(self) -> str:
        """sha256 of every setting that can change an output (all but ``[batch]``)."""
        blob = json.dumps({k: v for k, v in self.to_dict().items() if k != "batch"}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def validate(self) -> Config:
        """Every key of every policy section against its :func:`setting`; ``id_patterns``
        were checked as they were read (:func:`_id_patterns`)."""
        for section in SECTIONS:
            check_settings(getattr(self, section), section)
        return self


def check_settings(values: Any, where: str) -> None:
    """The first key of ``values`` (a section, or one ``id_patterns`` table) that breaks its
    :func:`setting` is a ConfigError: ``video.pad_px must be in 0..64``."""
    for f in settings(type(values)):
        m, value, name = f.metadata, getattr(values, f.name), f"{where}.{f.name}"
        if m["lo"] is not None:
            _check(m["lo"] <= value <= m["hi"], f"{name} must be in {number(m['lo'])}..{number(m['hi'])}")
        if m["choices"]:
            _check(value in m["choices"], f"{name} must be one of {m['choices']}, not {value!r}")
        for item in value if m["items"] else ():
            _check(item in m["items"], f"{name}: unknown {m['noun']} {item!r}")
        if m["min_items"]:
            _check(len(value) >= m["min_items"], f"{name} must name at least one {m['noun']}")
        if m["pattern"] or m["valid"]:
            ok = re.fullmatch(m["pattern"], value) is not None if m["pattern"] else m["valid"](value)
            _check(ok, f"{name} must {m['must']}")
        if m["path"] and value:
            _check_path(name, value, m["path"])


def _check_path(name: str, value: str, rule: str) -> None:
    """``absolute``: wherever the command is started from, the same file; ``file`` (a key
    read by every run): there and readable now, not after a whole analysis; ``folder`` (a
    file appended to): its folder exists (whether it is writable is the run's check)."""
    path = Path(value)
    if rule == "absolute":
        _check(path.is_absolute(), f"{name} must be an absolute path, not {value!r}")
    elif rule == "file":
        _check(path.exists(), f"{name}: {value} does not exist")
        _check(path.is_file(), f"{name}: {value} is not a regular file")
        _check(os.access(path, os.R_OK), f"{name}: {value} is not readable")
    else:
        _check(path.parent.exists(), f"{name}: the folder {path.parent} does not exist")


def number(x: float) -> str:
    """A range bound as the messages and the reference write it: ``0..64``, ``0.35..1``."""
    return str(int(x)) if float(x).is_integer() else str(x)


_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration_s(text: str) -> float | None:
    """``"24h"`` -> 86400.0 (units s, m, h, d, w; a positive number); None if malformed."""
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in _UNITS_S:
        return None
    try:
        value = float(text[:-1])
    except ValueError:
        return None
    return value * _UNITS_S[text[-1]] if value > 0 and value == value and value != float("inf") else None


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


# The policy file's sections, in file order (runtime: --device and the probes, not the policy).
SECTIONS: dict[str, type] = {"video": VideoConfig, "audio": AudioConfig, "detect": DetectConfig, "policy": PolicyConfig,
                             "redact": RedactConfig, "output": OutputConfig, "batch": BatchConfig}


def _id_patterns(value: Any) -> tuple[IdPattern, ...]:
    """``id_patterns = [{name = "CONTRACT_ID", regex = "CT-\\d{8}", context = ["contrat"]}]``."""
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ConfigError("[detect].id_patterns must be a list of tables {name = ..., regex = ...}")
    out = []
    for i, item in enumerate(value):
        where = f"[detect].id_patterns[{i}]"
        pattern = _coerce(f"detect.id_patterns[{i}]", IdPattern, item)
        check_settings(pattern, where)
        _check(pattern.name not in ENTITY_TYPES, f"{where}.name {pattern.name!r} is a built-in entity type")
        try:
            compiled = re.compile(pattern.regex)
        except re.error as exc:
            raise ConfigError(f"{where}.regex is not a valid regular expression: {exc}") from None
        _check(compiled.search("") is None, f"{where}.regex must not match the empty string")
        out.append(pattern)
    names = [p.name for p in out]
    _check(len(names) == len(set(names)), "[detect].id_patterns: names must be unique")
    return tuple(out)


def _coerce(section: str, cls: type, raw: dict[str, Any]) -> Any:
    known = {f.name: f for f in settings(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"unknown key [{section}].{key} (known: {', '.join(sorted(known))})")
        what = kind(known[key])
        if what == "tables":
            value = _id_patterns(value)
        elif what == "strs":
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ConfigError(f"[{section}].{key} must be a list of strings")
            value = tuple(value)
        elif what == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"[{section}].{key} must be true or false")
        elif what == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"[{section}].{key} must be a number")
            if not math.isfinite(value):  # TOML has nan and inf; every range check is False on nan
                raise ConfigError(f"[{section}].{key} must be a finite number, not {value}")
            value = float(value)
        elif what == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"[{section}].{key} must be an integer")
        elif not isinstance(value, str):
            raise ConfigError(f"[{section}].{key} must be a string")
        kwargs[key] = value
    return cls(**kwargs)


def load_config(path: Path | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """Read the TOML policy (if any), apply CLI overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("policy file not found", path=path) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"policy file is not valid TOML: {exc}", path=path) from exc
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    parts: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown section [{section}] (known: {', '.join(SECTIONS)})", path=path)
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table", path=path)
        try:
            parts[section] = _coerce(section, SECTIONS[section], values)
        except ConfigError as exc:
            raise ConfigError(str(exc), path=path) from None
    try:
        return Config(**parts, source="" if path is None else str(path)).validate()
    except ConfigError as exc:
        raise ConfigError(str(exc), path=path) from None
