"""``audit verify``, ``purge`` and ``export`` through click, on tiny dummy files.

The commands are attached to a local group with ``register``, exactly as the main group
attaches them, so these tests do not depend on the main CLI's wiring.

The deployment is a folder ``etc/`` holding the policy, the access file and the report key;
``$ANONYMIZER_POLICY`` points at it (a real service reads /etc/anonymizer/policy.toml under
sudo). The caller is named by ``SUDO_USER``: these tests run as the policy file's owner,
whose ``SUDO_USER`` is trusted, just as root's is under sudo."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from anonymizer import audit, signing
from anonymizer._cli.admin import register
from anonymizer.policy import access as access_mod

ACCESS = """
[users.alice]
role = "trainee"
agent_id = "E10234"
team = "A"

[users.bob]
role = "trainer"
teams = ["A"]

[users.carol]
role = "admin"

[agents.E10234]
team = "A"

[agents.E20000]
team = "A"

[agents.E30000]
team = "B"
"""
KEY = bytes(range(32))
OTHER_UID = 4242  # not root, not us: a file it owns is not trusted

_REAL_CALLER_ACCOUNT = access_mod._caller_account
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


@click.group()
@click.option("--debug", is_flag=True)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    ctx.obj = {"debug": debug}


register(cli)


@dataclass
class Store:
    root: Path
    etc: Path
    policy: Path
    access: Path
    key: Path
    log: Path
    dest: Path


def invoke(*args: object, caller: str | None = None) -> Result:
    env = {} if caller is None else {"SUDO_USER": caller}
    return CliRunner(env=env).invoke(cli, [str(a) for a in args])


def _report(root: Path, name: str, data: bytes, status: str, sha: str | None = None) -> dict[str, object]:
    return {"status": status, "input": {"file": str(root / f"{name}.mp4")}, "call": {"call_id": name},
            "output": {"file": str(root / f"{name}.anon.mp4"), "sha256": sha or hashlib.sha256(data).hexdigest()}}


def _recording(root: Path, name: str, agent: str, *, anon_status: str | None = None, report_sha: str | None = None,
               signed: bool = True, key: bytes = KEY) -> None:
    (root / f"{name}.mp4").write_bytes(f"original {name}".encode())
    (root / f"{name}.sidecar.json").write_text(json.dumps({"agent_employee_id": agent, "purpose": "training"}))
    if anon_status is not None:
        data = f"anonymized {name}".encode()
        (root / f"{name}.anon.mp4").write_bytes(data)
        report = _report(root, name, data, anon_status, report_sha)
        if signed:
            signing.sign_report(report, key, agent_id=agent)
        (root / f"{name}.anon.report.json").write_text(json.dumps(report, indent=1))


def _write(path: Path, text: str | bytes, mode: int = 0o644) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    root = tmp_path / "store"
    root.mkdir()
    _recording(root, "own", "E10234")
    _recording(root, "mate", "E20000", anon_status="published")
    _recording(root, "far", "E30000", anon_status="published")
    _recording(root, "bad", "E20000", anon_status="quarantined")
    _recording(root, "fake", "E20000", anon_status="published", report_sha="0" * 64)
    _recording(root, "unsigned", "E20000", anon_status="published", signed=False)
    _recording(root, "foreign", "E20000", anon_status="published", key=b"k" * 32)
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    etc.chmod(0o755)
    access = _write(etc / "access.toml", ACCESS)
    key = _write(etc / "report.key", KEY, 0o600)
    log = tmp_path / "var" / "audit.jsonl"
    log.parent.mkdir()
    policy = _write(etc / "policy.toml", f'[policy]\naudit_log = "{log}"\naccess_file = "{access}"\nreport_key_file = "{key}"\n')
    monkeypatch.setenv("ANONYMIZER_POLICY", str(policy))
    monkeypatch.delenv("SUDO_USER", raising=False)
    # alice, bob... are names in the access file, not accounts on this host: the copy stays
    # with the user running the tests (test_export_under_sudo_is_handed_to_the_caller
    # exercises the real account lookup)
    monkeypatch.setattr(access_mod, "_caller_account", lambda os_user: None)
    dest = tmp_path / "out"
    dest.mkdir()
    return Store(root, etc, policy, access, key, log, dest)


def export(store: Store, path: Path | str, user: str | None, *, caller: str | None = None, dest: Path | None = None) -> Result:
    path = store.root / path if isinstance(path, str) else path
    args: list[object] = ["export", path, "--to", dest or store.dest]
    if user is not None:
        args += ["--as", user]
    return invoke(*args, caller=caller or user)


def _records(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _refused(res: Result, rule: str) -> str:
    assert res.exit_code == 6, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anonymizer: error: ") and f"refused by policy rule '{rule}'" in lines[0]
    return lines[0]


def _config_error(res: Result, path: Path, words: str) -> None:
    assert res.exit_code == 2, res.output
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and str(path) in line and words in line, line


# -- export: allowed ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "user", "rule"), [
    ("own.mp4", "alice", "own_recording"),
    ("mate.anon.mp4", "alice", "anonymized"),
    ("far.anon.mp4", "alice", "anonymized"),
    ("mate.anon.mp4", "bob", "team"),
    ("far.mp4", "carol", "admin"),
])
def test_export_allowed(store: Store, name: str, user: str, rule: str) -> None:
    res = export(store, name, user)
    assert res.exit_code == 0, res.output
    copy = store.dest / name
    assert copy.read_bytes() == (store.root / name).read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640
    assert f"rule {rule}" in res.output
    (rec,) = _records(store.log)
    assert rec["event"] == "export" and rec["decision"] == "allowed" and rec["rule"] == rule
    assert rec["user"] == user and rec["os_user"] == user
    assert rec["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert not [p for p in store.dest.iterdir() if p.name.startswith(".")]  # no temp file left


def test_export_as_defaults_to_the_os_user(store: Store) -> None:
    res = export(store, "own.mp4", None, caller="alice")
    assert res.exit_code == 0, res.output
    (rec,) = _records(store.log)
    assert rec["user"] == rec["os_user"] == "alice" and rec["rule"] == "own_recording"


def test_anonymized_output_agent_comes_from_its_signed_report(store: Store) -> None:
    # no sidecar next to the output or the original: the trainer's team rule still works,
    # from call.agent_hmac in the signed report, which never shows the id itself
    for p in store.root.glob("*.sidecar.json"):
        p.unlink()
    assert "E20000" not in (store.root / "mate.anon.report.json").read_text()
    assert export(store, "mate.anon.mp4", "bob").exit_code == 0
    _refused(export(store, "far.anon.mp4", "bob"), "not_team")


# -- export: refused ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "user", "rule"), [
    ("mate.mp4", "alice", "anonymized_only"),
    ("bad.anon.mp4", "alice", "anonymized_only"),
    ("fake.anon.mp4", "alice", "anonymized_only"),
    ("unsigned.anon.mp4", "alice", "anonymized_only"),
    ("foreign.anon.mp4", "alice", "anonymized_only"),
    ("mate.mp4", "bob", "anonymized_only"),
    ("far.anon.mp4", "bob", "not_team"),
    ("own.mp4", "mallory", "unknown_user"),
])
def test_export_refused(store: Store, name: str, user: str, rule: str) -> None:
    _refused(export(store, name, user), rule)
    assert list(store.dest.iterdir()) == []
    (rec,) = _records(store.log)
    assert rec["decision"] == "refused" and rec["rule"] == rule and rec["exit_code"] == 6 and rec["os_user"] == user


@pytest.mark.parametrize(("name", "why"), [
    ("bad.anon.mp4", "'quarantined', not 'published'"),
    ("unsigned.anon.mp4", "not signed"),
    ("foreign.anon.mp4", "signed with another key"),
    ("fake.anon.mp4", "other bytes"),
])
def test_export_refusal_says_why(store: Store, name: str, why: str) -> None:
    assert why in export(store, name, "alice").stderr


def test_export_needs_an_owner_to_copy_an_original(store: Store) -> None:
    (store.root / "own.sidecar.json").unlink()
    line = _refused(export(store, "own.mp4", "alice"), "anonymized_only")
    assert "agent is unknown" in line


# -- the bypasses of issue 15 ---------------------------------------------------------------

@pytest.mark.parametrize("option", ["--access", "--audit-log", "--policy", "--sidecar"])
def test_caller_cannot_choose_access_log_policy_or_sidecar(store: Store, tmp_path: Path, option: str) -> None:
    forged = _write(tmp_path / "mine.toml", '[users.alice]\nrole = "admin"\n')
    res = invoke("export", store.root / "mate.mp4", "--as", "alice", "--to", store.dest, option, forged, caller="alice")
    assert res.exit_code == 2 and "No such option" in res.output
    assert list(store.dest.iterdir()) == []


def test_forged_sidecar_next_to_a_hard_link_is_not_trusted(store: Store, tmp_path: Path) -> None:
    """A trainee hard-links another agent's original into their own folder and writes a
    sidecar naming themselves: the sidecar is not the recording's own, nothing is copied."""
    mine = tmp_path / "mine"
    mine.mkdir()
    os.link(store.root / "mate.mp4", mine / "mate.mp4")
    forged = _write(mine / "mate.sidecar.json", json.dumps({"agent_employee_id": "E10234"}))
    if os.geteuid() == 0:
        os.chown(forged, OTHER_UID, -1)  # the trainee's file, not the service's or the recording's owner's
    else:
        forged.chmod(0o666)  # cannot chown: one writable by others is not trusted either
    line = _refused(export(store, mine / "mate.mp4", "alice"), "anonymized_only")
    assert "not trusted" in line and list(store.dest.iterdir()) == []


