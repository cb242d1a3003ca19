"""``anonymizer render``: a run's plan applied again, with a reviewer's overrides, without
analysing again. One tiny generated call (320x180, 2 s, speech) is anonymized once with
fast fake models (``tests.batch.fakes``: analysis, kernels, encoding and verification run
for real; the models are tested in tests/pipeline), then rendered again per test."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from anonymizer import pipeline, reverify
from anonymizer import rerender as rr
from anonymizer._cli.render import render_cmd
from anonymizer.config import Config, load_config
from anonymizer.detect.roster import load_roster
from anonymizer.errors import ConfigError, PolicyRefusal, VerificationError
from anonymizer.media import iter_frames, probe, read_audio, write_recording
from anonymizer.overrides import plan_items
from anonymizer.plan import Plan, PlanBox, value_hasher
from anonymizer.signing import sign_report
from benchmarks.corpus import RecordingPaths, generate
from tests.batch.fakes import ROSTER_NAME, FastOcr, HearAll, LeakyOcr

FRAME_S = 0.1  # the generated call is 10 fps
OS_USER = pwd.getpwuid(os.getuid()).pw_name


def fake_models(*_: Any, **__: Any) -> pipeline.Models:
    return pipeline.Models(ocr=FastOcr(), transcriber=HearAll())


@dataclass
class Call:
    rec: RecordingPaths
    root: Path
    policy: Path
    access: Path
    log: Path
    cfg: Config
    output: Path
    plan: Path
    agent: str

    def plan_sha(self, path: Path | None = None) -> str:
        return hashlib.sha256((path or self.plan).read_bytes()).hexdigest()

    def overrides(self, path: Path | None = None, plan: Path | None = None, **items: Any) -> Path:
        path = path or self.root / "work" / "overrides.json"
        path.write_text(json.dumps({"version": 1, "plan_sha256": self.plan_sha(plan), "reviewer": "rita", **items}))
        return path

    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def _write(path: Path, text: str | bytes, mode: int = 0o644) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Call]:
    root = tmp_path_factory.mktemp("render")
    rec = generate(root / "in", width=320, height=180, duration_s=2.0, seed=11)
    agent = json.loads(rec.sidecar.read_text())["agent_employee_id"]
    etc = root / "etc"
    etc.mkdir(mode=0o755)
    access = _write(etc / "access.toml", "")
    key = _write(etc / "report.key", b"r" * 32, 0o600)
    hash_key = _write(etc / "hash.key", b"h" * 32, 0o600)
    (root / "var").mkdir()
    log = root / "var" / "audit.jsonl"
    policy = _write(etc / "policy.toml", f'[output]\nhash_key_file = "{hash_key}"\n[policy]\naudit_log = "{log}"\n'
                    f'access_file = "{access}"\nreport_key_file = "{key}"\n')
    cfg = load_config(policy)
    (root / "out").mkdir()
    (root / "work").mkdir()
    job = pipeline.Job(input=rec.video, output=root / "out" / "call.anon.mp4", config=cfg, roster=rec.roster, sidecar=rec.sidecar)
    pipeline.run(job, fake_models())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANONYMIZER_POLICY", str(policy))
        mp.delenv("SUDO_USER", raising=False)
        mp.setattr(rr, "load_models", fake_models)
        yield Call(rec, root, policy, access, log, cfg, job.output, job.plan_path(), agent)


@pytest.fixture
def work(call: Call) -> Iterator[Path]:
    """A fresh output folder per test; the access file as most tests want it."""
    folder = call.root / "work"
    shutil.rmtree(folder)
    folder.mkdir()
    set_access(call, os_role="trainee")
    yield folder


def set_access(call: Call, *, os_role: str) -> None:
    _write(call.access, f'[users.ada]\nrole = "admin"\n[users.tom]\nrole = "trainer"\nteams = ["A"]\n'
           f'[users.tina]\nrole = "trainee"\n[users."{OS_USER}"]\nrole = "{os_role}"\nteams = ["A"]\n'
           f'[agents.{call.agent}]\nteam = "A"\n')


def render(call: Call, out: Path, overrides: Path | None = None, *, plan: Path | None = None, user: str = "ada",
           **kw: Any) -> dict[str, Any]:
    """The render's report, as its file holds it."""
    kw.setdefault("sidecar", call.rec.sidecar)  # the run's: another is refused
    result = rr.rerender(call.rec.video, plan or call.plan, overrides, out, call.cfg, user=user, os_user=user,
                         models=fake_models(), **kw)
    assert json.loads(result.report_path.read_text()) == result.report.to_dict()
    return result.report.to_dict()


