"""``audit verify``, ``purge`` and ``export`` through click, on tiny dummy files.

The commands are attached to a local group with ``register``, exactly as the main group
attaches them, so these tests do not depend on the main CLI's wiring."""

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

from anonymizer import audit
from anonymizer._cli.admin import register

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


@click.group()
@click.option("--debug", is_flag=True)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    ctx.obj = {"debug": debug}


register(cli)


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@dataclass
class Store:
    root: Path
    access: Path
    log: Path
    dest: Path


def _recording(root: Path, name: str, agent: str, *, anon_status: str | None = None, report_sha: str | None = None) -> None:
    (root / f"{name}.mp4").write_bytes(f"original {name}".encode())
    (root / f"{name}.sidecar.json").write_text(json.dumps({"agent_employee_id": agent, "purpose": "training"}))
    if anon_status is not None:
        data = f"anonymized {name}".encode()
        (root / f"{name}.anon.mp4").write_bytes(data)
        report = {"status": anon_status, "input": {"file": str(root / f"{name}.mp4")},
                  "output": {"file": str(root / f"{name}.anon.mp4"), "sha256": report_sha or hashlib.sha256(data).hexdigest()}}
        (root / f"{name}.anon.report.json").write_text(json.dumps(report))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    root = tmp_path / "store"
    root.mkdir()
    _recording(root, "own", "E10234")
    _recording(root, "mate", "E20000", anon_status="published")
    _recording(root, "far", "E30000", anon_status="published")
    _recording(root, "bad", "E20000", anon_status="quarantined")
    _recording(root, "fake", "E20000", anon_status="published", report_sha="0" * 64)
    access = tmp_path / "access.toml"
    access.write_text(ACCESS)
    dest = tmp_path / "out"
    dest.mkdir()
    return Store(root, access, tmp_path / "audit.jsonl", dest)


def export(store: Store, name: str, user: str) -> Result:
    return invoke("export", store.root / name, "--as", user, "--to", store.dest, "--access", store.access, "--audit-log", store.log)


def _records(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


# -- export ---------------------------------------------------------------------------------

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
    assert rec["event"] == "export" and rec["decision"] == "allowed" and rec["rule"] == rule and rec["user"] == user
    assert rec["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert not [p for p in store.dest.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize(("name", "user", "rule"), [
    ("mate.mp4", "alice", "anonymized_only"),
    ("bad.anon.mp4", "alice", "anonymized_only"),
    ("fake.anon.mp4", "alice", "anonymized_only"),
    ("mate.mp4", "bob", "anonymized_only"),
    ("far.anon.mp4", "bob", "not_team"),
    ("own.mp4", "mallory", "unknown_user"),
])
def test_export_refused(store: Store, name: str, user: str, rule: str) -> None:
    res = export(store, name, user)
    assert res.exit_code == 6, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anonymizer: error: ") and f"refused by policy rule '{rule}'" in lines[0]
    assert list(store.dest.iterdir()) == []
    (rec,) = _records(store.log)
    assert rec["decision"] == "refused" and rec["rule"] == rule and rec["exit_code"] == 6


def test_export_quarantined_message_says_why(store: Store) -> None:
    res = export(store, "bad.anon.mp4", "alice")
    assert "'quarantined', not 'published'" in res.stderr


def test_export_needs_an_owner_to_copy_an_original(store: Store) -> None:
    (store.root / "own.sidecar.json").unlink()
    res = export(store, "own.mp4", "alice")
    assert res.exit_code == 6 and "agent is unknown" in res.stderr


def test_export_never_overwrites_and_checks_its_inputs(store: Store, tmp_path: Path) -> None:
    assert export(store, "own.mp4", "alice").exit_code == 0
    res = export(store, "own.mp4", "alice")
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert export(store, "missing.mp4", "alice").exit_code == 3
    (tmp_path / "bad.toml").write_text('[users.x]\nrole = "boss"\n')
    res = invoke("export", store.root / "own.mp4", "--as", "alice", "--to", tmp_path / "x.mp4", "--access", tmp_path / "bad.toml",
                 "--audit-log", store.log)
    assert res.exit_code == 2 and "role" in res.stderr
    res = invoke("export", store.root / "own.mp4", "--as", "alice", "--to", tmp_path / "x.mp4", "--access", store.access)
    assert res.exit_code == 2 and "audit log" in res.stderr


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

def test_purge_cli(store: Store, tmp_path: Path) -> None:
    old = 1_000_000_000.0
    for p in store.root.iterdir():
        os.utime(p, (old, old))
    res = invoke("purge", store.root, "--older-than", "30d", "--dry-run")
    assert res.exit_code == 0 and "would delete:" in res.output and not store.log.exists()
    assert (store.root / "own.mp4").exists()
    res = invoke("purge", store.root, "--older-than", "30d", "--audit-log", store.log)
    assert res.exit_code == 0, res.output
    left = sorted(p.name for p in store.root.iterdir())
    assert all(".anon." in name for name in left) and "mate.anon.mp4" in left
    assert audit.verify(store.log).ok and {r["event"] for r in _records(store.log)} == {"purge"}
    res = invoke("purge", store.root, "--older-than", "soon")
    assert res.exit_code == 2 and "not a duration" in res.stderr


def test_purge_defaults_from_policy(store: Store, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\nretention_days = 0\naudit_log = "{store.log}"\n')
    res = invoke("purge", store.root, "--policy", policy)
    assert res.exit_code == 0, res.output
    assert not (store.root / "own.mp4").exists() and audit.verify(store.log).records > 0
