"""Retention: delete original recordings once they are older than the policy allows.

Why: the CNIL limits how long raw recordings (screen + voice, customer data in clear) are
kept; anonymized outputs are what training keeps. ``purge`` therefore deletes originals
(every type the batch accepts: ``media._open.RECORDING_SUFFIXES``, the one list both read)
and their sidecars, and leaves anonymized outputs (``*.anon.mp4`` with
``*.anon.plan.json`` / ``*.anon.report.json``) alone unless asked. A sidecar shared by a
video and its separate audio (``call.mp4``, ``call.wav``, ``call.json``) goes only with the
last of them: an expired audio file must not strip a younger video of its sidecar.

Each deletion is written to the audit log *before* the file is unlinked (path, size,
sha256): a crash in between leaves a logged file that a rerun deletes and logs again,
never an unlogged deletion. Symbolic links and hidden temporary files (``.NAME.part-*``
from atomic writes) are never followed or deleted.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from anonymizer import audit
from anonymizer.errors import ConfigError, ProcessingError
from anonymizer.fsutil import sha256_file
from anonymizer.media._open import RECORDING_SUFFIXES, SIDECAR_SUFFIXES

ORIGINAL_SUFFIXES = RECORDING_SUFFIXES
OUTPUT_SUFFIX = ".anon.mp4"
OUTPUT_COMPANIONS = (".anon.plan.json", ".anon.report.json")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "w": 7 * 86400.0}


def parse_duration(text: str) -> float:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"2w"``, ``"45s"`` or a bare number of days -> days."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhmsw]?)\s*", text.lower())
    if not m:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 30d, 12h)")
    value, unit = float(m.group(1)), m.group(2) or "d"
    return value * _UNITS[unit] / 86400.0


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _targets(path: Path, include_outputs: bool) -> list[tuple[Path, str]]:
    """The files to delete with ``path`` if it is a recording (itself first), with their kind."""
    name = path.name
    lower = name.lower()
    if name.startswith(".") or ".part-" in name:
        return []
    if lower.endswith(OUTPUT_SUFFIX):
        if not include_outputs:
            return []
        base = name[: -len(OUTPUT_SUFFIX)]
        return [(path, "output")] + [(path.with_name(base + s), "output") for s in OUTPUT_COMPANIONS]
    if not _is_original(name):
        return []
    stem = path.stem
    return [(path, "original")] + [(path.with_name(stem + s), "sidecar") for s in SIDECAR_SUFFIXES]


def _is_original(name: str) -> bool:
    return not name.startswith(".") and ".part-" not in name and not name.lower().endswith(OUTPUT_SUFFIX) \
        and name.lower().endswith(ORIGINAL_SUFFIXES)


def _other_originals(sidecar: Path, chosen: set[Path]) -> bool:
    """Whether an original that shares ``sidecar``'s stem stays (is not being deleted)."""
    stem = sidecar.name
    for s in SIDECAR_SUFFIXES:
        if stem.endswith(s):
            stem = stem[: -len(s)]
            break
    try:
        names = os.listdir(sidecar.parent)
    except OSError:
        return True  # cannot tell: keep it
    for name in names:
        p = sidecar.parent / name
        if _is_original(name) and Path(name).stem == stem and p not in chosen and not p.is_symlink():
            return True
    return False


def purge(root: Path, *, older_than_days: float, include_outputs: bool = False, audit_log: Path | None = None,
          dry_run: bool = False, now: float | None = None) -> list[Path]:
    """Delete originals under ``root`` whose mtime is more than ``older_than_days`` ago.

    Companions (sidecar of an original; plan and report of an output) go with their
    recording, whatever their own age. Returns the deleted paths (the would-be deleted
    ones with ``dry_run``, which neither deletes nor logs)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("purge root is not a folder", path=root)
    if math.isnan(older_than_days) or older_than_days < 0:
        raise ConfigError(f"retention must be a non-negative duration, not {older_than_days!r} days")
    limit = (time.time() if now is None else now) - older_than_days * 86400.0
    chosen: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in _walk(root):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if path.is_symlink() or st.st_mtime >= limit:
            continue
        for target, kind in _targets(path, include_outputs):
            if target in seen or target.is_symlink() or not target.is_file():
                continue
            seen.add(target)
            chosen.append((target, kind))
    originals = {p for p, kind in chosen if kind == "original"}
    chosen = [(p, kind) for p, kind in chosen if kind != "sidecar" or not _other_originals(p, originals)]
    if dry_run:
        return [p for p, _ in chosen]
    deleted: list[Path] = []
    for target, kind in chosen:
        try:
            st = target.lstat()
            digest = sha256_file(target)
        except FileNotFoundError:
            continue  # deleted meanwhile (a concurrent purge)
        except OSError as exc:
            raise ProcessingError(f"cannot read before deleting: {exc.strerror}", path=target) from exc
        if audit_log is not None:
            audit.append(audit_log, "purge", path=str(target), kind=kind, sha256=digest, size=st.st_size,
                         mtime_utc=_dt.datetime.fromtimestamp(st.st_mtime, _dt.UTC).isoformat(timespec="seconds"),
                         older_than_days=older_than_days)
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ProcessingError(f"cannot delete: {exc.strerror}", path=target) from exc
        deleted.append(target)
    return deleted
