"""Find the recordings under an inbox, each with its sidecar and separate audio if any.

A recording is a regular file with a video suffix (``VIDEO_SUFFIXES``); ``NAME.json`` or
``NAME.sidecar.json`` next to it is its CTI sidecar, ``NAME.wav`` (or another audio suffix)
its separate call audio. Hidden files and folders (a leading dot: our own temporary
outputs, editors' swap files, rsync's partial copies) are never recordings.

Symbolic links are never followed, wherever they point (issue 15, 7): a link out of the
inbox would publish a file nobody put in it, and a link that points inside today can be
re-pointed between the check and the read. Each link, each entry that is not a regular
file and each folder that cannot be listed is reported as ``Ignored`` with its reason; a
recording whose sidecar or audio is a link (or not a regular file) is ignored whole,
since processing it without them could drop the sidecar's exclusions."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from anonymizer.fsutil import sha256_file
from anonymizer.media._open import AUDIO_SUFFIXES, SIDECAR_SUFFIXES, VIDEO_SUFFIXES

__all__ = ["AUDIO_SUFFIXES", "Ignored", "Recording", "discover", "link_reason"]


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


@dataclass(frozen=True)
class Ignored:
    """An inbox entry the batch did not take, and why (listed in the summary)."""

    path: str  # relative to the inbox
    reason: str


def link_reason(link: Path, inbox: Path) -> str:
    """Why a symbolic link is not followed, naming where it points (dangling, a loop, out
    of the inbox, inside it)."""
    try:
        target = Path(os.path.realpath(link, strict=True))
    except RuntimeError:  # pragma: no cover - Python < 3.13 raises OSError(ELOOP) instead
        return "symbolic link loop (not followed)"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symbolic link loop (not followed)"
        return "dangling symbolic link (not followed)"
    if not target.is_relative_to(Path(inbox).resolve()):
        return "symbolic link pointing out of the inbox (not followed)"
    return "symbolic link (links are not followed, even inside the inbox)"


def _companion(video: Path, names: list[str], inbox: Path) -> tuple[Path | None, str | None]:
    """(the first of ``names`` next to ``video`` that exists, why it cannot be used)."""
    for name in names:
        p = video.with_name(name)
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            return None, f"its companion {name} cannot be read: {exc.strerror}"
        if stat.S_ISLNK(st.st_mode):
            return None, f"its companion {name} is a {link_reason(p, inbox)}"
        if not stat.S_ISREG(st.st_mode):
            return None, f"its companion {name} is not a regular file"
        return p, None
    return None, None


def _consider(path: Path, inbox: Path, since_s: float | None, now: float, found: list[Recording],
              ignored: list[Ignored]) -> None:
    """One listed file: a recording into ``found``, a file that looks like one but cannot be
    processed into ``ignored`` with why; anything else is left out silently."""
    rel = path.relative_to(inbox).as_posix()
    try:
        st = path.lstat()
    except OSError:
        return  # vanished between listing and stat
    if stat.S_ISLNK(st.st_mode):  # a link to a file, dangling, or a loop
        ignored.append(Ignored(rel, link_reason(path, inbox)))
        return
    if not stat.S_ISREG(st.st_mode):
        ignored.append(Ignored(rel, "not a regular file (a pipe, socket or device)"))
        return
    if not path.name.lower().endswith(VIDEO_SUFFIXES) or (since_s is not None and st.st_mtime < now - since_s):
        return
    stem = path.stem
    sidecar, why = _companion(path, [stem + s for s in SIDECAR_SUFFIXES], inbox)
    audio, why_audio = (None, None) if why else _companion(path, [stem + s for s in AUDIO_SUFFIXES], inbox)
    if why or why_audio:
        ignored.append(Ignored(rel, str(why or why_audio)))
        return
    found.append(Recording(video=path, rel=rel, sidecar=sidecar, audio=audio, size=st.st_size, mtime=st.st_mtime))


def discover(inbox: Path, *, since_s: float | None = None, now: float | None = None) -> tuple[list[Recording], list[Ignored]]:
    """Recordings under ``inbox``, sorted by relative path (a stable order: quotas and
    reports do not depend on the file system's listing order), and the entries ignored,
    with their reasons. With ``since_s``, only recordings whose video was modified in the
    last ``since_s`` seconds."""
    inbox = Path(inbox)
    now = time.time() if now is None else now
    found: list[Recording] = []
    ignored: list[Ignored] = []

    def rel(p: Path) -> str:
        return p.relative_to(inbox).as_posix()

    def unlisted(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else inbox
        ignored.append(Ignored(rel(where) if where != inbox else ".", f"folder cannot be listed: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(inbox, onerror=unlisted, followlinks=False):
        here = Path(dirpath)
        kept = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if (here / d).is_symlink():  # os.walk lists a link to a folder among the folders
                ignored.append(Ignored(rel(here / d), link_reason(here / d, inbox)))
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.startswith("."):
                _consider(here / name, inbox, since_s, now, found, ignored)
    found.sort(key=lambda r: r.rel)
    ignored.sort(key=lambda i: i.path)
    stems: dict[tuple[str, str], int] = {}
    for r in found:
        key = (str(Path(r.rel).parent), r.video.stem)
        stems[key] = stems.get(key, 0) + 1
    # call.mp4 and call.mkv side by side must not share call.anon.mp4
    recs = [dataclasses.replace(r, out_name=f"{r.video.name}.anon") if stems[(str(Path(r.rel).parent), r.video.stem)] > 1 else r
            for r in found]
    return recs, ignored
