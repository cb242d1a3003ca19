"""Depix-style dictionary attack against the redaction styles of :mod:`kernels`.

Threat model (deliberately generous to the attacker): they know the font, the
size, the colours, the exact position of the text and the box, and that the
value is a string of N digits (a 10-digit phone number or a 16-digit card
number).  For each trial we render the true value, redact it, then render the
truth and ``decoys`` random other values the same way, redact each
identically and rank all candidates by the L2 distance of the redacted box to
the redacted truth.  A trial is a success when the true value ranks first;
ties are split evenly (an attacker who cannot tell k candidates apart picks
one at random), so a style that leaks nothing scores exactly
``1 / (decoys + 1)``.

``noise`` adds Gaussian noise (sigma in grey levels) to the recording before
redaction, a crude stand-in for video compression that the attacker cannot
reproduce.

Run ``python -m benchmarks.kernel_attack`` for the table used in the README.
"""

from __future__ import annotations

import argparse
import math
import time
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import kernels

FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
LENGTHS = (10, 16)  # phone number, card number
SIZES = range(14, 19)  # px
DARK_ON_LIGHT = ((250, 250, 248), (20, 20, 24))  # (background, text)
LIGHT_ON_DARK = ((36, 38, 46), (225, 228, 215))


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _layout(font: ImageFont.FreeTypeFont, length: int, pad: int) -> tuple[tuple[int, int], np.ndarray]:
    """Canvas size and the box (same for every candidate: digits are tabular)."""
    left, top, _, bottom = font.getbbox("0123456789")
    width = math.ceil(font.getlength("0" * length))
    ox, oy = 8, 6
    box = np.array(
        [[ox + left - pad, oy + top - pad, width - left + 2 * pad, bottom - top + 2 * pad]], np.int32
    )
    ascent, descent = font.getmetrics()
    return (width + 2 * ox, ascent + descent + 2 * oy), box


Colours = tuple[tuple[int, int, int], tuple[int, int, int]]


def _render(text: str, font: ImageFont.FreeTypeFont, size: tuple[int, int], colours: Colours) -> np.ndarray:
    bg, fg = colours
    img = Image.new("RGB", size, bg)
    ImageDraw.Draw(img).text((8, 6), text, font=font, fill=fg)
    return np.array(img)  # writeable, C-contiguous copy


def _digits(rng: np.random.Generator, length: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, length))


def attack(
    style: str,
    trials: int = 200,
    decoys: int = 50,
    seed: int = 0,
    *,
    strength: int = 0,
    noise: float = 0.0,
    pad: int = 1,
) -> float:
    """Fraction of trials in which the true value ranks first (ties split evenly).

    strength: blur radius / pixelation block (0 = the kernels' default, scaled
    to the box height).  pad: margin in px between the digits' ink box and the
    redaction box."""
    rng = np.random.default_rng(seed)
    score = 0.0
    for _ in range(trials):
        font = _font(FONTS[int(rng.integers(len(FONTS)))], int(rng.choice(SIZES)))
        length = int(rng.choice(LENGTHS))
        colours = DARK_ON_LIGHT if rng.random() < 0.5 else LIGHT_ON_DARK
        size, box = _layout(font, length, pad)
        truth = _digits(rng, length)
        pool = {truth}
        while len(pool) < decoys + 1:
            pool.add(_digits(rng, length))
        candidates = [truth, *sorted(pool - {truth})]

        observed = _render(truth, font, size, colours)
        if noise:
            jitter = rng.normal(0.0, noise, observed.shape)
            observed = np.clip(np.rint(observed + jitter), 0, 255).astype(np.uint8)
        kernels.redact(observed, box, style, seed=1, strength=strength)
        x, y, w, h = (int(v) for v in box[0])
        target = observed[y : y + h, x : x + w].astype(np.float32)

        dist = np.empty(len(candidates))
        for k, text in enumerate(candidates):
            img = _render(text, font, size, colours)
            kernels.redact(img, box, style, seed=1, strength=strength)
            dist[k] = float(np.sum((img[y : y + h, x : x + w] - target) ** 2))
        best = dist.min()
        if dist[0] == best:
            score += 1.0 / int(np.count_nonzero(dist == best))
    return score / trials


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--decoys", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    kernels.warmup()
    rows = [
        ("fill", 0, "default"),
        ("blur", 0, "default r=max(2,h//2)"),
        ("pixelate", 0, "default b=max(4,h//2)"),
        ("blur", 1, "weak r=1"),
        ("pixelate", 2, "weak b=2"),
    ]
    chance = 1 / (args.decoys + 1)
    print(f"Dictionary attack: {args.trials} trials, {args.decoys} decoys (chance = {chance:.3f})")
    print(f"{'style':<9} {'strength':<22} {'noise=0':>8} {'noise=2':>8} {'time':>6}")
    for style, strength, label in rows:
        t0 = time.perf_counter()
        clean = attack(style, args.trials, args.decoys, args.seed, strength=strength)
        noisy = attack(style, args.trials, args.decoys, args.seed, strength=strength, noise=2.0)
        dt = time.perf_counter() - t0
        print(f"{style:<9} {label:<22} {clean:>8.3f} {noisy:>8.3f} {dt:>5.1f}s")


if __name__ == "__main__":
    main()
