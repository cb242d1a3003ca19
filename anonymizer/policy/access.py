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
   ``*.anon.mp4`` whose report (``*.anon.report.json`` next to it) carries a valid HMAC
   under the deployment's key, says ``published`` and holds this file's sha256 (an
   unsigned or edited report, a quarantined output, a renamed original or a report of
   other bytes do not count).
5. ``anonymized``: a trainee may export any published anonymized output. Its owner is not
   needed: anonymized, it no longer identifies the agent, which is the CNIL condition
   (and a purge deletes the sidecar that names the agent).
6. ``team`` / ``not_team`` / ``owner_unknown``: a trainer may export published anonymized
   outputs of agents of their teams only (team from ``[agents]``); an unknown agent or
   team is refused.

Rule 0, ``as_other_user``: ``--as`` must be the OS user (:func:`os_user`) unless the OS user
is an admin of the access file.

The deployment decides, not the caller (:func:`load_deployment`): the policy file is
``$ANONYMIZER_POLICY`` or ``/etc/anonymizer/policy.toml`` (sudo's ``env_reset`` drops the
caller's variables), and its ``[policy]`` keys ``access_file``, ``report_key_file`` and
``audit_log`` name the rest. Each of these files must be a regular file (no symlink)
that only root or the effective user can write, in a folder likewise (the key: readable by
them only too); otherwise export refuses with exit 2.

The recording's agent comes from its own sidecar next to it (``NAME.sidecar.json`` or
``NAME.json``: a regular file, owned by root, the effective user or the recording's owner,
not writable by group/others), or, for a published ``NAME.anon.mp4``, from its signed
report (``call.agent_hmac``, matched against the ids of the access file). "Published"
means the report carries a valid HMAC under the deployment's key
(:mod:`anonymizer.signing`): a hand-written or edited report does not count.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import stat
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer import audit, signing
from anonymizer.config import Config, load_config
from anonymizer.errors import AnonymizerError, ConfigError, InputError, ProcessingError
from anonymizer.fsutil import atomic_path, sha256_file
from anonymizer.policy.gates import RuleRefusal
from anonymizer.sidecar import load_sidecar

ROLES = ("trainee", "trainer", "admin")
ANON_SUFFIX = ".anon.mp4"
_USER_KEYS = {"role", "agent_id", "team", "teams"}
POLICY_ENV = "ANONYMIZER_POLICY"
DEFAULT_POLICY = Path("/etc/anonymizer/policy.toml")


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

    def agent_ids(self) -> set[str]:
        """Every employee id the file knows (users' own and ``[agents]``)."""
        return {u.agent_id for u in self.users.values() if u.agent_id is not None} | set(self.agent_teams)


@dataclass(frozen=True)
class Target:
    """The file asked for, as far as the rules care: its bytes' hash, whether it is a
    published anonymized output (else why not), and its agent if known (else why not)."""

    path: Path
    sha256: str
    anonymized: bool
    not_anonymized_because: str | None
    owner_agent: str | None
    owner_unknown_because: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str


@dataclass(frozen=True)
class Deployment:
    """What the deployment's policy decides for ``export`` and ``purge``."""

    policy_path: Path
    service_uid: int  # the policy file's owner: with root, the only callers whose SUDO_USER counts
    config: Config
    audit_log: Path | None
    access: Access | None = None
    key: bytes | None = None


