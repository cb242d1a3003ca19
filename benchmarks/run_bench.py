"""``make bench``: a FR+EN set of generated recordings -> the real CLI -> scored per entity type.

    python -m benchmarks.run_bench [--out bench-out] [--quick] [--only NAME ...]
                                   [--duration 15] [--asr-model DIR] [--verify] [--label-ocr]
    python -m benchmarks.run_bench --generator browser [--held-out] [--n 10] [--verify] ...

``--generator browser`` benches web CRMs drawn by chromium (``benchmarks.browser_corpus``;
75 s each by default, run with ``--language auto``) on its development seeds, or with
``--held-out`` on the seeds never tuned on; the tables then give each generator and split
its own line (median and worst RTF, leaks, labels destroyed, speech kept).

Each recording of the set (``SET``: FR and EN, light/dark themes, three layouts, fonts
11-20 px, 1280x720 and 960x540) is generated with ``benchmarks.corpus`` in its ``full``
variant (every entity type, roster names full / first-only / last-only, logins, ids,
extensions, non-PII decoys), anonymized by ``python -m anonymizer run`` exactly as a user
runs it, then scored with ``benchmarks.score``:

* screen recall per entity type: PII box-frames that neither Tesseract nor an independent
  EasyOCR pass can read in the output (a box-frame counts as hidden only if no reader of the
  output crop reveals the value or 4 consecutive characters of it; ``--readers``);
* audio recall per entity type: spoken PII spans whose original samples do not survive;
* precision from the plan: plan box-frames on a truth PII box, and the share of the plan's
  pixels (and audio seconds) that are PII;
* label destruction: non-PII label boxes (decoys included) more than 30 % repainted.

It prints one table per entity type plus per-recording timings and writes
``OUT/summary.json``. Exit status 1 when a recall target is missed (99.5 % per entity
type, 100 % for roster names, ids, logins and extensions) or a run fails.

The bench runs the CLI with verification off (``[policy] verify = false``): verification
is the product's safety net and would quarantine (not publish) an output with a leak, so
there would be nothing to score; the independent scorer measures the redaction itself.
``--verify`` runs the default policy (a quarantined output is then scored from the
quarantine folder, without a plan). French calls run with ``--language fr`` (the bundled
multilingual Whisper base, or ``--asr-model``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import browser_corpus
from benchmarks.corpus import RecordingPaths, generate
from benchmarks.score import READERS, plan_precision, score

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Rec:
    lang: str
    theme: str
    layout: int
    font_px: int
    width: int
    height: int
    seed: int
    dialogue_start: int

    generator = "corpus"
    split = "dev"

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.theme}-l{self.layout}-f{self.font_px}-{self.height}p-s{self.seed}"

    @property
    def language(self) -> str:
        return self.lang

    def draw(self, d: Path, duration: float, fps: float) -> RecordingPaths:
        return generate(d, width=self.width, height=self.height, fps=fps, duration_s=duration, lang=self.lang,
                        theme=self.theme, font_px=self.font_px, layout=self.layout, seed=self.seed,
                        full=True, dialogue_start=self.dialogue_start)


@dataclass(frozen=True)
class BrowserRec:
    """A recording of ``benchmarks.browser_corpus``: its look (size, fps, CRF, font, theme,
    language) comes from the seed; it runs with ``--language auto`` as a new user would."""

    seed: int
    generator = "browser"

    @property
    def look(self) -> browser_corpus.Look:
        return browser_corpus.look_for(self.seed)

    @property
    def split(self) -> str:
        return "held-out" if self.seed >= browser_corpus.HELD_OUT_FROM else "dev"

    @property
    def lang(self) -> str:
        return self.look.lang

    @property
    def language(self) -> str:
        return "auto"

    @property
    def name(self) -> str:
        lk = self.look
        return f"browser-{lk.lang}-{lk.theme}-f{lk.font_px}-{lk.height}p-crf{lk.crf}-s{self.seed}"

    def draw(self, d: Path, duration: float, fps: float) -> RecordingPaths:
        return browser_corpus.generate(d, seed=self.seed, duration_s=duration)


# Ten calls, FR and EN alternating; each language's dialogues start at a different value so
# that the set speaks every entity type.
SET = (
    Rec("en", "light", 0, 12, 960, 540, 100, 0),
    Rec("fr", "dark", 1, 12, 960, 540, 101, 0),
    Rec("en", "dark", 2, 14, 1280, 720, 102, 4),
    Rec("fr", "light", 0, 14, 1280, 720, 103, 4),
    Rec("en", "light", 1, 11, 960, 540, 104, 8),
    Rec("fr", "dark", 2, 13, 960, 540, 105, 8),
    Rec("en", "dark", 0, 16, 1280, 720, 106, 12),
    Rec("fr", "light", 1, 18, 1280, 720, 107, 12),
    Rec("en", "light", 2, 13, 960, 540, 108, 2),
    Rec("fr", "dark", 0, 11, 960, 540, 109, 16),
)
QUICK = SET[:2]

ROSTER_TYPES = ("PERSON", "EMPLOYEE_ID", "LOGIN", "EXTENSION")
TARGET = 0.995


def target_for(key: str) -> float:
    """100 % for roster entities (agent and colleagues), 99.5 % for everything else."""
    typ, who = key.split("/")[0].split(" ")[0], key.rsplit(" ", 1)[1]
    return 1.0 if who in ("agent", "colleague") and typ in ROSTER_TYPES else TARGET


def anonymize(paths: Any, output: Path, *, verify: bool, asr_model: Path | None, lang: str
              ) -> tuple[int, float, dict[str, Any] | None, Path | None, str]:
    """Run the CLI; return (exit code, wall s, report, the MP4 to score, stderr tail)."""
    cmd = [sys.executable, "-m", "anonymizer", "run", str(paths.video), "-o", str(output),
           "--roster", str(paths.roster), "--sidecar", str(paths.sidecar), "--json"]
    if not verify:
        policy = output.with_name("bench-policy.toml")
        policy.write_text("[policy]\nverify = false\n", encoding="utf-8")
        cmd += ["--policy", str(policy)]
    if asr_model is not None:
        cmd += ["--asr-model", str(asr_model)]
    if lang != "en":
        cmd += ["--language", lang]  # the bundled multilingual model unless --asr-model
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    wall = time.monotonic() - t0
    report = None
    if proc.returncode == 0:
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            report = None
    scored: Path | None = output if output.exists() else None
    quarantined = output.parent / "quarantine" / output.name
    if scored is None and quarantined.exists():
        scored = quarantined
    return proc.returncode, wall, report, scored, proc.stderr[-2000:]


def bench_one(rec: Rec | BrowserRec, out_dir: Path, *, duration: float, verify: bool, asr_model: Path | None,
              label_ocr: bool, reuse: bool = False, fps: float = 10.0,
              readers: tuple[str, ...] = READERS) -> dict[str, Any]:
    d = out_dir / rec.name
    output = d / "call.anon.mp4"
    saved = d / "cli.json"
    t0 = time.monotonic()
    paths = RecordingPaths(d / "call.mp4", d / "call.truth.json", d / "call.roster.csv", d / "call.sidecar.json")
    if reuse and saved.exists() and all(p.exists() for p in paths.__dict__.values()):
        code, wall, report, scored_s, err = json.loads(saved.read_text(encoding="utf-8"))
        scored = Path(scored_s) if scored_s else None
        gen_s = 0.0
    else:
        paths = rec.draw(d, duration, fps)
        gen_s = time.monotonic() - t0
        output.unlink(missing_ok=True)
        code, wall, report, scored, err = anonymize(paths, output, verify=verify, asr_model=asr_model,
                                                    lang=rec.language)
        saved.write_text(json.dumps([code, wall, report, str(scored) if scored else None, err]),
                         encoding="utf-8")
    truth = json.loads(paths.truth.read_text(encoding="utf-8"))
    media_s = float(truth["duration_s"])
    row: dict[str, Any] = {"recording": rec.name, "generator": rec.generator, "split": rec.split, "lang": rec.lang,
                           "size": f"{truth['width']}x{truth['height']}", "duration_s": media_s,
                           "fps": truth["fps"], "exit_code": code, "wall_s": round(wall, 1),
                           "rtf": round(wall / media_s, 2), "generate_s": round(gen_s, 1)}
    if report is not None:
        row["stages_s"] = report.get("timings_s")
        row["ocr_pixel_fraction"] = report.get("screen", {}).get("ocr_pixel_fraction")
    if code != 0:
        row["stderr"] = err
    if scored is None:
        return row
    t0 = time.monotonic()
    try:
        plan = scored.with_name(scored.stem + ".plan.json")
        s = score(paths.truth, scored, original=paths.video, ocr_labels=label_ocr, readers_named=readers,
                  plan=plan if plan.exists() else None)
    except Exception as exc:  # noqa: BLE001 - keep the other recordings' results; rerun with --reuse
        row["score_error"] = f"{type(exc).__name__}: {exc}"
        return row
    row["score_s"] = round(time.monotonic() - t0, 1)
    row["scored"] = str(scored)
    row["precision"] = plan_precision(paths.truth, plan) if plan.exists() else None
    row["pii"] = {k: s["pii"][k] for k in ("box_frames", "checked", "unchecked", "leaked",
                                           "by_entity", "leaked_values")}
    row["audio"] = {k: s["audio"].get(k) for k in ("spans", "survived", "by_entity", "length_ok",
                                                   "format_equal", "speech_kept")}
    row["audio"]["surviving"] = [d["entity"] + " " + d["value"]
                                 for d in s["audio"].get("span_details", []) if d["survived"]]
    row["labels"] = s["labels"]
    row["frames_ok"] = s["frames"]["pts_equal"] and bool(s["video"]["size_equal"])
    return row


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ent: dict[str, dict[str, int]] = {}
    for r in rows:
        for k, v in (r.get("pii") or {}).get("by_entity", {}).items():
            e = ent.setdefault(k, {"box_frames": 0, "checked": 0, "leaked": 0, "spans": 0, "survived": 0})
            for f in ("box_frames", "checked", "leaked"):
                e[f] += v[f]
        for k, v in ((r.get("audio") or {}).get("by_entity") or {}).items():
            e = ent.setdefault(k, {"box_frames": 0, "checked": 0, "leaked": 0, "spans": 0, "survived": 0})
            e["spans"] += v["spans"]
            e["survived"] += v["survived"]
    table = {}
    for k in sorted(ent):
        e = ent[k]
        screen = 1 - e["leaked"] / e["checked"] if e["checked"] else None
        audio = 1 - e["survived"] / e["spans"] if e["spans"] else None
        tgt = target_for(k)
        ok = all(x is None or x >= tgt for x in (screen, audio))
        table[k] = {**e, "screen_recall": None if screen is None else round(screen, 4),
                    "audio_recall": None if audio is None else round(audio, 4), "target": tgt, "ok": ok}
    prec = [r["precision"] for r in rows if r.get("precision")]
    by_type: dict[str, dict[str, int]] = {}
    for p in prec:
        for t, v in p["by_type"].items():
            b = by_type.setdefault(t, {"box_frames": 0, "on_pii": 0})
            b["box_frames"] += v["box_frames"]
            b["on_pii"] += v["on_pii"]

    def ratio(a: str, b: str, src: list[dict[str, Any]]) -> float | None:
        den = sum(x[b] for x in src if x)
        return round(sum(x[a] for x in src if x) / den, 4) if den else None

    labels = [r["labels"] for r in rows if r.get("labels")]
    rtfs = [r["rtf"] for r in rows if r["exit_code"] == 0]
    dur = sum(r["duration_s"] for r in rows)
    wall = sum(r["wall_s"] for r in rows)
    return {
        "entities": table,
        "precision": {"box": ratio("on_pii", "box_frames", prec), "area": ratio("area_on_pii_px", "area_px", prec),
                      "audio": ratio("audio_on_pii_s", "audio_s", prec), "by_plan_type": by_type,
                      "recordings_with_plan": len(prec)},
        "labels": {"boxes": sum(x["boxes"] for x in labels), "destroyed": sum(x["destroyed"] for x in labels),
                   "fraction": ratio("destroyed", "boxes", labels),
                   "decoys": sum(x["decoys"] for x in labels), "decoys_destroyed": sum(x["decoys_destroyed"] for x in labels),
                   "decoy_fraction": ratio("decoys_destroyed", "decoys", labels),
                   "under_plan_box": sum((x.get("pixels_changed") or {}).get("under a plan box", 0) for x in labels),
                   "reencoding_only": sum((x.get("pixels_changed") or {}).get("re-encoding only", 0) for x in labels)},
        "leaked_box_frames": sum((r.get("pii") or {}).get("leaked", 0) for r in rows),
        "checked_box_frames": sum((r.get("pii") or {}).get("checked", 0) for r in rows),
        "unchecked_box_frames": sum((r.get("pii") or {}).get("unchecked", 0) for r in rows),
        "surviving_audio_spans": sum((r.get("audio") or {}).get("survived") or 0 for r in rows),
        "speech_kept": _speech_kept(rows),
        "audio_spans": sum((r.get("audio") or {}).get("spans") or 0 for r in rows),
        "media_s": dur, "anonymize_wall_s": round(wall, 1), "rtf": round(wall / dur, 2) if dur else None,
        "rtf_median": round(statistics.median(rtfs), 2) if rtfs else None, "rtf_worst": max(rtfs, default=None),
        "failed_runs": [r["recording"] for r in rows if r["exit_code"] != 0],
    }


def _speech_of(r: dict[str, Any]) -> dict[str, Any] | None:
    return (((r.get("audio") or {}).get("speech_kept")) or {}).get("all")


def _speech_kept(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Ordinary (non-personal) speech reaching the output unaltered, per language and in all
    (issue 17: what bleeping destroyed, beside what leaked)."""
    out: dict[str, Any] = {}
    for lang in [*sorted({r.get("lang", "?") for r in rows}), "all"]:
        sel = [k for r in rows if (k := _speech_of(r)) and lang in ("all", r.get("lang", "?"))]
        speech = sum(k["speech_s"] for k in sel)
        out[lang] = {"kept_s": round(sum(k["kept_s"] for k in sel), 2), "speech_s": round(speech, 2),
                     "share": round(sum(k["kept_s"] for k in sel) / speech, 4) if speech else None}
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _verdict(e: dict[str, Any]) -> str:
    if e["screen_recall"] is None and e["audio_recall"] is None:
        return "n/a"  # shown only in unchecked box-frames
    return "ok" if e["ok"] else "MISS"


