"""Shared fixtures. Media is generated on the fly by ``benchmarks.corpus`` (CRM-like screens
drawn with DejaVu fonts, espeak-ng speech, exact ground truth), small enough for 2 cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.corpus import RecordingPaths, generate  # noqa: E402


def anonymizer_cmd(*args: str, netguard_log: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, optionally with the network disabled."""
    env = dict(os.environ)
    if netguard_log is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "netguard"), env.get("PYTHONPATH", "")])
        env["NETGUARD_LOG"] = str(netguard_log)
    return subprocess.run(
        [sys.executable, "-m", "anonymizer", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="session", autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default quarantine is ``$XDG_STATE_HOME/anonymizer/quarantine``: point it at a
    temporary folder for every test and every CLI they start, never the real home."""
    state = tmp_path_factory.mktemp("xdg_state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(state))
        yield state


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> RecordingPaths:
    """An 8 s 640x360 English call: typing, record, scrolling history, chat pop-up, speech."""
    return generate(tmp_path_factory.mktemp("sample"), width=640, height=360, duration_s=8.0, lang="en", seed=3)


@dataclass
class Anonymized:
    sample: RecordingPaths
    output: Path
    plan: Path
    report: Path
    proc: subprocess.CompletedProcess[str]
    netlog: Path

    def report_json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.report.read_text())


@pytest.fixture(scope="session")
def anonymized(sample: RecordingPaths, tmp_path_factory: pytest.TempPathFactory) -> Anonymized:
    """The README's command on the sample, with real models and the network disabled."""
    out_dir = tmp_path_factory.mktemp("anon")
    output = out_dir / "call.anon.mp4"
    netlog = out_dir / "netguard.log"
    proc = anonymizer_cmd(
        "run", str(sample.video), "-o", str(output), "--roster", str(sample.roster), "--sidecar", str(sample.sidecar),
        netguard_log=netlog,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Anonymized(sample, output, out_dir / "call.anon.plan.json", out_dir / "call.anon.report.json", proc, netlog)
