"""``make bench``: generate recordings with ground truth -> anonymize -> score -> table.

    python -m benchmarks.run_bench [--out bench-out] [--duration 60] [--width 1280 --height 720]
                                   [--set N] [--lang en] [--json]

Models are loaded once and reused for every recording, as the batch job does. The table
shows, per recording: media duration, wall time and real-time factor on this machine,
leaked PII box-frames (independent OCR of each PII crop in the output), audio PII spans
whose original samples survive, label boxes destroyed and whether frame count/pts/audio
length were preserved."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from anonymizer.config import load_config
from anonymizer.pipeline import Job, load_models, run
from benchmarks.corpus import generate
from benchmarks.score import score


def bench_one(paths: Any, out_dir: Path, models: Any, config: Any) -> dict[str, Any]:
    output = out_dir / (paths.video.stem + ".anon.mp4")
    t0 = time.monotonic()
    report = run(Job(input=paths.video, output=output, config=config, roster=paths.roster, sidecar=paths.sidecar), models)
    wall = time.monotonic() - t0
    s = score(paths.truth, output, original=paths.video)
    truth = json.loads(paths.truth.read_text())
    return {
        "recording": paths.video.name,
        "lang": truth["lang"],
        "size": f"{truth['width']}x{truth['height']}",
        "duration_s": truth["duration_s"],
        "wall_s": round(wall, 1),
        "rtf": round(wall / truth["duration_s"], 3),
        "box_frames_checked": s["pii"]["checked"],
        "leaked_box_frames": s["pii"]["leaked"],
        "leaked_values": s["pii"]["leaked_values"],
        "audio_spans": s["audio"].get("spans", 0),
        "audio_spans_surviving": s["audio"].get("survived", 0),
        "labels_destroyed": s["labels"]["fraction"] if s["labels"] else None,
        "pts_equal": s["frames"]["pts_equal"],
        "audio_length_ok": s["audio"].get("length_ok"),
        "stages_s": report["timings_s"],
        "ocr_pixel_fraction": report["screen"]["ocr_pixel_fraction"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run_bench")
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--set", type=int, default=1, help="number of varied recordings (themes, layouts, fonts)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    config = load_config(None)
    models = load_models(config)
    rows = []
    for k in range(args.set):
        d = args.out / f"rec{k:02d}"
        paths = generate(d, width=args.width, height=args.height, fps=args.fps, duration_s=args.duration, lang=args.lang,
                         theme=("light", "dark")[k % 2], font_px=(14, 12, 16, 18, 20, 11)[k % 6], layout=k % 3, seed=100 + k)
        rows.append(bench_one(paths, d, models, config))
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        head = f"{'recording':<14}{'size':>10}{'dur s':>7}{'wall s':>8}{'RTF':>7}{'box-frames':>11}{'leaked':>7}{'audio':>6}{'surv.':>6}{'labels x':>9}{'pts':>5}"
        print(head)
        for r in rows:
            print(f"{r['recording'] + ' ' + r['lang']:<14}{r['size']:>10}{r['duration_s']:>7.0f}{r['wall_s']:>8.1f}{r['rtf']:>7.2f}"
                  f"{r['box_frames_checked']:>11}{r['leaked_box_frames']:>7}{r['audio_spans']:>6}{r['audio_spans_surviving']:>6}"
                  f"{(r['labels_destroyed'] or 0):>9.3f}{'ok' if r['pts_equal'] and r['audio_length_ok'] else 'NO':>5}")
            if r["leaked_values"]:
                print("   leaked:", ", ".join(f"{k.split(':')[0]} x{v}" for k, v in r["leaked_values"].items()))
            print("   stages:", ", ".join(f"{k} {v:.1f}" for k, v in r["stages_s"].items()), f"| OCR pixel fraction {r['ocr_pixel_fraction']}")
    bad = sum(r["leaked_box_frames"] + r["audio_spans_surviving"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
