"""A failure at any stage publishes nothing: no MP4, no plan, no report, no temp file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from anonymizer import pipeline
from anonymizer.config import load_config
from anonymizer.errors import ProcessingError
from benchmarks.corpus import generate


@pytest.fixture(scope="module")
def models() -> pipeline.Models:
    return pipeline.load_models(load_config(None))


def test_render_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: pipeline.Models) -> None:
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=5)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def broken_render(src: Path, dst: Path, *args: Any, **kwargs: Any) -> int:
        Path(dst).write_bytes(b"half an mp4")  # the encoder got part way...
        raise ProcessingError("encoder died", path=dst)  # ...and failed

    monkeypatch.setattr(pipeline, "render_video", broken_render)
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster, sidecar=rec.sidecar)
    with pytest.raises(ProcessingError, match="encoder died"):
        pipeline.run(job, models)
    assert list(out_dir.iterdir()) == []


def test_wrong_frame_count_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: pipeline.Models) -> None:
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=6)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real_render = pipeline.render_video

    def short_render(*args: Any, **kwargs: Any) -> int:
        return real_render(*args, **kwargs) - 1  # pretend a frame went missing

    monkeypatch.setattr(pipeline, "render_video", short_render)
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster)
    with pytest.raises(ProcessingError, match="frames"):
        pipeline.run(job, models)
    assert list(out_dir.iterdir()) == []


def test_speech_failure_in_its_thread_leaves_nothing(tmp_path: Path, models: pipeline.Models) -> None:
    """The speech is transcribed in a thread while the screen's text is registered: its
    failure still stops the recording, and nothing is rendered."""
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=7)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    class DeafTranscriber:
        def words(self, audio: Any) -> list[Any]:
            raise ProcessingError("speech model crashed")

    rendered: list[Path] = []

    def render(src: Path, dst: Path, *args: Any, **kwargs: Any) -> int:
        rendered.append(dst)
        return 0

    deaf = pipeline.Models(ocr=models.ocr, transcriber=DeafTranscriber())  # type: ignore[arg-type]
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster, sidecar=rec.sidecar)
    with pytest.raises(ProcessingError, match="speech model crashed"):
        pipeline.run(job, deaf, renderer=render)
    assert rendered == [] and list(out_dir.iterdir()) == []
