"""CNIL gates (purpose, excluded lines, windows, call times), purge and export decisions."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from anonymizer import audit
from anonymizer.config import Config, PolicyConfig
from anonymizer.errors import ConfigError, PolicyRefusal
from anonymizer.plan import Window
from anonymizer.policy import (
    Access,
    GateResult,
    RuleRefusal,
    Target,
    User,
    check_gates,
    decide,
    decide_original,
    normalize_line,
    parse_duration,
    purge,
)
from anonymizer.sidecar import Sidecar

IN = Path("call.mp4")
WIN = (Window(0, 0, 640, 360),)


def gates(sidecar: Sidecar | None, duration_s: float | None = 60.0, **policy: object) -> GateResult:
    config = Config(policy=PolicyConfig(**policy))  # type: ignore[arg-type]
    return check_gates(config, sidecar, input_path=IN, duration_s=duration_s, width=640, height=360)


def refused(rule: str, sidecar: Sidecar | None, duration_s: float | None = 60.0, **policy: object) -> RuleRefusal:
    with pytest.raises(RuleRefusal) as info:
        gates(sidecar, duration_s, **policy)
    assert info.value.rule == rule, info.value
    assert isinstance(info.value, PolicyRefusal) and info.value.exit_code == 6 and info.value.path == str(IN)
    return info.value


# -- purpose --------------------------------------------------------------------------------

def test_purpose_allowed() -> None:
    res = gates(Sidecar(purpose="Training"))
    assert res == GateResult(purpose="training", purpose_assumed=False, trim=None, windows=())


def test_purpose_refused_message() -> None:
    exc = refused("purpose", Sidecar(purpose="evaluation"))
    assert str(exc) == "call.mp4: refused by policy rule 'purpose': purpose 'evaluation' is not allowed (allowed: training)"


def test_sidecar_without_purpose_is_refused() -> None:
    refused("purpose", Sidecar(call_id="C-1"))


def test_no_sidecar_assumes_training_only_when_training_is_the_only_purpose() -> None:
    assert gates(None) == GateResult(purpose="training", purpose_assumed=True, trim=None, windows=())
    refused("purpose", None, purposes=("training", "quality"))
    assert gates(Sidecar(purpose="quality"), purposes=("training", "quality")).purpose == "quality"


# -- excluded lines -------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["+33 1 23 45 67 89", "0033123456789", "01 23 45 67 89", "+33 (0)1 23 45 67 89", "01.23.45.67.89"])
def test_normalize_line_french_prefixes(number: str) -> None:
    assert normalize_line(number) == "33123456789"


def test_normalize_line_other_numbers() -> None:
    assert normalize_line("+44 20 7946 0000") == "442079460000"
    assert normalize_line("poste 4127") == "4127"


def test_excluded_line_refused_across_prefixes() -> None:
    exc = refused("excluded_line", Sidecar(purpose="training", line="01 23 45 67 89"), excluded_lines=("+33 1 23 45 67 89",))
    assert "23 45" not in str(exc) and "123456789" not in str(exc)  # never the number itself
    assert gates(Sidecar(purpose="training", line="01 23 45 67 80"), excluded_lines=("+33 1 23 45 67 89",)).purpose == "training"


def test_unknown_line_refused_when_lines_are_excluded() -> None:
    refused("excluded_line", Sidecar(purpose="training"), excluded_lines=("+33 1 23 45 67 89",))
    refused("excluded_line", None, excluded_lines=("4127",))
    assert gates(Sidecar(purpose="training")).purpose == "training"  # no exclusions: line not needed


def test_excluded_line_without_digits_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        gates(Sidecar(purpose="training", line="1"), excluded_lines=("n/a",))


# -- windows and call times -----------------------------------------------------------------

def test_windows_required() -> None:
    refused("windows_required", Sidecar(purpose="training"), require_windows=True)
    refused("windows_required", Sidecar(purpose="training", windows=(Window(700, 0, 100, 100),)), require_windows=True)
    assert gates(Sidecar(purpose="training", windows=WIN), require_windows=True).windows == WIN
    assert gates(Sidecar(purpose="training", windows=WIN)).windows == WIN


def test_call_times_required() -> None:
    refused("call_times_required", Sidecar(purpose="training", off_hook_s=1.0), require_call_times=True)
    refused("call_times_required", None, require_call_times=True)
    assert gates(Sidecar(purpose="training", off_hook_s=1.0, on_hook_s=50.0), require_call_times=True).trim == (1.0, 50.0)


def test_call_times_within_media() -> None:
    refused("call_times_outside", Sidecar(purpose="training", off_hook_s=61.0, on_hook_s=70.0))
    refused("call_times_outside", Sidecar(purpose="training", off_hook_s=0.0, on_hook_s=62.0))
    refused("call_times_outside", Sidecar(purpose="training", off_hook_s=0.0, on_hook_s=5.0), duration_s=None)
    assert gates(Sidecar(purpose="training", off_hook_s=2.0, on_hook_s=60.5)).trim == (2.0, 60.0)  # clock skew, clipped
    assert gates(Sidecar(purpose="training", off_hook_s=2.0)).trim == (2.0, 60.0)
    assert gates(Sidecar(purpose="training", on_hook_s=30.0)).trim == (0.0, 30.0)


# -- purge ----------------------------------------------------------------------------------

DAY = 86400.0
NOW = 1_800_000_000.0


def _file(path: Path, age_days: float, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    _file(root / "old.mp4", 40, b"old video")
    _file(root / "old.sidecar.json", 1, b"{}")  # goes with its recording, whatever its age
    _file(root / "sub" / "old.wav", 31)
    _file(root / "sub" / "old.json", 31, b"{}")
    _file(root / "new.mkv", 5)
    _file(root / "new.sidecar.json", 5)
    _file(root / "old.anon.mp4", 40)
    _file(root / "old.anon.plan.json", 40)
    _file(root / "old.anon.report.json", 40)
    _file(root / "notes.txt", 400)
    _file(root / ".old.anon.mp4.part-abcd.mp4", 40)
    (root / "link.mp4").symlink_to(_file(tmp_path / "elsewhere" / "target.mp4", 400))
    return root


def test_purge_deletes_old_originals_only(store: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    deleted = purge(store, older_than_days=30, audit_log=log, now=NOW)
    assert sorted(p.relative_to(store).as_posix() for p in deleted) == ["old.mp4", "old.sidecar.json", "sub/old.json", "sub/old.wav"]
    assert all(not p.exists() for p in deleted)
    for kept in ("new.mkv", "new.sidecar.json", "old.anon.mp4", "old.anon.plan.json", "old.anon.report.json", "notes.txt"):
        assert (store / kept).exists(), kept
    assert (tmp_path / "elsewhere" / "target.mp4").exists() and (store / "link.mp4").is_symlink()
    res = audit.verify(log)
    assert res.ok and res.records == 4
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["event"] for r in recs} == {"purge"}
    first = next(r for r in recs if r["path"].endswith("old.mp4"))
    assert first["kind"] == "original" and len(first["sha256"]) == 64


def test_purge_outputs_and_dry_run(store: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    planned = purge(store, older_than_days=30, include_outputs=True, audit_log=log, dry_run=True, now=NOW)
    assert {p.name for p in planned} >= {"old.anon.mp4", "old.anon.plan.json", "old.anon.report.json", "old.mp4"}
    assert all(p.exists() for p in planned) and not log.exists()
    deleted = purge(store, older_than_days=30, include_outputs=True, audit_log=log, now=NOW)
    assert sorted(deleted) == sorted(planned) and not (store / "old.anon.report.json").exists()
    assert (store / ".old.anon.mp4.part-abcd.mp4").exists()


def test_purge_recent_limit_and_errors(store: Path, tmp_path: Path) -> None:
    deleted = purge(store, older_than_days=parse_duration("72h"), audit_log=None, now=NOW)
    assert (store / "new.mkv") in deleted
    with pytest.raises(ConfigError):
        purge(tmp_path / "missing", older_than_days=1, audit_log=None)
    with pytest.raises(ConfigError):
        purge(store, older_than_days=-1, audit_log=None)


def test_parse_duration() -> None:
    assert parse_duration("30d") == 30 and parse_duration("12h") == 0.5 and parse_duration("2w") == 14
    assert parse_duration("7") == 7
    for bad in ("", "d", "-3d", "3y", "1.2.3h"):
        with pytest.raises(ConfigError):
            parse_duration(bad)


# -- export decisions -----------------------------------------------------------------------

ACCESS = Access(
    users={
        "alice": User("alice", "trainee", agent_id="E1", teams=("A",)),
        "bob": User("bob", "trainer", teams=("A",)),
        "carol": User("carol", "admin"),
    },
    agent_teams={"E1": "A", "E2": "A", "E3": "B"},
)


def target(owner: str | None, anonymized: bool) -> Target:
    return Target(Path("x.mp4"), "0" * 64, anonymized, None if anonymized else "not an anonymized output", owner)


@pytest.mark.parametrize(("user", "owner", "anonymized", "allowed", "rule"), [
    ("mallory", "E1", True, False, "unknown_user"),
    ("carol", "E3", False, True, "admin"),
    ("alice", "E1", False, True, "own_recording"),
    ("alice", "E2", False, False, "anonymized_only"),
    ("alice", None, False, False, "anonymized_only"),
    ("alice", "E3", True, True, "anonymized"),
    ("alice", None, True, True, "anonymized"),
    ("bob", "E2", True, True, "team"),
    ("bob", "E2", False, False, "anonymized_only"),
    ("bob", "E3", True, False, "not_team"),
    ("bob", "E9", True, False, "not_team"),
    ("bob", None, True, False, "owner_unknown"),
])
def test_decide(user: str, owner: str | None, anonymized: bool, allowed: bool, rule: str) -> None:
    d = decide(ACCESS, user, target(owner, anonymized))
    assert (d.allowed, d.rule) == (allowed, rule), d


@pytest.mark.parametrize(("os_user", "user", "allowed", "rule"), [
    ("alice", "alice", True, "own_recording"),  # the OS user asks for themselves
    ("bob", "alice", False, "as_other_user"),  # a trainer claiming to be the recording's agent
    ("mallory", "alice", False, "as_other_user"),  # not in the access file at all
    ("alice", "carol", False, "as_other_user"),  # nor may anyone claim to be an admin
    ("carol", "alice", True, "own_recording"),  # an admin may act for a user (audited with both names)
    ("carol", "mallory", False, "unknown_user"),
])
def test_decide_as_must_be_the_os_user_unless_admin(os_user: str, user: str, allowed: bool, rule: str) -> None:
    d = decide(ACCESS, user, target("E1", False), os_user=os_user)
    assert (d.allowed, d.rule) == (allowed, rule), d


@pytest.mark.parametrize(("user", "owner", "os_user", "allowed", "rule"), [
    ("carol", None, None, True, "admin"),
    ("bob", "E2", None, True, "team"),
    ("bob", "E3", None, False, "not_team"),
    ("bob", None, None, False, "owner_unknown"),
    ("alice", "E1", None, False, "role"),  # an agent may not see the original of even their own call: it shows the customer
    ("mallory", "E1", None, False, "unknown_user"),
    ("bob", "E2", "alice", False, "as_other_user"),
    ("bob", "E2", "carol", True, "team"),
])
def test_decide_original(user: str, owner: str | None, os_user: str | None, allowed: bool, rule: str) -> None:
    d = decide_original(ACCESS, user, owner, os_user=os_user)
    assert (d.allowed, d.rule) == (allowed, rule), d


def test_purge_uses_the_clock_by_default(tmp_path: Path) -> None:
    (tmp_path / "fresh.mp4").write_bytes(b"x")
    old = tmp_path / "old.mp4"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    assert purge(tmp_path, older_than_days=1, audit_log=None) == [old]