def cli(call: Call, out: Path, *args: str, recording: Path | None = None, plan: Path | None = None) -> Any:
    argv = [str(recording or call.rec.video), "--plan", str(plan or call.plan), "-o", str(out), "--policy", str(call.policy),
            "--device", "cpu", "--sidecar", str(call.rec.sidecar), *args]
    return CliRunner().invoke(render_cmd, argv, obj={"debug": False})


def frames(path: Path) -> dict[float, np.ndarray]:
    return {round(f.t, 3): f.rgb().astype(np.int16) for f in iter_frames(path)}


def nothing_written(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name not in ("overrides.json", "edited") and not p.name.endswith(".plan.json")]


# -- what a render changes -------------------------------------------------------------


def test_no_overrides_reproduces_the_run(call: Call, work: Path) -> None:
    out = work / "call.rev.mp4"
    report = render(call, out)
    assert out.read_bytes() == call.output.read_bytes()  # libx264 with fixed settings is deterministic
    assert (work / "call.rev.plan.json").read_text() == call.plan.read_text()
    assert report["overrides"] is None and report["rendered_from"]["plan_sha256"] == call.plan_sha()
    assert report["verification"]["enabled"] and report["verification"]["problems"] == []
    assert report["signature"]["alg"] == "hmac-sha256"
    assert call.audit()[-1]["event"] == "render" and call.audit()[-1]["result"] == "published"


def _changed(a: dict[float, np.ndarray], b: dict[float, np.ndarray]) -> dict[float, np.ndarray]:
    assert a.keys() == b.keys()
    return {t: np.abs(a[t] - b[t]).max(axis=2) for t in a}


def _noise(d: np.ndarray) -> bool:
    """Only what re-encoding changes: a few scattered pixels by a few levels (measured: at
    most 0.03 % of a frame by more than 12, by 17 at most; hidden or shown text: 50-230)."""
    return bool((d > 12).mean() < 0.002 and d.max() < 40)


def _only_inside(diff: dict[float, np.ndarray], x: int, y: int, w: int, h: int, t0: float, t1: float) -> None:
    """Differences above codec noise only in the region, give or take a 16 px macroblock
    (motion compensation), and its time, give or take a frame (a B-frame next to the range
    is predicted from a changed one)."""
    for t, d in diff.items():
        outside = d.copy()
        outside[max(0, y - 16) : y + h + 16, max(0, x - 16) : x + w + 16] = 0
        assert _noise(outside), (t, outside.max(), int((outside > 12).sum()))
        if not t0 - FRAME_S - 1e-6 <= t <= t1 + FRAME_S + 1e-6:
            assert _noise(d), (t, d.max(), int((d > 12).sum()))


def _touching(plan: Plan, i: int) -> list[int]:
    """Boxes live with box ``i`` that overlap it or its 1 px ring: their fill is picked from
    that ring, so un-hiding ``i`` may change their colour too."""
    b = plan.boxes[i]
    return [k for k, o in enumerate(plan.boxes) if k != i and o.start_s <= b.end_s and b.start_s <= o.end_s
            and o.x <= b.x + b.w and b.x <= o.x + o.w and o.y <= b.y + b.h and b.y <= o.y + o.h]


