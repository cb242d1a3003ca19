"""`anonymizer run`'s progress on a terminal, and which channels a disguise transforms."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from anonymizer.batch.progress import StageProgress
from anonymizer.config import load_config
from anonymizer.media import AudioTrack
from anonymizer.render import voice_channels, voice_plan


def test_progress_draws_stage_frames_and_eta_on_a_terminal() -> None:
    out = io.StringIO()
    p = StageProgress(stream=out, tty=True)
    p("screen", 0, 100)
    p("screen", 100, 100)  # the last frame is always drawn
    p("render", 50, 100)
    p.close()
    text = out.getvalue()
    assert "screen" in text and "100/100 frames" in text and "render" in text and "50/100 frames" in text
    assert "ETA" in text and text.endswith("\n")


def test_progress_is_silent_off_a_terminal_or_quiet() -> None:
    for kwargs in ({"tty": False}, {"tty": True, "enabled": False}):
        out = io.StringIO()
        p = StageProgress(stream=out, **kwargs)  # type: ignore[arg-type]
        p("screen", 10, 100)
        p.close()
        assert out.getvalue() == ""


def _track(channels: int) -> AudioTrack:
    return AudioTrack(samples=np.zeros((channels, 800), np.float32), sample_rate=8000,
                      layout="stereo" if channels == 2 else "mono", start_s=0.0)


@pytest.mark.parametrize(
    ("audio", "channels", "expected"),
    [
        ({}, 2, []),
        ({"voice": "disguise"}, 2, [0]),
        ({"voice": "disguise", "agent_channel": "right"}, 2, [1]),
        ({"voice": "disguise", "customer_voice": "disguise"}, 2, [0, 1]),
        ({"customer_voice": "disguise", "agent_channel": "right"}, 2, [0]),
        ({"voice": "disguise"}, 1, [0]),  # a mono mix holds the agent's voice: all of it
        ({"customer_voice": "disguise"}, 1, [0]),
        ({}, 1, []),
    ],
)
def test_voice_channels(audio: dict[str, str], channels: int, expected: list[int]) -> None:
    cfg = load_config(None, {"audio": audio})
    assert voice_channels(_track(channels), cfg) == expected
    plan = voice_plan(_track(channels), cfg)
    assert (plan == {}) == (expected == []) and plan.get("channels", []) == expected


def test_run_disguises_the_voice_records_how_but_never_the_key(tmp_path: Path) -> None:
    """The same tiny call anonymized with the voice kept and disguised (fast fake models:
    analysis, kernels, encoding and verification run for real): the disguise changes the
    sound, keeps its length, and plan and report say how, with no key-derived number."""
    from anonymizer import pipeline
    from anonymizer.media import read_audio
    from anonymizer.plan import Plan
    from anonymizer.speech.disguise import METHOD
    from benchmarks.corpus import generate
    from tests.batch.fakes import FastOcr, HearAll

    rec = generate(tmp_path / "in", width=320, height=180, duration_s=2.0, seed=5)
    key = tmp_path / "hash.key"
    key.write_bytes(b"k" * 32)
    outs = {}
    for voice in ("keep", "disguise"):
        policy = tmp_path / f"{voice}.toml"
        policy.write_text(f'[output]\nhash_key_file = "{key}"\n[audio]\nvoice = "{voice}"\n')
        job = pipeline.Job(input=rec.video, output=tmp_path / voice / "call.anon.mp4", config=load_config(policy),
                           roster=rec.roster, sidecar=rec.sidecar)
        (tmp_path / voice).mkdir()
        report = pipeline.run(job, pipeline.Models(ocr=FastOcr(), transcriber=HearAll())).report
        outs[voice] = (job, report)
    kept, disguised = (read_audio(outs[v][0].output) for v in ("keep", "disguise"))
    assert kept.samples.shape == disguised.samples.shape
    assert float(np.abs(kept.samples - disguised.samples).max()) > 0.05
    plan = Plan.from_json(outs["disguise"][0].plan_path().read_text())
    assert plan.voice == {**METHOD, "channels": list(range(kept.samples.shape[0]))}
    assert outs["disguise"][1].speech.voice == plan.voice and outs["keep"][1].speech.voice == {"method": "keep"}
    assert Plan.from_json(outs["keep"][0].plan_path().read_text()).voice == {}
