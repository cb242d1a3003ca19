"""Issue 15 in the batch: unfinished files are deferred, links are never followed and every
ignored entry is reported, nested inbox/outbox are refused before anything is touched,
cleanup deletes only its own files, the CLI cannot load code, verification can refuse."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import av
import pytest

from anonymizer.batch import BatchOptions, run_batch
from anonymizer.batch.discover import discover
from anonymizer.batch.runner import STATE_NAME, check_folders, clean_leftovers
from anonymizer.config import load_config
from anonymizer.errors import ConfigError
from benchmarks.corpus import RecordingPaths
from tests.batch import fakes
from tests.batch.conftest import leftovers, make_inbox, output_hashes, run_batch_cli, write_policy
from tests.conftest import anonymizer_cmd


def remux(src: Path, dst: Path, fmt: str, options: dict[str, str] | None = None) -> Path:
    """``src``'s video packets, unchanged, into another container."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format=fmt, options=options or {}) as o:
        ist = i.streams.video[0]
        ost = o.add_stream_from_template(ist)
        for pkt in i.demux(ist):
            if pkt.dts is None:
                continue
            pkt.stream = ost
            o.mux(pkt)
    return dst


def top_boxes(path: Path) -> list[tuple[bytes, int, int]]:
    from benchmarks.batch_mutate import boxes

    return boxes(path.read_bytes())


