"""Batch fixtures: tiny generated recordings (320x180, 1 s, 5 fps, no audio), inboxes made
of them, and a helper that runs ``anonymizer batch`` as cron would, with the fast OCR of
``tests.batch.fakes`` (the batch machinery is under test; the models are tested elsewhere)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.corpus import RecordingPaths, generate
from tests.conftest import ROOT

FAST = "tests.batch.fakes:load_models"
POLICY = '[audio]\nrequired = false\n[detect]\nlanguages = ["en"]\n'


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[RecordingPaths]:
    """20 distinct tiny recordings (each a different screen and agent)."""
    d = tmp_path_factory.mktemp("seeds")
    return [generate(d, name=f"seed{i:02d}", width=320, height=180, duration_s=1.0, fps=5.0, seed=100 + i, audio=False)
            for i in range(20)]


def make_inbox(inbox: Path, recordings: list[RecordingPaths], *, copies: int = 1, agent: str | None = None,
               folders: bool = True) -> list[Path]:
    """Copy recordings (and their sidecars, one call id per copy) into ``inbox``. Copies of
    one video differ by their sidecar, so each is its own piece of work."""
    out = []
    for i, rec in enumerate(recordings):
        for c in range(copies):
            sub = inbox / (f"team{i % 2}" if folders else "")
            sub.mkdir(parents=True, exist_ok=True)
            video = sub / f"call{i:02d}_{c:02d}.mp4"
            shutil.copyfile(rec.video, video)
            side = json.loads(rec.sidecar.read_text())
            side["call_id"] = f"{rec.video.stem}-{c}"
            if agent is not None:
                side["agent_employee_id"] = agent
            (sub / f"{video.stem}.sidecar.json").write_text(json.dumps(side))
            out.append(video)
    return out


def write_policy(path: Path, extra: str = "") -> Path:
    path.write_text(POLICY + extra)
    return path


def batch_args(inbox: Path, outbox: Path, policy: Path, *extra: str, factory: str = FAST, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "anonymizer", "batch", str(inbox), "--out", str(outbox), "--policy", str(policy),
            "--workers", str(workers), "--models-factory", factory, "--json", *extra]


def run_batch_cli(inbox: Path, outbox: Path, policy: Path, *extra: str, factory: str = FAST, workers: int = 1,
                  timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(batch_args(inbox, outbox, policy, *extra, factory=factory, workers=workers),
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=dict(os.environ))
    assert proc.returncode in (0, 7), proc.stderr[-3000:]
    return proc, json.loads(proc.stdout)


def output_hashes(outbox: Path) -> dict[str, str]:
    """sha256 of every published MP4, by path relative to the outbox."""
    from anonymizer.fsutil import sha256_file

    return {p.relative_to(outbox).as_posix(): sha256_file(p) for p in sorted(outbox.rglob("*.anon.mp4"))
            if "quarantine" not in p.parts}


def leftovers(outbox: Path) -> list[Path]:
    return [p for p in outbox.rglob(".*.part-*")]
