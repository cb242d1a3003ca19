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
    img = np.zeros((96, 160, 3), np.uint8)
    img[20:40, 20:120] = 255
    src = _encode(tmp_path / "screenshot.mp4", [img] * 30, crf=23, gop=250)
    _run_fails(src, tmp_path, 6, "still_image")


def _screen(text: str = "") -> np.ndarray:
    """A 320x180 CRM-like screenshot: labels, a form field, optionally ``text`` typed in it."""
    from PIL import ImageDraw

    from benchmarks.corpus import _load_font

    img = Image.new("RGB", (320, 180), (236, 239, 244))
    d = ImageDraw.Draw(img)
    font = _load_font("DejaVuSans.ttf", 12)
    d.rectangle((0, 0, 320, 22), fill=(40, 70, 120))
    d.text((6, 4), "Customer record  |  Tickets  |  History", fill="white", font=font)
    for i, label in enumerate(("Name", "Phone", "Email", "Contract")):
        d.text((10, 34 + 28 * i), label, fill=(30, 30, 30), font=font)
        d.rectangle((90, 30 + 28 * i, 300, 50 + 28 * i), outline=(150, 150, 150), fill="white")
    d.text((94, 34), text, fill="black", font=font)
    return np.asarray(img).copy()


def _encode(path: Path, frames: list[np.ndarray], *, crf: int = 32, gop: int = 10) -> Path:
    """Lossy H.264 at 10 fps with silent audio; a short GOP so every second keyframe
    re-encodes the picture and adds its own codec noise."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=10, options={"crf": str(crf), "g": str(gop)})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = out.add_stream("aac", rate=16000, layout="mono")
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for pk in vs.encode(f):
                out.mux(pk)
        for pk in vs.encode(None):
            out.mux(pk)
        for i in range(0, 16000 * len(frames) // 10, 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, i
            for pk in aus.encode(af):
                out.mux(pk)
        for pk in aus.encode(None):
            out.mux(pk)
    return path


def _sprinkled(img: np.ndarray, rng: np.random.Generator, n: int = 40) -> np.ndarray:
    """``img`` with ``n`` scattered pixels set to random extremes: sparse noise."""
    out = img.copy()
    ys, xs = rng.integers(0, img.shape[0], n), rng.integers(0, img.shape[1], n)
    out[ys, xs] = rng.choice([0, 255], size=(n, 1))
    return out


def test_looped_screenshot_with_sparse_noise_is_refused(tmp_path: Path) -> None:
    """Issue 15: a real screenshot looped into a 4 s lossy H.264, with noise sprinkled on
    every frame. The largest pixel difference is large, the area that changed is not."""
    from anonymizer.errors import PolicyRefusal
    from anonymizer.screen.analyse import refuse_still_video

    rng = np.random.default_rng(7)
    shot = _screen("Jean Dupont")
    src = _encode(tmp_path / "looped.mp4", [_sprinkled(shot, rng) for _ in range(40)])
    with pytest.raises(PolicyRefusal, match="still_image"):
        refuse_still_video(src, 24)
    _run_fails(src, tmp_path, 6, "still_image")


def test_typing_and_moving_region_are_recordings(tmp_path: Path) -> None:
    """Real screen activity passes the still-image gate: a short name typed into a field
    (once a character is there), or a small window moving across the screen."""
    from anonymizer.screen.analyse import refuse_still_video

    rng = np.random.default_rng(8)
    name = "Jean Dupont"
    typed = [_sprinkled(_screen(name[: max(0, i - 20)]), rng) for i in range(40)]  # still for 2 s, then typing
    refuse_still_video(_encode(tmp_path / "typed.mp4", typed), 24)
    only_two = [_screen(name[: 1 if i >= 30 else 0]) for i in range(40)]  # one letter, late
    refuse_still_video(_encode(tmp_path / "one_letter.mp4", only_two), 24)
    moving = []
    for i in range(40):
        img = _screen()
        img[100:130, 8 * i : 8 * i + 40] = (250, 200, 40)
        moving.append(img)
    refuse_still_video(_encode(tmp_path / "moving.mp4", moving), 24)


@pytest.mark.parametrize(
    ("sidecar", "needle"),
    [
        ('{"purpose": "training", "off_hook_s": 0, "on_hook_s": NaN}', "on_hook_s must be a finite"),
        ('{"purpose": "training", "off_hook_s": -Infinity}', "off_hook_s must be a finite"),
        ('{"purpose": "training", "windows": 0}', "windows must be a list"),
        ('{"purpose": "training", "windows": [{"x": "10", "y": 0, "w": 100, "h": 100}]}', "windows[0].x must be an integer"),
        ('{"purpose": "training", "windows": [{"x": 0, "y": 0, "w": 0.7, "h": 100}]}', "windows[0].w must be an integer"),
        ('{"purpose": "training", "windows": [{"x": 0, "y": 0, "w": 10, "h": 10, "end_s": Infinity}]}', "windows[0].end_s must be a finite"),
    ],
    ids=["on_hook_nan", "off_hook_inf", "windows_0", "x_string", "w_float", "end_inf"],
)
def test_bad_sidecar_values_exit_2_at_start(tiny: RecordingPaths, tmp_path: Path, sidecar: str, needle: str) -> None:
    """Issue 15: ``on_hook_s: NaN`` failed with exit 1 after a full run; ``"windows": 0``
    meant no windows; ``"10"`` and ``0.7`` were converted. All exit 2 at start, naming the
    sidecar and the key."""
    path = tmp_path / "call.json"
    path.write_text(sidecar)
    out = tmp_path / "out.mp4"
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(out), "--sidecar", str(path), timeout=120)
    assert proc.returncode == CONFIG_ERROR, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("anonymizer:")]
    assert str(path) in line and needle in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    ("sidecar", "needle"),
    [
        ({"windows": [{"x": 0, "y": 0, "w": 10, "h": 10, "shape": "round"}]}, "windows[0] has unknown key(s) shape"),
        ({"windows": [{"x": True, "y": 0, "w": 10, "h": 10}]}, "windows[0].x must be an integer"),
        ({"windows": [[0, 0, 10, 10]]}, "windows[0] must be an object"),
        ({"windows": [{"x": 0, "y": 0, "w": 10, "h": 10, "start_s": 2, "end_s": 1}]}, "windows[0].end_s must be after"),
        ({"windows": {"x": 0}}, "windows must be a list"),
        ({"agent_employee_id": 10234.5}, "agent_employee_id must be a string"),
        ({"agent_employee_id": True}, "agent_employee_id must be a string"),
        ({"purpose": 1}, "purpose must be a string"),
        ({"on_hook_s": "12"}, "on_hook_s must be a finite"),
    ],
)
def test_sidecar_values_are_checked_not_converted(tmp_path: Path, sidecar: dict[str, object], needle: str) -> None:
    import json

    from anonymizer.errors import ConfigError
    from anonymizer.sidecar import load_sidecar

    path = tmp_path / "call.json"
    path.write_text(json.dumps(sidecar))
    with pytest.raises(ConfigError) as info:
        load_sidecar(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_numeric_ids_are_taken_as_their_digits(tmp_path: Path) -> None:
    """CTI exports write employee ids, call ids and lines as JSON numbers."""
    from anonymizer.sidecar import load_sidecar

    path = tmp_path / "call.json"
    path.write_text('{"call_id": 77, "agent_employee_id": 10234, "line": 33123456789}')
    side = load_sidecar(path)
    assert (side.call_id, side.agent_employee_id, side.line) == ("77", "10234", "33123456789")


def test_valid_sidecar_windows_load_exactly(tmp_path: Path) -> None:
    from anonymizer.plan import Window
    from anonymizer.sidecar import load_sidecar

    path = tmp_path / "call.json"
    path.write_text('{"windows": [{"x": 0, "y": 0, "w": 320, "h": 180, "start_s": 0, "end_s": 0.9},'
                    ' {"x": 10, "y": 20, "w": 160, "h": 90, "start_s": 1.0, "end_s": null}]}')
    assert load_sidecar(path).windows == (Window(0, 0, 320, 180, 0.0, 0.9), Window(10, 20, 160, 90, 1.0, None))


def test_report_on_the_roster_is_refused(tiny: RecordingPaths, tmp_path: Path) -> None:
    """Issue 15's run: ``--report`` pointed at the roster overwrote it, exit 0."""
    roster = tmp_path / "roster.csv"
    shutil.copy(tiny.roster, roster)
    before = roster.read_bytes()
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(tmp_path / "out.mp4"), "--roster", str(roster), "--report", str(roster),
                          timeout=120)
    assert proc.returncode == CONFIG_ERROR, proc.stderr
    assert "is the roster" in proc.stderr and str(roster) in proc.stderr
    assert roster.read_bytes() == before


def test_unwritable_output_folder_exits_2_at_start(tiny: RecordingPaths, tmp_path: Path) -> None:
    """Issue 15: a read-only output folder gave exit 1 ("internal error") after a full run."""
    from tests.pipeline.test_fail_closed import unwritable_dir

    folder = unwritable_dir(tmp_path)
    proc = anonymizer_cmd("run", str(tiny.video), "-o", str(folder / "out.mp4"), timeout=120)
    assert proc.returncode == CONFIG_ERROR, proc.stderr
    assert f"{folder}: output folder is not writable" in proc.stderr
