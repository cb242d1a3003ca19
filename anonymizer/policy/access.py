"""Who may take which recording out of the store (``anonymizer export``).

Why: the CNIL lets a trainee watch another agent's recording only once it is anonymized,
and an agent may get their own recording. Every attempt, allowed or refused, is written to
the audit log before any byte is copied, and copies are private (0640, atomic).

Access file (TOML)::

    [users.alice]
    role = "trainee"          # trainee | trainer | admin
    agent_id = "E10234"       # optional: the user's own recordings
    team = "A"                # optional (or teams = ["A", "B"])

    [users.bob]
    role = "trainer"
    teams = ["A"]

    [agents.E10234]
    team = "A"

Rules, first match wins (``Decision.rule`` names it):

1. ``unknown_user``: a user not in the file is refused.
2. ``admin``: an admin may export anything.
3. ``own_recording``: a user whose ``agent_id`` is the recording's agent (sidecar
   ``agent_employee_id``) may export it, original or anonymized.
4. ``anonymized_only``: anything else must be a *published anonymized output*: a
   ``*.anon.mp4`` whose report (``*.anon.report.json`` next to it) says ``published`` and
   holds this file's sha256 (a quarantined output, a renamed original or a report of other
   bytes do not count).
5. ``anonymized``: a trainee may export any published anonymized output. Its owner is not
   needed: anonymized, it no longer identifies the agent, which is the CNIL condition
   (and a purge deletes the sidecar that names the agent).
6. ``team`` / ``not_team`` / ``owner_unknown``: a trainer may export published anonymized
   outputs of agents of their teams only (team from ``[agents]``); an unknown agent or
   team is refused.

The recording's agent comes from ``--sidecar`` or a sidecar found next to the recording
(``NAME.sidecar.json`` or ``NAME.json``; for ``NAME.anon.mp4`` also next to the original
named in its report).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer import audit
from anonymizer.errors import AnonymizerError, ConfigError, InputError, ProcessingError
from anonymizer.fsutil import atomic_path, sha256_file
from anonymizer.policy.gates import RuleRefusal
from anonymizer.sidecar import load_sidecar

ROLES = ("trainee", "trainer", "admin")
ANON_SUFFIX = ".anon.mp4"
_USER_KEYS = {"role", "agent_id", "team", "teams"}


@dataclass(frozen=True)
class User:
    name: str
    role: str
    agent_id: str | None = None
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    users: Mapping[str, User] = field(default_factory=dict)
    agent_teams: Mapping[str, str] = field(default_factory=dict)  # agent id -> team


@dataclass(frozen=True)
class Target:
    """The file asked for, as far as the rules care: its bytes' hash, whether it is a
    published anonymized output (else why not), and its agent if a sidecar names one."""

    path: Path
    sha256: str
    anonymized: bool
    not_anonymized_because: str | None
    owner_agent: str | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str


def _str(value: Any, what: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a non-empty string", path=path)
    return value.strip()


def load_access(path: Path) -> Access:
    """Read and validate the access file; unknown keys and roles are errors (exit 2)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("access file not found", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"access file is not valid TOML: {exc}", path=path) from exc
    unknown = set(raw) - {"users", "agents"}
    if unknown:
        raise ConfigError(f"access file has unknown section(s) {', '.join(sorted(unknown))} (known: agents, users)", path=path)
    users: dict[str, User] = {}
    for name, entry in (raw.get("users") or {}).items():
        if not isinstance(entry, dict):
            raise ConfigError(f"[users.{name}] must be a table", path=path)
        bad = set(entry) - _USER_KEYS
        if bad:
            raise ConfigError(f"[users.{name}] has unknown key(s) {', '.join(sorted(bad))}", path=path)
        role = _str(entry.get("role"), f"[users.{name}].role", path)
        if role not in ROLES:
            raise ConfigError(f"[users.{name}].role must be one of {', '.join(ROLES)}, not {role!r}", path=path)
        teams = list(entry.get("teams") or [])
        if "team" in entry:
            teams.append(entry["team"])
        agent = entry.get("agent_id")
        users[name] = User(name=name, role=role, agent_id=None if agent is None else _str(agent, f"[users.{name}].agent_id", path),
                           teams=tuple(_str(t, f"[users.{name}] team", path) for t in teams))
    agents: dict[str, str] = {}
    for agent_id, entry in (raw.get("agents") or {}).items():
        if not isinstance(entry, dict) or set(entry) != {"team"}:
            raise ConfigError(f"[agents.{agent_id}] must be a table with exactly one key, team", path=path)
        agents[agent_id] = _str(entry["team"], f"[agents.{agent_id}].team", path)
    return Access(users=users, agent_teams=agents)


def _sidecar_candidates(path: Path, report: dict[str, Any] | None) -> list[Path]:
    base = path.name[: -len(ANON_SUFFIX)] if path.name.lower().endswith(ANON_SUFFIX) else path.stem
    out = [path.with_name(base + ".sidecar.json"), path.with_name(base + ".json")]
    inp = (report or {}).get("input")
    src = inp.get("file") if isinstance(inp, dict) else None
    if isinstance(src, str):
        original = Path(src)
        out += [original.with_name(original.stem + ".sidecar.json"), original.with_name(original.stem + ".json")]
    return out


