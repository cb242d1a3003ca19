"""Batch behaviour: outputs, idempotency, policy changes, order independence, quotas,
leftover cleanup, isolation of crashes, hangs and memory hogs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from anonymizer.audit import verify
from anonymizer.batch.runner import STATE_NAME
from benchmarks.corpus import RecordingPaths
from tests.batch.conftest import leftovers, make_inbox, output_hashes, run_batch_cli, write_policy


def test_outputs_rerun_and_policy_change(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    videos = make_inbox(inbox, seeds[:4])
    policy = write_policy(tmp_path / "p.toml")
    proc, s = run_batch_cli(inbox, out, policy)
    assert proc.returncode == 0 and s["done"] == 4 and s["failed"] == 0, s
    hashes = output_hashes(out)
    assert sorted(hashes) == sorted(v.relative_to(inbox).with_suffix(".anon.mp4").as_posix() for v in videos)
    for rel in hashes:  # every MP4 has its plan and report, the report names the MP4's hash
        report = json.loads((out / rel.replace(".mp4", ".report.json")).read_text())
        assert report["output"]["sha256"] == hashes[rel]
        assert (out / rel.replace(".mp4", ".plan.json")).is_file()
    assert s["media_minutes"] > 0 and s["real_time_factor"] > 0

    # a second run processes nothing, even with other batch-only settings (they change no output)
    write_policy(policy, "[batch]\nmax_attempts = 5\nquota_period = \"1d\"\n")
    proc, s = run_batch_cli(inbox, out, policy)
    assert s["done"] == 0 and s["skipped"] == 4 and proc.returncode == 0
    # a changed file is redone, and only it
    (videos[0].with_name(videos[0].stem + ".sidecar.json")).write_text(json.dumps({"purpose": "training", "call_id": "new"}))
    _, s = run_batch_cli(inbox, out, policy)
    assert s["done_files"] == [videos[0].relative_to(inbox).as_posix()] and s["skipped"] == 3
    # a changed policy redoes every recording, and the outputs change with it
    write_policy(policy, "[video]\npad_px = 9\n")
    _, s = run_batch_cli(inbox, out, policy)
    assert s["done"] == 4
    changed = output_hashes(out)
    assert all(changed[k] != hashes[k] for k in hashes)
    # a policy that now refuses the recordings withdraws what an earlier policy published
    write_policy(policy, "[policy]\npurposes = [\"quality\"]\n")
    proc, s = run_batch_cli(inbox, out, policy)
    assert proc.returncode == 7 and {f["status"] for f in s["failures"]} == {"refused"}, s
    assert all(f["reason"].endswith("(the output of an earlier run was withdrawn)") for f in s["failures"])
    assert output_hashes(out) == {} and not list(out.rglob("*.anon.*.json"))
    assert leftovers(out) == []


def test_quota_per_agent(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:1], copies=3, agent="E1", folders=False)
    make_inbox(inbox / "other", seeds[1:2], copies=1, agent="E2", folders=False)
    policy = write_policy(tmp_path / "p.toml", "[batch]\nquota_per_agent = 2\nquota_period = \"30d\"\n")
    proc, s = run_batch_cli(inbox, out, policy)
    assert proc.returncode == 0 and s["done"] == 3, s  # E1's first two (path order) and E2's one
    assert [q["path"] for q in s["quota_files"]] == ["call00_02.mp4"] and s["quota_files"][0]["agent_employee_id"] == "E1"
    assert not (out / "call00_02.anon.mp4").exists()
    # still over quota in the same period; a new policy reprocesses the two done ones, not a third
    write_policy(policy, "[batch]\nquota_per_agent = 2\n[video]\npad_px = 5\n")
    _, s = run_batch_cli(inbox, out, policy)
    assert s["done"] == 3 and s["quota_deferred"] == 1


def test_leftovers_of_a_killed_run_are_removed(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:1], folders=False)
    out.mkdir()
    part = out / ".call00_00.anon.mp4.part-0123abcd.mp4"
    part.write_bytes(b"half an mp4")
    orphan = out / "gone.anon.report.json"
    orphan.write_text("{}")
    keep = out / "notes.txt"
    keep.write_text("not ours")
    _, s = run_batch_cli(inbox, out, write_policy(tmp_path / "p.toml"))
    assert s["leftovers_removed"] == 2 and not part.exists() and not orphan.exists() and keep.exists()
    assert s["done"] == 1


def _statuses(out: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(out / STATE_NAME) as db:
        return {p: (st, n) for p, st, n in db.execute("SELECT path, status, attempts FROM results")}


def test_crash_kills_only_its_worker_and_is_retried_up_to_the_limit(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:2], folders=False)
    log = tmp_path / "audit.jsonl"
    policy = write_policy(tmp_path / "p.toml", f"[policy]\naudit_log = \"{log}\"\n[batch]\nmax_attempts = 2\n")
    proc, s = run_batch_cli(inbox, out, policy, factory="tests.batch.fakes:crashing_models", workers=1)
    assert proc.returncode == 7 and s["failed"] == 2, s  # the batch went on after the first crash
    assert {f["status"] for f in s["failures"]} == {"crashed"}
    assert all("SIGSEGV" in f["reason"] and f["retry"] for f in s["failures"])
    assert output_hashes(out) == {} and leftovers(out) == []
    assert set(_statuses(out).values()) == {("crashed", 1)}
    _, s = run_batch_cli(inbox, out, policy, factory="tests.batch.fakes:crashing_models", workers=1)
    assert set(_statuses(out).values()) == {("crashed", 2)}
    _, s = run_batch_cli(inbox, out, policy, factory="tests.batch.fakes:crashing_models", workers=1)
    assert all("gave up after 2 attempts" in f["reason"] for f in s["failures"]) and s["failed"] == 2
    assert set(_statuses(out).values()) == {("crashed", 2)}  # not tried a third time
    # the parent wrote the audit records the crashed children could not
    res = verify(log)
    assert res.ok
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(r["event"] == "run" and r["result"] == "failed" for r in records) == 4
    assert sum(r["event"] == "batch" for r in records) == 3


def test_hang_and_memory_hog_are_killed(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    make_inbox(inbox, seeds[:1], folders=False)
    hang = write_policy(tmp_path / "hang.toml", "[batch]\nfile_timeout_s = 3\n")
    proc, s = run_batch_cli(inbox, tmp_path / "o1", hang, factory="tests.batch.fakes:hanging_models", workers=1)
    assert proc.returncode == 7 and s["failures"][0]["status"] == "timeout", s
    hog = write_policy(tmp_path / "hog.toml", "[batch]\nmemory_mb = 1500\n")
    proc, s = run_batch_cli(inbox, tmp_path / "o2", hog, factory="tests.batch.fakes:hogging_models", workers=1)
    assert proc.returncode == 7 and s["failures"][0]["status"] == "memory", s
    assert output_hashes(tmp_path / "o1") == output_hashes(tmp_path / "o2") == {}


def test_bad_options_exit_2(tmp_path: Path) -> None:
    from tests.conftest import anonymizer_cmd

    r = anonymizer_cmd("batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "inbox is not a folder" in r.stderr
    (tmp_path / "in").mkdir()
    r = anonymizer_cmd("batch", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr
    r = anonymizer_cmd("batch", str(tmp_path / "in"), "--out", str(tmp_path / "in" / "o"))
    assert r.returncode == 2 and "inside the inbox" in r.stderr
    from anonymizer.batch.runner import outbox_lock

    (tmp_path / "o").mkdir()
    with outbox_lock(tmp_path / "o"):  # a batch already running on this outbox
        r = anonymizer_cmd("batch", str(tmp_path / "in"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "another batch is running" in r.stderr


def test_since_filters_by_age(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    import os

    inbox, out = tmp_path / "in", tmp_path / "out"
    old, new = make_inbox(inbox, seeds[:2], folders=False)
    os.utime(old, (1e9, 1e9))
    proc, s = run_batch_cli(inbox, out, write_policy(tmp_path / "p.toml"), "--since", "24h")
    assert s["files"] == 1 and s["done_files"] == [new.name]
    # not a terminal: one plain progress line per recording
    lines = [line for line in proc.stderr.splitlines() if line.startswith("anonymizer batch: [")]
    assert len(lines) == 1 and "[1/1] done" in lines[0] and "ETA" in lines[0]


def test_progress_bar_on_a_terminal() -> None:
    import io

    from anonymizer.batch.progress import Progress

    buf = io.StringIO()
    p = Progress(2, 200, stream=buf, tty=True)
    p.update("a.mp4", "done", 100, 90.0)
    p.update("b.mp4", "bad_input", 100, 0.0, "corrupt")
    text = buf.getvalue()
    assert "\r[" in text and "1/2 files, 1.5 min of media, 0 failed, ETA" in text
    assert "2/2 files" in text and "1 failed" in text and text.endswith("\n")


def test_batch_settings_are_validated(tmp_path: Path) -> None:
    import pytest

    from anonymizer.config import load_config, parse_duration_s
    from anonymizer.errors import ConfigError

    assert parse_duration_s("24h") == 86400 and parse_duration_s("2w") == 14 * 86400 and parse_duration_s("1.5d") == 129600
    assert parse_duration_s("7") is None and parse_duration_s("-1d") is None and parse_duration_s("xd") is None
    for bad in ('quota_period = "week"', "quota_per_agent = -1", "max_attempts = 0", "memory_mb = 1", "workers = 2"):
        with pytest.raises(ConfigError):
            load_config(write_policy(tmp_path / "p.toml", f"[batch]\n{bad}\n"))
    # the example names the deployment's audit log folder, which the policy requires to exist
    text = (Path(__file__).resolve().parents[2] / "examples" / "policy.toml").read_text()
    assert '"/srv/recordings/audit.jsonl"' in text
    (tmp_path / "example.toml").write_text(text.replace("/srv/recordings", str(tmp_path)))
    example = load_config(tmp_path / "example.toml")
    assert example.batch.quota_per_agent == 20 and example.batch.quota_period == "7d"
    assert example.processing_digest() != load_config(None).processing_digest()  # audit_log, call times
    assert load_config(write_policy(tmp_path / "q.toml", "[batch]\nquota_per_agent = 3\n")).processing_digest() == \
        load_config(write_policy(tmp_path / "r.toml")).processing_digest()