def format_tables(rows: list[dict[str, Any]], agg: dict[str, Any]) -> str:
    out = [f"{'entity (category)':<30}{'box-frames':>11}{'leaked':>7}{'screen rec.':>12}"
           f"{'spans':>6}{'surv.':>6}{'audio rec.':>11}{'target':>8}  ok"]
    for k, e in agg["entities"].items():
        out.append(f"{k:<30}{e['checked']:>11}{e['leaked']:>7}{_pct(e['screen_recall']):>12}"
                   f"{e['spans']:>6}{e['survived']:>6}{_pct(e['audio_recall']):>11}"
                   f"{_pct(e['target']):>8}  {_verdict(e)}")
    p, lb = agg["precision"], agg["labels"]
    out.append("")
    out.append(f"leaked box-frames {agg['leaked_box_frames']}/{agg['checked_box_frames']} checked "
               f"({agg['unchecked_box_frames']} unchecked); surviving audio spans "
               f"{agg['surviving_audio_spans']}/{agg['audio_spans']}")
    out.append(f"precision (plan vs truth, {p['recordings_with_plan']} recordings): box-frames on PII "
               f"{_pct(p['box'])}, redacted pixels on PII {_pct(p['area'])}, bleeped seconds on PII "
               f"{_pct(p['audio'])}")
    out.append("  by plan type: " + ", ".join(f"{t} {_pct(v['on_pii'] / v['box_frames'] if v['box_frames'] else None)}"
                                              f" of {v['box_frames']}" for t, v in p["by_plan_type"].items()))
    out.append("ordinary speech kept (not bleeped): " + ", ".join(
        f"{lang} {_pct(v['share'])} of {v['speech_s']:.0f} s" for lang, v in agg["speech_kept"].items()))
    out.append(f"labels destroyed {lb['destroyed']}/{lb['boxes']} ({_pct(lb['fraction'])}, target <= 10%; "
               f"{lb['under_plan_box']} under a redaction box, {lb['reencoding_only']} changed by re-encoding only); "
               f"decoys destroyed {lb['decoys_destroyed']}/{lb['decoys']} ({_pct(lb['decoy_fraction'])})")
    out.append(f"anonymize: {agg['media_s']:.0f} s of media in {agg['anonymize_wall_s']:.0f} s "
               f"(RTF {agg['rtf']}, median {agg['rtf_median']}, worst {agg['rtf_worst']}; CLI incl. model loading)")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:  # per generator and split: development seeds apart from held-out ones
        groups.setdefault((r.get("generator", "corpus"), r.get("split", "dev")), []).append(r)
    for (gen, split), members in sorted(groups.items()):
        g = aggregate(members)
        out.append(f"  {gen} {split} ({len(members)}): RTF median {g['rtf_median']}, worst {g['rtf_worst']}; leaked "
                   f"{g['leaked_box_frames']}/{g['checked_box_frames']}; labels destroyed {_pct(g['labels']['fraction'])}; "
                   f"speech kept {_pct(g['speech_kept']['all']['share'])}")
    out.append("")
    out.append(f"{'recording':<44}{'exit':>5}{'wall s':>8}{'RTF':>6}{'score s':>8}{'leaked':>7}{'surv.':>6}"
               f"{'speech kept':>12}{'labels x':>9}{'prec.':>7}{'sync':>5}")
    for r in rows:
        lab = r.get("labels") or {}
        prec = (r.get("precision") or {}).get("box_precision")
        out.append(f"{r['recording']:<44}{r['exit_code']:>5}{r['wall_s']:>8.1f}{r['rtf']:>6.2f}"
                   f"{r.get('score_s', 0):>8.1f}{(r.get('pii') or {}).get('leaked', '-'):>7}"
                   f"{(r.get('audio') or {}).get('survived', '-'):>6}"
                   f"{_pct((_speech_of(r) or {}).get('share')):>12}"
                   f"{_pct(lab.get('fraction')):>9}{_pct(prec):>7}{'ok' if r.get('frames_ok') else 'NO':>5}")
        for v, n in list(((r.get("pii") or {}).get("leaked_values") or {}).items())[:8]:
            out.append(f"   leaked on screen: {v} x{n}")
        for v in (r.get("audio") or {}).get("surviving", []):
            out.append(f"   survives in audio: {v}")
        if r.get("score_error"):
            out.append(f"   scoring failed: {r['score_error']}")
        if r["exit_code"] != 0:
            out.append("   " + (r.get("stderr") or "").strip().splitlines()[-1:][0] if r.get("stderr") else "")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run_bench",
                                 description="Generate the FR+EN benchmark set, anonymize it with the CLI, "
                                             "print recall per entity type, precision and label destruction.")
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--quick", action="store_true", help=f"only the first {len(QUICK)} recordings (one EN, one FR)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="only recordings whose name contains NAME (repeatable; see --list)")
    ap.add_argument("--list", action="store_true", help="list the recordings of the set and exit")
    ap.add_argument("--generator", choices=("corpus", "browser"), default="corpus",
                    help="corpus: the PIL-drawn set (SET); browser: web CRMs drawn by chromium "
                         "(benchmarks.browser_corpus, --language auto)")
    ap.add_argument("--held-out", action="store_true",
                    help=f"browser: the held-out seeds ({browser_corpus.HELD_OUT_FROM}+), never tuned on")
    ap.add_argument("--n", type=int, default=10, help="browser: number of recordings (default 10)")
    ap.add_argument("--readers", default=",".join(READERS),
                    help="the scorer's readers; a leak seen by any counts (default: %(default)s)")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds per recording (default 15; 75 for the browser generator)")
    ap.add_argument("--fps", type=float, default=10.0,
                    help="frame rate (default 10; the cost follows the number of screen changes, i.e. frames)")
    ap.add_argument("--asr-model", type=Path, default=None,
                    help="CTranslate2 Whisper folder for every call (default: bundled tiny.en for EN, base for FR)")
    ap.add_argument("--verify", action="store_true", help="keep the CLI's verification on (default policy)")
    ap.add_argument("--label-ocr", action="store_true",
                    help="also count labels that OCR no longer reads (slower; default: repainted pixels only)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON instead of the tables")
    ap.add_argument("--reuse", action="store_true",
                    help="re-score recordings already generated and anonymized in OUT (no new CLI run)")
    ap.add_argument("--tables", nargs="*", type=Path, metavar="DIR",
                    help="only print the tables of OUT/summary.json, or of the summaries in DIR... together "
                         "(an interrupted run, runs split with --only)")
    args = ap.parse_args(argv)
    if args.tables is not None:
        saved: list[dict[str, Any]] = []
        for d in args.tables or [args.out]:
            saved += json.loads((d / "summary.json").read_text(encoding="utf-8"))["recordings"]
        print(format_tables(saved, aggregate(saved)))
        return 0
    if args.generator == "browser":
        n = 2 if args.quick else args.n
        recs: list[Rec | BrowserRec] = [BrowserRec(s) for s in browser_corpus.seeds(n, args.held_out)]
        duration = args.duration or 75.0
    else:
        recs = list(QUICK if args.quick else SET)
        duration = args.duration or 15.0
    if args.only:
        recs = [r for r in recs if any(o in r.name for o in args.only)]
    if args.list:
        print("\n".join(r.name for r in recs))
        return 0
    if not recs:
        ap.error(f"--only {args.only}: no recording of the set matches (see --list)")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    rows: list[dict[str, Any]] = []
    for k, rec in enumerate(recs):
        print(f"[bench] {k + 1}/{len(recs)} {rec.name} ...", file=sys.stderr, flush=True)
        rows.append(bench_one(rec, args.out, duration=duration, verify=args.verify,
                              asr_model=args.asr_model, label_ocr=args.label_ocr, reuse=args.reuse,
                              fps=args.fps, readers=tuple(args.readers.split(","))))
        r = rows[-1]
        print(f"[bench] {rec.name}: exit {r['exit_code']}, anonymize {r['wall_s']:.0f} s, score "
              f"{r.get('score_s', 0):.0f} s, leaked {(r.get('pii') or {}).get('leaked')}, audio surviving "
              f"{(r.get('audio') or {}).get('survived')}", file=sys.stderr, flush=True)
        agg = aggregate(rows)  # rewritten after every recording: a long run leaves partial results
        agg["bench_wall_s"] = round(time.monotonic() - t0, 1)
        summary = {"summary": agg, "recordings": rows, "complete": k + 1 == len(recs)}
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=1, ensure_ascii=False))
    else:
        print(format_tables(rows, agg))
        print(f"\nbench wall {agg['bench_wall_s']:.0f} s; summary: {args.out / 'summary.json'}")
    bad = agg["failed_runs"] or not all(e["ok"] for e in agg["entities"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
