"""Scale-out: a real ``dask scheduler`` and two ``dask worker`` processes on loopback; the
cluster's outputs are byte for byte the local run's."""

from __future__ import annotations

from pathlib import Path

from benchmarks import batch_reliability as rel
from benchmarks.corpus import RecordingPaths


def test_dask_cluster_matches_local_run(seeds: list[RecordingPaths], tmp_path: Path) -> None:
    rel.make_inbox(tmp_path / "in", seeds[:20])
    fig = rel.dask_vs_local(tmp_path / "in", tmp_path, workers=2)
    assert fig["recordings"] == fig["local_done"] == fig["dask_done"] == 20, fig
    assert fig["hashes_equal"], fig
    assert fig["rerun_done"] == 0 and fig["rerun_skipped"] == 20  # the cluster run's state is the same database
