"""``make bench-speed``: how fast the whole pipeline runs against media time.

    python -m benchmarks.bench_speed [--out bench-out/speed] [--busy-s 60] [--calm-s 600]
                                     [--sample-frames 2] [--gpu] [--no-score] [--json]
                                     [--generator corpus|browser] [--seed N] [--contended]

Two generated 1280x720 10 fps recordings: a *busy* one (60 s: typing, a record opening,
a scrolled list, a chat pop-up, a ticking clock) and a *calm* one (10 min: the same events
early on, then mostly the clock). Each is anonymized in its own child process (models
loaded there, everything included) so its peak RSS is its own. Per recording the table
shows media duration, wall time, real-time factor (wall / duration), the per-stage split
(decode, change map, OCR detector, recogniser, detection, audio, render, encode, verify),
the fraction of frame pixels sent to the OCR detector, the peak RSS, and leaked PII
box-frames (``benchmarks.score``: independent OCR of every PII box in the output).

"per-frame OCR" is what reading every frame whole would cost: EasyOCR ``readtext`` timed
on ``--sample-frames`` frames of the busy recording in the same run, times the number of
frames; the ratio divides it by the pipeline's own OCR time. ``--gpu`` runs EasyOCR and
faster-whisper on CUDA and encodes with NVENC.

``--generator browser`` times a web CRM drawn by chromium (``benchmarks.browser_corpus``,
seed ``--seed``, ``--busy-s`` long) instead of this project's own generator.

``--contended`` runs each recording three times side by side: alone, beside one other
CPU-bound process (a busy loop, as a second ``anonymizer run`` would be), and beside it with
the thread governor off (``ANONYMIZER_GOVERNOR=off``: torch keeps every core's thread, the
behaviour before issue 16). It prints each wall time and its ratio to the idle one (goal:
<= 2.5 with one other process on 2 cores)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.corpus import generate

# report stage -> the pipeline's Timings keys it adds up
STAGES = {
    "decode": ("screen_decode", "screen_other"),
    "change map": ("screen_change",),
    "OCR detector": ("ocr_detector",),
    "recogniser": ("ocr_recogniser",),
    "detection": ("detect",),
    "audio": ("audio_decode", "asr"),
    "render": ("render_decode", "render_kernel"),
    "encode": ("render_encode",),
    "verify": ("verify",),
    "models": ("load_models",),
}


def recordings(out: Path, busy_s: float, calm_s: float, generator: str = "corpus", seed: int = 0) -> dict[str, Any]:
    """Generate (or reuse) the busy and the calm recording, or the browser one."""
    paths = {}
    if generator == "browser":
        from benchmarks import browser_corpus

        d = out / f"browser-s{seed}-{busy_s:g}s"
        if not (d / "call.truth.json").is_file():
            browser_corpus.generate(d, seed=seed, duration_s=busy_s)
        return {"browser": d}
    for name, dur in (("busy", busy_s), ("calm", calm_s)):
        if dur <= 0:
            continue  # --calm-s 0: the busy recording only
        d = out / f"{name}-{dur:g}s"
        if not (d / "call.truth.json").is_file():
            generate(d, width=1280, height=720, fps=10.0, duration_s=dur, lang="en", theme="light", font_px=14, layout=0, seed=100)
        paths[name] = d
    return paths


def one(d: Path, gpu: bool, do_score: bool) -> dict[str, Any]:
    """Anonymize the recording in ``d`` (this process: a child of ``main``)."""
    from anonymizer.config import load_config
    from anonymizer.pipeline import Job, load_models, run
    from anonymizer.report import ScreenSection
    from anonymizer.runtime import with_runtime

    config = with_runtime(load_config(None), "cuda" if gpu else "cpu")
    t0 = time.monotonic()
    models = load_models(config)
    t_models = time.monotonic() - t0
    output = d / "call.anon.mp4"
    report = run(Job(input=d / "call.mp4", output=output, config=config, roster=d / "call.roster.csv",
                     sidecar=d / "call.sidecar.json"), models).report
    wall = time.monotonic() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    screen = report.screen
    assert isinstance(screen, ScreenSection)  # a run's own (a render's is the run's, as read)
    timings = dict(report.timings_s)
    timings["load_models"] = timings.get("load_models", 0.0) + t_models
    truth = json.loads((d / "call.truth.json").read_text())
    row: dict[str, Any] = {
        "recording": d.name, "duration_s": truth["duration_s"], "n_frames": truth["n_frames"],
        "wall_s": round(wall, 2), "rtf": round(wall / truth["duration_s"], 4), "peak_rss_mb": round(rss_mb, 1),
        "stages_s": {k: round(sum(timings.get(x, 0.0) for x in keys), 2) for k, keys in STAGES.items()},
        "ocr_s": round(timings.get("ocr_detector", 0.0) + timings.get("ocr_recogniser", 0.0), 2),
        "detector_pixel_fraction": screen.ocr_pixel_fraction,
        "ink_pixel_fraction": screen.ink_pixel_fraction,
        "boxes_read": screen.boxes_read,
        "verification": {k: v for k, v in report.verification.to_dict().items() if k != "problems"},
    }
    if do_score:
        from benchmarks.score import score

        s = score(d / "call.truth.json", output, original=d / "call.mp4")
        row.update(box_frames_checked=s["pii"]["checked"], leaked_box_frames=s["pii"]["leaked"],
                   unchecked=s["pii"].get("unchecked", 0), labels_destroyed=s["labels"]["fraction"] if s["labels"] else None)
    return row


def per_frame_ocr_s(video: Path, n: int, gpu: bool) -> float:
    """Seconds EasyOCR ``readtext`` takes on one whole frame (mean over ``n`` frames spread
    over the recording): the cost per frame of OCR without change detection."""
    import warnings

    import easyocr
    import numpy as np

    import models
    from anonymizer.media import iter_frames, probe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = str(models.easyocr_dir(None))
        reader = easyocr.Reader(["en"], gpu=gpu, model_storage_directory=d, user_network_directory=d,
                                download_enabled=False, verbose=False)
    total = max(1, round(probe(video).duration_s * 10))
    picks = {int(i) for i in np.linspace(0, total - 1, n + 2)[1:-1]}
    times = []
    for i, fd in enumerate(iter_frames(video)):
        if i in picks:
            rgb = fd.rgb()
            t = time.monotonic()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader.readtext(rgb)
            times.append(time.monotonic() - t)
    return sum(times) / max(1, len(times))


def _child(d: Path, gpu: bool, no_score: bool, env: dict[str, str] | None = None, burners: int = 0) -> dict[str, Any]:
    """One recording anonymized in a child process, beside ``burners`` busy loops."""
    cmd = [sys.executable, "-m", "benchmarks.bench_speed", "--one", str(d)] + (["--gpu"] if gpu else []) + (
        ["--no-score"] if no_score else [])
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burners)]
    try:
        done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    finally:
        for p in loops:
            p.kill()
            p.wait()
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_speed")
    ap.add_argument("--out", type=Path, default=Path("bench-out/speed"))
    ap.add_argument("--busy-s", type=float, default=60.0)
    ap.add_argument("--calm-s", type=float, default=600.0)
    ap.add_argument("--sample-frames", type=int, default=2, help="frames timed with whole-frame EasyOCR (0: skip)")
    ap.add_argument("--gpu", action="store_true", help="EasyOCR + faster-whisper on CUDA, NVENC encoding")
    ap.add_argument("--no-score", action="store_true", help="skip the leak scoring (re-OCR of every PII box)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--generator", choices=("corpus", "browser"), default="corpus")
    ap.add_argument("--seed", type=int, default=0, help="browser: the recording's seed (default 0, a development seed)")
    ap.add_argument("--contended", action="store_true",
                    help="also run each recording beside one CPU-bound process, with and without the thread governor")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child: one recording, JSON on stdout
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args.one, args.gpu, not args.no_score)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    recs = recordings(args.out, args.busy_s, args.calm_s, args.generator, args.seed)
    rows = []
    for d in recs.values():
        rows.append(_child(d, args.gpu, args.no_score))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # progress: each recording as it is done
        if args.contended:
            idle = rows[-1]["wall_s"]
            shared = _child(d, args.gpu, True, burners=1)
            fixed = _child(d, args.gpu, True, env={"ANONYMIZER_GOVERNOR": "off"}, burners=1)
            rows[-1]["contended"] = {"wall_s": shared["wall_s"], "ratio": round(shared["wall_s"] / idle, 2),
                                     "governor_off_wall_s": fixed["wall_s"],
                                     "governor_off_ratio": round(fixed["wall_s"] / idle, 2),
                                     "stages_s": shared["stages_s"], "governor_off_stages_s": fixed["stages_s"]}
            print(json.dumps(rows[-1]["contended"]), file=sys.stderr, flush=True)
    first = next(iter(recs.values()))
    per_frame = per_frame_ocr_s(first / "call.mp4", args.sample_frames, args.gpu) if args.sample_frames else None
    for r in rows:
        if per_frame is not None:
            r["per_frame_ocr_s"] = round(per_frame * r["n_frames"], 1)
            r["ocr_speedup"] = round(per_frame * r["n_frames"] / max(1e-6, r["ocr_s"]), 1)
    rss = {r["recording"].split("-")[0]: r["peak_rss_mb"] for r in rows if not r["recording"].startswith("browser")}
    summary = {"rows": rows, "per_frame_ocr_s_one_frame": per_frame and round(per_frame, 3),
               "rss_ratio_calm_over_busy": round(rss["calm"] / rss["busy"], 3) if len(rss) == 2 else None, "gpu": args.gpu}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for r in rows:
            print(f"{r['recording']:<12} media {r['duration_s']:.0f} s  wall {r['wall_s']:.1f} s  RTF {r['rtf']:.3f}  "
                  f"detector pixels {100 * r['detector_pixel_fraction']:.3f} %  peak RSS {r['peak_rss_mb']:.0f} MB  "
                  f"leaked {r.get('leaked_box_frames', '-')}/{r.get('box_frames_checked', '-')}")
            print("   stages s:", ", ".join(f"{k} {v:.1f}" for k, v in r["stages_s"].items()))
            if "contended" in r:
                c = r["contended"]
                print(f"   beside one CPU-bound process: wall {c['wall_s']:.1f} s = {c['ratio']:.2f}x idle (goal <= 2.5); "
                      f"governor off {c['governor_off_wall_s']:.1f} s = {c['governor_off_ratio']:.2f}x")
            if "per_frame_ocr_s" in r:
                print(f"   OCR {r['ocr_s']:.1f} s vs per-frame EasyOCR {r['per_frame_ocr_s']:.0f} s (extrapolated): {r['ocr_speedup']:.0f}x less")
        if summary["rss_ratio_calm_over_busy"] is not None:
            print(f"peak RSS calm/busy: {summary['rss_ratio_calm_over_busy']:.2f}")
    bad = sum(r.get("leaked_box_frames", 0) for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
