"""How the screen's text is found and read, side by side on the same frames.

    python -m benchmarks.bench_recogniser [--out bench-out/recogniser] [--frames 4] [--threads N]

On frames of a generated 1280x720 recording (the ``bench-speed`` busy scenario):

* ``craft``: EasyOCR ``readtext`` on the whole frame (its neural detector, then its
  recogniser on what it found), as the ``craft`` text detector does per changed region;
* ``ink``: ``inklines.text_boxes`` then EasyOCR's recogniser on every box
  (``EasyOcrEngine.read_boxes``, its cache cleared: every box is read), as the ``ink``
  text detector does per changed region.

Prints the seconds of each per frame and their ratio. (Reading the boxes in batches of
similar widths measured the same as one call: the recogniser's compute is the cost.)

Then, each in a fresh child process, ``ink`` again before and after Whisper has
transcribed the recording's audio in the same process, its models loaded:

* ``load_models``: as the product loads them (Whisper first, on its own OpenMP runtime);
* ``torch first, shared``: torch imported first, so both share its OpenMP runtime, with
  Whisper on ``runtime.asr_threads`` threads (what ``load_models`` falls back to then);
* ``torch first, N threads``: as before the fix, Whisper on as many threads as the OCR.

A child each: once a shared runtime manages more threads than the CPUs, the recogniser
stays slow for the rest of the process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_recogniser")
    ap.add_argument("--out", type=Path, default=Path("bench-out/recogniser"))
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    ap.add_argument("--child", choices=CHILDREN, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    from anonymizer.media import iter_frames
    from anonymizer.ocr import EasyOcrEngine, cpu_threads
    from anonymizer.screen.inklines import text_boxes

    d = args.out / "busy-20s"
    if not (d / "call.mp4").is_file():
        generate(d, width=1280, height=720, fps=10.0, duration_s=20, lang="en", theme="light", font_px=14, layout=0, seed=100)
    threads = args.threads or cpu_threads()
    picks = {int(i) for i in np.linspace(0, 199, args.frames + 2)[1:-1]}
    if args.child is not None:
        print(json.dumps(after_speech(d / "call.mp4", picks, threads, args.child)))
        return 0
    engine = EasyOcrEngine(threads=threads)
    engine.set_text_height(17)
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

    rows = {}
    for child in CHILDREN:
        cmd = [sys.executable, "-m", "benchmarks.bench_recogniser", "--out", str(args.out), "--frames", str(args.frames),
               "--threads", str(threads), "--child", child]
        rows[child] = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1])
    print(f"ink boxes + recogniser ({threads} OCR threads), before and after Whisper ran in the same process:")
    for child, r in rows.items():
        print(f"  {child:24s} Whisper on {r['asr_threads']} thread(s): before {r['before']:5.2f} s/frame, "
              f"after {r['after']:5.2f} s/frame  (Whisper {r['asr']:.2f} s for {r['speech_s']:.0f} s of speech)")
    print(f"ratio after, old / load_models: {rows[CHILDREN[2]]['after'] / max(1e-9, rows[CHILDREN[0]]['after']):.1f}x")
    return 0


CHILDREN = ("load_models", "torch first, shared", "torch first, N threads")


def after_speech(video: Path, picks: set[int], threads: int, child: str) -> dict[str, float]:
    """The recogniser's seconds per frame before and after Whisper has transcribed
    ``video``'s audio, models loaded as ``child`` says (see the module's docstring)."""
    from anonymizer.config import load_config
    from anonymizer.media import iter_frames, read_audio, resample_mono
    from anonymizer.ocr import EasyOcrEngine, available_cpus
    from anonymizer.runtime import asr_threads, load_models
    from anonymizer.screen.inklines import text_boxes
    from anonymizer.speech import WhisperTranscriber

    if child == "load_models":
        models = load_models(load_config(None))
        engine, whisper = models.ocr, models.transcriber
        asr = whisper.threads if isinstance(whisper, WhisperTranscriber) else 0
    else:
        import torch  # noqa: F401  (first: CTranslate2 then shares torch's OpenMP runtime)

        asr = asr_threads(threads, available_cpus(), shared_openmp=True) if child == CHILDREN[1] else threads
        whisper = WhisperTranscriber(threads=asr)
        engine = EasyOcrEngine(threads=threads)
    assert isinstance(engine, EasyOcrEngine) and whisper is not None
    frames = [fd.luma() for i, fd in enumerate(iter_frames(video)) if i in picks]
    speech = resample_mono(read_audio(video), 16000)

    def read_all() -> float:
        engine._lines.clear()  # no cache hits: every box is read
        t0 = time.perf_counter()
        for luma in frames:
            engine.read_boxes(luma, text_boxes(luma, 24))
        return (time.perf_counter() - t0) / len(frames)

    before = read_all()
    t0 = time.perf_counter()
    whisper.words(speech)
    t_asr = time.perf_counter() - t0
    return {"before": before, "after": read_all(), "asr": t_asr, "speech_s": speech.size / 16000, "asr_threads": asr}


if __name__ == "__main__":
    raise SystemExit(main())