def _str(value: Any, what: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a non-empty string", path=path)
    return value.strip()


def load_access(path: Path, *, owners: Collection[int] | None = None) -> Access:
    """Read and validate the access file; unknown keys and roles are errors (exit 2), and
    so is a file others could have written (:func:`anonymizer.signing.read_trusted`)."""
    path = Path(path)
    data = signing.read_trusted(path, "access file", owners=owners)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
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


def policy_path() -> Path:
    """``$ANONYMIZER_POLICY`` if set (tests, services started without sudo), else
    ``/etc/anonymizer/policy.toml``. Never a command-line option."""
    env = os.environ.get(POLICY_ENV)
    return Path(env) if env else DEFAULT_POLICY


def load_deployment(*, for_export: bool = True) -> Deployment:
    """The deployment's policy and the files it names, each checked as trusted. Export
    needs all of them (exit 2 naming what is missing); purge needs the policy only."""
    path = policy_path()
    if not path.is_absolute():
        raise ConfigError(f"${POLICY_ENV} must be an absolute path", path=path)
    signing.read_trusted(path, "policy file")
    config = load_config(path)
    p = config.policy
    log = None
    if p.audit_log:
        log = Path(p.audit_log)
        if not log.is_absolute():  # else the caller's working folder would choose the log
            raise ConfigError(f"[policy] audit_log must be an absolute path, not {p.audit_log!r}", path=path)
    dep = Deployment(policy_path=path, service_uid=os.stat(path).st_uid, config=config, audit_log=log)
    if not for_export:
        return dep
    for key in ("audit_log", "access_file", "report_key_file"):
        if not getattr(p, key):
            raise ConfigError(f"export needs [policy] {key} in the deployment's policy", path=path)
    owners = signing.trusted_owners(dep.service_uid)  # root, who runs this, the service user
    return Deployment(policy_path=path, service_uid=dep.service_uid, config=config, audit_log=log,
                      access=load_access(Path(p.access_file), owners=owners),
                      key=signing.load_key(Path(p.report_key_file), owners=owners))


def os_user(service_uid: int) -> str:
    """Who is really asking: the real uid's login name (never ``$USER``/``$LOGNAME``).
    When the real uid is root or the service user and ``SUDO_USER`` is set, sudo's caller:
    only those uids can run a program with a ``SUDO_USER`` of their choosing anyway."""
    ruid = os.getuid()
    sudo_user = os.environ.get("SUDO_USER", "").strip()
    if sudo_user and ruid in (0, service_uid):
        return sudo_user
    try:
        return pwd.getpwuid(ruid).pw_name
    except KeyError:
        return f"uid:{ruid}"


def _report_path(path: Path) -> Path:
    return path.with_name(path.stem + ".report.json")


def _read_report(path: Path, sha: str, key: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The output's report if it is validly signed and vouches for these bytes, else
    (None, why not)."""
    if not path.name.lower().endswith(ANON_SUFFIX):
        return None, "not an anonymized output (*.anon.mp4)"
    report_path = _report_path(path)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no report {report_path.name} next to it"
    except (OSError, ValueError) as exc:
        return None, f"its report {report_path.name} is unreadable ({type(exc).__name__})"
    if not isinstance(report, dict):
        return None, f"its report {report_path.name} is not a JSON object"
    problem = signing.signature_problem(report, key)
    if problem is not None:
        return None, f"{problem} ({report_path.name}), so it is not proven published"
    if report.get("status") != "published":
        return None, f"its report says {report.get('status')!r}, not 'published'"
    output = report.get("output")
    if not isinstance(output, dict) or output.get("sha256") != sha:
        return None, "its report is for other bytes (sha256 differs)"
    return report, None


def report_owner(report: dict[str, Any], key: bytes, access: Access) -> tuple[str | None, str | None]:
    call = report.get("call")
    mac = call.get("agent_hmac") if isinstance(call, dict) else None
    if not isinstance(mac, str):
        return None, "its signed report names no agent"
    for agent_id in sorted(access.agent_ids()):
        if signing.agent_hmac(key, agent_id) == mac:
            return agent_id, None
    return None, "its report's agent is not in the access file"


def sidecar_owner(path: Path, recording: os.stat_result, service_uid: int | None) -> tuple[str | None, str | None]:
    """The agent named by the recording's own sidecar, else (None, why not). A sidecar
    someone else could have planted (a symlink, another owner, writable by others, a hard
    link) does not count: a hard link to an original next to a forged sidecar, or next to a
    hard link of the caller's own genuine sidecar, must not make it "own". Nor does one in a
    folder others may write to (without the sticky bit): there a genuine sidecar renamed
    to another recording's name, or a recording renamed next to one, keeps its owner and
    its single link."""
    owners = signing.trusted_owners(recording.st_uid, *(() if service_uid is None else (service_uid,)))
    folder = signing.folder_problem(path.parent, owners)
    if folder is not None:
        return None, f"its sidecar is not trusted: {folder}"
    base = path.name[: -len(ANON_SUFFIX)] if path.name.lower().endswith(ANON_SUFFIX) else path.stem
    for cand in (path.with_name(base + ".sidecar.json"), path.with_name(base + ".json")):
        try:
            st = os.lstat(cand)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return None, f"its sidecar {cand.name} cannot be read ({exc.strerror})"
        if not stat.S_ISREG(st.st_mode):
            return None, f"its sidecar {cand.name} is not a regular file (a link is never trusted)"
        if st.st_uid not in owners or st.st_mode & 0o022:
            return None, f"its sidecar {cand.name} is not trusted (owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o})"
        if st.st_nlink != 1:  # another recording's genuine sidecar, hard-linked here
            return None, f"its sidecar {cand.name} has {st.st_nlink} hard links (not trusted)"
        agent = load_sidecar(cand).agent_employee_id
        return (agent, None) if agent else (None, f"its sidecar {cand.name} names no agent")
    return None, "no sidecar next to it"


def inspect_target(path: Path, *, key: bytes, access: Access, service_uid: int | None = None) -> Target:
    """Hash the file, decide whether it is a published anonymized output (signed report),
    find its agent (signed report, else the sidecar next to it)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise InputError("file not found (or not a regular file)", path=path) from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputError("file not found (or not a regular file)", path=path)
    try:
        sha = sha256_file(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    report, why_not = _read_report(path, sha, key)
    owner, owner_why = report_owner(report, key, access) if report is not None else sidecar_owner(path, st, service_uid)
    return Target(path=path, sha256=sha, anonymized=report is not None, not_anonymized_because=why_not, owner_agent=owner,
                  owner_unknown_because=owner_why)


def _identity_refused(access: Access, user_name: str, os_user: str | None) -> Decision | None:
    """Rules 0 and 1: only an admin acts as someone else, and the user must be known."""
    if os_user is not None and os_user != user_name:
        acting = access.users.get(os_user)
        if acting is None or acting.role != "admin":
            return Decision(False, "as_other_user", f"OS user {os_user!r} may not act as {user_name!r} (only an admin may)")
    if user_name not in access.users:
        return Decision(False, "unknown_user", f"user {user_name!r} is not in the access file")
    return None


def decide(access: Access, user_name: str, target: Target, *, os_user: str | None = None) -> Decision:
    """Apply the rules of the module docstring; pure, so every branch is testable."""
    refused = _identity_refused(access, user_name, os_user)
    if refused is not None:
        return refused
    user = access.users[user_name]
    if user.role == "admin":
        return Decision(True, "admin", "admins may export any recording")
    if user.agent_id is not None and target.owner_agent == user.agent_id:
        return Decision(True, "own_recording", "an agent may export their own recording")
    unknown = f"; its agent is unknown ({target.owner_unknown_because or 'no sidecar'})"
    if not target.anonymized:
        owner = "" if target.owner_agent is not None else unknown
        return Decision(False, "anonymized_only", f"a {user.role} may export another agent's recording only in anonymized form: "
                        f"{target.not_anonymized_because}{owner}")
    if user.role == "trainee":
        return Decision(True, "anonymized", "a trainee may export published anonymized recordings")
    if target.owner_agent is None:
        return Decision(False, "owner_unknown", f"a trainer may export only recordings of their teams{unknown}")
    return _team_decision(access, user, target.owner_agent, "a trainer may export anonymized recordings of team")


def decide_original(access: Access, user_name: str, owner_agent: str | None, *, os_user: str | None = None) -> Decision:
    """Who may see a recording's original pixels and sound (``review --with-original``,
    and un-hiding in ``render --overrides``): an admin, or a trainer of the agent's team.
    An agent is not enough even for their own call: the original shows the customer too."""
    refused = _identity_refused(access, user_name, os_user)
    if refused is not None:
        return refused
    user = access.users[user_name]
    if user.role == "admin":
        return Decision(True, "admin", "admins may see any original")
    if user.role != "trainer":
        return Decision(False, "role", f"a {user.role} may not see originals (a trainer of the agent's team or an admin may)")
    if owner_agent is None:
        return Decision(False, "owner_unknown", "the recording's agent is unknown, so no team's trainer may see its original")
    return _team_decision(access, user, owner_agent, "a trainer may see originals of team")


def _team_decision(access: Access, user: User, owner_agent: str, granted: str) -> Decision:
    """A trainer's rule: allowed when the recording's agent is in one of their teams."""
    team = access.agent_teams.get(owner_agent)
    if team is not None and team in user.teams:
        return Decision(True, "team", f"{granted} {team}")
    return Decision(False, "not_team", f"the recording's agent is not in {user.name}'s teams ({', '.join(user.teams) or 'none'})")


def _caller_account(os_user: str) -> pwd.struct_passwd | None:
    """The account the copy is for when it is not the one this runs as (``sudo``), else
    None. An OS user that names no account is refused: the copy would be nobody's."""
    try:
        account = pwd.getpwnam(os_user)
    except KeyError as exc:
        if os_user == f"uid:{os.getuid()}":
            return None
        raise ConfigError(f"OS user {os_user!r} has no account: the copy would belong to nobody") from exc
    return None if account.pw_uid == os.geteuid() else account


def _may_write(folder: Path, account: pwd.struct_passwd) -> bool:
    """Whether ``account`` could create a file in ``folder`` itself (owner, group or other
    write and search bits; root may always): a privileged export must not let its caller
    drop files where they could not."""
    if account.pw_uid == 0:
        return True
    st = os.stat(folder)
    if st.st_uid == account.pw_uid:
        return st.st_mode & 0o300 == 0o300
    if st.st_gid in os.getgrouplist(account.pw_name, account.pw_gid):
        return st.st_mode & 0o030 == 0o030
    return st.st_mode & 0o003 == 0o003


def _destination(source: Path, dest: Path, account: pwd.struct_passwd | None = None) -> Path:
    final = dest / source.name if dest.is_dir() else dest
    if not final.parent.is_dir():
        raise ConfigError("destination folder does not exist", path=final.parent)
    if account is not None and not _may_write(final.parent, account):
        raise ConfigError(f"{account.pw_name} cannot write to the destination folder", path=final.parent)
    if final.exists() or final.is_symlink():
        raise ConfigError("destination already exists (exports never overwrite)", path=final)
    if final.resolve() == source.resolve():
        raise ConfigError("destination is the source itself", path=final)
    return final


def _copy(source: Path, final: Path, expected_sha: str, account: pwd.struct_passwd | None = None) -> None:
    """Copy atomically (private temp file, 0640 at rename); the bytes copied must be the
    bytes the decision was made on, else nothing is published. Under sudo the copy is
    handed to the caller (``account``) before it is renamed into place: it is theirs, not
    root's or the service's."""
    with atomic_path(final) as tmp:
        h = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                out.write(block)
            if account is not None:
                try:
                    os.fchown(out.fileno(), account.pw_uid, account.pw_gid)
                except PermissionError as exc:
                    raise ConfigError(f"export runs as uid {os.geteuid()}, which cannot hand the copy to {account.pw_name}: "
                                      "run it through sudo as root", path=final) from exc
        if h.hexdigest() != expected_sha:
            raise ProcessingError("the file changed while it was being exported; nothing copied", path=source)


@dataclass(frozen=True)
class ExportResult:
    destination: Path
    sha256: str
    decision: Decision


def export(source: Path, dest: Path, *, user: str, os_user: str, access: Access, key: bytes, audit_log: Path,
           service_uid: int | None = None) -> ExportResult:
    """Decide, log the attempt, then copy. Every attempt is logged with both names (``user``
    asked for with ``--as``, ``os_user`` who really asks): a refusal raises
    :class:`RuleRefusal` (exit 6) after it is logged; an export that cannot be done (source
    unreadable, bad sidecar, destination exists, copy fails) is logged as ``failed`` and
    re-raised. The deployment's files come from :func:`load_deployment`, never the caller."""
    source = Path(source)
    known, acting = access.users.get(user), access.users.get(os_user)
    fields: dict[str, Any] = {"user": user, "role": None if known is None else known.role, "os_user": os_user,
                              "os_user_role": None if acting is None else acting.role, "file": str(source)}
    try:
        target = inspect_target(source, key=key, access=access, service_uid=service_uid)
    except AnonymizerError as exc:
        audit.append(audit_log, "export", decision="failed", exit_code=exc.exit_code, reason=str(exc)[:500], **fields)
        raise
    decision = decide(access, user, target, os_user=os_user)
    fields.update(sha256=target.sha256, form="anonymized" if target.anonymized else "original", rule=decision.rule)
    if not decision.allowed:
        audit.append(audit_log, "export", decision="refused", exit_code=RuleRefusal.exit_code, **fields)
        raise RuleRefusal(decision.rule, decision.reason, path=source)
    try:
        account = _caller_account(os_user)
        final = _destination(source, Path(dest), account)
    except ConfigError as exc:
        audit.append(audit_log, "export", decision="failed", exit_code=exc.exit_code, **fields)
        raise
    audit.append(audit_log, "export", decision="allowed", dest=str(final), **fields)
    try:
        _copy(source, final, target.sha256, account)
    except (OSError, AnonymizerError) as exc:
        code = exc.exit_code if isinstance(exc, AnonymizerError) else ProcessingError.exit_code
        audit.append(audit_log, "export", decision="failed", dest=str(final), exit_code=code, **fields)
        if isinstance(exc, AnonymizerError):
            raise
        raise ProcessingError(f"copy failed: {exc.strerror}", path=final) from exc
    return ExportResult(destination=final, sha256=target.sha256, decision=decision)
