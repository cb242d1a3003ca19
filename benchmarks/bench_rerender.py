"""``anonymizer render`` against a full ``anonymizer run`` on the demo call, side by side.

    make demo && python -m benchmarks.bench_rerender [--demo out/demo] [--out bench-out/rerender]

Runs the whole pipeline on ``DEMO/call.mp4`` (with a hash key, so its plan can be rendered
again), then renders it again from the plan with a small overrides file (one rectangle,
one bleep), once reusing the run's loaded models and once loading its own; prints each
wall time, the ratio (goal: render <= 1/10 of the run) and where the two outputs' frames
differ: only inside the added rectangle (give or take a macroblock and a frame)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer import pipeline
from anonymizer.config import load_config
from anonymizer.media import iter_frames, read_audio
from anonymizer.rerender import rerender
from anonymizer.runtime import with_runtime

BOX: dict[str, Any] = {"x": 900, "y": 40, "w": 300, "h": 60, "start_s": 4.0, "end_s": 9.0, "reason": "benchmark: a forgotten field"}
BLEEP: dict[str, float | str] = {"start_s": 12.0, "end_s": 13.0, "reason": "benchmark: a name said"}


def _diff_outside(a: Path, b: Path, box: dict[str, Any], frame_s: float) -> tuple[int, int, float]:
    """(frames compared, frames with differences above codec noise outside the box's
    region and time, largest share of a frame's pixels changed by more than 12 there)."""
    x, y, w, h = (int(box[k]) for k in ("x", "y", "w", "h"))
    n = bad = 0
    worst = 0.0
    for fa, fb in zip(iter_frames(a), iter_frames(b), strict=True):
        n += 1
        d = np.abs(fa.luma().astype(np.int16) - fb.luma().astype(np.int16))
        if box["start_s"] - frame_s - 1e-6 <= fa.t <= box["end_s"] + frame_s + 1e-6:
            d[max(0, y - 16) : y + h + 16, max(0, x - 16) : x + w + 16] = 0
        share = float((d > 12).mean())
        worst = max(worst, share)
        bad += share >= 0.002 or int(d.max()) >= 40
    return n, bad, worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_rerender")
    ap.add_argument("--demo", type=Path, default=Path("out/demo"))
    ap.add_argument("--out", type=Path, default=Path("bench-out/rerender"))
    args = ap.parse_args(argv)
    src = args.demo / "call.mp4"
    if not src.exists():
        raise SystemExit(f"{src} not found: run `make demo` first")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    key = out / "hash.key"
    if not key.exists():
        key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    policy = out / "policy.toml"
    policy.write_text(f'[output]\nhash_key_file = "{key.resolve()}"\n')
    cfg = with_runtime(load_config(policy), "auto")
    for p in out.glob("call.*"):
        p.unlink()

    t = time.monotonic()
    job = pipeline.Job(input=src, output=out / "call.anon.mp4", config=cfg, roster=args.demo / "call.roster.csv",
                       sidecar=args.demo / "call.sidecar.json")
    models = pipeline.load_models(cfg)
    run_report = pipeline.run(job, models).report
    run_wall = time.monotonic() - t

    plan = job.plan_path()
    overrides = out / "overrides.json"
    overrides.write_text(json.dumps({"version": 1, "plan_sha256": hashlib.sha256(plan.read_bytes()).hexdigest(),
                                     "reviewer": "bench", "add_boxes": [BOX], "add_bleeps": [BLEEP]}))
    t = time.monotonic()
    warm = rerender(src, plan, overrides, out / "call.rev.mp4", cfg, user="bench", os_user="bench", models=models,
                    roster=args.demo / "call.roster.csv", sidecar=args.demo / "call.sidecar.json").report
    warm_wall = time.monotonic() - t
    t = time.monotonic()
    rerender(src, plan, overrides, out / "call.cold.mp4", cfg, user="bench", os_user="bench",
             roster=args.demo / "call.roster.csv", sidecar=args.demo / "call.sidecar.json")
    cold_wall = time.monotonic() - t

    frame_s = 1 / 10
    n, bad, worst = _diff_outside(job.output, out / "call.rev.mp4", BOX, frame_s)
    a, b = read_audio(job.output), read_audio(out / "call.rev.mp4")
    tt = a.start_s + np.arange(a.samples.shape[1]) / a.sample_rate
    b0, b1 = float(BLEEP["start_s"]), float(BLEEP["end_s"])
    near = (tt > b0 - 0.05) & (tt < b1 + 0.05)
    audio_out = float(np.abs(a.samples - b.samples).max(axis=0)[~near].max()) if a.samples.shape == b.samples.shape else float("nan")

    print(f"run     {run_wall:7.1f} s  (timings: {json.dumps(run_report.timings_s)})")
    print(f"render  {warm_wall:7.1f} s  with the run's models  ({warm_wall / run_wall:.3f} of the run; timings: "
          f"{json.dumps(warm.timings_s)})")
    print(f"render  {cold_wall:7.1f} s  loading its own models ({cold_wall / run_wall:.3f} of the run)")
    print(f"frames  {n} compared, {bad} differ outside the added box (worst share of a frame > 12 levels: {worst:.5f})")
    print(f"audio   largest difference outside the added bleep: {audio_out:.4f}")
    print(f"README: on the 20 s 1280x720 demo call ({os.cpu_count()} CPUs), `anonymizer render` with overrides took "
          f"{cold_wall:.1f} s against {run_wall:.1f} s for `anonymizer run` ({cold_wall / run_wall:.2f} of its wall time; "
          f"{warm_wall:.1f} s with models already loaded)")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
