"""End to end on a generated recording, scored against its ground truth by an independent
OCR pass (benchmarks.score): the product's promises, checked as a user would."""

from __future__ import annotations

import json

import pytest

from anonymizer.fsutil import sha256_file
from benchmarks.score import score
from tests.conftest import Anonymized


@pytest.fixture(scope="module")
def scored(anonymized: Anonymized) -> dict:  # type: ignore[type-arg]
    return score(anonymized.sample.truth, anonymized.output, original=anonymized.sample.video)


def test_cli_reports_where_outputs_are(anonymized: Anonymized) -> None:
    assert "anonymized:" in anonymized.proc.stdout
    for p in (anonymized.output, anonymized.plan, anonymized.report):
        assert p.is_file() and p.stat().st_size > 0
        assert str(p) in anonymized.proc.stdout or p == anonymized.output
    assert oct(anonymized.output.stat().st_mode & 0o777) == "0o640"
    leftovers = [p.name for p in anonymized.output.parent.iterdir() if ".part-" in p.name]
    assert leftovers == []


def test_no_network_access_attempted(anonymized: Anonymized) -> None:
    # tests/netguard writes "loaded PID" first: a missing log or line means the guard never
    # ran, which must fail rather than read as "no attempts". Native code is covered by
    # tests/test_network_isolation.py (syscall trace in an empty network namespace).
    assert anonymized.netlog.is_file(), f"{anonymized.netlog}: netguard never ran (no log)"
    lines = anonymized.netlog.read_text().splitlines()
    assert lines and lines[0].startswith("loaded "), f"netguard never ran: {lines[:3]}"
    attempts = [line for line in lines if not line.startswith("loaded ")]
    assert attempts == []


def test_zero_leaked_box_frames(scored: dict) -> None:  # type: ignore[type-arg]
    pii = scored["pii"]
    assert pii["checked"] > 100  # the sample really shows PII
    assert pii["unchecked"] == 0
    assert pii["leaked"] == 0, pii["leaked_example_frames"]


def test_zero_leaked_audio_spans(scored: dict) -> None:  # type: ignore[type-arg]
    a = scored["audio"]
    assert a["spans"] >= 2
    assert a["survived"] == 0, [d for d in a["span_details"] if d["survived"]]


def test_report_says_what_a_trainer_will_hear(anonymized: Anonymized) -> None:
    """Seconds bleeped per reason and per channel, and the share of the call kept, from the
    plan's spans."""
    from anonymizer.plan import Plan

    report = json.loads(anonymized.report.read_text())
    spans = Plan.from_json(anonymized.plan.read_text()).audio_spans
    heard, duration = report["speech"]["bleeped"], report["input"]["audio"]["duration_s"]
    assert spans and set(heard["by_reason"]) == {s.type for s in spans}
    assert 0 < heard["total_s"] <= duration and max(heard["by_channel"]) <= heard["total_s"]
    assert heard["kept_share"] == pytest.approx(1 - heard["total_s"] / duration, abs=1e-3)


def test_sync_preserved(scored: dict) -> None:  # type: ignore[type-arg]
    fr = scored["frames"]
    assert fr["truth"] == fr["output"] == fr["matched"]
    assert fr["pts_equal"], fr["pts_mismatches"]
    assert scored["video"]["size_equal"]
    assert scored["audio"]["format_equal"] and scored["audio"]["length_ok"]


def test_most_labels_intact(scored: dict) -> None:  # type: ignore[type-arg]
    assert scored["labels"]["boxes"] > 100
    assert scored["labels"]["fraction"] <= 0.3


def test_plan_and_report_hold_no_raw_values(anonymized: Anonymized) -> None:
    truth = json.loads(anonymized.sample.truth.read_text())
    values = {p["value"] for f in truth["frames"] for p in f["pii"] if len(p["value"]) >= 5}
    values |= {s["value"] for s in truth["audio_spans"]}
    text = anonymized.plan.read_text() + anonymized.report.read_text()
    leaked = [v for v in values if v in text]
    assert leaked == []


def test_report_contents(anonymized: Anonymized) -> None:
    r = anonymized.report_json()
    assert r["input"]["sha256"] == sha256_file(anonymized.sample.video)  # original untouched
    assert r["output"]["sha256"] == sha256_file(anonymized.output)
    assert r["input"]["sha256"] != r["output"]["sha256"]
    assert len(r["config_sha256"]) == 64
    assert r["counts"]["screen"].get("PERSON", 0) > 0
    assert sum(r["counts"]["audio"].values()) >= 2
    assert r["models"]["easyocr"] != "missing"
    # OCR is change-driven: far less than every frame's pixels are read.
    assert r["screen"]["ocr_pixel_fraction"] < 0.5
    v = r["verification"]
    assert v["enabled"] and v["problems"] == [] and v["crops_read"] > 0 and v["words"] > 0
