"""Bad input never yields a traceback or an output: one line naming the file and the
problem, a documented non-zero exit code, nothing left at the output path."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.corpus import RecordingPaths, generate
from tests.conftest import anonymizer_cmd

INPUT_ERROR, CONFIG_ERROR = 3, 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> RecordingPaths:
    return generate(tmp_path_factory.mktemp("tiny"), width=320, height=180, duration_s=2.0, seed=1)


def _run_fails(src: Path, out_dir: Path, code: int, needle: str, *extra: str) -> None:
    out = out_dir / "out.mp4"
    proc = anonymizer_cmd("run", str(src), "-o", str(out), *extra)
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("anonymizer:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0], lines[0]
    assert str(src) in lines[0] or needle in ("output path",)
    assert list(out_dir.glob("out*")) == [] and list(out_dir.glob(".out*")) == []


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path: Path) -> None:
    _run_fails(tmp_path / "nope.mp4", tmp_path, INPUT_ERROR, "file not found")


def test_empty_file(tmp_path: Path) -> None:
    _run_fails(_bytes(tmp_path / "empty.mp4", b""), tmp_path, INPUT_ERROR, "empty")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    _run_fails(_bytes(tmp_path / "notes.mp4", b"hello, this is not a video\n" * 100), tmp_path, INPUT_ERROR, "not a readable media file")


def test_random_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _run_fails(_bytes(tmp_path / "noise.mkv", rng.bytes(50_000)), tmp_path, INPUT_ERROR, "not a readable media file")


def test_truncated_mp4(tiny: RecordingPaths, tmp_path: Path) -> None:
    data = tiny.video.read_bytes()
    _run_fails(_bytes(tmp_path / "cut.mp4", data[: len(data) // 2]), tmp_path, INPUT_ERROR, "not a readable media file")


def test_audio_only_file(tmp_path: Path) -> None:
    wav = tmp_path / "call.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    _run_fails(wav, tmp_path, INPUT_ERROR, "no video stream")


def test_still_image_refused(tmp_path: Path) -> None:
    png = tmp_path / "screenshot.png"
    Image.new("RGB", (64, 48), "white").save(png)
    _run_fails(png, tmp_path, INPUT_ERROR, "still images are not accepted")


def test_video_without_audio(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    silent = generate(tmp_path_factory.mktemp("silent"), width=320, height=180, duration_s=1.0, audio=False, seed=2)
    _run_fails(silent.video, tmp_path, INPUT_ERROR, "no audio stream")


def test_output_never_overwrites_input(tiny: RecordingPaths, tmp_path: Path) -> None:
    src = tmp_path / "call.mp4"
    shutil.copy(tiny.video, src)
    before = src.read_bytes()
    proc = anonymizer_cmd("run", str(src), "-o", str(src))
    assert proc.returncode == CONFIG_ERROR, proc.stderr
    assert "originals are never overwritten" in proc.stderr
    assert src.read_bytes() == before


def test_bad_policy_key(tiny: RecordingPaths, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[video]\nstyle = 'fill'\nblurr = 3\n")
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(tmp_path / "out.mp4"), "--policy", str(policy))
    assert proc.returncode == CONFIG_ERROR
    assert "unknown key [video].blurr" in proc.stderr and str(policy) in proc.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_bad_roster(tiny: RecordingPaths, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Bob\n")
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(tmp_path / "out.mp4"), "--roster", str(roster))
    assert proc.returncode == CONFIG_ERROR
    assert "missing column" in proc.stderr and str(roster) in proc.stderr


def test_bad_sidecar(tiny: RecordingPaths, tmp_path: Path) -> None:
    sidecar = tmp_path / "call.json"
    sidecar.write_text('{"call_id": "x", "windows": [{"x": 0}]}')
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(tmp_path / "out.mp4"), "--sidecar", str(sidecar))
    assert proc.returncode == CONFIG_ERROR
    assert "windows[0]" in proc.stderr


def test_truncated_mkv_is_not_published(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """A cut Matroska file decodes without error up to the cut: the announced duration
    gives it away, after analysis but before anything is published."""
    mkv = generate(tmp_path_factory.mktemp("mkv"), width=320, height=180, duration_s=6.0, container="mkv", seed=4)
    data = mkv.video.read_bytes()
    cut = _bytes(tmp_path / "cut.mkv", data[: int(len(data) * 0.4)])
    _run_fails(cut, tmp_path, INPUT_ERROR, "truncated")


def test_policy_refusal_is_audited_and_publishes_nothing(tiny: RecordingPaths, tmp_path: Path) -> None:
    sidecar = tmp_path / "call.json"
    sidecar.write_text('{"call_id": "c1", "agent_employee_id": "E1", "purpose": "evaluation"}')
    log = tmp_path / "audit.jsonl"
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\naudit_log = "{log}"\n')
    out = tmp_path / "out.mp4"
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(out), "--sidecar", str(sidecar), "--policy", str(policy))
    assert proc.returncode == 6, proc.stderr
    assert "refused by policy rule 'purpose'" in proc.stderr
    assert not out.exists()
    import json

    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["event"] == "run" and record["result"] == "refused" and record["rule"] == "purpose"
    verify = anonymizer_cmd("audit", "verify", str(log))
    assert verify.returncode == 0 and "ok: 1 records" in verify.stdout


def test_excluded_line_is_never_processed(tiny: RecordingPaths, tmp_path: Path) -> None:
    sidecar = tmp_path / "call.json"
    sidecar.write_text('{"call_id": "c1", "purpose": "training", "line": "+33 1 23 45 67 89"}')
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nexcluded_lines = ["01 23 45 67 89"]\n')
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(tmp_path / "out.mp4"), "--sidecar", str(sidecar), "--policy", str(policy))
    assert proc.returncode == 6 and "excluded_line" in proc.stderr
    assert "45 67" not in proc.stderr  # the line itself is never printed


def test_video_of_one_repeated_frame_is_refused(tmp_path: Path) -> None:
    """A screenshot encoded as a 3 s video, with silent audio."""
    import av

    src = tmp_path / "screenshot.mp4"

    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 160, 96, "yuv420p"
        aus = out.add_stream("aac", rate=16000, layout="mono")
        img = np.zeros((96, 160, 3), np.uint8)
        img[20:40, 20:120] = 255
        for i in range(30):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for pk in vs.encode(f):
                out.mux(pk)
        for pk in vs.encode(None):
            out.mux(pk)
        for i in range(0, 48000, 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, i
            for pk in aus.encode(af):
                out.mux(pk)
        for pk in aus.encode(None):
            out.mux(pk)
    _run_fails(src, tmp_path, 6, "still_image")
