"""``anonymizer.overrides``: the reviewer's file is validated strictly against its plan
(a table of bad files, each with the message it must give) and applied as a new plan."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from anonymizer.errors import ConfigError
from anonymizer.overrides import MANUAL_TYPE, apply_overrides, load_overrides, unhidden_hashes
from anonymizer.plan import AudioSpan, Plan, PlanBox

PLAN = Plan(
    input_sha256="a" * 64, width=320, height=180, duration_s=9.9, config_sha256="c" * 64, style="fill",
    boxes=[PlanBox(10, 10, 50, 12, 0.0, 4.0, "PHONE_NUMBER", value_hash="phone0000000000"),
           PlanBox(10, 40, 80, 12, 1.0, 9.9, "PERSON", category="colleague", source="registry", value_hash="colleague000000"),
           PlanBox(10, 70, 50, 12, 5.0, 9.0, "PHONE_NUMBER", value_hash="phone0000000000")],
    audio_spans=[AudioSpan(2.0, 3.0, "PHONE_NUMBER", value_hash="phone0000000000"),
                 AudioSpan(6.0, 10.4, "PERSON", category="colleague", value_hash="colleague000000"),
                 AudioSpan(7.0, 8.0, "UNSURE", value_hash="unheard00000000")],
)
PLAN_SHA = hashlib.sha256(PLAN.to_json().encode()).hexdigest()


def _file(tmp_path: Path, **kw: Any) -> Path:
    data: dict[str, Any] = {"version": 1, "plan_sha256": PLAN_SHA, "reviewer": "rita"}
    data.update(kw)
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps(data))
    return path


def test_valid_file_is_applied(tmp_path: Path) -> None:
    ov = load_overrides(_file(
        tmp_path,
        unhide_values=[{"value_hash": "colleague000000", "reason": "the trainer on the call, consented"}],
        unhide_boxes=[{"box": 0, "reason": ""}],
        add_boxes=[{"x": 200, "y": 100, "w": 40, "h": 20, "start_s": 1, "end_s": 2.5, "reason": "address missed"}],
        add_bleeps=[{"start_s": 4.0, "end_s": 4.5, "reason": "name said"}, {"start_s": 4.5, "end_s": 5.0, "reason": ""}],
    ), PLAN, PLAN_SHA)
    assert ov.unhides() and ov.reviewer == "rita" and len(ov.items()) == 5
    new = apply_overrides(PLAN, ov)
    assert [b.y for b in new.boxes] == [70, 100]  # box 0 and the colleague's box gone, one added
    assert new.boxes[-1].type == MANUAL_TYPE and new.boxes[-1].category == "reviewer"
    # the colleague's bleep stays: bleeps are never un-hidden by value (one may cover several values)
    assert [(s.start_s, s.type) for s in new.audio_spans] == [(2.0, "PHONE_NUMBER"), (6.0, "PERSON"), (7.0, "UNSURE"),
                                                              (4.0, MANUAL_TYPE), (4.5, MANUAL_TYPE)]
    # the phone is still hidden by box 2 and a span: only the colleague is un-hidden
    assert unhidden_hashes(PLAN, ov) == {"colleague000000"}
    assert PLAN.boxes[0] in PLAN.boxes and len(PLAN.boxes) == 3  # the plan itself is untouched


def test_empty_lists_may_be_left_out(tmp_path: Path) -> None:
    ov = load_overrides(_file(tmp_path), PLAN, PLAN_SHA)
    assert not ov.unhides() and apply_overrides(PLAN, ov) == PLAN


R = "because"
BAD: list[tuple[dict[str, Any], str]] = [
    ({"extra": 1}, "unknown key(s) extra"),
    ({"version": 2}, "unsupported version 2"),
    ({"version": True}, "unsupported version True"),
    ({"plan_sha256": "0" * 64}, "made for another plan"),
    ({"reviewer": " "}, "must name the reviewer"),
    ({"unhide_values": {"value_hash": "x"}}, "unhide_values: must be a list"),
    ({"unhide_values": [{"value_hash": "nothere", "reason": R}]}, "unhide_values[0]: value_hash 'nothere' is not in the plan"),
    ({"unhide_values": [{"value_hash": "unheard00000000", "reason": R}]}, "is only heard, never shown"),
    ({"add_boxes": [{"x": 1, "y": 1, "w": 5, "h": 5, "start_s": 1, "end_s": 2, "reason": R}] * 2}, "listed twice"),
    ({"unhide_values": [{"value_hash": "phone0000000000"}]}, "unhide_values[0]: missing 'reason'"),
    ({"unhide_values": [{"value_hash": "colleague000000", "reason": "  "}]}, "roster employee's value"),
    ({"unhide_values": [{"value_hash": "phone0000000000", "reason": R}] * 2}, "listed twice"),
    ({"unhide_values": [{"value_hash": "phone0000000000", "reason": R, "note": 1}]}, "unhide_values[0]: unknown key(s) note"),
    ({"unhide_boxes": [{"box": 3, "reason": R}]}, "unhide_boxes[0]: box 3 is out of range"),
    ({"unhide_boxes": [{"box": -1, "reason": R}]}, "box -1 is out of range"),
    ({"unhide_boxes": [{"box": "1", "reason": R}]}, "box must be an integer"),
    ({"unhide_boxes": [{"box": 1, "reason": ""}]}, "roster employee's value"),
    ({"add_boxes": [{"x": 300, "y": 0, "w": 40, "h": 10, "start_s": 0, "end_s": 1, "reason": R}]}, "outside the 320x180 frame"),
    ({"add_boxes": [{"x": -1, "y": 0, "w": 40, "h": 10, "start_s": 0, "end_s": 1, "reason": R}]}, "outside the 320x180 frame"),
    ({"add_boxes": [{"x": 0, "y": 0, "w": 0, "h": 10, "start_s": 0, "end_s": 1, "reason": R}]}, "must be positive"),
    ({"add_boxes": [{"x": 0, "y": 0, "w": 5, "h": 10, "start_s": 2, "end_s": 1, "reason": R}]}, "reversed range"),
    ({"add_boxes": [{"x": 0, "y": 0, "w": 5, "h": 10, "start_s": 0, "end_s": 1}]}, "add_boxes[0]: missing 'reason'"),
    ({"add_bleeps": [{"start_s": -1, "end_s": 1, "reason": R}]}, "add_bleeps[0]: negative time"),
    ({"add_bleeps": [{"start_s": 1, "end_s": 1, "reason": R}]}, "end_s 1 <= start_s 1"),
    ({"add_bleeps": [{"start_s": 10, "end_s": 11, "reason": R}]}, "past the recording's end (10.4 s)"),
    ({"add_bleeps": [{"start_s": 1, "end_s": float("nan"), "reason": R}]}, "end_s must be a finite number"),  # Python reads NaN
    ({"add_bleeps": [{"start_s": 1, "end_s": "2", "reason": R}]}, "end_s must be a finite number"),
    ({"add_bleeps": [{"start_s": 1, "end_s": 3, "reason": R}, {"start_s": 2, "end_s": 4, "reason": R}]},
     "add_bleeps[1]: 2..4 s overlaps add_bleeps[0] (1..3 s)"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_file_names_the_file_and_the_problem(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _file(tmp_path, **change)
    with pytest.raises(ConfigError) as err:
        load_overrides(path, PLAN, PLAN_SHA)
    assert err.value.exit_code == 2
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "o.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_overrides(bad, PLAN, PLAN_SHA)
    with pytest.raises(ConfigError, match="overrides file not found"):
        load_overrides(tmp_path / "none.json", PLAN, PLAN_SHA)
    bad.write_text("[]")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        load_overrides(bad, PLAN, PLAN_SHA)