def _read_report(path: Path, sha: str) -> tuple[dict[str, Any] | None, str | None]:
    """The output's report if it vouches for these bytes, else (report or None, why not)."""
    if not path.name.lower().endswith(ANON_SUFFIX):
        return None, "not an anonymized output (*.anon.mp4)"
    report_path = path.with_name(path.stem + ".report.json")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no report {report_path.name} next to it"
    except (OSError, ValueError) as exc:
        return None, f"its report {report_path.name} is unreadable ({type(exc).__name__})"
    if not isinstance(report, dict):
        return None, f"its report {report_path.name} is not a JSON object"
    if report.get("status") != "published":
        return report, f"its report says {report.get('status')!r}, not 'published'"
    output = report.get("output")
    if not isinstance(output, dict) or output.get("sha256") != sha:
        return report, "its report is for other bytes (sha256 differs)"
    return report, None


def inspect_target(path: Path, *, sidecar: Path | None = None) -> Target:
    """Hash the file, decide whether it is a published anonymized output, find its agent."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise InputError("file not found (or not a regular file)", path=path)
    try:
        sha = sha256_file(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    report, why_not = _read_report(path, sha)
    side_path = sidecar
    if side_path is None:
        side_path = next((p for p in _sidecar_candidates(path, report) if p.is_file()), None)
    owner = load_sidecar(side_path).agent_employee_id if side_path is not None else None
    return Target(path=path, sha256=sha, anonymized=why_not is None, not_anonymized_because=why_not, owner_agent=owner)


def decide(access: Access, user_name: str, target: Target) -> Decision:
    """Apply the rules of the module docstring; pure, so every branch is testable."""
    user = access.users.get(user_name)
    if user is None:
        return Decision(False, "unknown_user", f"user {user_name!r} is not in the access file")
    if user.role == "admin":
        return Decision(True, "admin", "admins may export any recording")
    if user.agent_id is not None and target.owner_agent == user.agent_id:
        return Decision(True, "own_recording", "an agent may export their own recording")
    if not target.anonymized:
        owner = "" if target.owner_agent is not None else "; its agent is unknown (no sidecar)"
        return Decision(False, "anonymized_only", f"a {user.role} may export another agent's recording only in anonymized form: "
                        f"{target.not_anonymized_because}{owner}")
    if user.role == "trainee":
        return Decision(True, "anonymized", "a trainee may export published anonymized recordings")
    if target.owner_agent is None:
        return Decision(False, "owner_unknown", "the recording's agent is unknown (no sidecar); a trainer may export only "
                        "recordings of their teams")
    team = access.agent_teams.get(target.owner_agent)
    if team is not None and team in user.teams:
        return Decision(True, "team", f"a trainer may export anonymized recordings of team {team}")
    return Decision(False, "not_team", f"the recording's agent is not in {user_name}'s teams ({', '.join(user.teams) or 'none'})")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _destination(source: Path, dest: Path) -> Path:
    final = dest / source.name if dest.is_dir() else dest
    if not final.parent.is_dir():
        raise ConfigError("destination folder does not exist", path=final.parent)
    if final.exists() or final.is_symlink():
        raise ConfigError("destination already exists (exports never overwrite)", path=final)
    if final.resolve() == source.resolve():
        raise ConfigError("destination is the source itself", path=final)
    return final


def _copy(source: Path, final: Path, expected_sha: str) -> None:
    """Copy atomically (private temp file, 0640 at rename); the bytes copied must be the
    bytes the decision was made on, else nothing is published."""
    with atomic_path(final) as tmp:
        h = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if h.hexdigest() != expected_sha:
            raise ProcessingError("the file changed while it was being exported; nothing copied", path=source)


@dataclass(frozen=True)
class ExportResult:
    destination: Path
    sha256: str
    decision: Decision


def export(source: Path, dest: Path, *, user: str, access: Access, audit_log: Path, sidecar: Path | None = None) -> ExportResult:
    """Decide, log the attempt, then copy. A refusal raises :class:`RuleRefusal` (exit 6)
    after it is logged; an allowed export that cannot be done (destination exists, copy
    fails) is logged as ``failed`` and re-raised. Only a source that cannot be read at all
    (exit 3) or a bad sidecar (exit 2) is not logged: there are no bytes to name."""
    source = Path(source)
    target = inspect_target(source, sidecar=sidecar)
    decision = decide(access, user, target)
    known = access.users.get(user)
    fields: dict[str, Any] = {
        "user": user, "role": None if known is None else known.role, "os_user": _os_user(), "file": str(source),
        "sha256": target.sha256, "form": "anonymized" if target.anonymized else "original", "rule": decision.rule,
    }
    if not decision.allowed:
        audit.append(audit_log, "export", decision="refused", exit_code=RuleRefusal.exit_code, **fields)
        raise RuleRefusal(decision.rule, decision.reason, path=source)
    try:
        final = _destination(source, Path(dest))
    except ConfigError as exc:
        audit.append(audit_log, "export", decision="failed", exit_code=exc.exit_code, **fields)
        raise
    audit.append(audit_log, "export", decision="allowed", dest=str(final), **fields)
    try:
        _copy(source, final, target.sha256)
    except (OSError, AnonymizerError) as exc:
        code = exc.exit_code if isinstance(exc, AnonymizerError) else ProcessingError.exit_code
        audit.append(audit_log, "export", decision="failed", dest=str(final), exit_code=code, **fields)
        if isinstance(exc, AnonymizerError):
            raise
        raise ProcessingError(f"copy failed: {exc.strerror}", path=final) from exc
    return ExportResult(destination=final, sha256=target.sha256, decision=decision)
