"""The render stage alone, on a synthetic plan (no models): boxes only while active,
everything outside the business windows blacked out, pick-up..hang-up trim, bleeps."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from anonymizer.config import load_config
from anonymizer.media import iter_frames, probe, read_audio, write_recording
from anonymizer.plan import AudioSpan, Plan, PlanBox, Window
from anonymizer.render import apply_audio, render_video, trim_audio
from anonymizer.timings import Timings
from tests.media.test_media import make_clip


def _clip(tmp_path: Path) -> Path:
    src = tmp_path / "in.mp4"
    make_clip(src, w=160, h=96, pts=[i * 1024 for i in range(20)], time_base=Fraction(1, 10240))  # 2 s at 10 fps
    return src


def _plan(**kw: object) -> Plan:
    base: dict[str, object] = dict(input_sha256="0" * 64, width=160, height=96, duration_s=1.9, config_sha256="x", style="fill")
    base.update(kw)
    return Plan(**base)  # type: ignore[arg-type]


def test_windows_mask_and_trim(tmp_path: Path) -> None:
    src = _clip(tmp_path)
    info = probe(src)
    plan = _plan(windows=[Window(0, 0, 80, 96)], trim=(0.5, 1.5))
    out = tmp_path / "out.mp4"
    track = trim_audio(read_audio(src), plan.trim)
    n = render_video(src, out, info, plan, track, load_config(None), Timings())
    frames = list(iter_frames(out))
    assert n == len(frames) == 11  # 0.5, 0.6, ..., 1.5
    assert abs(frames[0].t - 0.5) < 1e-6 and abs(frames[-1].t - 1.5) < 1e-6
    for f in frames:
        rgb = f.rgb()
        assert rgb[:, 90:].max() < 20  # outside the window: black
    assert abs(read_audio(out).duration_s - 1.0) < 0.1


def _noisy_clip(tmp_path: Path) -> Path:
    """Frames of coarse random blocks: a redacted box can only look different."""
    rng = np.random.default_rng(0)
    src = tmp_path / "noisy.mp4"
    frames = [(i * 1024, np.ascontiguousarray(np.kron(rng.integers(0, 255, (12, 20, 3)), np.ones((8, 8, 1))).astype(np.uint8)))
              for i in range(20)]
    write_recording(src, width=160, height=96, time_base=Fraction(1, 10240), rate=Fraction(10), frames=frames, audio=None)
    return src


def test_boxes_only_while_active(tmp_path: Path) -> None:
    src = _noisy_clip(tmp_path)
    info = probe(src)
    box = PlanBox(40, 30, 60, 30, start_s=0.5, end_s=0.9, type="PHONE_NUMBER")
    out = tmp_path / "out.mp4"
    render_video(src, out, info, _plan(boxes=[box]), None, load_config(None), Timings())
    orig = {round(f.t, 3): f.rgb() for f in iter_frames(src)}
    for f in iter_frames(out):
        diff = np.abs(f.rgb()[35:55, 45:95].astype(int) - orig[round(f.t, 3)][35:55, 45:95].astype(int)).mean()
        if box.active(f.t):
            assert diff > 20, f.t
        else:
            assert diff < 12, f.t  # re-encoding noise only


def test_audio_spans_are_replaced(tmp_path: Path) -> None:
    src = _clip(tmp_path)
    track = read_audio(src)
    plan = _plan(audio_spans=[AudioSpan(0.5, 1.0, "PHONE_NUMBER")])
    cfg = load_config(None, {"audio": {"mode": "silence"}})
    out = apply_audio(track, plan, cfg)
    r = track.sample_rate
    assert np.abs(out.samples[:, int(0.5 * r) : int(1.0 * r)]).max() == 0.0
    assert np.array_equal(out.samples[:, : int(0.5 * r) - 1], track.samples[:, : int(0.5 * r) - 1])
    toned = apply_audio(track, plan, load_config(None))
    seg = toned.samples[0, int(0.5 * r) : int(1.0 * r)]
    assert 0.1 < np.abs(seg).max() <= 0.2001  # a tone, not the original 0.3 sine


def _bright_clip(tmp_path: Path) -> Path:
    """2 s at 10 fps of a uniformly bright 320x180 screen (luma ~200): anything left
    unmasked is plain to see."""
    src = tmp_path / "bright.mp4"
    frame = np.full((180, 320, 3), 200, np.uint8)
    write_recording(src, width=320, height=180, time_base=Fraction(1, 10240), rate=Fraction(10),
                    frames=[(i * 1024, frame.copy()) for i in range(20)], audio=None)
    return src


def _render_with_sidecar(tmp_path: Path, windows: list[dict[str, object]]) -> list[tuple[float, np.ndarray]]:
    import json

    from anonymizer.policy import check_gates
    from anonymizer.sidecar import load_sidecar

    src = _bright_clip(tmp_path)
    info = probe(src)
    sidecar = tmp_path / "call.json"
    sidecar.write_text(json.dumps({"purpose": "training", "windows": windows}))
    cfg = load_config(None)
    gate = check_gates(cfg, load_sidecar(sidecar), input_path=src, duration_s=info.duration_s, width=info.width, height=info.height)
    plan = _plan(width=320, height=180, windows=list(gate.windows))
    out = tmp_path / "out.mp4"
    render_video(src, out, info, plan, None, cfg, Timings())
    return [(f.t, f.luma().astype(int)) for f in iter_frames(out)]


def test_window_mask_is_decided_per_frame(tmp_path: Path) -> None:
    """Issue 15: a full-frame window from 0 to 0.9 s, then a 160x90 one from 1 s. Before,
    "some window covers the whole frame" was decided over all windows ignoring time, and
    nothing was masked after 1 s."""
    frames = _render_with_sidecar(tmp_path, [{"x": 0, "y": 0, "w": 320, "h": 180, "start_s": 0.0, "end_s": 0.9},
                                             {"x": 0, "y": 0, "w": 160, "h": 90, "start_s": 1.0, "end_s": None}])
    assert len(frames) == 20
    for t, luma in frames:
        if t <= 0.9 + 1e-6:
            assert luma.mean() > 180, t  # the full-frame window: nothing hidden
        else:
            assert luma[:86, :156].mean() > 180, t  # inside the small window: shown
            assert luma[:, 164:].max() < 30 and luma[94:, :].max() < 30, t  # outside it: black


def test_frame_without_active_window_is_black(tmp_path: Path) -> None:
    """Windows are known but none is active between 0.5 s and 1 s: those frames show
    nothing (fail closed), the others what their window allows."""
    frames = _render_with_sidecar(tmp_path, [{"x": 0, "y": 0, "w": 320, "h": 180, "start_s": 0.0, "end_s": 0.5},
                                             {"x": 0, "y": 0, "w": 320, "h": 180, "start_s": 1.0}])
    gap = [(t, luma) for t, luma in frames if 0.55 < t < 0.95]
    assert len(gap) == 4
    for t, luma in gap:
        assert luma.max() < 30, t
    assert all(luma.mean() > 180 for t, luma in frames if t <= 0.5 + 1e-6 or t >= 1.0 - 1e-6)
