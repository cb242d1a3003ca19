"""Reliability at test size (full size: ``python -m benchmarks.batch_reliability``):
corrupt inputs, SIGKILL at random moments, memory over many files."""

from __future__ import annotations

from pathlib import Path

from benchmarks import batch_reliability as rel
from benchmarks.batch_mutate import KINDS
from benchmarks.corpus import RecordingPaths


def test_corrupt_inputs_never_crash_the_batch_nor_publish(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    fig = rel.corrupt([s.video for s in seeds[:3]], tmp_path, n=216, workers=2)
    assert fig["files"] >= 200 and set(fig["kinds"]) == set(KINDS)
    assert fig["exit_code"] == 7, fig  # the batch finished and says some failed
    assert fig["without_status"] == [] and fig["without_reason"] == []
    assert fig["internal_errors"] == []  # every corrupt file is classified (bad input, exit 3), never a bug
    assert fig["published_from_failed"] == [] and fig["leftovers"] == 0
    assert fig["published"] == fig["done"] > 0  # byte flips in the picture data can still decode
    s = fig["summary"]
    assert all(k["reason"].startswith("same content as ") for k in s["skipped_files"])  # e.g. the zero-length ones
    failed = {f["path"] for f in s["failures"]} | {k["path"] for k in s["skipped_files"]} | {k["path"] for k in s["deferred_files"]}
    must_fail = {k for k, v in fig["kinds_by_file"].items() if v in ("zero_length", "not_media", "truncate_header")}
    assert must_fail <= failed
    # quarantined: verification refused what the test OCR let through; never published either
    assert set(fig["statuses"]) <= {"bad_input", "failed", "refused", "quarantined", "crashed", "memory", "timeout"}


def test_sigkill_at_random_moments_leaves_no_partial_output(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    rel.make_inbox(tmp_path / "in", seeds[:8])
    fig = rel.kills(tmp_path / "in", tmp_path, n=20, workers=2)
    assert fig["recordings"] == 8 and fig["interrupted"] >= 14, fig  # the others ended before their kill
    assert fig["partial_at_final_path"] == 0, fig
    assert fig["final_exit_code"] == 0 and fig["final_done_or_skipped"] == 8
    assert fig["final_equals_uninterrupted"] and fig["leftovers"] == 0 and fig["reports_without_mp4"] == 0, fig


def test_worker_memory_stays_flat_over_50_files(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    rel.make_inbox(tmp_path / "in", seeds[:10], copies=5)
    fig = rel.memory(tmp_path / "in", tmp_path)
    assert fig["files"] == 50 and fig["failed"] == 0 and len(fig["peak_rss_kb"]) == 50
    assert fig["growth"] <= 0.10, fig
