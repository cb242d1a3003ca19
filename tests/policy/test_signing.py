"""Signed reports (``anonymizer.signing``), the OS user behind ``export``, and a real
pipeline run signing its report so that ``export`` accepts its output."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
from pathlib import Path
from types import SimpleNamespace

import pytest

from anonymizer import pipeline, signing
from anonymizer.config import Config, load_config
from anonymizer.errors import ConfigError
from anonymizer.plan import Plan
from anonymizer.policy.access import Access, User, inspect_target, os_user
from anonymizer.report import Report, ScreenSection, Verification, build_report

KEY = b"\x01" * 32


def _report() -> dict[str, object]:
    return {"status": "published", "output": {"sha256": "a" * 64}, "call": {"call_id": "C-1"}, "wall_s": 0.1, "ratio": 1 / 3}


def test_signed_report_round_trips_through_json() -> None:
    report = signing.sign_report(_report(), KEY, agent_id="E1")
    again = json.loads(json.dumps(report, indent=1, sort_keys=True))
    assert signing.signature_problem(again, KEY) is None
    assert again["call"]["agent_hmac"] == signing.agent_hmac(KEY, "E1") and "E1" not in json.dumps(again)


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda r: r.update(status="quarantined"), "edited after signing"),
    (lambda r: r["output"].update(sha256="b" * 64), "edited after signing"),
    (lambda r: r["call"].update(agent_hmac=signing.agent_hmac(KEY, "E2")), "edited after signing"),
    (lambda r: r.update(extra=1), "edited after signing"),
    (lambda r: r.pop("signature"), "not signed"),
    (lambda r: r.update(signature="yes"), "malformed"),
    (lambda r: r["signature"].update(key_id="0" * 16), "another key"),
])
def test_any_edit_breaks_the_signature(edit: object, problem: str) -> None:
    report = signing.sign_report(_report(), KEY, agent_id="E1")
    edit(report)  # type: ignore[operator]
    assert problem in (signing.signature_problem(report, KEY) or "")


def _typed_report() -> Report:
    cfg = Config()
    plan = Plan(input_sha256="0" * 64, width=8, height=8, duration_s=1.0, config_sha256=cfg.digest(), style="fill",
                boxes=[], audio_spans=[])
    job = SimpleNamespace(input=Path("in.mp4"), output=Path("out.mp4"), config=cfg, roster=None, sidecar=None, audio=None,
                          plan_path=lambda: Path("out.plan.json"))
    stats = SimpleNamespace(frames_changed=0, ocr_calls=0, ocr_pixels=0, frame_pixels=1, ink_reads=0, boxes_read=0, ink_pixels=0)
    return build_report(job=job, info=SimpleNamespace(width=8, height=8, duration_s=1.0, video_codec="h264"), plan=plan,
                        sidecar=SimpleNamespace(call_id="C-1", agent_employee_id="E1"), output_sha256="1" * 64,
                        screen=ScreenSection.of(stats), timings={}, wall_s=1.0, n_frames=10, audio=None, n_words=0, user="u",
                        version="0", verification=Verification(enabled=False))


def test_a_typed_report_signs_its_files_json() -> None:
    """``Report.sign`` signs ``to_dict()``, the file's JSON, as ``sign_report`` signs a dict;
    fields that are set only later (plan sha256, agent HMAC, signature, a render's sections)
    are absent until then, not null."""
    report = _typed_report()
    plain = report.to_dict()
    assert plain["verification"] == {"enabled": False} and plain["input"]["audio"] is None
    assert "plan_sha256" not in plain["output"] and "agent_hmac" not in plain["call"]
    assert not {"signature", "rendered_from", "overrides"} & plain.keys()
    report.output.plan_sha256 = "2" * 64
    report.sign(KEY, agent_id="E1")
    signed = json.loads(json.dumps(report.to_dict(), indent=1, sort_keys=True))
    assert signing.signature_problem(signed, KEY) is None
    assert signed == signing.sign_report({**plain, "output": {**plain["output"], "plan_sha256": "2" * 64}}, KEY, agent_id="E1")
    report.sign(KEY, agent_id=None)
    assert "agent_hmac" not in report.to_dict()["call"] and signing.signature_problem(report.to_dict(), KEY) is None


def test_other_key_is_refused() -> None:
    report = signing.sign_report(_report(), b"\x02" * 32, agent_id=None)
    assert "another key" in (signing.signature_problem(report, KEY) or "")
    assert "agent_hmac" not in report["call"]  # type: ignore[operator]


def test_load_key_checks(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_bytes(KEY)
    key.chmod(0o600)
    assert signing.load_key(key) == KEY
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable or writable by group/others"):
        signing.load_key(key)
    key.write_bytes(b"x" * 31)
    key.chmod(0o400)
    with pytest.raises(ConfigError, match="at least 32"):
        signing.load_key(key)
    key.unlink()
    key.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        signing.load_key(key)


def test_os_user_trusts_sudo_user_only_from_root_or_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setenv("LOGNAME", "carol")
    me = os.getuid()
    assert os_user(me) == "alice"  # we are the service (the policy's owner)
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert os_user(4242) == "alice"  # root, as under sudo
    monkeypatch.setattr(os, "getuid", lambda: 4343)  # an ordinary caller setting SUDO_USER itself
    assert os_user(4242) == "uid:4343"
    monkeypatch.setattr(os, "getuid", lambda: me)
    monkeypatch.delenv("SUDO_USER")
    assert os_user(me) == pwd.getpwuid(me).pw_name  # never $USER / $LOGNAME


def test_report_agent_unknown_to_the_access_file(tmp_path: Path) -> None:
    data = b"anonymized"
    out = tmp_path / "x.anon.mp4"
    out.write_bytes(data)
    report = {"status": "published", "output": {"sha256": hashlib.sha256(data).hexdigest()}}
    (tmp_path / "x.anon.report.json").write_text(json.dumps(signing.sign_report(report, KEY, agent_id="E9")))
    access = Access(users={"bob": User("bob", "trainer", teams=("A",))}, agent_teams={"E1": "A"})
    target = inspect_target(out, key=KEY, access=access)
    assert target.anonymized and target.owner_agent is None and "not in the access file" in (target.owner_unknown_because or "")
    access = Access(users=access.users, agent_teams={"E1": "A", "E9": "B"})
    assert inspect_target(out, key=KEY, access=access).owner_agent == "E9"


def test_pipeline_signs_its_report(tmp_path: Path) -> None:
    """``anonymizer run`` with ``[policy] report_key_file``: the report carries a valid
    signature and the agent's HMAC, and is unsigned without it."""
    from benchmarks.corpus import generate
    from tests.batch.fakes import DeafTranscriber, FastOcr

    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=5, audio=False)
    key = tmp_path / "report.key"
    key.write_bytes(KEY)
    key.chmod(0o600)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\nreport_key_file = "{key}"\n[audio]\nrequired = false\n')
    models = pipeline.Models(ocr=FastOcr(), transcriber=DeafTranscriber())
    agent = json.loads(rec.sidecar.read_text())["agent_employee_id"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(policy), roster=rec.roster,
                       sidecar=rec.sidecar)
    pipeline.run(job, models)
    report = json.loads(job.report_path().read_text())
    assert signing.signature_problem(report, KEY) is None
    assert report["call"]["agent_hmac"] == signing.agent_hmac(KEY, agent)
    access = Access(users={"bob": User("bob", "trainer", teams=("A",))}, agent_teams={agent: "A"})
    target = inspect_target(job.output, key=KEY, access=access)
    assert target.anonymized and target.owner_agent == agent

    plain = tmp_path / "plain.toml"
    plain.write_text("[audio]\nrequired = false\n")
    job2 = pipeline.Job(input=rec.video, output=out_dir / "call2.anon.mp4", config=load_config(plain), roster=rec.roster,
                        sidecar=rec.sidecar)
    pipeline.run(job2, models)
    assert "not signed" in (inspect_target(job2.output, key=KEY, access=access).not_anonymized_because or "")
