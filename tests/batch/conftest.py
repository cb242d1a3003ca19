"""Batch fixtures: tiny generated recordings (320x180, 1 s, 5 fps, no audio) and the
helpers of ``benchmarks.batch_reliability``, which runs ``anonymizer batch`` as cron would
with the fast OCR of ``tests.batch.fakes`` (the batch machinery is under test; the models
are tested elsewhere)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import batch_reliability as rel
from benchmarks.corpus import RecordingPaths

FAST = rel.FAST
make_inbox = rel.make_inbox
write_policy = rel.write_policy
output_hashes = rel.output_hashes
leftovers = rel.leftovers


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[RecordingPaths]:
    """20 distinct tiny recordings (each a different screen and agent)."""
    return rel.seeds(tmp_path_factory.mktemp("seeds"), 20)


def run_batch_cli(inbox: Path, outbox: Path, policy: Path, *extra: str, factory: str = FAST, workers: int = 1,
                  timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return rel.run_cli(inbox, outbox, policy, *extra, factory=factory, workers=workers, timeout=timeout)
