"""Retention (``purge``): every type the batch accepts is purged, with its sidecars, from
the one shared list (issue 15, 8: 5 of 11 old originals were listed)."""

from __future__ import annotations

import os
from pathlib import Path

from anonymizer.batch.discover import AUDIO_SUFFIXES as BATCH_AUDIO
from anonymizer.media._open import AUDIO_SUFFIXES, RECORDING_SUFFIXES, VIDEO_SUFFIXES
from anonymizer.policy.retention import ORIGINAL_SUFFIXES, purge

OLD = 1_000_000_000.0  # 2001
NOW = OLD + 90 * 86400.0


def _touch(p: Path, mtime: float = OLD) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    os.utime(p, (mtime, mtime))
    return p


def test_every_type_the_batch_accepts_is_purged_with_its_sidecars(tmp_path: Path) -> None:
    assert set(VIDEO_SUFFIXES) >= {".mp4", ".mkv", ".webm", ".mov", ".m4v"}
    assert set(AUDIO_SUFFIXES) >= {".wav", ".flac", ".m4a", ".mp3", ".ogg", ".opus"}
    assert ORIGINAL_SUFFIXES == RECORDING_SUFFIXES and BATCH_AUDIO == AUDIO_SUFFIXES
    originals = [_touch(tmp_path / "in" / f"call{i}{s}") for i, s in enumerate(RECORDING_SUFFIXES)]
    sidecars = [_touch(p.with_name(p.stem + (".sidecar.json" if i % 2 else ".json"))) for i, p in enumerate(originals)]
    upper = _touch(tmp_path / "in" / "LOUD.MOV")
    output = _touch(tmp_path / "in" / "call0.anon.mp4")
    young = _touch(tmp_path / "in" / "young.opus", NOW)
    listed = purge(tmp_path, older_than_days=30, dry_run=True, now=NOW)
    assert set(listed) == set(originals) | set(sidecars) | {upper}
    assert len([p for p in listed if p.suffix != ".json"]) == 12  # the 11 types, any case
    deleted = purge(tmp_path, older_than_days=30, now=NOW)
    assert set(deleted) == set(listed)
    assert not any(p.exists() for p in listed) and output.exists() and young.exists()


def test_a_shared_sidecar_goes_with_the_last_of_its_recordings(tmp_path: Path) -> None:
    video = _touch(tmp_path / "call.mp4", NOW - 86400)  # a day old: kept
    audio = _touch(tmp_path / "call.wav")  # years old: purged
    sidecar = _touch(tmp_path / "call.json")
    assert purge(tmp_path, older_than_days=30, now=NOW) == [audio]
    assert video.exists() and sidecar.exists()  # the younger video keeps its sidecar
    assert purge(tmp_path, older_than_days=0.5, now=NOW) == [video, sidecar]


def test_links_and_temporary_files_are_never_purged(tmp_path: Path) -> None:
    outside = _touch(tmp_path / "outside" / "secret.flac")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.flac").symlink_to(outside)
    part = _touch(root / ".call.anon.mp4.part-0123abcd.m4a")
    assert purge(root, older_than_days=1, now=NOW) == []
    assert outside.exists() and part.exists() and (root / "link.flac").is_symlink()
