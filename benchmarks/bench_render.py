"""How a decoded frame is redacted before encoding, two ways side by side.

    python -m benchmarks.bench_render [--out bench-out/recogniser] [--frames 100]

On the frames of a generated 1280x720 recording (the ``bench-speed`` busy scenario),
every text line (``inklines.text_boxes``, ~100 boxes a frame) is redacted with ``fill``:

* ``rgb``: the whole frame to RGB, ``kernels.redact``, and back to yuv420p (what
  the encoder did to every redacted frame before);
* ``yuv420``: ``kernels.redact_yuv420`` on the decoded planes (after
  ``make_writable``), converting only the pixels around the boxes (the renderer now).

The two run on the same frames, interleaved; prints milliseconds per frame and their
ratio, and how far the two outputs' luma differ inside the boxes (rounding)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

import kernels
from anonymizer.media import iter_frames
from anonymizer.screen.inklines import text_boxes
from benchmarks.corpus import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_render")
    ap.add_argument("--out", type=Path, default=Path("bench-out/recogniser"))
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args(argv)
    d = args.out / "busy-20s"
    if not (d / "call.mp4").is_file():
        generate(d, width=1280, height=720, fps=10.0, duration_s=20, lang="en", theme="light", font_px=14, layout=0, seed=100)
    kernels.warmup()
    t_rgb = t_yuv = 0.0
    n = n_boxes = 0
    worst = 0
    step = max(1, 200 // args.frames)
    for i, fd in enumerate(iter_frames(d / "call.mp4")):
        if i % step or n >= args.frames:
            continue
        boxes = np.array([b.as_list() for b in text_boxes(fd.luma(), 24)], np.int32).reshape(-1, 4)
        n_boxes += len(boxes)
        n += 1
        t0 = time.perf_counter()
        rgb = fd.rgb()
        kernels.redact(rgb, boxes, "fill", seed=5)
        via_rgb = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        t_rgb += time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = fd.frame
        frame.make_writable()
        planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size) for p in frame.planes]
        kernels.redact_yuv420(planes, frame.width, frame.height, boxes, "fill", seed=5)
        t_yuv += time.perf_counter() - t0
        y_rgb = np.frombuffer(via_rgb.planes[0], np.uint8).reshape(via_rgb.planes[0].height, -1)[:, : frame.width]
        for x, y, w, h in boxes.tolist():
            worst = max(worst, int(np.abs(planes[0][y : y + h, x : x + w].astype(int) - y_rgb[y : y + h, x : x + w]).max()))
    print(f"{n} frames of {d / 'call.mp4'} (1280x720), {n_boxes / max(1, n):.0f} boxes per frame, fill")
    print(f"  rgb round trip + redact     {1000 * t_rgb / max(1, n):6.2f} ms/frame")
    print(f"  redact_yuv420 on the planes {1000 * t_yuv / max(1, n):6.2f} ms/frame")
    print(f"ratio rgb / yuv420: {t_rgb / max(1e-9, t_yuv):.1f}x; luma inside boxes differs by at most {worst} levels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
