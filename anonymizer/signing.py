"""Signed run reports: "published" is proven by an HMAC, not by a file that says so.

Why: ``anonymizer export`` lets a trainee take another agent's recording only once it is a
published anonymized output. A report is a plain JSON file: anyone who can write one next
to a copied original could otherwise make it "published". The pipeline signs the report
with the deployment's key (``[policy] report_key_file``) and export checks the signature
with :func:`hmac.compare_digest`; a missing, foreign or stale signature is not published.

* The MAC is HMAC-SHA256 over the report's canonical JSON (sorted keys, no spaces, ASCII)
  without its ``signature`` field, so any edit after signing (status, output sha256,
  agent) breaks it.
* The recording's agent is recorded as ``call.agent_hmac``, an HMAC of the employee id
  under the same key: export can match it against the ids of its access file, while the
  report, which sits in the published tree, never shows the id itself.
* Files trusted for a decision (policy, access file, key) are opened without following a
  symlink and refused when they, or their folder, can be written by anyone but root or the
  effective user (:func:`read_trusted`); the key must not be readable by group or others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from anonymizer.errors import ConfigError

ALG = "hmac-sha256"
MIN_KEY_BYTES = 32
SIGNATURE = "signature"


def trusted_owners(*more: int) -> frozenset[int]:
    """Root, the effective user, and ``more`` (the service user who owns the policy, a
    recording's owner)."""
    return frozenset((0, os.geteuid(), *more))


def folder_problem(folder: Path, owners: Collection[int]) -> str | None:
    """Why files in ``folder`` could have been put there by someone else, or None. A folder
    others may write to lets them rename or replace its files, unless it has the sticky bit
    (then only a file's owner may rename or delete it, as in /tmp)."""
    try:
        st = os.stat(folder)
    except OSError as exc:
        return f"its folder cannot be inspected ({exc.strerror})"
    if st.st_uid not in owners:
        return f"its folder is owned by uid {st.st_uid}"
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return f"its folder can be written by others (mode {stat.S_IMODE(st.st_mode):04o}): its files could be renamed or replaced"
    return None


def check_trusted(path: Path, st: os.stat_result, what: str, *, secret: bool = False,
                  owners: Collection[int] | None = None) -> None:
    """Refuse (ConfigError, exit 2) a file others could have written (or, ``secret``, read):
    owned by one of ``owners`` (default: root or the effective user), in such a folder."""
    owners = trusted_owners() if owners is None else owners
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} is not a regular file", path=path)
    if st.st_uid not in owners:
        raise ConfigError(f"{what} must be owned by uid {' or '.join(map(str, sorted(owners)))}, not uid {st.st_uid}", path=path)
    mask = 0o077 if secret else 0o022
    if st.st_mode & mask:
        kind = "readable or writable by group/others" if secret else "writable by group/others"
        raise ConfigError(f"{what} is {kind} (mode {stat.S_IMODE(st.st_mode):04o}); "
                          f"chmod {'600' if secret else 'go-w'} it", path=path)
    problem = folder_problem(path.parent, owners)
    if problem is not None:
        raise ConfigError(f"the {what} is not trusted: {problem}", path=path.parent)


def read_trusted(path: Path, what: str, *, secret: bool = False, owners: Collection[int] | None = None) -> bytes:
    """The bytes of a file the deployment decides with: no symlink, owned by root or the
    effective user (or ``owners``), not writable (``secret``: not accessible at all) by group
    or others, in a folder others cannot write to."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found", path=path) from exc
    except OSError as exc:
        if path.is_symlink():
            raise ConfigError(f"{what} is a symbolic link (refused)", path=path) from exc
        raise ConfigError(f"cannot open the {what}: {exc.strerror}", path=path) from exc
    with os.fdopen(fd, "rb") as f:
        check_trusted(path, os.fstat(f.fileno()), what, secret=secret, owners=owners)
        return f.read()


def load_key(path: Path, *, owners: Collection[int] | None = None) -> bytes:
    """The report key (``[policy] report_key_file``): at least 32 bytes, private."""
    return long_enough(read_trusted(Path(path), "report key file", secret=True, owners=owners), "report key file", path)


def long_enough(key: bytes, what: str, path: Path | str) -> bytes:
    """``key`` if it holds at least ``MIN_KEY_BYTES``; a short key is guessable (exit 2)."""
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{what} holds {len(key)} bytes; it needs at least {MIN_KEY_BYTES} random bytes "
                          f"(head -c 32 /dev/urandom)", path=path)
    return key


def canonical(report: dict[str, Any]) -> bytes:
    """The bytes signed: the report without its signature, sorted keys, no spaces."""
    body = {k: v for k, v in report.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def key_id(key: bytes) -> str:
    """A short name for a key, so a report signed with another key says so."""
    return hashlib.sha256(b"anonymizer report key id\0" + key).hexdigest()[:16]


def agent_hmac(key: bytes, agent_id: str) -> str:
    return hmac.new(key, b"agent\0" + agent_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def sign_report(report: dict[str, Any], key: bytes, *, agent_id: str | None) -> dict[str, Any]:
    """Add ``call.agent_hmac`` (when the agent is known) and the signature, in place."""
    call = report.setdefault("call", {})
    if agent_id is not None and agent_id.strip():
        call["agent_hmac"] = agent_hmac(key, agent_id)
    else:
        call.pop("agent_hmac", None)
    mac = hmac.new(key, canonical(report), hashlib.sha256).hexdigest()
    report[SIGNATURE] = {"alg": ALG, "key_id": key_id(key), "hmac": mac}
    return report


def signature_problem(report: dict[str, Any], key: bytes) -> str | None:
    """None when ``report`` carries a valid signature under ``key``, else why not."""
    sig = report.get(SIGNATURE)
    if sig is None:
        return "its report is not signed"
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not isinstance(sig.get("hmac"), str):
        return "its report's signature is malformed"
    if sig.get("key_id") != key_id(key):
        return "its report is signed with another key"
    mac = hmac.new(key, canonical(report), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, sig["hmac"]):
        return "its report's signature does not match (edited after signing)"
    return None
