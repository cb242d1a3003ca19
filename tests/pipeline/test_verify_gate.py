"""The verification gate re-reads the output: a renderer that hides nothing must never
publish (the output goes to quarantine, exit 5), whatever the plan says."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anonymizer import pipeline, render
from anonymizer.config import load_config
from anonymizer.errors import VerificationError
from anonymizer.media import read_audio
from benchmarks.corpus import RecordingPaths


def do_nothing_renderer(src: Path, dst: Path, info: Any, plan: Any, audio: Any, cfg: Any, timings: Any) -> int:
    """Encodes the original frames and the original audio: a broken redaction stage."""
    empty = dataclasses.replace(plan, boxes=[], windows=[])
    return render.render_video(src, dst, info, empty, read_audio(src), cfg, timings)


def test_do_nothing_renderer_is_quarantined(sample: RecordingPaths, tmp_path: Path, private_state: Path) -> None:
    """The quarantined MP4 still holds personal data: it lands outside the output tree
    (issue 15), in the service's private state folder, 0700, its files 0600."""
    out = tmp_path / "call.anon.mp4"
    job = pipeline.Job(input=sample.video, output=out, config=load_config(None), roster=sample.roster, sidecar=sample.sidecar)
    with pytest.raises(VerificationError, match="not published") as info:
        pipeline.run(job, renderer=do_nothing_renderer)
    assert info.value.exit_code == 5
    assert not out.exists()
    assert not (tmp_path / "call.anon.plan.json").exists() and not (tmp_path / "call.anon.report.json").exists()
    assert list(tmp_path.iterdir()) == []  # nothing in the published tree, not even a quarantine folder
    qdir = private_state / "anonymizer" / "quarantine"
    [quarantined] = qdir.glob("call.anon.*.mp4")  # named by the input's hash too: no two collide
    assert quarantined.is_file()
    assert stat.S_IMODE(qdir.stat().st_mode) == 0o700
    assert stat.S_IMODE(quarantined.stat().st_mode) == 0o600
    qreport = quarantined.with_name(quarantined.stem + ".report.json")
    assert stat.S_IMODE(qreport.stat().st_mode) == 0o600
    report = json.loads(qreport.read_text())
    assert report["status"] == "quarantined"
    modalities = {p["modality"] for p in report["verification"]["problems"]}
    assert modalities == {"screen", "audio"}
    truth = json.loads(sample.truth.read_text())
    values = {p["value"] for f in truth["frames"] for p in f["pii"] if len(p["value"]) >= 5}
    text = json.dumps(report)
    assert [v for v in values if v in text] == []  # says why, never what


def test_audio_is_verified_around_every_bleeped_span() -> None:
    from anonymizer.plan import AudioSpan, Plan
    from anonymizer.verify import span_windows

    rate = 100
    mono = np.arange(60 * rate, dtype=np.float32)  # 60 s, each sample its own index
    plan = Plan(input_sha256="0" * 64, width=8, height=8, duration_s=60.0, config_sha256="0" * 64, style="fill", boxes=[],
                audio_spans=[AudioSpan(10.0, 11.0, "PHONE_NUMBER"), AudioSpan(12.0, 13.0, "PERSON"), AudioSpan(40.0, 41.0, "PERSON")],
                windows=[], trim=None)
    out = span_windows(mono, rate, plan, 0.0, context_s=2.0)
    kept = set(out[out > 0].astype(int).tolist())
    assert set(range(8 * rate, 15 * rate)) <= kept and set(range(38 * rate, 43 * rate)) <= kept  # spans and context
    assert not kept & set(range(16 * rate, 37 * rate))  # far from any span: already checked by the analysis
    assert out.size < mono.size / 4
    no_spans = dataclasses.replace(plan, audio_spans=[])
    assert span_windows(mono, rate, no_spans, 0.0).size == mono.size
