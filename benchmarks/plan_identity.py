"""Are the plans byte-identical? The check behind behaviour-preserving refactors.

    python -m benchmarks.plan_identity --save plans.json      # before the change
    python -m benchmarks.plan_identity --against plans.json   # after: exit 1 on any difference

It runs the product exactly as a user does (``python -m anonymizer run``, verification off,
a fixed ``hash_key_file`` so value hashes repeat) on the demo recording (``make demo``'s:
seed 7, 1280x720, 20 s) and on ``make bench --quick``'s two recordings (EN and FR), and the
speech path alone (``benchmarks.call_audio``'s ``hear`` + ``transcript_spans``) on four
development calls of the call corpus (EN and FR, mono and stereo, espeak and flite). It
prints the sha256 of each plan (and of each call's spans) and, with ``--against``, which
differ. The plans and spans are kept under ``--out`` to diff. Generated media are reused
from ``--out`` when present (~4 min on 2 cores the first time, ~3 min after).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import call_audio
from benchmarks.corpus import RecordingPaths, generate
from benchmarks.run_bench import QUICK

ROOT = Path(__file__).resolve().parent.parent
CALL_SEEDS = (1, 2, 3, 4)
KEY = b"plan-identity-key-0123456789abcdef"


def recordings(work: Path) -> dict[str, tuple[RecordingPaths, str]]:
    """name -> (paths, --language); drawn once into ``work``."""
    out: dict[str, tuple[RecordingPaths, str]] = {}

    def draw(name: str, make: Any) -> RecordingPaths:
        d = work / name
        paths = RecordingPaths(d / "call.mp4", d / "call.truth.json", d / "call.roster.csv", d / "call.sidecar.json")
        return paths if paths.video.exists() and paths.sidecar.exists() else make(d)

    out["demo"] = (draw("demo", lambda d: generate(d, width=1280, height=720, duration_s=20, seed=7)), "en")
    for rec in QUICK:
        out[rec.name] = (draw(rec.name, lambda d, rec=rec: rec.draw(d, 15.0, 10.0)), rec.lang)
    return out


def run_plan(name: str, paths: RecordingPaths, lang: str, work: Path) -> Path:
    key = work / "hash.key"
    if not key.exists():
        key.write_bytes(KEY)
        key.chmod(0o600)
    policy = work / "policy.toml"
    policy.write_text(f'[policy]\nverify = false\n\n[output]\nhash_key_file = "{key}"\n', encoding="utf-8")
    out = work / "out" / f"{name}.anon.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = out.with_suffix(".plan.json")
    for p in (out, plan, out.with_suffix(".report.json")):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "anonymizer", "run", str(paths.video), "-o", str(out), "--plan", str(plan),
           "--roster", str(paths.roster), "--sidecar", str(paths.sidecar), "--policy", str(policy), "--quiet"]
    if lang != "en":
        cmd += ["--language", lang]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    if proc.returncode != 0:
        raise SystemExit(f"{name}: anonymizer run exited {proc.returncode}\n{proc.stderr[-2000:]}")
    return plan


def call_spans(seed: int, work: Path, cfg: Any, transcribers: dict[str, Any]) -> Path:
    from anonymizer.detect import Detector
    from anonymizer.detect.roster import load_roster
    from anonymizer.media.audio import read_audio
    from anonymizer.plan import value_hasher
    from anonymizer.speech.spans import hear, transcript_spans

    wav, truth_path, roster_path = call_audio.generate(work / "calls" / f"c{seed}", seed)
    lang = json.loads(truth_path.read_text())["lang"]
    heard = hear(read_audio(wav), transcribers[lang])
    spans = transcript_spans(heard, Detector(cfg.detect, roster=load_roster(roster_path)), cfg, value_hasher(KEY))
    out = work / "out" / f"call{seed}.spans.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(s) for s in spans], indent=1, sort_keys=True), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "plan-identity-out")
    ap.add_argument("--save", type=Path, help="write the digests to this JSON file")
    ap.add_argument("--against", type=Path, help="compare with digests saved by --save; exit 1 on a difference")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    digests: dict[str, str] = {}
    for name, (paths, lang) in recordings(args.out).items():
        digests[name] = hashlib.sha256(run_plan(name, paths, lang, args.out).read_bytes()).hexdigest()
        print(f"{name}: {digests[name]}", flush=True)

    from anonymizer.config import load_config
    from anonymizer.speech import WhisperTranscriber

    cfg = load_config(None)
    transcribers = {lang: WhisperTranscriber(language=lang) for lang in ("en", "fr")}
    for seed in CALL_SEEDS:
        name = f"call{seed}"
        digests[name] = hashlib.sha256(call_spans(seed, args.out, cfg, transcribers).read_bytes()).hexdigest()
        print(f"{name}: {digests[name]}", flush=True)

    if args.save:
        args.save.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.against:
        before: dict[str, str] = json.loads(args.against.read_text())
        differ = sorted(k for k in before.keys() | digests.keys() if before.get(k) != digests.get(k))
        print("identical" if not differ else "DIFFER: " + ", ".join(differ))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
