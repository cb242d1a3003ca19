"""The batch's memory between runs: one SQLite database (``OUTBOX/.anonymizer-batch.sqlite``).

A result is keyed by the *input hash* (the recording's video, sidecar and audio) and the
*config hash* (every output-changing setting plus the roster): a rerun skips what is done,
reprocesses what changed (a file or the policy), and retries transient failures up to
``[batch] max_attempts``. Only outcomes are stored: a batch killed mid-recording leaves no
row for it, so the next run simply does it again (its outputs are written atomically).
SQLite in WAL mode with ``synchronous=FULL``: a committed row survives a power cut."""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

# Outcomes that another attempt on the same inputs and config would not change.
FINAL = frozenset({"done", "bad_input", "refused", "quarantined", "bad_config"})
# Outcomes worth another attempt (a crash, a timeout, memory, a failed stage, a bug).
RETRYABLE = frozenset({"failed", "crashed", "timeout", "memory"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    input_hash   TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    exit_code    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    agent_id     TEXT,
    media_s      REAL NOT NULL DEFAULT 0,
    output_sha256 TEXT,
    updated_utc  TEXT NOT NULL,
    done_epoch   REAL,
    PRIMARY KEY (input_hash, config_hash)
);
CREATE INDEX IF NOT EXISTS results_agent ON results (agent_id, done_epoch);
"""


@dataclass(frozen=True)
class Result:
    input_hash: str
    config_hash: str
    path: str
    status: str
    reason: str
    exit_code: int
    attempts: int
    agent_id: str | None
    media_s: float
    output_sha256: str | None


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, input_hash: str, config_hash: str) -> Result | None:
        with closing(self._db.execute(
            "SELECT input_hash, config_hash, path, status, reason, exit_code, attempts, agent_id, media_s, output_sha256 "
            "FROM results WHERE input_hash = ? AND config_hash = ?", (input_hash, config_hash))) as cur:
            row = cur.fetchone()
        return Result(*row) if row else None

    def record(self, input_hash: str, config_hash: str, *, path: str, status: str, reason: str, exit_code: int,
               agent_id: str | None, media_s: float, output_sha256: str | None, now_epoch: float) -> Result:
        """Store one outcome (attempts counts every outcome for this key)."""
        prev = self.get(input_hash, config_hash)
        attempts = (prev.attempts if prev else 0) + 1
        now = _dt.datetime.fromtimestamp(now_epoch, _dt.UTC).isoformat(timespec="seconds")
        self._db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (input_hash, config_hash, path, status, reason[:1000], exit_code, attempts, agent_id, media_s, output_sha256, now,
             now_epoch if status == "done" else None))
        result = self.get(input_hash, config_hash)
        assert result is not None
        return result

    def done_since(self, agent_id: str | None, since_epoch: float) -> set[str]:
        """Input hashes of ``agent_id``'s recordings (None: those without an agent)
        published since then, under any config."""
        with closing(self._db.execute(
            "SELECT DISTINCT input_hash FROM results WHERE agent_id IS ? AND status = 'done' AND done_epoch >= ?",
            (agent_id, since_epoch))) as cur:
            return {row[0] for row in cur.fetchall()}

    def rows(self) -> Iterator[Result]:
        with closing(self._db.execute(
            "SELECT input_hash, config_hash, path, status, reason, exit_code, attempts, agent_id, media_s, output_sha256 "
            "FROM results ORDER BY path")) as cur:
            for row in cur.fetchall():
                yield Result(*row)
