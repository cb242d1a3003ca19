"""Find the recordings under an inbox, each with its sidecar and separate audio if any.

A recording is a file with a video suffix (``VIDEO_SUFFIXES``); ``NAME.json`` or
``NAME.sidecar.json`` next to it is its CTI sidecar, ``NAME.wav`` (or another audio suffix)
its separate call audio. Hidden files and folders (a leading dot: our own temporary
outputs, editors' swap files) are never recordings."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from anonymizer.fsutil import sha256_file
from anonymizer.media._open import VIDEO_SUFFIXES

AUDIO_SUFFIXES = (".wav", ".flac", ".m4a", ".mp3", ".ogg", ".opus")


@dataclass(frozen=True)
class Recording:
    """One unit of batch work. ``rel`` is the video's path relative to the inbox."""

    video: Path
    rel: str
    sidecar: Path | None
    audio: Path | None
    size: int
    mtime: float
    out_name: str = ""  # output stem; NAME.anon, or NAME.EXT.anon when another video shares NAME

    def files(self) -> list[Path]:
        return [p for p in (self.video, self.sidecar, self.audio) if p is not None]

    def content_hash(self) -> str:
        """sha256 over the video's, sidecar's and audio's own sha256 (empty when absent):
        the same inputs under another name or folder are the same work."""
        parts = [sha256_file(self.video), sha256_file(self.sidecar) if self.sidecar else "", sha256_file(self.audio) if self.audio else ""]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def output_stem(self, outbox: Path) -> Path:
        """``OUTBOX/<same folders>/NAME.anon`` (add ``.mp4``, ``.plan.json``, ``.report.json``)."""
        rel = Path(self.rel)
        return Path(outbox) / rel.parent / (self.out_name or f"{rel.stem}.anon")


def _companion(video: Path, names: list[str]) -> Path | None:
    for name in names:
        p = video.with_name(name)
        if p.is_file():
            return p
    return None


def discover(inbox: Path, *, since_s: float | None = None, now: float | None = None) -> list[Recording]:
    """Recordings under ``inbox``, sorted by relative path (a stable order: quotas and
    reports do not depend on the file system's listing order). With ``since_s``, only
    recordings whose video was modified in the last ``since_s`` seconds."""
    inbox = Path(inbox)
    now = time.time() if now is None else now
    found: list[Recording] = []
    for dirpath, dirnames, filenames in os.walk(inbox):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(VIDEO_SUFFIXES):
                continue
            video = Path(dirpath) / name
            try:
                st = video.stat()
            except OSError:
                continue  # vanished between listing and stat
            if since_s is not None and st.st_mtime < now - since_s:
                continue
            stem = video.stem
            sidecar = _companion(video, [f"{stem}.sidecar.json", f"{stem}.json"])
            audio = _companion(video, [stem + s for s in AUDIO_SUFFIXES])
            found.append(Recording(video=video, rel=video.relative_to(inbox).as_posix(), sidecar=sidecar, audio=audio,
                                   size=st.st_size, mtime=st.st_mtime))
    found.sort(key=lambda r: r.rel)
    stems: dict[tuple[str, str], int] = {}
    for r in found:
        key = (str(Path(r.rel).parent), r.video.stem)
        stems[key] = stems.get(key, 0) + 1
    # call.mp4 and call.mkv side by side must not share call.anon.mp4
    return [dataclasses.replace(r, out_name=f"{r.video.name}.anon") if stems[(str(Path(r.rel).parent), r.video.stem)] > 1 else r
            for r in found]
