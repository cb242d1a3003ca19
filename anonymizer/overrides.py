"""A reviewer's corrections to a plan: what to show after all, what to hide besides.

Why a separate file, not an edited plan: the plan is what analysis decided, and the
overrides are what a person decided on top of it; keeping them apart lets ``anonymizer
render`` check that the overrides were made for exactly this plan (its sha256), ask who
may un-hide, and write every item with its reason to the report and the audit log. The
review page downloads this file; ``anonymizer render CALL.mp4 --plan CALL.anon.plan.json
--overrides overrides.json -o OUT.mp4`` applies it without analysing again.

Format (JSON, version 1)::

    {"version": 1,
     "plan_sha256": "<sha256 hex of the plan file's bytes>",
     "reviewer": "name",
     "unhide_values": [{"value_hash": "<value_hash of plan boxes/spans>", "reason": "..."}],
     "unhide_boxes":  [{"box": 3, "reason": "..."}],
     "add_boxes":  [{"x": 10, "y": 20, "w": 100, "h": 18, "start_s": 1.0, "end_s": 4.5, "reason": "..."}],
     "add_bleeps": [{"start_s": 12.0, "end_s": 13.2, "reason": "..."}]}

* ``unhide_values``: every box with that ``value_hash`` is dropped (the value is shown
  wherever analysis had hidden it on screen). Bleeps are never removed by value: one bleep
  may cover several values said close together (a merged span keeps only the first one's
  hash) and all unheard speech shares one hash; a hash only heard is refused.
* ``unhide_boxes``: one box of ``plan.boxes``, by its index (boxes have no other stable id).
* ``add_boxes`` (drawn in the plan's style) and ``add_bleeps`` are added with type
  ``MANUAL`` and category ``reviewer``. Times are seconds of the recording (the plan's own
  time line); a box covers ``start_s..end_s`` inclusive, like the plan's.

Every item needs a ``reason`` string. It must not be empty when the item un-hides a
value of a roster employee (category ``colleague`` or ``agent``): showing a colleague is
the exception that must be justified. The four lists may be left out (empty).

Validation is strict, and every problem is a :class:`~anonymizer.errors.ConfigError`
(exit 2) naming the file and the item: unknown keys, another version, another plan's
sha256, a value hash the plan does not hold, a box index out of range, an item listed
twice, negative, empty or reversed ranges (``end_s <= start_s``), ranges past the
recording's end (the latest of the plan's ``duration_s``, trim end and spans), boxes
outside the frame, and bleeps that overlap one another (a reviewer's mistake rather than
something to merge silently).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from anonymizer.errors import ConfigError
from anonymizer.plan import AudioSpan, Plan, PlanBox

OVERRIDES_VERSION = 1
MANUAL_TYPE = "MANUAL"
REVIEWER_CATEGORY = "reviewer"
ROSTER_CATEGORIES = ("colleague", "agent")  # un-hiding these needs a reason
_TOP_KEYS = {"version", "plan_sha256", "reviewer", "unhide_values", "unhide_boxes", "add_boxes", "add_bleeps"}
_ITEM_KEYS = {
    "unhide_values": {"value_hash", "reason"},
    "unhide_boxes": {"box", "reason"},
    "add_boxes": {"x", "y", "w", "h", "start_s", "end_s", "reason"},
    "add_bleeps": {"start_s", "end_s", "reason"},
}
_EPS = 1e-6


@dataclass(frozen=True)
class UnhideValue:
    value_hash: str
    reason: str


@dataclass(frozen=True)
class UnhideBox:
    box: int  # index into plan.boxes
    reason: str


@dataclass(frozen=True)
class AddBox:
    x: int
    y: int
    w: int
    h: int
    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class AddBleep:
    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class Overrides:
    """A validated overrides file (see the module docstring). ``sha256``: of its bytes."""

    plan_sha256: str
    reviewer: str
    sha256: str = ""
    unhide_values: tuple[UnhideValue, ...] = ()
    unhide_boxes: tuple[UnhideBox, ...] = ()
    add_boxes: tuple[AddBox, ...] = ()
    add_bleeps: tuple[AddBleep, ...] = ()

    def unhides(self) -> bool:
        """Whether anything hidden by analysis is shown: that needs the right to see originals."""
        return bool(self.unhide_values or self.unhide_boxes)

    def items(self) -> list[dict[str, Any]]:
        """One record per item (``action`` and its fields, reason included): for the report
        and the audit log. Value hashes only, never a value."""
        out: list[dict[str, Any]] = []
        out += [{"action": "unhide_value", "value_hash": u.value_hash, "reason": u.reason} for u in self.unhide_values]
        out += [{"action": "unhide_box", "box": u.box, "reason": u.reason} for u in self.unhide_boxes]
        out += [{"action": "add_box", "x": a.x, "y": a.y, "w": a.w, "h": a.h, "start_s": a.start_s, "end_s": a.end_s,
                 "reason": a.reason} for a in self.add_boxes]
        out += [{"action": "add_bleep", "start_s": a.start_s, "end_s": a.end_s, "reason": a.reason} for a in self.add_bleeps]
        return out

    def record(self) -> dict[str, Any]:
        """What the report says of the overrides."""
        return {"version": OVERRIDES_VERSION, "plan_sha256": self.plan_sha256, "sha256": self.sha256,
                "reviewer": self.reviewer, "items": self.items()}


def plan_end_s(plan: Plan) -> float:
    """The latest time the plan knows of: its last frame, trim end or audio span (audio may
    run a little past the last frame's time)."""
    ends = [plan.duration_s, *(s.end_s for s in plan.audio_spans), *(b.end_s for b in plan.boxes)]
    if plan.trim is not None:
        ends.append(plan.trim[1])
    return max(ends)


def plan_items(plan: Plan) -> list[PlanBox | AudioSpan]:
    """The plan's boxes and audio spans, each with its type, category and value hash."""
    return [*plan.boxes, *plan.audio_spans]


def value_categories(plan: Plan) -> dict[str, set[str]]:
    """Each value hash of the plan (boxes and spans) and the categories it is hidden as."""
    out: dict[str, set[str]] = {}
    for item in plan_items(plan):
        if item.value_hash:
            out.setdefault(item.value_hash, set()).add(item.category)
    return out


class _Reader:
    """Type checks that name the file and the item."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"overrides: {where}{': ' if where else ''}{problem}", path=self.path)

    def obj(self, value: Any, where: str, keys: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a JSON object")
        unknown = set(value) - keys
        if unknown:
            raise self.fail(where, f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(keys))})")
        return value

    def need(self, item: dict[str, Any], key: str, where: str) -> Any:
        if key not in item:
            raise self.fail(where, f"missing {key!r}")
        return item[key]

    def int_(self, item: dict[str, Any], key: str, where: str) -> int:
        v = self.need(item, key, where)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(where, f"{key} must be an integer, not {v!r}")
        return v

    def float_(self, item: dict[str, Any], key: str, where: str) -> float:
        v = self.need(item, key, where)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise self.fail(where, f"{key} must be a finite number of seconds, not {v!r}")
        return float(v)

    def str_(self, item: dict[str, Any], key: str, where: str) -> str:
        v = self.need(item, key, where)
        if not isinstance(v, str):
            raise self.fail(where, f"{key} must be a string, not {v!r}")
        return v.strip()

    def range_(self, item: dict[str, Any], where: str, end_limit: float) -> tuple[float, float]:
        start, end = self.float_(item, "start_s", where), self.float_(item, "end_s", where)
        if start < 0 or end < 0:
            raise self.fail(where, f"negative time ({start:g}..{end:g} s)")
        if end <= start:
            raise self.fail(where, f"empty or reversed range: end_s {end:g} <= start_s {start:g}")
        if end > end_limit + _EPS:
            raise self.fail(where, f"range {start:g}..{end:g} s goes past the recording's end ({end_limit:g} s)")
        return start, end

    def items(self, data: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise self.fail(key, "must be a list")
        return [(f"{key}[{i}]", self.obj(item, f"{key}[{i}]", _ITEM_KEYS[key])) for i, item in enumerate(raw)]


def parse_overrides(data: bytes, plan: Plan, plan_sha256: str, *, path: Path) -> Overrides:
    """Validate the bytes of an overrides file against ``plan`` (whose file hashes to
    ``plan_sha256``); see the module docstring for the rules."""
    r = _Reader(path)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise r.fail("", f"not valid JSON ({exc})") from exc
    top = r.obj(raw, "", _TOP_KEYS)
    version = top.get("version")
    if version != OVERRIDES_VERSION or isinstance(version, bool):
        raise r.fail("version", f"unsupported version {version!r} (this anonymizer reads {OVERRIDES_VERSION})")
    sha = r.str_(top, "plan_sha256", "")
    if sha.lower() != plan_sha256.lower():
        raise r.fail("plan_sha256", f"made for another plan ({sha[:16]}...), not this one ({plan_sha256[:16]}...): "
                     "the plan was changed, or the overrides belong to another recording")
    reviewer = r.str_(top, "reviewer", "")
    if not reviewer:
        raise r.fail("reviewer", "must name the reviewer")

    unhide_values, unhide_boxes = _unhides(r, top, plan)
    add_boxes, add_bleeps = _additions(r, top, plan)
    return Overrides(plan_sha256=plan_sha256.lower(), reviewer=reviewer, sha256=hashlib.sha256(data).hexdigest(),
                     unhide_values=tuple(unhide_values), unhide_boxes=tuple(unhide_boxes), add_boxes=tuple(add_boxes),
                     add_bleeps=tuple(add_bleeps))


def _reason(r: _Reader, item: dict[str, Any], where: str, roster: bool) -> str:
    text = r.str_(item, "reason", where)
    if roster and not text:
        raise r.fail(where, "un-hiding a roster employee's value (colleague or agent) needs a reason")
    return text


def _unhides(r: _Reader, top: dict[str, Any], plan: Plan) -> tuple[list[UnhideValue], list[UnhideBox]]:
    categories = value_categories(plan)
    unhide_values: list[UnhideValue] = []
    shown = {b.value_hash for b in plan.boxes if b.value_hash}
    for where, item in r.items(top, "unhide_values"):
        vh = r.str_(item, "value_hash", where)
        if vh not in categories:
            raise r.fail(where, f"value_hash {vh!r} is not in the plan")
        if vh not in shown:
            raise r.fail(where, f"value_hash {vh!r} is only heard, never shown: bleeps are not un-hidden by value")
        if any(u.value_hash == vh for u in unhide_values):
            raise r.fail(where, f"value_hash {vh!r} is listed twice")
        unhide_values.append(UnhideValue(vh, _reason(r, item, where, bool(categories[vh] & set(ROSTER_CATEGORIES)))))
    unhide_boxes: list[UnhideBox] = []
    for where, item in r.items(top, "unhide_boxes"):
        i = r.int_(item, "box", where)
        if not 0 <= i < len(plan.boxes):
            raise r.fail(where, f"box {i} is out of range (the plan has {len(plan.boxes)} boxes: 0..{len(plan.boxes) - 1})")
        if any(u.box == i for u in unhide_boxes):
            raise r.fail(where, f"box {i} is listed twice")
        unhide_boxes.append(UnhideBox(i, _reason(r, item, where, plan.boxes[i].category in ROSTER_CATEGORIES)))
    return unhide_values, unhide_boxes


def _additions(r: _Reader, top: dict[str, Any], plan: Plan) -> tuple[list[AddBox], list[AddBleep]]:
    end_limit = plan_end_s(plan)
    add_boxes: list[AddBox] = []
    for where, item in r.items(top, "add_boxes"):
        x, y, w, h = (r.int_(item, k, where) for k in ("x", "y", "w", "h"))
        if w <= 0 or h <= 0:
            raise r.fail(where, f"w and h must be positive, not {w}x{h}")
        if x < 0 or y < 0 or x + w > plan.width or y + h > plan.height:
            raise r.fail(where, f"box {x},{y} {w}x{h} is outside the {plan.width}x{plan.height} frame")
        start, end = r.range_(item, where, end_limit)
        if any((a.x, a.y, a.w, a.h, a.start_s, a.end_s) == (x, y, w, h, start, end) for a in add_boxes):
            raise r.fail(where, "the same rectangle is listed twice")
        add_boxes.append(AddBox(x, y, w, h, start, end, _reason(r, item, where, False)))
    add_bleeps: list[AddBleep] = []
    for where, item in r.items(top, "add_bleeps"):
        start, end = r.range_(item, where, end_limit)
        for k, other in enumerate(add_bleeps):
            if start < other.end_s and other.start_s < end:
                raise r.fail(where, f"{start:g}..{end:g} s overlaps add_bleeps[{k}] ({other.start_s:g}..{other.end_s:g} s)")
        add_bleeps.append(AddBleep(start, end, _reason(r, item, where, False)))
    return add_boxes, add_bleeps


def load_overrides(path: Path, plan: Plan, plan_sha256: str) -> Overrides:
    """Read and validate the overrides file at ``path`` for ``plan`` (ConfigError, exit 2)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("overrides file not found", path=path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the overrides file: {exc.strerror}", path=path) from exc
    return parse_overrides(data, plan, plan_sha256, path=path)


def unhidden_hashes(plan: Plan, ov: Overrides) -> set[str]:
    """Value hashes no longer hidden on screen once ``ov`` is applied: those un-hidden by
    value, and those of un-hidden boxes that no other box still hides (verification must
    not take them, now shown, for a leak)."""
    still = {b.value_hash for b in apply_overrides(plan, ov).boxes if b.value_hash}
    return {b.value_hash for b in plan.boxes if b.value_hash and b.value_hash not in still}


def apply_overrides(plan: Plan, ov: Overrides) -> Plan:
    """A new plan: boxes and spans of un-hidden values dropped, un-hidden boxes dropped,
    reviewer boxes and bleeps added (``MANUAL``, category ``reviewer``)."""
    values = {u.value_hash for u in ov.unhide_values}
    indexes = {u.box for u in ov.unhide_boxes}
    boxes = [b for i, b in enumerate(plan.boxes) if i not in indexes and b.value_hash not in values]
    boxes += [PlanBox(a.x, a.y, a.w, a.h, a.start_s, a.end_s, MANUAL_TYPE, REVIEWER_CATEGORY, "reviewer") for a in ov.add_boxes]
    # Bleeps stay: one bleep may cover several values said close together (a merged span
    # keeps only the first one's hash), and all unheard speech shares one hash.
    spans = [*plan.audio_spans, *(AudioSpan(a.start_s, a.end_s, MANUAL_TYPE, REVIEWER_CATEGORY) for a in ov.add_bleeps)]
    return replace(plan, boxes=boxes, audio_spans=spans)