def test_hard_linked_genuine_sidecar_is_not_trusted(store: Store, tmp_path: Path) -> None:
    """Both hard-linked into the caller's folder: another's original and the caller's own
    genuine sidecar (possible where fs.protected_hardlinks is off)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    os.link(store.root / "mate.mp4", mine / "mate.mp4")
    os.link(store.root / "own.sidecar.json", mine / "mate.sidecar.json")
    line = _refused(export(store, mine / "mate.mp4", "alice"), "anonymized_only")
    assert "hard links" in line and list(store.dest.iterdir()) == []


def test_symlinked_sidecar_is_not_trusted(store: Store, tmp_path: Path) -> None:
    elsewhere = _write(tmp_path / "forged.json", json.dumps({"agent_employee_id": "E10234"}))
    (store.root / "mate.sidecar.json").unlink()
    (store.root / "mate.sidecar.json").symlink_to(elsewhere)
    line = _refused(export(store, "mate.mp4", "alice"), "anonymized_only")
    assert "not a regular file" in line


def test_hand_written_published_report_next_to_a_copied_original(store: Store, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    data = (store.root / "mate.mp4").read_bytes()
    (mine / "mate.anon.mp4").write_bytes(data)
    (mine / "mate.anon.report.json").write_text(json.dumps({"status": "published", "output": {"sha256": hashlib.sha256(data).hexdigest()}}))
    line = _refused(export(store, mine / "mate.anon.mp4", "alice"), "anonymized_only")
    assert "not signed" in line and list(store.dest.iterdir()) == []


def test_report_edited_after_signing(store: Store) -> None:
    """A signed quarantined report edited to say "published" (and a signed published one
    whose sha256 is changed to another file's) no longer proves anything."""
    report_path = store.root / "bad.anon.report.json"
    report = json.loads(report_path.read_text())
    report["status"] = "published"
    report_path.write_text(json.dumps(report))
    line = _refused(export(store, "bad.anon.mp4", "alice"), "anonymized_only")
    assert "edited after signing" in line
    # the original's bytes under a name and report taken from a published output
    report_path = store.root / "mate.anon.report.json"
    report = json.loads(report_path.read_text())
    report["output"]["sha256"] = hashlib.sha256((store.root / "mate.mp4").read_bytes()).hexdigest()
    report_path.write_text(json.dumps(report))
    (store.root / "mate.anon.mp4").write_bytes((store.root / "mate.mp4").read_bytes())
    assert "edited after signing" in _refused(export(store, "mate.anon.mp4", "alice"), "anonymized_only")


def test_as_someone_else_is_refused_unless_the_os_user_is_an_admin(store: Store) -> None:
    line = _refused(export(store, "own.mp4", "alice", caller="bob"), "as_other_user")
    assert "'bob' may not act as 'alice'" in line and list(store.dest.iterdir()) == []
    _refused(export(store, "own.mp4", "alice", caller="mallory"), "as_other_user")
    refused = _records(store.log)
    assert [(r["user"], r["os_user"], r["decision"]) for r in refused] == [("alice", "bob", "refused"), ("alice", "mallory", "refused")]
    res = export(store, "own.mp4", "alice", caller="carol")  # an admin may act for a user
    assert res.exit_code == 0 and "rule own_recording" in res.output
    rec = _records(store.log)[-1]
    assert (rec["user"], rec["os_user"], rec["os_user_role"], rec["decision"]) == ("alice", "carol", "admin", "allowed")


def test_without_sudo_the_os_user_is_the_real_uid(store: Store) -> None:
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    res = invoke("export", store.root / "own.mp4", "--as", "alice", "--to", store.dest, caller=None)
    _refused(res, "as_other_user" if me != "alice" else "own_recording")
    assert _records(store.log)[-1]["os_user"] == me


def test_sidecar_in_a_folder_others_can_write_is_not_trusted(store: Store) -> None:
    """There a trainee could rename a genuine sidecar to another recording's name (or the
    recording next to theirs): owner and single link survive a rename, the folder's mode
    is what forbids it. With the sticky bit (as /tmp) only a file's owner may rename it."""
    store.root.chmod(0o777)
    assert "folder can be written by others" in _refused(export(store, "own.mp4", "alice"), "anonymized_only")
    store.root.chmod(0o1777)
    assert export(store, "own.mp4", "alice").exit_code == 0


@needs_root
def test_export_under_sudo_is_handed_to_the_caller(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under sudo the copy is the caller's, and only where the caller could write itself."""
    import pwd

    monkeypatch.setattr(access_mod, "_caller_account", _REAL_CALLER_ACCOUNT)
    nobody = pwd.getpwnam("nobody")
    store.access.write_text(ACCESS + '\n[users.nobody]\nrole = "trainee"\nagent_id = "E10234"\n'
                                     '[users.ghost-user-x]\nrole = "admin"\n')
    res = export(store, "own.mp4", None, caller="nobody")  # sudo -> root, SUDO_USER=nobody
    _config_error(res, store.dest, "nobody cannot write to the destination folder")
    assert list(store.dest.iterdir()) == []
    store.dest.chmod(0o777)
    res = export(store, "own.mp4", None, caller="nobody")
    assert res.exit_code == 0, res.output
    copy = store.dest / "own.mp4"
    assert (copy.stat().st_uid, copy.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640
    res = export(store, "mate.mp4", None, caller="ghost-user-x")  # allowed, but the copy would be nobody's
    assert res.exit_code == 2 and "has no account" in res.stderr and list(store.dest.iterdir()) == [copy]


# -- export: the deployment's files ---------------------------------------------------------

def test_missing_deployment_files(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "policy.toml"
    monkeypatch.setenv("ANONYMIZER_POLICY", str(missing))
    _config_error(export(store, "own.mp4", "alice"), missing, "policy file not found")
    monkeypatch.setenv("ANONYMIZER_POLICY", str(store.policy))
    store.key.unlink()
    _config_error(export(store, "own.mp4", "alice"), store.key, "report key file not found")
    store.access.unlink()
    _config_error(export(store, "own.mp4", "alice"), store.access, "access file not found")
    assert not store.log.exists()


@pytest.mark.parametrize("key", ["access_file", "report_key_file", "audit_log"])
def test_policy_must_name_every_file(store: Store, key: str) -> None:
    text = "\n".join(line for line in store.policy.read_text().splitlines() if not line.startswith(key))
    _write(store.policy, text)
    _config_error(export(store, "own.mp4", "alice"), store.policy, f"[policy] {key}")


def test_relative_paths_in_the_policy_are_refused(store: Store) -> None:
    _write(store.policy, store.policy.read_text().replace(f'audit_log = "{store.log}"', 'audit_log = "audit.jsonl"'))
    _config_error(export(store, "own.mp4", "alice"), store.policy, "absolute")
    _write(store.policy, '[policy]\naccess_file = "access.toml"\n')
    _config_error(export(store, "own.mp4", "alice"), store.policy, "absolute")


@pytest.mark.parametrize(("which", "mode", "words"), [
    ("policy", 0o666, "writable by group/others"),
    ("policy", 0o664, "writable by group/others"),
    ("access", 0o646, "writable by group/others"),
    ("key", 0o640, "readable or writable by group/others"),
    ("key", 0o604, "readable or writable by group/others"),
])
def test_files_others_can_write_are_refused(store: Store, which: str, mode: int, words: str) -> None:
    path: Path = getattr(store, which)
    path.chmod(mode)
    _config_error(export(store, "mate.mp4", "alice"), path, words)
    assert list(store.dest.iterdir()) == []


def test_folder_others_can_write_is_refused(store: Store) -> None:
    store.etc.chmod(0o777)
    _config_error(export(store, "own.mp4", "alice"), store.etc, "written by others")


@needs_root
@pytest.mark.parametrize("which", ["policy", "access", "key"])
def test_files_owned_by_someone_else_are_refused(store: Store, which: str) -> None:
    path: Path = getattr(store, which)
    os.chown(path, OTHER_UID, -1)
    _config_error(export(store, "own.mp4", "alice"), path, f"not uid {OTHER_UID}")


def test_symlinked_access_file_is_refused(store: Store, tmp_path: Path) -> None:
    mine = _write(tmp_path / "mine.toml", '[users.alice]\nrole = "admin"\n')
    store.access.unlink()
    store.access.symlink_to(mine)
    _config_error(export(store, "mate.mp4", "alice"), store.access, "symbolic link")


def test_short_key_is_refused(store: Store) -> None:
    _write(store.key, b"short", 0o600)
    _config_error(export(store, "own.mp4", "alice"), store.key, "at least 32")


def test_export_never_overwrites_and_checks_its_inputs(store: Store, tmp_path: Path) -> None:
    assert export(store, "own.mp4", "alice").exit_code == 0
    res = export(store, "own.mp4", "alice")
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert export(store, "missing.mp4", "alice").exit_code == 3
    assert [r["decision"] for r in _records(store.log)] == ["allowed", "failed", "failed"]  # every attempt is logged
    _write(store.access, '[users.x]\nrole = "boss"\n')
    res = export(store, "own.mp4", "alice", dest=tmp_path / "x.mp4")
    assert res.exit_code == 2 and "role" in res.stderr


# -- audit verify ---------------------------------------------------------------------------

def test_audit_verify_ok_and_anchor(store: Store) -> None:
    for user in ("alice", "mallory"):
        export(store, "own.mp4", user)
    res = invoke("audit", "verify", store.log)
    assert res.exit_code == 0, res.output
    head = audit.verify(store.log).head
    assert res.output.strip() == f"ok: 2 records, head {head}"
    assert invoke("audit", "verify", store.log, "--expect-head", head, "--expect-records", 2).exit_code == 0
    lines = store.log.read_text().splitlines(keepends=True)
    store.log.write_text(lines[0])
    res = invoke("audit", "verify", store.log, "--expect-head", head)
    assert res.exit_code == 5 and "anchor mismatch" in res.stderr


def test_audit_verify_reports_the_line(store: Store) -> None:
    export(store, "own.mp4", "alice")
    export(store, "own.mp4", "mallory")
    lines = store.log.read_text().splitlines(keepends=True)
    store.log.write_text(lines[0].replace('"alice"', '"carol"') + lines[1])
    res = invoke("audit", "verify", store.log)
    assert res.exit_code == 5
    assert "line 1:" in res.stderr and "edited" in res.stderr


# -- purge ----------------------------------------------------------------------------------

def _age(store: Store) -> None:
    old = 1_000_000_000.0
    for p in store.root.iterdir():
        os.utime(p, (old, old))


def test_purge_cli(store: Store) -> None:
    _age(store)
    res = invoke("purge", store.root, "--older-than", "30d", "--dry-run")
    assert res.exit_code == 0 and "would delete:" in res.output and not store.log.exists()
    assert (store.root / "own.mp4").exists()
    res = invoke("purge", store.root, "--older-than", "30d")
    assert res.exit_code == 0, res.output
    left = sorted(p.name for p in store.root.iterdir())
    assert all(".anon." in name for name in left) and "mate.anon.mp4" in left
    assert audit.verify(store.log).ok and {r["event"] for r in _records(store.log)} == {"purge"}
    res = invoke("purge", store.root, "--older-than", "soon")
    assert res.exit_code == 2 and "not a duration" in res.stderr


def test_purge_defaults_from_policy(store: Store) -> None:
    _write(store.policy, f'[policy]\nretention_days = 0\naudit_log = "{store.log}"\n')
    res = invoke("purge", store.root)
    assert res.exit_code == 0, res.output
    assert not (store.root / "own.mp4").exists() and audit.verify(store.log).records > 0


def test_purge_log_comes_from_the_policy_only(store: Store, tmp_path: Path) -> None:
    _age(store)
    for option in ("--audit-log", "--policy"):
        res = invoke("purge", store.root, option, tmp_path / "private.jsonl")
        assert res.exit_code == 2 and "No such option" in res.output
    _write(store.policy, "[policy]\nretention_days = 1\n")
    res = invoke("purge", store.root)
    _config_error(res, store.policy, "[policy] audit_log")
    assert (store.root / "own.mp4").exists()
    store.policy.chmod(0o666)
    _config_error(invoke("purge", store.root, "--dry-run"), store.policy, "writable by group/others")