def test_unhide_box_changes_only_that_box(call: Call, work: Path) -> None:
    plan = Plan.from_json(call.plan.read_text())

    def union(i: int) -> tuple[int, int, int, int]:
        group = [plan.boxes[k] for k in (i, *_touching(plan, i))]
        x0, y0 = min(g.x for g in group), min(g.y for g in group)
        return x0, y0, max(g.x + g.w for g in group) - x0, max(g.y + g.h for g in group) - y0

    i = min(range(len(plan.boxes)), key=lambda k: union(k)[2] * union(k)[3])
    b = plan.boxes[i]
    own = np.zeros((plan.height, plan.width), bool)  # the box's pixels no other box hides
    own[b.y : b.y + b.h, b.x : b.x + b.w] = True
    for k in _touching(plan, i):
        o = plan.boxes[k]
        own[o.y : o.y + o.h, o.x : o.x + o.w] = False
    out = work / "call.rev.mp4"
    report = render(call, out, call.overrides(unhide_boxes=[{"box": i, "reason": "a product code"}]))
    new = Plan.from_json((work / "call.rev.plan.json").read_text())
    assert new.boxes == plan.boxes[:i] + plan.boxes[i + 1 :]
    diff = _changed(frames(call.output), frames(out))
    _only_inside(diff, *union(i), b.start_s, b.end_s)
    # what the box hid is shown: many of its pixels changed by more than any codec noise
    assert max((d[own] > 24).mean() for t, d in diff.items() if b.active(t)) > 0.05
    assert report["overrides"]["items"] == [{"action": "unhide_box", "box": i, "reason": "a product code"}]
    assert report["overrides"]["access_rule"] == "admin"


def test_added_box_changes_only_there(call: Call, work: Path) -> None:
    out = work / "call.rev.mp4"
    box = {"x": 200, "y": 100, "w": 60, "h": 40, "start_s": 0.5, "end_s": 1.2, "reason": "a sticker with a phone number"}
    report = render(call, out, call.overrides(add_boxes=[box]), user="tina")  # adding needs no role
    rev = frames(out)
    _only_inside(_changed(frames(call.output), rev), 200, 100, 60, 40, 0.5, 1.2)
    for t, f in rev.items():  # filled: no contrast left inside (the edge is codec ringing)
        if 0.5 - 1e-6 <= t <= 1.2 + 1e-6:
            inner = f[102:138, 202:258].mean(axis=2)
            assert inner.max() - inner.min() < 24, t
    assert report["counts"]["screen"]["MANUAL"] == 1 and report["overrides"]["access_rule"] is None
    rec = [r for r in call.audit() if r["event"] == "override"][-1]
    assert rec["action"] == "add_box" and rec["reason"] == box["reason"] and rec["plan_sha256"] == call.plan_sha()
    assert rec["user"] == "tina" and rec["reviewer"] == "rita"


def test_added_bleep_changes_the_sound_only_there(call: Call, work: Path) -> None:
    out = work / "call.rev.mp4"
    render(call, out, call.overrides(add_bleeps=[{"start_s": 0.8, "end_s": 1.3, "reason": "a name"}]))
    a, b = read_audio(call.output), read_audio(out)
    assert a.samples.shape == b.samples.shape and abs(a.start_s - b.start_s) < 1e-9
    rate = a.sample_rate
    t = a.start_s + np.arange(a.samples.shape[1]) / rate
    diff = np.abs(a.samples - b.samples).max(axis=0)
    near = (t > 0.8 - 0.05) & (t < 1.3 + 0.05)  # AAC frames overlap by 1024 samples
    assert diff[~near].max() < 0.01, diff[~near].max()
    inside = (t > 0.85) & (t < 1.25)
    assert diff[inside].mean() > 0.05
    assert rr.Plan.from_json((work / "call.rev.plan.json").read_text()).audio_spans[-1].type == "MANUAL"


# -- refused: exit code, and nothing written --------------------------------------------


def test_tampered_plan_is_refused(call: Call, work: Path) -> None:
    ov = call.overrides(add_bleeps=[{"start_s": 0.1, "end_s": 0.2, "reason": "x"}])
    tampered = work / "call.anon.plan.json"
    text = call.plan.read_text()
    tampered.write_text(text.replace('"end_s": 0.', '"end_s": 1.', 1))  # a box shown for longer
    res = cli(call, work / "call.rev.mp4", "--overrides", str(ov), plan=tampered)
    # copied away from its run's report, a plan proves nothing (it could drop every box)
    assert res.exit_code == 2 and "is not next to the plan" in res.output
    assert nothing_written(work)
    shutil.copy(call.plan.with_name("call.anon.report.json"), work / "call.anon.report.json")
    res = cli(call, work / "call.rev.mp4", "--overrides", str(ov), plan=tampered)
    assert res.exit_code == 2 and "changed since its run" in res.output
    (work / "call.anon.report.json").unlink()
    assert nothing_written(work)


