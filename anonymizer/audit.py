"""Tamper-evident audit log: append-only JSONL, every record chained to the one before.

Why: the CNIL expects a controller to be able to show who processed, exported or deleted a
recording and when. A plain log can be edited after the fact; here each record carries

* ``seq`` (0, 1, 2, ...) and ``prev``, the sha256 of the previous record's line as written
  (64 zeros for the first), so a deleted or reordered record breaks the chain;
* ``hash``, the sha256 of its own canonical JSON without ``hash``, so an edit of the *last*
  record (which no later ``prev`` protects) is seen as well.

A line is the record's canonical JSON (``sort_keys``, compact separators, ASCII); its sha256
is the record's *chain hash*, and the last one is the log's *head*. Records hold event
fields only, never a raw personal value: hashes of files and configurations, the OS user,
decisions, rule names, exit codes.

Limit: whoever can rewrite the whole file can recompute the whole chain, and dropping whole
trailing records leaves a valid shorter chain. Both are caught only by an *anchor* kept
elsewhere: the head and record count printed by ``anonymizer audit verify`` belong in the
nightly job's log, a ticket or any other system the log's writers cannot edit; later,
``verify(log, expect_head=HEAD, expect_records=N)`` proves that record N is still the one
anchored (the log may have grown since).
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymizer.errors import ConfigError, VerificationError
from anonymizer.fsutil import fsync_dir

ZERO_HASH = "0" * 64
LOG_MODE = 0o600
RESERVED = frozenset({"seq", "time_utc", "prev", "event", "hash"})
_TAIL_CHUNK = 4096


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`. ``line`` is 1-based and names where the problem is."""

    ok: bool
    records: int
    head: str
    problem: str | None = None
    line: int | None = None


def os_user_name() -> str:
    """The account this process runs as, for audit records and reports ("unknown" when
    the system cannot say)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _jsonable(value: object) -> object:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"audit field value of type {type(value).__name__} is not JSON")


def canonical(record: dict[str, Any]) -> str:
    """The one serialisation that is hashed and written (no newline)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_jsonable)


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("ascii") if isinstance(text, str) else text).hexdigest()


def content_hash(record: dict[str, Any]) -> str:
    """sha256 of the record's canonical JSON without its ``hash`` field."""
    return _sha(canonical({k: v for k, v in record.items() if k != "hash"}))


