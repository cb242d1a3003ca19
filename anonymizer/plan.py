"""The redaction plan: everything render needs, and nothing more, as reviewable JSON.

It holds boxes with time ranges, audio spans, the trim range and window rectangles. It
never holds a raw value: a value is identified by an HMAC-SHA256 under the run's key, so a
reviewer can tell that two boxes hide the same value without learning it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.errors import ConfigError

PLAN_VERSION = 1


@dataclass(frozen=True)
class PlanBox:
    x: int
    y: int
    w: int
    h: int
    start_s: float  # first frame time it covers (inclusive)
    end_s: float  # last frame time it covers (inclusive)
    type: str
    category: str = "customer"
    source: str = "ocr"
    value_hash: str = ""

    def active(self, t: float) -> bool:
        return self.start_s - 1e-6 <= t <= self.end_s + 1e-6


class LiveBoxes:
    """The boxes active at each of a series of increasing times: a sweep over the boxes
    sorted by start (asking every box at every frame was O(boxes x frames): 3,276 boxes
    over 6,000 frames of the calm benchmark call)."""

    def __init__(self, boxes: list[PlanBox]) -> None:
        self._boxes = sorted(boxes, key=lambda b: b.start_s)
        self._next = 0
        self._live: list[PlanBox] = []
        self._t = float("-inf")

    def at(self, t: float) -> list[PlanBox]:
        """Boxes with ``start_s <= t <= end_s`` (1 us tolerance), in start order; ``t`` must
        not decrease from one call to the next."""
        if t < self._t:
            raise ValueError(f"LiveBoxes.at: time went back from {self._t} to {t}")
        self._t = t
        while self._next < len(self._boxes) and self._boxes[self._next].start_s - 1e-6 <= t:
            self._live.append(self._boxes[self._next])
            self._next += 1
        self._live = [b for b in self._live if t <= b.end_s + 1e-6]
        return self._live


ALL_CHANNELS = -1


@dataclass(frozen=True)
class AudioSpan:
    start_s: float
    end_s: float
    type: str
    category: str = "customer"
    value_hash: str = ""
    # the track channel the value was heard on (a stereo call's side), or ALL_CHANNELS: heard
    # in the mix, bleeped on every channel (anonymizer.speech.spans)
    channel: int = -1


@dataclass(frozen=True)
class Window:
    x: int
    y: int
    w: int
    h: int
    start_s: float = 0.0
    end_s: float | None = None


def windows_at(windows: Sequence[Window], t: float) -> list[Window]:
    """The business windows shown at time ``t`` (1 us tolerance on both ends)."""
    return [w for w in windows if w.start_s - 1e-6 <= t and (w.end_s is None or t <= w.end_s + 1e-6)]


@dataclass
class Plan:
    input_sha256: str
    width: int
    height: int
    duration_s: float
    config_sha256: str
    style: str
    boxes: list[PlanBox] = field(default_factory=list)
    audio_spans: list[AudioSpan] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    trim: tuple[float, float] | None = None
    # {} when the voices are kept; else how they were disguised ({"method", "channels", ...};
    # never the key or anything drawn from it): anonymizer.speech.disguise
    voice: dict[str, Any] = field(default_factory=dict)
    # signing.key_id of [output] hash_key_file ("" when the run drew a random key): render
    # refuses another key, whose hashes would match nothing and whose disguise would differ
    hash_key_id: str = ""
    version: int = PLAN_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, path: Path | None = None) -> Plan:
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("version") != PLAN_VERSION:
                raise ConfigError(f"unsupported plan version {data.get('version')!r}", path=path)
            data["boxes"] = [PlanBox(**b) for b in data.get("boxes", [])]
            data["audio_spans"] = [AudioSpan(**s) for s in data.get("audio_spans", [])]
            data["windows"] = [Window(**w) for w in data.get("windows", [])]
            if data.get("trim") is not None:
                data["trim"] = tuple(data["trim"])
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"not a valid plan: {exc}", path=path) from exc


def value_hasher(key: bytes) -> Any:
    def h(value: str) -> str:
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    return h


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds the (start, end) intervals cover, overlaps counted once."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def bleep_summary(spans: Sequence[AudioSpan], n_channels: int, duration_s: float) -> dict[str, object]:
    """What a trainer will hear: seconds bleeped in all (on any channel), per reason (the
    span's type) and per channel, and the share of the call left as it was said."""
    def on(ch: int) -> list[tuple[float, float]]:
        return [(max(0.0, s.start_s), min(duration_s, s.end_s)) for s in spans if s.channel in (ch, ALL_CHANNELS)]

    total = union_seconds([(max(0.0, s.start_s), min(duration_s, s.end_s)) for s in spans])
    return {
        "total_s": round(total, 2),
        "by_reason": {t: round(union_seconds([(s.start_s, s.end_s) for s in spans if s.type == t]), 2)
                      for t in sorted({s.type for s in spans})},
        "by_channel": [round(union_seconds(on(ch)), 2) for ch in range(n_channels)],
        "kept_share": round(1 - total / duration_s, 4) if duration_s > 0 else None,
    }


def business_rects(windows: Sequence[Window], t: float, width: int, height: int) -> np.ndarray | None:
    """The business windows active at ``t`` as (n, 4) int32 ``x, y, w, h`` rectangles, or
    None when nothing is to be masked (no windows known, or an active one covers the whole
    frame). Decided per frame from the windows active now (issue 15: a full-frame window
    that had ended still unmasked everything after it). With windows known, a frame that
    no active window covers whole is black outside the active ones, and entirely black when
    none is active: nothing says what is business then."""
    if not windows:
        return None
    wins = windows_at(windows, t)
    if any(w.x <= 0 and w.y <= 0 and w.x + w.w >= width and w.y + w.h >= height for w in wins):
        return None
    return np.array([[w.x, w.y, w.w, w.h] for w in wins], dtype=np.int32).reshape(-1, 4)
