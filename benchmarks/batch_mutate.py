"""Corrupt recordings for the batch reliability tests: from a few good seed files, many
mutated ones (byte flips, truncation anywhere including inside the header and the first
frame, zero-length, header-only, wrong extension, absurd dimensions or duration).

``mutate(seeds, out_dir, n=200, seed=0)`` writes ``n`` files and returns their kinds;
``python -m benchmarks.batch_mutate SEED.mp4... --out DIR -n 1000``."""

from __future__ import annotations

import argparse
import random
import struct
from collections.abc import Sequence
from pathlib import Path

KINDS = ("flip", "flip_header", "truncate", "truncate_header", "truncate_first_frame", "zero_length", "header_only",
         "wrong_extension", "not_media", "absurd_size", "absurd_duration", "swap_chunks")


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """Top-level ISO-BMFF boxes in ``data[start:end]``: (type, offset, size)."""
    end = len(data) if end is None else end
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            break
        out.append((kind, pos, size))
        pos += size
    return out


def _find(data: bytes, kind: bytes) -> list[int]:
    """Offsets of every box header of ``kind`` anywhere (a plain byte search)."""
    out, pos = [], data.find(kind)
    while pos >= 4:
        out.append(pos - 4)
        pos = data.find(kind, pos + 1)
    return out


def _region(data: bytes, kind: bytes) -> tuple[int, int]:
    for k, off, size in boxes(data):
        if k == kind:
            return off, min(len(data), off + size)
    return 0, min(len(data), 4096)


def mutate_one(data: bytes, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """(mutated bytes, file suffix) for one ``kind``."""
    b = bytearray(data)
    n = len(b)
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif kind == "flip_header":
        lo, hi = _region(data, b"moov")
        for _ in range(rng.randint(1, 16)):
            b[rng.randrange(lo, hi)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        b = b[: rng.randrange(1, n)]
    elif kind == "truncate_header":
        lo, hi = _region(data, b"moov")
        # a cut in the trailing user-data box (encoder name) loses nothing: stop before it
        hi = min([off for k, off, _ in boxes(data, lo + 8, hi) if k == b"udta"] + [hi])
        b = b[: rng.randrange(1, 64)] if rng.random() < 0.3 else b[: rng.randrange(lo + 1, hi)]
    elif kind == "truncate_first_frame":
        lo, hi = _region(data, b"mdat")
        b = b[: rng.randrange(lo + 8, min(hi, lo + 8 + 2048))]
    elif kind == "zero_length":
        b = bytearray()
    elif kind == "header_only":
        keep = [(off, size) for k, off, size in boxes(data) if k in (b"ftyp", b"moov")]
        b = bytearray(b"".join(data[off:off + size] for off, size in keep)) if rng.random() < 0.7 else b[:keep[0][1]]
    elif kind == "wrong_extension":
        return bytes(b), rng.choice([".mkv", ".webm", ".mov"])
    elif kind == "not_media":
        b = bytearray(rng.randbytes(rng.randint(1, 4096)) if rng.random() < 0.5 else b"not a video\n" * rng.randint(1, 50))
    elif kind == "absurd_size":
        for off in _find(data, b"tkhd"):  # width, height: 16.16 fixed point at the end of tkhd
            size = struct.unpack(">I", data[off:off + 4])[0]
            b[off + size - 8: off + size] = struct.pack(">II", rng.choice([0, 0xFFFF0000, 0x7FFF0000]), 0xFFFF0000)
        for off in _find(data, b"avc1"):
            b[off + 32: off + 36] = struct.pack(">HH", rng.choice([0, 65535, 40000]), 65535)
    elif kind == "absurd_duration":
        for name in (b"mvhd", b"mdhd", b"tkhd"):
            for off in _find(data, name):
                version = data[off + 8]
                field = off + (32 if version == 1 else 24) if name != b"tkhd" else off + (36 if version == 1 else 28)
                if name == b"mvhd" or name == b"mdhd":
                    field = off + (32 if version == 1 else 24)
                width = 8 if version == 1 else 4
                b[field: field + width] = b"\xff" * width if rng.random() < 0.5 else b"\x00" * width
    elif kind == "swap_chunks":
        lo, hi = _region(data, b"mdat")
        if hi - lo > 64:
            i, j = sorted(rng.sample(range(lo + 8, hi - 16), 2))
            k = rng.randint(4, min(256, max(4, j - i)))
            b[i:i + k], b[j:j + k] = data[j:j + k], data[i:i + k]
    else:
        raise ValueError(kind)
    return bytes(b), ".mp4"


def mutate(seeds: Sequence[Path], out_dir: Path, *, n: int = 200, seed: int = 0) -> dict[str, str]:
    """Write ``n`` mutated files (every kind in turn) to ``out_dir``; {file name: kind}."""
    rng = random.Random(f"batch-mutate/{seed}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    originals = [Path(s).read_bytes() for s in seeds]
    kinds: dict[str, str] = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        data, suffix = mutate_one(originals[i % len(originals)], kind, rng)
        name = f"m{i:05d}_{kind}{suffix}"
        (out_dir / name).write_bytes(data)
        kinds[name] = kind
    return kinds


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batch_mutate", description=__doc__)
    ap.add_argument("seeds", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    kinds = mutate(args.seeds, args.out, n=args.n, seed=args.seed)
    print(f"{len(kinds)} mutated files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