def _last_line(fd: int, log_path: Path) -> bytes | None:
    """The last complete line of the file (without newline), or None for an empty file."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    if os.pread(fd, 1, size - 1) != b"\n":
        raise VerificationError("audit log ends with a partial record (truncated or a crashed write); "
                                "run `anonymizer audit verify` and restore it before appending", path=log_path)
    pos = size - 1  # the final newline; ``tail`` holds bytes [pos, size - 1)
    tail = b""
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        tail = os.pread(fd, pos - start, start) + tail
        pos = start
        nl = tail.rfind(b"\n")
        if nl >= 0:
            return tail[nl + 1:]
    return tail


def append(log_path: Path, event: str, **fields: Any) -> str:
    """Append one ``event`` record and return the new head hash.

    The file is created with mode 0600. An exclusive ``flock`` covers read-last-line,
    write and fsync, so concurrent writers (batch workers, a purge next to a run) never
    interleave or reuse a ``seq``. A log whose last line is partial or unreadable is not
    appended to (``VerificationError``): chaining onto damage would hide it.
    """
    if not event or not isinstance(event, str):
        raise TypeError("audit event must be a non-empty string")
    clash = RESERVED & set(fields)
    if clash:
        raise TypeError(f"audit fields may not be named {', '.join(sorted(clash))}")
    log_path = Path(log_path)
    existed = log_path.exists()
    try:
        fd = os.open(log_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, LOG_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot open the audit log: {exc.strerror}", path=log_path) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_line(fd, log_path)
        if last is None:
            seq, prev = 0, ZERO_HASH
        else:
            try:
                prev_rec = json.loads(last)
                seq = int(prev_rec["seq"]) + 1
            except (ValueError, TypeError, KeyError) as exc:
                raise VerificationError("the audit log's last record is unreadable; run `anonymizer audit verify`",
                                        path=log_path) from exc
            prev = _sha(last)
        record: dict[str, Any] = dict(fields)
        record.update(seq=seq, prev=prev, event=event,
                      time_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"))
        record["hash"] = content_hash(record)
        line = canonical(record)
        data = (line + "\n").encode("ascii")
        while data:
            n = os.write(fd, data)
            data = data[n:]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    if not existed:
        fsync_dir(log_path.parent)
    return _sha(line)


_TYPES = {"seq": int, "time_utc": str, "prev": str, "event": str, "hash": str}


def record_run(log_path: Path, *, input: str | Path, output: str | Path, config_sha256: str, result: str, exit_code: int,
               input_sha256: str | None = None, output_sha256: str | None = None, rule: str | None = None,
               reason: str | None = None) -> str:
    """The one record a recording's run leaves (``run`` writes it; the batch writes it for a
    worker that died before it could): ``published`` with the input's and output's sha256,
    else ``quarantined``, ``refused`` or ``failed`` with the rule and the reason (500
    characters at most)."""
    where = {"os_user": os_user_name(), "input": str(input), "output": str(output), "config_sha256": config_sha256}
    if result == "published":
        return append(log_path, "run", **where, result=result, input_sha256=input_sha256, output_sha256=output_sha256,
                      exit_code=exit_code)
    return append(log_path, "run", **where, result=result, rule=rule, reason=(reason or "")[:500], exit_code=exit_code)


def _check_record(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one line (without newline); return the record or what is wrong with it."""
    try:
        text = raw.decode("ascii")
        rec = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None, "not a valid JSON record"
    if not isinstance(rec, dict):
        return None, "not a JSON object"
    for key, typ in _TYPES.items():
        if not isinstance(rec.get(key), typ) or isinstance(rec.get(key), bool):
            return None, f"malformed record: field {key!r} missing or of the wrong type"
    if canonical(rec) != text:
        return None, "record is not in canonical form (edited by hand?)"
    if rec["hash"] != content_hash(rec):
        return None, "record content does not match its hash (edited)"
    return rec, None


def verify(log_path: Path, *, expect_head: str | None = None, expect_records: int | None = None) -> VerifyResult:
    """Check the whole chain; return where the first problem is, if any.

    Detects an edited record (its own ``hash``, or the next record's ``prev``), a deleted
    or reordered record (``seq`` gap, ``prev`` mismatch) and a partial last line. Anchors
    catch what the file alone cannot show: ``expect_records=N`` requires at least N
    records; ``expect_head=H`` requires H to be the chain hash of record N (with both) or
    of some record (with ``expect_head`` only), so a log that lost trailing records, or was
    rewritten wholesale, fails.
    """
    log_path = Path(log_path)
    head, records = ZERO_HASH, 0
    anchor_line: int | None = None
    try:
        f = open(log_path, "rb")
    except FileNotFoundError:
        return VerifyResult(False, 0, ZERO_HASH, "audit log not found", None)
    except OSError as exc:
        return VerifyResult(False, 0, ZERO_HASH, f"cannot read the audit log: {exc.strerror}", None)
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)  # no half-written record from a concurrent append
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return VerifyResult(False, records, head, "truncated: the last line is an incomplete record", lineno)
            rec, problem = _check_record(raw[:-1])
            if rec is None:
                return VerifyResult(False, records, head, problem, lineno)
            if rec["seq"] != records:
                return VerifyResult(False, records, head, f"sequence gap: expected seq {records}, found {rec['seq']} "
                                    "(a record was deleted or records were reordered)", lineno)
            if rec["prev"] != head:
                return VerifyResult(False, records, head, "chain broken: prev does not match the previous record "
                                    "(a record was edited, deleted or reordered)", lineno)
            head = _sha(raw[:-1])
            records += 1
            if expect_head is not None and head == expect_head and expect_records in (None, records):
                anchor_line = lineno
    if expect_records is not None and records < expect_records:
        return VerifyResult(False, records, head, f"truncated: {records} records, the anchor says at least {expect_records}",
                            records + 1)
    if expect_head is not None and anchor_line is None:
        where = f"record {expect_records}" if expect_records is not None else "any record"
        return VerifyResult(False, records, head, f"anchor mismatch: {expect_head} is not the hash of {where} "
                            "(trailing records dropped or the log rewritten)", expect_records)
    return VerifyResult(True, records, head, None, None)