def test_plan_changed_since_its_run_is_refused(call: Call) -> None:
    plan = Plan.from_json(call.plan.read_text())
    report = json.loads(call.plan.with_name("call.anon.report.json").read_text())
    job = pipeline.Job(input=call.rec.video, output=call.root / "x.mp4", config=call.cfg, sidecar=call.rec.sidecar)
    key = b"h" * 32
    rr.check_plan(plan, call.plan_sha(), call.plan, report, job, b"r" * 32, key)  # the run's, as it is
    with pytest.raises(ConfigError, match="not signed with the policy's key"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, job, b"s" * 32, key)
    with pytest.raises(ConfigError, match="not the key the run used"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, job, None, b"k" * 32)
    with pytest.raises(ConfigError, match="sidecar is not the run's"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, replace(job, sidecar=None), None, key)
    with pytest.raises(ConfigError, match="audio is not the run's"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, replace(job, audio=call.rec.video), None, key)
    report["output"]["plan_sha256"] = "0" * 64
    with pytest.raises(ConfigError, match="changed since its run"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, job, None, key)
    del report["output"]["plan_sha256"]
    with pytest.raises(ConfigError, match="does not name its plan's sha256"):
        rr.check_plan(plan, call.plan_sha(), call.plan, report, job, None, key)


def test_a_rendered_plan_edited_later_is_refused(call: Call, work: Path) -> None:
    """render's own report holds its plan's sha256: rendering again from that plan after an
    edit is refused even without overrides."""
    render(call, work / "call.rev.mp4", call.overrides(add_bleeps=[{"start_s": 0.1, "end_s": 0.2, "reason": "x"}]))
    plan = work / "call.rev.plan.json"
    assert json.loads((work / "call.rev.report.json").read_text())["output"]["plan_sha256"] == call.plan_sha(plan)
    plan.write_text(plan.read_text().replace('"end_s": 0.', '"end_s": 1.', 1))
    with pytest.raises(ConfigError, match="changed since its run"):
        render(call, work / "call.rev2.mp4", plan=plan)
    assert not (work / "call.rev2.mp4").exists()


def test_other_recording_is_refused(call: Call, work: Path) -> None:
    other = work / "other.mp4"
    data = bytearray(call.rec.video.read_bytes())
    data[-1] ^= 1
    other.write_bytes(bytes(data))
    res = cli(call, work / "call.rev.mp4", recording=other)
    assert res.exit_code == 2 and "not the one the plan was made for" in res.output
    assert [p.name for p in work.iterdir()] == ["other.mp4"]


def test_other_configuration_is_refused(call: Call, work: Path) -> None:
    with pytest.raises(ConfigError, match="not the one the plan was made with"):
        rr.rerender(call.rec.video, call.plan, None, work / "x.mp4", replace(call.cfg, video=replace(call.cfg.video, style="blur")),
                    user="ada", os_user="ada", models=fake_models())
    assert nothing_written(work)


BAD = [({"unhide_values": [{"value_hash": "0123456789abcdef", "reason": "r"}]}, "is not in the plan"),
       ({"add_bleeps": [{"start_s": 0.2, "end_s": 0.6, "reason": "r"}, {"start_s": 0.5, "end_s": 0.9, "reason": "r"}]},
        "overlaps add_bleeps[0]"),
       ({"add_bleeps": [{"start_s": -0.5, "end_s": 0.5, "reason": "r"}]}, "negative time"),
       ({"add_boxes": [{"x": 0, "y": 0, "w": 10, "h": 10, "start_s": 1.0, "end_s": 0.5, "reason": "r"}]}, "reversed range")]