def unfinished_files(src: Path, folder: Path) -> dict[str, Path]:
    """The states a recorder leaves a file in while writing it, from a real recording."""
    folder.mkdir(parents=True, exist_ok=True)
    frag = remux(src, folder / "frag_done.mp4", "mp4", {"movflags": "frag_keyframe+empty_moov"})
    assert [k for k, _, _ in top_boxes(frag)][-1] == b"mfra"  # FFmpeg closes a fragmented MP4 with its index
    mfra = next(off for k, off, _ in top_boxes(frag) if k == b"mfra")
    growing_frag = folder / "frag_growing.mp4"  # every fragment written, the closing index not yet
    growing_frag.write_bytes(frag.read_bytes()[:mfra])
    live_mkv = remux(src, folder / "live.mkv", "matroska", {"live": "1"})  # no duration: written without seeking back
    done_mkv = remux(src, folder / "done.mkv", "matroska")
    cut_mkv = folder / "cut.mkv"  # a complete file's first two thirds (a copy in progress)
    cut_mkv.write_bytes(done_mkv.read_bytes()[: done_mkv.stat().st_size * 2 // 3])
    side = json.loads(src.with_name(src.stem + ".sidecar.json").read_text())
    for p in (frag, growing_frag, live_mkv, done_mkv, cut_mkv):  # one call id each: each is its own work
        p.with_name(p.stem + ".sidecar.json").write_text(json.dumps(side | {"call_id": p.stem}))
    return {"frag_done": frag, "frag_growing": growing_frag, "live": live_mkv, "done_mkv": done_mkv, "cut": cut_mkv}


def age(folder: Path, seconds: float = 3600.0) -> None:
    """Every file under ``folder`` last modified ``seconds`` ago (settled)."""
    t = time.time() - seconds
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.utime(p, (t, t))


def test_unfinished_and_growing_files_are_deferred_not_published(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    files = unfinished_files(seeds[0].video, inbox)
    make_inbox(inbox / "fresh", seeds[1:2], folders=False)  # copied a moment ago: still growing, for all we know
    age(inbox)
    now = time.time()
    fresh = inbox / "fresh" / "call00_00.mp4"
    os.utime(fresh, (now, now))
    policy = write_policy(tmp_path / "p.toml", "[batch]\nsettle_s = 600\n")
    proc, s = run_batch_cli(inbox, out, policy)
    assert proc.returncode == 0, (proc.stderr, s)  # deferring is not failing
    deferred = {d["path"]: d["reason"] for d in s["deferred_files"]}
    assert set(deferred) == {"frag_growing.mp4", "live.mkv", "cut.mkv", "fresh/call00_00.mp4"}, s
    assert "closing index (mfra)" in deferred["frag_growing.mp4"]
    assert "without a duration" in deferred["live.mkv"]
    assert "cut before its end" in deferred["cut.mkv"]
    assert "settle_s = 600" in deferred["fresh/call00_00.mp4"]
    assert sorted(s["done_files"]) == ["done.mkv", "frag_done.mp4"] and s["failed"] == 0
    assert sorted(output_hashes(out)) == ["done.anon.mp4", "frag_done.anon.mp4"]
    assert not list(out.rglob("*growing*")) and not list(out.rglob("live*")) and not list(out.rglob("cut*"))
    assert leftovers(out) == []
    # nothing remembered for them: the next run tries them again, and publishes them once finished
    shutil.copyfile(files["frag_done"], files["frag_growing"])
    shutil.copyfile(files["done_mkv"], files["cut"])
    age(inbox)
    proc, s = run_batch_cli(inbox, out, policy)
    assert {d["path"] for d in s["deferred_files"]} == {"live.mkv"}, s
    assert sorted(s["done_files"]) == ["cut.mkv", "frag_growing.mp4", "fresh/call00_00.mp4"]


def test_an_unfinished_container_left_for_days_is_reported_not_deferred_forever(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    unfinished_files(seeds[0].video, inbox)
    for p in list(inbox.iterdir()):  # keep one unfinished file (and its sidecar)
        if not p.name.startswith("live."):
            p.unlink()
    age(inbox, 3 * 86400.0)  # its recorder died three days ago
    policy = write_policy(tmp_path / "p.toml", "[batch]\nsettle_s = 600\n")
    proc, s = run_batch_cli(inbox, out, policy)
    assert proc.returncode == 7, (proc.stderr, s)  # some recordings failed
    assert s["deferred_files"] == [] and s["failed"] == 1, s
    failure = s["failures"][0]
    assert failure["path"] == "live.mkv" and failure["status"] == "bad_input", failure
    assert "without a duration" in failure["reason"] and "remux it" in failure["reason"] and "unchanged for 72 h" in failure["reason"]
    assert leftovers(out) == [] and not list(out.rglob("*.mp4"))


def test_run_refuses_an_unfinished_container_with_exit_3(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    files = unfinished_files(seeds[0].video, tmp_path)
    r = anonymizer_cmd("run", str(files["frag_growing"]), "-o", str(tmp_path / "o.mp4"), "--no-audio")
    assert r.returncode == 3, r.stderr
    assert f"{files['frag_growing']}: incomplete container: fragmented MP4 without its closing index" in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_text_summary_lists_deferred_and_ignored(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:1], folders=False)
    (inbox / "link.mp4").symlink_to(tmp_path / "nowhere.mp4")
    policy = write_policy(tmp_path / "p.toml", "[batch]\nsettle_s = 600\n")
    r = anonymizer_cmd("batch", str(inbox), "--out", str(out), "--policy", str(policy), "--quiet")
    assert r.returncode == 0, r.stderr  # deferred before any model is loaded
    assert "1 deferred" in r.stdout and "deferred: call00_00.mp4: modified" in r.stdout
    assert "ignored: link.mp4: dangling symbolic link (not followed)" in r.stdout


def test_links_are_never_followed_and_every_ignored_entry_is_reported(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    make_inbox(inbox, seeds[:1], folders=False)
    make_inbox(outside, seeds[1:3], folders=False)
    (inbox / "out_link.mp4").symlink_to(outside / "call00_00.mp4")  # a file out of the inbox
    (inbox / "in_link.mp4").symlink_to(inbox / "call00_00.mp4")  # a file inside it
    (inbox / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    (inbox / "loop.mp4").symlink_to(inbox / "loop.mp4")
    (inbox / "team").symlink_to(outside, target_is_directory=True)  # a folder out of the inbox
    os.mkfifo(inbox / "pipe.mp4")
    shutil.copyfile(outside / "call01_00.mp4", inbox / "side.mp4")  # its sidecar is a link out of the inbox
    (inbox / "side.sidecar.json").symlink_to(outside / "call01_00.sidecar.json")
    age(inbox)
    age(outside)
    recs, ignored = discover(inbox)
    assert [r.rel for r in recs] == ["call00_00.mp4"]
    reasons = {i.path: i.reason for i in ignored}
    assert reasons == {
        "dangling.mp4": "dangling symbolic link (not followed)",
        "in_link.mp4": "symbolic link (links are not followed, even inside the inbox)",
        "loop.mp4": "symbolic link loop (not followed)",
        "out_link.mp4": "symbolic link pointing out of the inbox (not followed)",
        "pipe.mp4": "not a regular file (a pipe, socket or device)",
        "side.mp4": "its companion side.sidecar.json is a symbolic link pointing out of the inbox (not followed)",
        "side.sidecar.json": "symbolic link pointing out of the inbox (not followed)",
        "team": "symbolic link pointing out of the inbox (not followed)",
    }
    proc, s = run_batch_cli(inbox, out, write_policy(tmp_path / "p.toml"))
    assert proc.returncode == 0 and s["done_files"] == ["call00_00.mp4"], s
    assert {i["path"]: i["reason"] for i in s["ignored_files"]} == reasons and s["ignored"] == 8
    assert sorted(output_hashes(out)) == ["call00_00.anon.mp4"]  # nothing from outside the inbox was published


def test_nested_inbox_and_outbox_are_refused_before_anything_is_touched(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    r = anonymizer_cmd("batch", str(inbox), "--out", str(inbox / "o"))
    assert r.returncode == 2 and "must not be inside the inbox" in r.stderr
    assert not (inbox / "o").exists()  # the refused outbox was not created
    r = anonymizer_cmd("batch", str(inbox), "--out", str(inbox))
    assert r.returncode == 2 and "must not be the inbox" in r.stderr
    assert sorted(os.listdir(inbox)) == []
    # the inbox inside the outbox: files named like our leftovers stay where they are
    outbox = tmp_path / "out"
    nested = outbox / "in"
    nested.mkdir(parents=True)
    mine = [nested / ".call.anon.mp4.part-0123abcd.mp4", nested / "gone.anon.report.json", nested / "gone.anon.plan.json"]
    for p in mine:
        p.write_text("an operator's file")
    r = anonymizer_cmd("batch", str(nested), "--out", str(outbox))
    assert r.returncode == 2 and "the inbox must not be inside the outbox" in r.stderr
    assert all(p.read_text() == "an operator's file" for p in mine)
    assert sorted(os.listdir(outbox)) == ["in"]  # no lock file, no state database
    # through a link: the same folder under another name
    (tmp_path / "alias").symlink_to(inbox, target_is_directory=True)
    r = anonymizer_cmd("batch", str(inbox), "--out", str(tmp_path / "alias" / "o"))
    assert r.returncode == 2 and not (inbox / "o").exists()


def test_cleanup_deletes_only_its_own_files_under_the_outbox(tmp_path: Path) -> None:
    out, inbox, quarantine = tmp_path / "out", tmp_path / "in", tmp_path / "out" / "q"
    for d in (out / "team", inbox, quarantine):
        d.mkdir(parents=True)
    ours = [out / "team" / ".call.anon.mp4.part-0123abcd.mp4", out / "team" / "call.anon.report.json"]
    theirs = [out / "team" / "notes.txt", out / "team" / "call.report.json", out / "team" / ".hidden.part-xyz.mp4",
              quarantine / "q.anon.report.json", inbox / ".x.anon.mp4.part-0123abcd.mp4", inbox / "y.anon.report.json"]
    for p in ours + theirs:
        p.write_text("x")
    (out / "team" / "kept.anon.mp4").write_text("mp4")
    kept = out / "team" / "kept.anon.plan.json"
    kept.write_text("plan of a published mp4")
    link = out / "team" / "linked.anon.report.json"  # our name, but a link: not a file we wrote
    link.symlink_to(inbox / "y.anon.report.json")
    (out / "inbox_link").symlink_to(inbox, target_is_directory=True)  # cleanup never walks through it
    assert clean_leftovers(out, keep_out=(inbox, quarantine)) == 2
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs) and kept.exists() and link.is_symlink()


def test_models_factory_is_not_a_cli_option(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    r = anonymizer_cmd("batch", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--models-factory", "os:system")
    assert r.returncode == 2 and "No such option '--models-factory'" in r.stderr
    assert not (tmp_path / "o").exists()


def test_verification_refusal_quarantines_and_publishes_nothing(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    inbox, out, quarantine = tmp_path / "in", tmp_path / "out", tmp_path / "quarantine"
    make_inbox(inbox, seeds[:2], folders=False)
    roster = tmp_path / "roster.csv"
    first, last = fakes.ROSTER_NAME.split()
    roster.write_text("employee_id,first_name,last_name,login,email,extension\n"
                      f"E90001,{first},{last},jdupont,jeanne.dupont@example.com,4711\n")
    policy = write_policy(tmp_path / "p.toml", f"[policy]\nquarantine_dir = \"{quarantine}\"\n")
    proc, s = run_batch_cli(inbox, out, policy, "--roster", str(roster), factory="tests.batch.fakes:leaky_models")
    assert proc.returncode == 7, (proc.stderr, s)  # README: some recordings failed, were refused or quarantined
    assert s["done"] == 0 and {f["status"] for f in s["failures"]} == {"quarantined"}, s
    assert all(f["exit_code"] == 5 and "found again in the output" in f["reason"] for f in s["failures"])
    assert sorted(f["path"] for f in s["failures"]) == ["call00_00.mp4", "call01_00.mp4"]
    assert output_hashes(out) == {} and not list(out.rglob("*.anon.*")) and leftovers(out) == []
    assert sorted(p.name.split(".")[0] for p in quarantine.glob("*.anon.*.mp4")) == ["call00_00", "call01_00"]
    # the same inputs with a reader that finds nothing again: published
    proc, s = run_batch_cli(inbox, tmp_path / "out2", policy, "--roster", str(roster))
    assert proc.returncode == 0 and s["done"] == 2, s


def test_models_factory_in_process(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    """The library's way to inject models: a function, in-process (no name is imported)."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    make_inbox(inbox, seeds[:1], folders=False)
    age(inbox)
    cfg = load_config(write_policy(tmp_path / "p.toml"))
    s = run_batch(BatchOptions(inbox=inbox, outbox=out, config=cfg, models_factory=fakes.load_models))
    assert s.done == ["call00_00.mp4"] and (out / STATE_NAME).exists()
    with pytest.raises(ConfigError, match="not a function"):  # a name is never imported
        run_batch(BatchOptions(inbox=inbox, outbox=tmp_path / "o2", config=cfg,
                               models_factory="tests.batch.fakes:load_models"))  # type: ignore[arg-type]
    assert not (tmp_path / "o2").exists()


def test_summary_json_lists_new_fields(tmp_path: Path) -> None:
    from anonymizer.batch.runner import Summary

    s = Summary(inbox="i", outbox="o")
    s.deferred.append({"path": "a.mkv", "reason": "r"})
    s.ignored.append({"path": "b.mp4", "reason": "q"})
    data = json.loads(json.dumps(s.to_json()))
    assert data["deferred"] == 1 and data["deferred_files"] == [{"path": "a.mkv", "reason": "r"}]
    assert data["ignored"] == 1 and data["ignored_files"] == [{"path": "b.mp4", "reason": "q"}] and s.ok


def test_quarantine_inside_the_outbox_is_refused(tmp_path: Path) -> None:
    """The outbox is what gets published; a quarantined MP4 still shows what it hides."""
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    with pytest.raises(ConfigError, match="inside the outbox"):
        check_folders(inbox, out, out / "team" / "quarantine")
    check_folders(inbox, out, tmp_path / "quarantine")  # beside it: fine
