"""The bench driver's set, targets and tables (the full bench itself is `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks import run_bench
from tests.conftest import ROOT


def test_help_offers_quick_and_only() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.run_bench", "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0
    assert "--quick" in out.stdout and "--only" in out.stdout
    listed = subprocess.run([sys.executable, "-m", "benchmarks.run_bench", "--list"], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert listed.stdout.split() == [r.name for r in run_bench.SET]


def test_set_is_ten_fr_and_en_recordings() -> None:
    assert len(run_bench.SET) >= 10
    assert {r.lang for r in run_bench.SET} == {"fr", "en"}
    assert {r.lang for r in run_bench.QUICK} == {"fr", "en"}
    assert len({r.name for r in run_bench.SET}) == len(run_bench.SET)
    assert len({(r.theme, r.layout) for r in run_bench.SET}) == 6


def test_targets() -> None:
    assert run_bench.target_for("PERSON/last colleague") == 1.0
    assert run_bench.target_for("LOGIN agent") == 1.0
    assert run_bench.target_for("PERSON/full customer") == 0.995
    assert run_bench.target_for("FR_NIR customer") == 0.995


def _row(name: str, leaked: int, survived: int, destroyed: int) -> dict:  # type: ignore[type-arg]
    return {
        "recording": name, "lang": "fr", "size": "1280x720", "duration_s": 10.0, "exit_code": 0,
        "wall_s": 50.0, "rtf": 5.0, "score_s": 3.0, "frames_ok": True,
        "pii": {"box_frames": 200, "checked": 200, "unchecked": 0, "leaked": leaked,
                "by_entity": {"PERSON/first colleague": {"box_frames": 100, "checked": 100, "leaked": leaked},
                              "FR_NIR customer": {"box_frames": 100, "checked": 100, "leaked": 0}},
                "leaked_values": {"PERSON:Léa": leaked} if leaked else {}},
        "audio": {"spans": 2, "survived": survived, "surviving": [],
                  "by_entity": {"FR_NIR customer": {"spans": 2, "survived": survived}},
                  "speech_kept": {"all": {"kept_s": 2.0 + destroyed / 5, "speech_s": 5.0, "share": (2.0 + destroyed / 5) / 5}}},
        "labels": {"boxes": 100, "destroyed": destroyed, "decoys": 10, "decoys_destroyed": 1},
        "precision": {"box_frames": 10, "on_pii": 9, "area_px": 100, "area_on_pii_px": 80, "audio_s": 2.0,
                      "audio_on_pii_s": 1.0, "by_type": {"PERSON": {"box_frames": 10, "on_pii": 9}}},
    }


def test_aggregate_and_table() -> None:
    rows = [_row("a", 0, 0, 5), _row("b", 1, 1, 15)]
    agg = run_bench.aggregate(rows)
    e = agg["entities"]
    assert e["PERSON/first colleague"]["screen_recall"] == 0.995  # 1 of 200 leaked
    assert not e["PERSON/first colleague"]["ok"]  # roster names need 100 %
    assert e["FR_NIR customer"]["screen_recall"] == 1.0
    assert e["FR_NIR customer"]["audio_recall"] == 0.75 and not e["FR_NIR customer"]["ok"]
    assert agg["labels"]["fraction"] == 0.1 and agg["labels"]["decoy_fraction"] == 0.1
    assert agg["precision"]["box"] == 0.9 and agg["precision"]["area"] == 0.8
    assert agg["rtf"] == 5.0 and agg["leaked_box_frames"] == 1
    assert agg["speech_kept"]["fr"] == agg["speech_kept"]["all"] == {"kept_s": 8.0, "speech_s": 10.0, "share": 0.8}
    text = run_bench.format_tables(rows, agg)
    assert "PERSON/first colleague" in text and "MISS" in text
    assert "ordinary speech kept (not bleeped): fr 80.0% of 10 s, all 80.0% of 10 s" in text
    assert "leaked on screen: PERSON:Léa x1" in text


def test_tables_of_split_runs(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    for name, leaked in (("a", 0), ("b", 1)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"recordings": [_row(name, leaked, 0, 0)]}))
    assert run_bench.main(["--tables", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert "leaked box-frames 1/400 checked" in text
    assert text.count("1280x720") == 0 and "\na " in text and "\nb " in text
