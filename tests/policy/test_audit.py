"""The audit log's hash chain: every kind of tampering is found, and at the right line."""

from __future__ import annotations

import json
import multiprocessing as mp
import stat
from pathlib import Path

import pytest

from anonymizer import audit
from anonymizer.errors import VerificationError


def _log(tmp_path: Path, n: int = 5) -> tuple[Path, list[str]]:
    log = tmp_path / "audit.jsonl"
    heads = [audit.append(log, "run", input_sha256=f"{i:064x}", result="published", exit_code=0) for i in range(n)]
    return log, heads


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines(keepends=True)


def _write(log: Path, lines: list[str]) -> None:
    log.write_text("".join(lines))


def test_append_and_verify(tmp_path: Path) -> None:
    log, heads = _log(tmp_path, 3)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    res = audit.verify(log)
    assert res == audit.VerifyResult(True, 3, heads[-1], None, None)
    recs = [json.loads(line) for line in _lines(log)]
    assert [r["seq"] for r in recs] == [0, 1, 2]
    assert recs[0]["prev"] == audit.ZERO_HASH and recs[1]["prev"] == heads[0]
    assert recs[2]["event"] == "run" and recs[2]["result"] == "published" and recs[2]["time_utc"].endswith("+00:00")


def test_reserved_fields_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="seq"):
        audit.append(tmp_path / "a.jsonl", "run", seq=7)


def test_missing_and_empty_log(tmp_path: Path) -> None:
    assert not audit.verify(tmp_path / "none.jsonl").ok
    (tmp_path / "empty.jsonl").write_text("")
    assert audit.verify(tmp_path / "empty.jsonl") == audit.VerifyResult(True, 0, audit.ZERO_HASH)
    assert not audit.verify(tmp_path / "empty.jsonl", expect_records=1).ok


def test_edited_field_is_found_by_its_hash(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    lines = _lines(log)
    lines[1] = lines[1].replace('"result":"published"', '"result":"refused"')
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 2 and "does not match its hash" in (res.problem or "")


def test_edited_last_record_is_found(tmp_path: Path) -> None:
    log, _ = _log(tmp_path, 3)
    lines = _lines(log)
    lines[2] = lines[2].replace('"exit_code":0', '"exit_code":6')
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 3 and "hash" in (res.problem or "")


def test_edit_with_recomputed_hash_breaks_the_chain(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    lines = _lines(log)
    rec = json.loads(lines[1])
    rec["result"] = "refused"
    rec["hash"] = audit.content_hash(rec)
    lines[1] = audit.canonical(rec) + "\n"
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 3 and "chain broken" in (res.problem or "")


def test_non_canonical_line_is_found(tmp_path: Path) -> None:
    log, _ = _log(tmp_path, 2)
    lines = _lines(log)
    lines[1] = json.dumps(json.loads(lines[1])) + "\n"  # same content, other spacing
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 2 and "canonical" in (res.problem or "")


def test_deleted_middle_record(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    lines = _lines(log)
    del lines[2]
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 3 and "expected seq 2, found 3" in (res.problem or "")


def test_swapped_records(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    res = audit.verify(log)
    assert not res.ok and res.line == 2 and "sequence gap" in (res.problem or "")


def test_truncated_mid_line(tmp_path: Path) -> None:
    log, _ = _log(tmp_path, 3)
    data = log.read_bytes()
    log.write_bytes(data[:-20])
    res = audit.verify(log)
    assert not res.ok and res.line == 3 and "truncated" in (res.problem or "") and res.records == 2
    with pytest.raises(VerificationError, match="partial record"):
        audit.append(log, "run")


def test_dropped_last_record_needs_the_anchor(tmp_path: Path) -> None:
    log, heads = _log(tmp_path, 4)
    _write(log, _lines(log)[:-1])
    assert audit.verify(log).ok  # a shorter chain is still a chain...
    res = audit.verify(log, expect_head=heads[-1])  # ...which the anchored head exposes
    assert not res.ok and "anchor mismatch" in (res.problem or "")
    res = audit.verify(log, expect_records=4)
    assert not res.ok and "truncated" in (res.problem or "")


def test_anchor_holds_while_the_log_grows(tmp_path: Path) -> None:
    log, heads = _log(tmp_path, 3)
    audit.append(log, "export", decision="allowed")
    assert audit.verify(log, expect_head=heads[2], expect_records=3).ok
    assert audit.verify(log, expect_head=heads[1]).ok
    res = audit.verify(log, expect_head=heads[2], expect_records=2)  # wrong position
    assert not res.ok


def _worker(log: str, worker: int, n: int) -> None:
    for i in range(n):
        audit.append(Path(log), "run", worker=worker, i=i)


def test_concurrent_appends_keep_the_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(log), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    res = audit.verify(log)
    assert res.ok and res.records == 100, res
    recs = [json.loads(line) for line in _lines(log)]
    assert sorted((r["worker"], r["i"]) for r in recs) == [(w, i) for w in range(4) for i in range(25)]