@pytest.mark.parametrize(("items", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_overrides_are_refused(call: Call, work: Path, items: dict[str, Any], message: str) -> None:
    ov = call.overrides(**items)
    res = cli(call, work / "call.rev.mp4", "--overrides", str(ov))
    assert res.exit_code == 2 and str(ov) in res.output and message in res.output, res.output
    assert nothing_written(work)


def test_unhide_without_the_role_is_refused(call: Call, work: Path) -> None:
    n = len(call.audit())
    ov = call.overrides(unhide_boxes=[{"box": 0, "reason": "r"}])
    res = cli(call, work / "call.rev.mp4", "--overrides", str(ov))  # the OS user is a trainee
    assert res.exit_code == PolicyRefusal.exit_code and "'role'" in res.output, res.output
    assert nothing_written(work)
    rec = call.audit()[n:]
    assert [(r["event"], r["result"], r["rule"]) for r in rec] == [("render", "refused", "role")]
    with pytest.raises(PolicyRefusal, match="not_team"):  # a trainer of another team
        set_access(call, os_role="trainer")
        _write(call.access, call.access.read_text().replace(f'[agents.{call.agent}]\nteam = "A"', f'[agents.{call.agent}]\nteam = "B"'))
        render(call, work / "call.rev.mp4", ov, user="tom")
    assert nothing_written(work)


def test_unhide_by_a_trainer_of_the_team_through_the_cli(call: Call, work: Path) -> None:
    set_access(call, os_role="trainer")
    ov = call.overrides(unhide_boxes=[{"box": 0, "reason": "r"}])
    res = cli(call, work / "call.rev.mp4", "--overrides", str(ov), "--sidecar", str(call.rec.sidecar))
    assert res.exit_code == 0, res.output
    report = json.loads((work / "call.rev.report.json").read_text())
    assert report["overrides"]["access_rule"] == "team" and report["user"] == OS_USER


def test_unhide_without_a_deployment_is_refused(call: Call, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(call.root / "nowhere.toml"))
    with pytest.raises(ConfigError, match="un-hiding needs the deployment's access policy"):
        render(call, work / "call.rev.mp4", call.overrides(unhide_boxes=[{"box": 0, "reason": "r"}]))
    assert nothing_written(work)


def _colleague_plan(call: Call, work: Path) -> tuple[Path, str]:
    """The run's plan with its first value marked as a roster colleague's."""
    plan = Plan.from_json(call.plan.read_text())
    h = plan.boxes[0].value_hash
    plan.boxes = [replace(b, category="colleague") if b.value_hash == h else b for b in plan.boxes]
    (work / "edited").mkdir()
    path = work / "edited" / "edited.plan.json"
    path.write_text(plan.to_json())
    # with its own report, signed with the deployment's key, as a run would have left it
    report = json.loads(call.plan.with_name("call.anon.report.json").read_text())
    report["output"]["plan_sha256"] = call.plan_sha(path)
    (work / "edited" / "edited.report.json").write_text(json.dumps(sign_report(report, b"r" * 32, agent_id=call.agent)))
    return path, h


def test_unhiding_a_colleague_needs_a_reason(call: Call, work: Path) -> None:
    plan, h = _colleague_plan(call, work)
    ov = call.overrides(plan=plan, unhide_values=[{"value_hash": h, "reason": ""}])
    with pytest.raises(ConfigError, match="roster employee's value"):
        render(call, work / "call.rev.mp4", ov, plan=plan, user="tom")
    assert nothing_written(work)
    ov = call.overrides(plan=plan, unhide_values=[{"value_hash": h, "reason": "the trainer herself, consent on file"}])
    n = len(call.audit())
    report = render(call, work / "call.rev.mp4", ov, plan=plan, user="tom")  # team A's trainer; agent from the sidecar
    assert report["overrides"]["unhidden_value_hashes"] == [h]
    rec = call.audit()[n:]
    assert [r["event"] for r in rec] == ["override", "render"]
    assert rec[0]["action"] == "unhide_value" and rec[0]["value_hash"] == h and rec[0]["user"] == "tom"
    assert rec[0]["reason"] == "the trainer herself, consent on file" and rec[0]["plan_sha256"] == call.plan_sha(plan)
    assert rec[0]["access_rule"] == "team"
    assert not any(b.value_hash == h for b in Plan.from_json((work / "call.rev.plan.json").read_text()).boxes)


# -- verification still guards the output ----------------------------------------------


def test_a_leak_is_quarantined_not_published(call: Call, work: Path, private_state: Path) -> None:
    roster = work / "roster.csv"
    first, last = ROSTER_NAME.split()
    roster.write_text(f"employee_id,first_name,last_name,login,email,extension\nE1,{first},{last},jdu,j@x.fr,1234\n")
    leaky = pipeline.Models(ocr=LeakyOcr(), transcriber=HearAll())
    with pytest.raises(VerificationError, match="not published"):
        rr.rerender(call.rec.video, call.plan, None, work / "call.rev.mp4", call.cfg, user="ada", os_user="ada", models=leaky,
                    roster=roster, sidecar=call.rec.sidecar)
    assert sorted(p.name for p in work.iterdir()) == ["roster.csv"]
    assert call.audit()[-1]["result"] == "quarantined"


def test_verification_searches_hidden_values_but_not_unhidden_ones(call: Call) -> None:
    plan = Plan.from_json(call.plan.read_text())
    hasher = value_hasher(b"h" * 32)
    plan.boxes = [*plan.boxes[:1], replace(plan.boxes[0], type="PHONE_NUMBER", value_hash=hasher("0612345678")),
                  replace(plan.boxes[0], type="EMAIL_ADDRESS", value_hash=hasher("a.b@example.com"))]
    reg = rr.verify_registry(plan, call.cfg, [], None, b"h" * 32, unhidden={hasher("a.b@example.com")})
    assert [f.entity_type for f in reg.find_known("Tel: 0612345678, mail a.b@example.com")] == ["PHONE_NUMBER"]
    assert len([i for i in plan_items(plan) if i.value_hash]) == 3


def test_unhiding_a_colleagues_name_still_searches_the_rest_of_their_values() -> None:
    from anonymizer.detect.roster import Employee

    hasher = value_hasher(b"h" * 32)
    emp = Employee(employee_id="E77", first_name="Zoe", last_name="Quinn", login="zquinn", email="zq@x.fr", extension="4321")
    searched = {v for _, v in rr.searched_roster_values(emp, hasher, frozenset({hasher("Zoe Quinn")}))}
    assert searched == {"E77", "zquinn", "zq@x.fr", "4321"}  # the name and its words are shown, the rest is not
    assert {v for _, v in rr.searched_roster_values(emp, hasher, frozenset())} >= {"Zoe Quinn", "Zoe", "Quinn", "zquinn"}


# -- verified against the run's output, when that output is the verified render of this plan --


def test_render_is_verified_against_the_run_without_loading_a_model(call: Call, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_models(*_: Any, **__: Any) -> pipeline.Models:
        raise AssertionError("a model was loaded: fill boxes near the change are flat, nothing needs reading")

    monkeypatch.setattr(rr, "load_models", no_models)
    box = {"x": 5, "y": 110, "w": 40, "h": 20, "start_s": 0.5, "end_s": 1.2, "reason": "a forgotten field"}  # away from every box
    ov = call.overrides(add_boxes=[box])
    v = rr.rerender(call.rec.video, call.plan, ov, work / "call.rev.mp4", call.cfg, user="ada", os_user="ada",
                    roster=call.rec.roster, sidecar=call.rec.sidecar).report.verification
    assert v.mode == "against_run" and v.problems == [] and v.boxes_rechecked == 1
    assert v.max_noise_outside is not None and 0 <= v.max_noise_outside < reverify.NOISE_LEVEL and v.frames_compared == 20
    assert v.baseline_sha256 == hashlib.sha256(call.output.read_bytes()).hexdigest()

    # another roster than the run's: the run's verification did not search it, so all is read again
    other = work / "other.csv"
    other.write_text(call.rec.roster.read_text() + "E77,Zoe,Quinn,zq,zq@x.fr,4321\n")
    monkeypatch.setattr(rr, "load_models", fake_models)
    full = rr.rerender(call.rec.video, call.plan, ov, work / "call.rev2.mp4", call.cfg, user="ada", os_user="ada",
                       roster=other, sidecar=call.rec.sidecar).report.verification
    assert full.mode == "full" and full.why_full is not None and "roster" in full.why_full

    # over boxes of other fills: each is flat where it shows, so still no model is loaded
    monkeypatch.setattr(rr, "load_models", no_models)
    over = call.overrides(add_boxes=[{**box, "x": 40, "y": 40, "w": 60, "h": 30}])
    v = rr.rerender(call.rec.video, call.plan, over, work / "call.rev3.mp4", call.cfg, user="ada", os_user="ada",
                    roster=call.rec.roster, sidecar=call.rec.sidecar).report.verification
    assert v.mode == "against_run" and v.boxes_rechecked is not None and v.boxes_rechecked > 1 and v.crops_read == 0


def test_boxes_near_a_change_that_are_not_flat_are_read_again(call: Call) -> None:
    """Given as the "render" the unredacted recording itself (and as its baseline, so the
    two agree), the boxes next to an added one show text: they are OCR'd, and a roster
    name read there is a problem."""
    plan = Plan.from_json(call.plan.read_text())
    added = PlanBox(40, 40, 60, 30, 0.5, 1.2, "MANUAL", "reviewer", "reviewer")
    new = replace(plan, boxes=[*plan.boxes, added])
    first, last = call.rec.roster.read_text().splitlines()[1].split(",")[1:3]
    reads: list[int] = []

    class ReadsAColleague(FastOcr):
        def read_line(self, rgb: np.ndarray) -> str:
            reads.append(rgb.size)
            return f"Agent {first} {last}"

    registry = rr.verify_registry(new, call.cfg, load_roster(call.rec.roster), call.agent, None, set())
    checked = reverify.reverify(call.rec.video, call.rec.video, plan, new, registry, ReadsAColleague(), width=320, height=180,
                                frame_s=FRAME_S, threshold=24, min_interval_s=0.5, text_detector="ink")
    assert checked is not None
    r, problems, _ = checked
    assert r.consistent and r.boxes_rechecked > 1 and reads and problems


def test_a_difference_outside_the_changed_regions_is_not_taken_for_noise(call: Call, work: Path) -> None:
    box = {"x": 40, "y": 40, "w": 60, "h": 30, "start_s": 0.5, "end_s": 1.2, "reason": "r"}
    render(call, work / "call.rev.mp4", call.overrides(add_boxes=[box]))
    plan = Plan.from_json(call.plan.read_text())
    new = Plan.from_json((work / "call.rev.plan.json").read_text())
    regions = reverify.changed_regions(plan, new, FRAME_S)
    assert len(regions) == 1 and regions[0].x0 == 40 - reverify.MARGIN_PX and regions[0].t1 == pytest.approx(1.2 + FRAME_S)
    told = reverify.compare_outputs(work / "call.rev.mp4", call.output, regions, 320, 180)
    assert told.consistent and told.frames == 20
    untold = reverify.compare_outputs(work / "call.rev.mp4", call.output, [], 320, 180)  # the box's own pixels now count
    assert not untold.consistent and untold.frames_over and all(0.4 <= t <= 1.3 for t in untold.frames_over)


def test_renders_of_different_lengths_are_not_consistent(call: Call, work: Path) -> None:
    info = probe(call.output)
    short = work / "short.mp4"
    first = [(fd.pts, fd.rgb()) for _, fd in zip(range(10), iter_frames(call.output), strict=False)]
    write_recording(short, width=info.width, height=info.height, time_base=info.time_base, rate=info.avg_rate,
                    frames=iter(first), audio=None)
    assert reverify.compare_outputs(short, short, [], 320, 180).consistent  # itself: same frames, same times
    for a, b in ((short, call.output), (call.output, short)):
        told = reverify.compare_outputs(a, b, [], 320, 180)
        assert not told.consistent and told.frames == 11


def test_render_never_writes_over_the_runs_output(call: Call, work: Path) -> None:
    before = call.output.read_bytes()
    ov = call.overrides(add_bleeps=[{"start_s": 0.1, "end_s": 0.2, "reason": "x"}])
    with pytest.raises(ConfigError, match="is the run's output"):
        render(call, call.output, ov)
    assert call.output.read_bytes() == before
