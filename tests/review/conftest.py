"""Review fixtures: one tiny published run (320x180, 3 s, with speech), signed, inside a
deployment (policy, access file, report key, audit log), made once per session.

The models are the fast fakes of ``tests.batch.fakes`` (the page is under test, not
OCR): ``FastOcr`` reads a phone number over every region of ink, and ``HearingOnce``
hears one spoken number on the first pass only (verification then hears the bleep), so
the plan has boxes, value hashes and an audio span. ``values`` is every personal value
the fixture drew or read: none of them may appear on a default review page."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from anonymizer import pipeline
from anonymizer.config import load_config
from anonymizer.types import Word
from benchmarks.corpus import RecordingPaths, generate
from tests.batch.fakes import PHONE_TEXT, DeafTranscriber, FastOcr

SPOKEN = "0698765432"
KEY = bytes(range(32))


class HearingOnce(DeafTranscriber):
    """Hears ``SPOKEN`` at 0.8-1.6 s the first time it listens, nothing after."""

    def __init__(self) -> None:
        self.calls = 0

    def words(self, audio: np.ndarray) -> list[Word]:
        self.calls += 1
        if self.calls > 1:
            return []
        return [Word("my", 0.5, 0.65), Word("number", 0.65, 0.8), Word("is", 0.8, 0.9), Word(SPOKEN, 0.9, 1.6)]


@dataclass
class Deployment:
    etc: Path
    policy: Path
    access: Path
    key: Path
    log: Path


@dataclass
class Run:
    recording: RecordingPaths
    output: Path
    plan: Path
    report: Path
    agent: str
    deployment: Deployment
    values: list[str]  # every personal value drawn, spoken or read (length >= 4)


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def _values(rec: RecordingPaths) -> list[str]:
    truth = json.loads(rec.truth.read_text())
    vals = {p["value"] for f in truth["frames"] for p in f["pii"]}
    vals |= {s.get("value", "") for s in truth.get("audio_spans", [])}
    with open(rec.roster, newline="") as f:
        for row in csv.DictReader(f):
            vals |= {row["employee_id"], row["login"], row["email"], row["extension"], row["first_name"] + " " + row["last_name"]}
    vals |= {PHONE_TEXT, PHONE_TEXT.split()[-1], SPOKEN}
    return sorted(v for v in vals if isinstance(v, str) and len(v) >= 4)


@pytest.fixture(scope="session")
def review_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("review")
    rec = generate(root / "store", width=320, height=180, duration_s=3.0, seed=5, audio=True)
    agent = json.loads(rec.sidecar.read_text())["agent_employee_id"]
    etc = root / "etc"
    etc.mkdir(mode=0o755)
    etc.chmod(0o755)
    access = _write(etc / "access.toml", f"""
[users.alice]
role = "trainee"
team = "A"

[users.bob]
role = "trainer"
teams = ["A"]

[users.dave]
role = "trainer"
teams = ["B"]

[users.carol]
role = "admin"

[agents.{agent}]
team = "A"
""")
    key = _write(etc / "report.key", KEY, 0o600)
    (root / "var").mkdir()
    log = root / "var" / "audit.jsonl"
    policy = _write(etc / "policy.toml", f'[policy]\naudit_log = "{log}"\naccess_file = "{access}"\nreport_key_file = "{key}"\n')
    out = root / "published"
    out.mkdir()
    job = pipeline.Job(input=rec.video, output=out / "call.anon.mp4", config=load_config(policy), roster=rec.roster,
                       sidecar=rec.sidecar)
    pipeline.run(job, pipeline.Models(ocr=FastOcr(), transcriber=HearingOnce()))
    return Run(rec, job.output, job.plan_path(), job.report_path(), agent, Deployment(etc, policy, access, key, log), _values(rec))
