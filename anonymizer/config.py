"""Run configuration: one TOML policy file plus CLI flags, validated once at start.

Every section is a frozen dataclass; unknown sections or keys, wrong types and out-of-range
values are ``ConfigError``. ``Config.digest()`` (sha256 of the canonical JSON) goes into
every plan, report and audit record so a result can be tied to the exact settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
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


@dataclass(frozen=True)
class VideoConfig:
    style: str = "fill"
    pad_px: int = 3  # grown around every redacted box
    pad_s: float = 0.2  # a box is shown this long before and after its track
    tile_px: int = 16  # change-map tile size
    change_threshold: int = 24  # luma difference that counts as a changed pixel
    ocr_pad_px: int = 24  # a changed region is grown by this before OCR
    text_detector: str = "ink"  # how text lines are found: "ink" (fast, screen text) or "craft" (EasyOCR's detector)
    unsure_min_digits: int = 3  # low-confidence OCR text with this many digits is redacted
    unsure_conf: float = 0.35
    crf: int = 20
    preset: str = "veryfast"


@dataclass(frozen=True)
class AudioConfig:
    required: bool = True
    mode: str = "tone"
    tone_hz: float = 1000.0
    pad_ms: int = 250
    language: str = "en"
    min_digits: int = 4  # a spoken run of this many digits is always redacted
    unsure_prob: float = 0.5  # a word speech-to-text is less sure of is redacted (0: off)
    bridge_ms: int = 1000  # two bleeps closer than this become one
    voice: str = "keep"  # "disguise": the agent's voice (with stereo, the agent's channel; in mono the whole call) is transformed
    customer_voice: str = "keep"  # stereo only: "disguise" transforms the customer's channel too
    agent_channel: str = "left"  # stereo: the channel the agent speaks on ("left" or "right")


@dataclass(frozen=True)
class IdPattern:
    """A customer/contract id shape of this business (``[detect] id_patterns``)."""

    name: str = ""  # entity type reported, e.g. CONTRACT_ID (required)
    regex: str = ""  # Python regular expression of the whole id (required)
    context: tuple[str, ...] = ()  # label words that raise the score when just before
    score: float = 0.85


@dataclass(frozen=True)
class DetectConfig:
    languages: tuple[str, ...] = ("en", "fr")
    score_threshold: float = 0.35
    entities: tuple[str, ...] = ENTITY_TYPES
    id_patterns: tuple[IdPattern, ...] = ()


@dataclass(frozen=True)
class PolicyConfig:
    """CNIL guarantees (DESIGN.md section 7)."""

    purposes: tuple[str, ...] = ("training",)  # the only purpose the CNIL allows here
    excluded_lines: tuple[str, ...] = ()  # phone lines never processed (staff representatives)
    require_windows: bool = False  # refuse when no business-window rectangle is known
    require_call_times: bool = False  # refuse when off-hook/on-hook times are unknown
    retention_days: int = 30  # `anonymizer purge` deletes originals older than this
    audit_log: str = ""  # hash-chained JSONL audit log; empty = none
    quarantine_dir: str = ""  # outputs failing verification go here, never inside the output folder (default: $XDG_STATE_HOME/anonymizer/quarantine)
    verify: bool = True  # re-read the output before publishing it
    verify_min_interval_s: float = 0.5  # a changing redacted region is re-read at most this often (0: every change)
    access_file: str = ""  # `anonymizer export`: who may export what (absolute path, owned by the service)
    report_key_file: str = ""  # HMAC key (32+ random bytes, mode 0600) signing reports; export trusts only signed ones

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

    customer: str = "redact"
    colleague: str = "redact"
    agent: str = "redact"

    def keeps(self, category: str, entity_type: str = "") -> bool:
        """Is a finding of ``category`` kept readable? Values whose owner is unknown
        (``UNSURE`` text, words after a carrier phrase) are kept only if every category is."""
        if entity_type in ("UNSURE", "ANNOUNCED") or category not in CATEGORIES:
            return all(getattr(self, c) == "keep" for c in CATEGORIES)
        return bool(getattr(self, category) == "keep")


@dataclass(frozen=True)
class OutputConfig:
    hash_key_file: str = ""  # HMAC key for value hashes in plans; empty = random per run


@dataclass(frozen=True)
class BatchConfig:
    """``anonymizer batch`` only: how many recordings, how long, how much memory. None of
    it changes an output, so it is left out of ``Config.processing_digest()``."""

    quota_per_agent: int = 0  # at most this many recordings per agent per period (0: no quota)
    quota_period: str = "7d"  # the quota's sliding window: Nh, Nd or Nw
    max_attempts: int = 3  # a crashed, timed-out or failed recording is retried this many times in all
    file_timeout_s: float = 3600.0  # wall-time limit for one recording
    memory_mb: int = 6144  # memory cap of a worker process (beyond its loaded models)
    settle_s: float = 120.0  # a recording (or companion) modified more recently than this is deferred: still being written


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
        v, a, d = self.video, self.audio, self.detect
        _check(v.style in STYLES, f"video.style must be one of {STYLES}, not {v.style!r}")
        _check(v.text_detector in TEXT_DETECTORS, f"video.text_detector must be one of {TEXT_DETECTORS}, not {v.text_detector!r}")
        _check(a.mode in AUDIO_MODES, f"audio.mode must be one of {AUDIO_MODES}, not {a.mode!r}")
        _check(a.language in (*LANGUAGES, "auto"), f"audio.language must be one of {(*LANGUAGES, 'auto')}")
        _check(a.voice in VOICES, f"audio.voice must be one of {VOICES}, not {a.voice!r}")
        _check(a.customer_voice in VOICES, f"audio.customer_voice must be one of {VOICES}, not {a.customer_voice!r}")
        _check(a.agent_channel in CHANNELS, f"audio.agent_channel must be one of {CHANNELS}, not {a.agent_channel!r}")
        _check(0 <= v.pad_px <= 64, "video.pad_px must be in 0..64")
        _check(0.0 <= v.pad_s <= 5.0, "video.pad_s must be in 0..5")
        _check(4 <= v.tile_px <= 256, "video.tile_px must be in 4..256")
        _check(1 <= v.change_threshold <= 255, "video.change_threshold must be in 1..255")
        _check(0 <= v.ocr_pad_px <= 256, "video.ocr_pad_px must be in 0..256")
        _check(0 <= v.crf <= 51, "video.crf must be in 0..51")
        _check(0.0 <= v.unsure_conf <= 1.0, "video.unsure_conf must be in 0..1")
        _check(1 <= v.unsure_min_digits <= 32, "video.unsure_min_digits must be in 1..32")
        _check(v.preset in PRESETS, f"video.preset must be one of {PRESETS}, not {v.preset!r}")
        _check(0 <= a.pad_ms <= 5000, "audio.pad_ms must be in 0..5000")
        _check(20.0 <= a.tone_hz <= 8000.0, "audio.tone_hz must be in 20..8000")
        _check(1 <= a.min_digits <= 32, "audio.min_digits must be in 1..32")
        _check(0.0 <= a.unsure_prob <= 1.0, "audio.unsure_prob must be in 0..1")
        _check(0 <= a.bridge_ms <= 10000, "audio.bridge_ms must be in 0..10000")
        _check(0.0 <= d.score_threshold <= 1.0, "detect.score_threshold must be in 0..1")
        for lang in d.languages:
            _check(lang in LANGUAGES, f"detect.languages: unknown language {lang!r}")
        p = self.policy
        _check(len(p.purposes) > 0, "policy.purposes must name at least one purpose")
        _check(0 <= p.retention_days <= 3650, "policy.retention_days must be in 0..3650")
        _check(0.0 <= p.verify_min_interval_s <= 60.0, "policy.verify_min_interval_s must be in 0..60")
        for key in ("access_file", "report_key_file"):
            value = getattr(p, key)
            _check(not value or Path(value).is_absolute(), f"policy.{key} must be an absolute path, not {value!r}")
        for cat in CATEGORIES:
            action = getattr(self.redact, cat)
            _check(action in ACTIONS, f"redact.{cat} must be one of {ACTIONS}, not {action!r}")
        for ent in d.entities:
            _check(ent in ENTITY_TYPES, f"detect.entities: unknown entity type {ent!r}")
        b = self.batch
        _check(0 <= b.quota_per_agent <= 1_000_000, "batch.quota_per_agent must be in 0..1000000")
        _check(parse_duration_s(b.quota_period) is not None, "batch.quota_period must look like 24h, 7d or 4w")
        _check(1 <= b.max_attempts <= 100, "batch.max_attempts must be in 1..100")
        _check(1.0 <= b.file_timeout_s <= 7 * 86400.0, "batch.file_timeout_s must be in 1..604800")
        _check(64 <= b.memory_mb <= 1_048_576, "batch.memory_mb must be in 64..1048576")
        _check(0.0 <= b.settle_s <= 86400.0, "batch.settle_s must be in 0..86400")
        return self


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


_SECTIONS = {f.name: f.type for f in fields(Config) if f.name not in ("source", "runtime")}  # runtime: --device, not the policy
_CLASSES = {"video": VideoConfig, "audio": AudioConfig, "detect": DetectConfig, "policy": PolicyConfig, "redact": RedactConfig,
            "output": OutputConfig, "batch": BatchConfig}


def _id_patterns(value: Any) -> tuple[IdPattern, ...]:
    """``id_patterns = [{name = "CONTRACT_ID", regex = "CT-\\d{8}", context = ["contrat"]}]``."""
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ConfigError("[detect].id_patterns must be a list of tables {name = ..., regex = ...}")
    out = []
    for i, item in enumerate(value):
        where = f"[detect].id_patterns[{i}]"
        pattern = _coerce(f"detect.id_patterns[{i}]", IdPattern, item)
        _check(bool(re.fullmatch(r"[A-Z][A-Z0-9_]{1,40}", pattern.name)), f"{where}.name must be an upper-case entity name like CONTRACT_ID")
        _check(pattern.name not in ENTITY_TYPES, f"{where}.name {pattern.name!r} is a built-in entity type")
        try:
            compiled = re.compile(pattern.regex)
        except re.error as exc:
            raise ConfigError(f"{where}.regex is not a valid regular expression: {exc}") from None
        _check(compiled.search("") is None, f"{where}.regex must not match the empty string")
        _check(0.35 <= pattern.score <= 1.0, f"{where}.score must be in 0.35..1")
        out.append(pattern)
    names = [p.name for p in out]
    _check(len(names) == len(set(names)), "[detect].id_patterns: names must be unique")
    return tuple(out)


def _coerce(section: str, cls: type, raw: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"unknown key [{section}].{key} (known: {', '.join(sorted(known))})")
        default = getattr(cls(), key)
        if cls is DetectConfig and key == "id_patterns":
            value = _id_patterns(value)
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ConfigError(f"[{section}].{key} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"[{section}].{key} must be true or false")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"[{section}].{key} must be a number")
            if not math.isfinite(value):  # TOML has nan and inf; every range check is False on nan
                raise ConfigError(f"[{section}].{key} must be a finite number, not {value}")
            value = float(value)
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"[{section}].{key} must be an integer")
        elif isinstance(default, str) and not isinstance(value, str):
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
        if section not in _CLASSES:
            raise ConfigError(f"unknown section [{section}] (known: {', '.join(_SECTIONS)})", path=path)
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table", path=path)
        try:
            parts[section] = _coerce(section, _CLASSES[section], values)
        except ConfigError as exc:
            raise ConfigError(str(exc), path=path) from None
    try:
        return Config(**parts, source="" if path is None else str(path)).validate()
    except ConfigError as exc:
        raise ConfigError(str(exc), path=path) from None
