"""How the screen's text is found and read, side by side on the same frames.

    python -m benchmarks.bench_recogniser [--out bench-out/recogniser] [--frames 4] [--threads N]

On frames of a generated 1280x720 recording (the ``bench-speed`` busy scenario):

* ``craft``: EasyOCR ``readtext`` on the whole frame (its neural detector, then its
  recogniser on what it found), as the ``craft`` text detector does per changed region;
* ``ink``: ``inklines.text_boxes`` then EasyOCR's recogniser on every box
  (``EasyOcrEngine.read_boxes``, its cache cleared: every box is read), as the ``ink``
  text detector does per changed region.

Prints the seconds of each per frame and their ratio. (Reading the boxes in batches of
similar widths measured the same as one call: the recogniser's compute is the cost.)"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_recogniser")
    ap.add_argument("--out", type=Path, default=Path("bench-out/recogniser"))
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    args = ap.parse_args(argv)

    from anonymizer.media import iter_frames
    from anonymizer.ocr import EasyOcrEngine
    from anonymizer.screen.inklines import text_boxes

    d = args.out / "busy-20s"
    if not (d / "call.mp4").is_file():
        generate(d, width=1280, height=720, fps=10.0, duration_s=20, lang="en", theme="light", font_px=14, layout=0, seed=100)
    engine = EasyOcrEngine(threads=args.threads)
    engine.set_text_height(17)
    picks = {int(i) for i in np.linspace(0, 199, args.frames + 2)[1:-1]}
    frames = [(fd.luma(), fd.rgb()) for i, fd in enumerate(iter_frames(d / "call.mp4")) if i in picks]
    t_craft = t_ink = t_read = 0.0
    n_boxes = 0
    for luma, rgb in frames:
        t0 = time.perf_counter()
        engine.read(rgb)
        t_craft += time.perf_counter() - t0
        t0 = time.perf_counter()
        boxes = text_boxes(luma, 24)
        t_ink += time.perf_counter() - t0
        n_boxes += len(boxes)
        engine._lines.clear()  # no cache hits: every box is read
        t0 = time.perf_counter()
        engine.read_boxes(luma, boxes)
        t_read += time.perf_counter() - t0
    n = len(frames)
    print(f"{n} frames of {d / 'call.mp4'} (1280x720), {n_boxes / n:.0f} text boxes per frame")
    print(f"  craft (readtext, whole frame)   {t_craft / n:6.2f} s/frame")
    print(f"  ink boxes                       {t_ink / n:6.3f} s/frame")
    print(f"  ink boxes + recogniser          {(t_ink + t_read) / n:6.2f} s/frame ({1000 * t_read / max(1, n_boxes):.0f} ms per box)")
    print(f"ratio craft / ink: {t_craft / max(1e-9, t_ink + t_read):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
