"""``kernels.redact_yuv420`` with many overlapping boxes: the box-by-box algorithm it
replaced ("old") and the union-of-blocks one ("new"), side by side.

    python -m benchmarks.bench_yuv_boxes [--demo out/demo] [--frames 200] [--styles fill,blur,pixelate]

* ``old``: a zeroed RGB frame, every box grown by 2 px converted to RGB box by box
  (``_numba.yuv420_to_rgb_around``), ``redact`` filling every box (``fill`` without
  skipping boxes that later boxes cover), the luma / chroma written back box by box
  (``_numba.rgb_to_yuv420_in``);
* ``new``: ``kernels.redact_yuv420``.

Cases: the demo recording's decoded frames with the boxes its plan holds at each frame
(``<demo>/call.mp4`` + ``call.anon.plan.json``, when present: ~530 boxes a frame, up
to ~3000, heavily overlapping), and a synthetic 1280x720 frame of text lines listed
several times with their words inside.  Both run on copies of the same planes,
interleaved; the outputs are checked byte for byte.  Prints ms per frame and the ratio."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import kernels
from kernels import _numba as _nb


def _old(planes: list[np.ndarray], width: int, height: int, boxes: np.ndarray, style: str, seed: int) -> None:
    y, u, v = planes
    rgb = np.zeros((height, width, 3), np.uint8)
    _nb.yuv420_to_rgb_around(y, u, v, rgb, boxes, 2)
    if style == "fill":
        _nb.fill_serial_unpruned(rgb, boxes, seed)
    else:
        kernels.redact(rgb, boxes, style, seed=seed)
    _nb.rgb_to_yuv420_in(rgb, y, u, v, boxes)


def _demo_frames(demo: Path, limit: int) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    from anonymizer.media import iter_frames
    from anonymizer.plan import LiveBoxes, Plan

    plan = Plan.from_json((demo / "call.anon.plan.json").read_text())
    sweep = LiveBoxes(plan.boxes)
    for i, fd in enumerate(iter_frames(demo / "call.mp4")):
        if i >= limit:
            return
        active = sweep.at(fd.t)
        boxes = np.array([[b.x, b.y, b.w, b.h] for b in active], np.int32).reshape(-1, 4)
        planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size).copy() for p in fd.frame.planes]
        yield planes, boxes


def _synthetic_frames(n: int) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    rng = np.random.default_rng(0)
    for _ in range(n):
        y = np.full((720, 1344), 235, np.uint8)  # line_size 1344 > width 1280
        y[rng.random(y.shape) < 0.05] = 30
        u = np.full((360, 672), 128, np.uint8)
        v = np.full((360, 672), 128, np.uint8)
        lines = [[int(rng.integers(0, 200)), 10 + 17 * k, int(rng.integers(300, 1100)), 14] for k in range(40)]
        words = [[x + 60 * j, yy + 1, 50, 12] for x, yy, w, _ in lines for j in range(w // 60)]
        boxes = np.array(lines * 3 + words + lines, np.int32)
        yield [y, u, v], boxes[rng.permutation(len(boxes))]


def _run(name: str, frames: Iterator[tuple[list[np.ndarray], np.ndarray]], styles: list[str]) -> None:
    t_old = dict.fromkeys(styles, 0.0)
    t_new = dict.fromkeys(styles, 0.0)
    n = n_boxes = 0
    for planes, boxes in frames:
        if not len(boxes):
            continue
        n += 1
        n_boxes += len(boxes)
        for style in styles:
            a = [p.copy() for p in planes]
            b = [p.copy() for p in planes]
            t0 = time.perf_counter()
            _old(a, 1280, 720, boxes, style, 5)
            t1 = time.perf_counter()
            kernels.redact_yuv420(b, 1280, 720, boxes, style, seed=5)
            t2 = time.perf_counter()
            t_old[style] += t1 - t0
            t_new[style] += t2 - t1
            if not all(np.array_equal(p, q) for p, q in zip(a, b, strict=True)):
                raise SystemExit(f"{name}: {style} output differs on frame {n}")
    print(f"{name}: {n} frames with boxes, {n_boxes / max(1, n):.0f} boxes per frame (outputs identical)")
    for style in styles:
        o, w = 1000 * t_old[style] / max(1, n), 1000 * t_new[style] / max(1, n)
        print(f"  {style:9s} old {o:7.2f} ms/frame   new {w:6.2f} ms/frame   ratio {o / max(w, 1e-9):4.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_yuv_boxes")
    ap.add_argument("--demo", type=Path, default=Path("out/demo"))
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--styles", default=",".join(kernels.STYLES))
    args = ap.parse_args(argv)
    styles = args.styles.split(",")
    kernels.warmup()
    _nb.fill_serial_unpruned(np.zeros((4, 4, 3), np.uint8), np.array([[0, 0, 2, 2]], np.int32), 0)
    if (args.demo / "call.mp4").is_file() and (args.demo / "call.anon.plan.json").is_file():
        _run(f"demo {args.demo / 'call.mp4'}", _demo_frames(args.demo, args.frames), styles)
    else:
        print(f"no demo recording under {args.demo}: skipped")
    _run("synthetic 1280x720 (lines x3 + words)", _synthetic_frames(min(args.frames, 50)), styles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
