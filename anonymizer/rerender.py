"""Render a recording again from its plan (and a reviewer's overrides), without analysing it.

Why: analysis (OCR of every changed region, speech-to-text, detection) is most of a run;
a reviewer who un-hides a label or adds a forgotten rectangle needs only the render pass
(decode, blur kernel, encode) and verification again. The plan must be the one made for
these bytes with this configuration: the recording's sha256 and the effective config's
digest are compared with the plan's before anything is decoded, and an overrides file
must name the plan's sha256 (:mod:`anonymizer.overrides`).

Un-hiding shows what analysis hid, so it needs the right to see the original
(:func:`anonymizer.policy.access.decide_original`: an admin, or a trainer of the agent's
team) under the deployment's policy (``$ANONYMIZER_POLICY`` or /etc/anonymizer/policy.toml,
with ``access_file``, ``report_key_file`` and ``audit_log``). Without such a deployment
un-hiding is refused (fail closed); adding boxes and bleeps needs no role. The agent comes
from the run's signed report next to the plan, else from the recording's sidecar, as for
``export``.

Verification reads the output again as ``run`` does, with a registry rebuilt without
analysis: the roster, and every value the plan still hides, matched by its HMAC (an exact
re-read of a hidden value hashes to the plan's ``value_hash``). Values the reviewer
un-hid are left out of both, so showing them is not a leak; anything else found is, and
the output is quarantined, nothing published. Limits: without ``[output] hash_key_file``
the plan's hashes cannot be recomputed, so only the roster is searched (and a plan with a
disguised voice cannot be reproduced at all: refused); a value hidden under a different
spelling than the one re-read is found only if it is in the roster.

Voice disguise is reproduced from the deployment's hash key (:func:`anonymizer.render.output_audio`).
Outputs are published as ``run``'s are: MP4 renamed into place last, plan and report
before it, audit records before the rename; the report says ``overrides`` (plan sha256,
reviewer, each item and its reason) and ``rendered_from`` (the plan)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer import __version__, audit
from anonymizer.config import CATEGORIES, Config
from anonymizer.detect import Detector
from anonymizer.detect.roster import Employee, load_roster
from anonymizer.errors import ConfigError, PolicyRefusal, ProcessingError, VerificationError
from anonymizer.fsutil import atomic_path, check_appendable, sha256_file
from anonymizer.job import Job, RunResult, check_paths, quarantine, read_hash_key, same_file, write_plan_and_report
from anonymizer.media import AudioTrack, MediaInfo, probe, read_audio
from anonymizer.overrides import Overrides, apply_overrides, load_overrides, plan_items, unhidden_hashes
from anonymizer.plan import Plan, value_hasher
from anonymizer.policy.gates import RuleRefusal
from anonymizer.render import check_rendered_size, output_audio, render_video
from anonymizer.report import AppliedOverrides, RenderedFrom, Verification, build_report, companion_sha256
from anonymizer.reverify import LazyOcr, reverify
from anonymizer.runtime import Models, load_models
from anonymizer.sidecar import Sidecar, load_sidecar
from anonymizer.signing import key_id, load_key, signature_problem
from anonymizer.timings import Timings
from anonymizer.types import Finding
from anonymizer.verify import verify_output

MAX_VALUE_WORDS = 8  # longest hidden value re-read as a run of words (an address line)
_EDGE_PUNCT = ".,;:!?()[]{}\"'"


def source_report_path(plan_path: Path) -> Path:
    """The run's report next to its plan: ``X.plan.json`` -> ``X.report.json``."""
    name = plan_path.name
    stem = name[: -len(".plan.json")] if name.endswith(".plan.json") else plan_path.stem
    return plan_path.with_name(stem + ".report.json")


@dataclass
class VerifyRegistry(Detector):
    """A detector for :func:`anonymizer.verify.verify_output` built without analysis: only
    ``find_known`` works (Presidio and spaCy are not loaded). It finds the roster's values
    and every value the plan still hides, by HMAC: each run of up to ``MAX_VALUE_WORDS``
    words of a text read back is hashed and looked up in ``hidden``."""

    hidden: dict[str, tuple[str, str]] = field(default_factory=dict)  # value hash -> (entity type, category)
    hasher: Callable[[str], str] | None = None
    unhidden: frozenset[str] = frozenset()  # hashes the reviewer un-hid

    def __post_init__(self) -> None:  # no Presidio engine: verification searches known values only
        for emp in self.roster:
            category = "agent" if self.agent_id and emp.employee_id == self.agent_id else "colleague"
            for etype, value in searched_roster_values(emp, self.hasher, self.unhidden):
                self.add_known(etype, value, category, roster=True)

    def find_known(self, text: str) -> list[Finding]:
        return super().find_known(text) + self._hashed(text)

    def _hashed(self, text: str) -> list[Finding]:
        if self.hasher is None or not self.hidden:
            return []
        words = list(re.finditer(r"\S+", text))
        out = []
        for i, first in enumerate(words):
            for last in words[i : i + MAX_VALUE_WORDS]:
                piece = text[first.start() : last.end()]
                for cand in dict.fromkeys((piece, piece.strip(_EDGE_PUNCT))):
                    hit = self.hidden.get(self.hasher(cand)) if cand else None
                    if hit is not None and hit[1] not in self.keep_categories:
                        out.append(Finding(hit[0], first.start(), last.end(), 1.0, hit[1]))
        return out


def searched_roster_values(emp: Employee, hasher: Callable[[str], str] | None, unhidden: frozenset[str]) -> list[tuple[str, str]]:
    """An employee's values less those the reviewer un-hid and the words of them (an
    un-hidden full name shows its first and last names too); the employee's other values
    (login, email, id...) are still searched."""
    values = emp.values()
    if hasher is None or not unhidden:
        return values
    words = {w.casefold() for _, v in values if hasher(v) in unhidden for w in v.split()}
    return [(t, v) for t, v in values
            if hasher(v) not in unhidden and not (v.split() and all(w.casefold() in words for w in v.split()))]


def verify_registry(plan: Plan, cfg: Config, roster: list[Employee], agent_id: str | None, key: bytes | None,
                    unhidden: set[str]) -> VerifyRegistry:
    """The registry verification searches: the roster's values but those the reviewer
    un-hid, and the plan's values of the specific types ``run`` registers, by hash.
    Without a key nothing can be hashed: the roster only, whole."""
    hasher = value_hasher(key) if key is not None else None
    reg = VerifyRegistry(cfg.detect, roster=roster, agent_id=agent_id,
                         keep_categories=tuple(c for c in CATEGORIES if cfg.redact.keeps(c)), hasher=hasher,
                         unhidden=frozenset(unhidden))
    for item in plan_items(plan):
        # the types run registers as proof; never FIELD, UNSURE or ANNOUNCED (weak by design)
        if item.value_hash and item.value_hash not in unhidden and reg.registers(item.type):
            reg.hidden.setdefault(item.value_hash, (item.type, item.category))
    return reg


def _read_plan(plan_path: Path) -> tuple[Plan, str]:
    try:
        data = Path(plan_path).read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("plan file not found", path=plan_path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the plan: {exc.strerror}", path=plan_path) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not a valid plan: not UTF-8", path=plan_path) from exc
    return Plan.from_json(text, path=Path(plan_path)), hashlib.sha256(data).hexdigest()


def _run_output(report: dict[str, Any] | None) -> Path | None:
    """The output the run's report names (for the never-overwrite check)."""
    out = (report or {}).get("output")
    name = out.get("file") if isinstance(out, dict) else None
    return Path(name) if isinstance(name, str) else None


def _read_source_report(path: Path) -> dict[str, Any] | None:
    """The run's report, if there is one; one that is there but unreadable is an error
    (it may be what proves the agent, or the plan's hash)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the run's report next to the plan is unreadable ({type(exc).__name__})", path=path) from exc
    if not isinstance(report, dict):
        raise ConfigError("the run's report next to the plan is not a JSON object", path=path)
    return report


def check_plan(plan: Plan, plan_sha256: str, plan_path: Path, src_report: dict[str, Any] | None, job: Job,
               report_key: bytes | None, key: bytes | None) -> None:
    """Refuse (exit 2) a plan that is not exactly the one its run published for these
    inputs: the run's report must lie next to it (``X.plan.json`` -> ``X.report.json``),
    signed when ``report_key_file`` is set, and name the plan's sha256 (an edited plan, or
    one copied away from its report, could un-hide anything without any role); and the
    recording, configuration, sidecar, separate audio and hash key must be the run's."""
    report_path = source_report_path(plan_path)
    if src_report is None:
        raise ConfigError(f"the run's report ({report_path.name}) is not next to the plan: render trusts a plan only "
                          "with the report that names its sha256", path=plan_path)
    if report_key is not None and signature_problem(src_report, report_key) is not None:
        raise ConfigError("the run's report next to the plan is not signed with the policy's key", path=report_path)
    out, inp = src_report.get("output"), src_report.get("input")
    recorded = out.get("plan_sha256") if isinstance(out, dict) else None
    if recorded is None or not isinstance(inp, dict):
        raise ConfigError("the run's report does not name its plan's sha256 (made by an older version): run again",
                          path=report_path)
    if recorded != plan_sha256:
        raise ConfigError("the plan was changed since its run (its sha256 differs from the one in the run's report)",
                          path=plan_path)
    if src_report.get("config_sha256") != plan.config_sha256 or inp.get("sha256") != plan.input_sha256:
        raise ConfigError("the plan and the run's report next to it name different configurations or recordings",
                          path=plan_path)
    cfg = job.config
    if cfg.digest() != plan.config_sha256:
        raise ConfigError(f"the effective configuration ({cfg.digest()[:12]}) is not the one the plan was made with "
                          f"({plan.config_sha256[:12]}): render with the run's policy and options", path=plan_path)
    if sha256_file(job.input) != plan.input_sha256:
        raise ConfigError(f"the recording is not the one the plan was made for (sha256 differs from {plan.input_sha256[:12]})",
                          path=job.input)
    # the sidecar names the agent (who may un-hide, whose hash the new report signs) and the
    # separate audio is what is bleeped: both must be the run's
    for what, given, name in (("sidecar", job.sidecar, "sidecar_sha256"), ("audio", job.audio, "audio_sha256")):
        if companion_sha256(given) != inp.get(name):
            raise ConfigError(f"the {what} is not the run's (pass the same --{what} as the run, or none if it had none)",
                              path=given or job.input)
    if plan.voice and not plan.hash_key_id:
        raise ConfigError("the plan disguises the voice with the run's key, which was random ([output] hash_key_file unset): "
                          "its audio cannot be reproduced", path=plan_path)
    if plan.hash_key_id and (key is None or key_id(key) != plan.hash_key_id):
        raise ConfigError("[output] hash_key_file is not the key the run used: its value hashes and voice disguise would "
                          "not match the plan", path=cfg.output.hash_key_file or plan_path)


def verified_baseline(src_report: dict[str, Any] | None, report_path: Path, plan_sha256: str, report_key: bytes | None,
                      job: Job) -> tuple[Path | None, str]:
    """The run's output, when it is the verified render of exactly this plan (its report
    names the plan's sha256 and the same roster and sidecar, verification ran and found
    nothing, the file is there with the report's sha256, and, with ``report_key_file``
    set, the report's signature is valid); else None and why. A re-render is then verified
    against it (:mod:`anonymizer.reverify`)."""
    if src_report is None:
        return None, "no run report next to the plan"
    out, ver, inp = src_report.get("output"), src_report.get("verification"), src_report.get("input")
    if not isinstance(out, dict) or out.get("plan_sha256") != plan_sha256:
        return None, "the run's report does not name this plan's sha256"
    if (not isinstance(inp, dict) or "roster_sha256" not in inp or inp.get("roster_sha256") != companion_sha256(job.roster)
            or inp.get("sidecar_sha256") != companion_sha256(job.sidecar)):
        return None, "the run searched another roster or sidecar than this render"
    if not isinstance(ver, dict) or ver.get("enabled") is not True or ver.get("problems") != []:
        return None, "the run's output was not verified clean"
    if report_key is not None and signature_problem(src_report, report_key) is not None:
        return None, "the run's report is not signed with the policy's key"
    name = Path(str(out.get("file", "")))
    for path in dict.fromkeys((name, report_path.parent / name.name)):
        if path.is_file() and sha256_file(path) == out.get("sha256"):
            return path, ""
    return None, "the run's output is not there with the sha256 its report names"


@dataclass(frozen=True)
class UnhideGrant:
    """Who was allowed to un-hide, under which rule, and where it is logged."""

    user: str
    os_user: str
    rule: str
    owner_known: bool
    audit_log: Path | None


def authorise_unhide(input_path: Path, plan: Plan, src_report: dict[str, Any] | None, *, logged: list[Path], user: str | None,
                     os_user: str | None) -> UnhideGrant:
    """Decide under the deployment's access file whether ``user`` may see this recording's
    original; refused: RuleRefusal (exit 6). No deployment (or one without an access file):
    ConfigError (exit 2), never allowed."""
    from anonymizer.policy import access as acc

    try:
        dep = acc.load_deployment(for_export=True)
    except ConfigError as exc:
        raise ConfigError(f"un-hiding needs the deployment's access policy, and it is not usable: {exc}",
                          path=input_path) from exc
    assert dep.access is not None and dep.key is not None
    real = os_user or acc.os_user(dep.service_uid)
    name = user or real
    owner: str | None = None
    report_ok = (src_report is not None and signature_problem(src_report, dep.key) is None
                 and isinstance(src_report.get("input"), dict) and src_report["input"].get("sha256") == plan.input_sha256)
    if report_ok:
        assert src_report is not None
        owner, _ = acc.report_owner(src_report, dep.key, dep.access)
    if owner is None:
        owner, _ = acc.sidecar_owner(Path(input_path), os.stat(input_path), dep.service_uid)
    decision = acc.decide_original(dep.access, name, owner, os_user=real)
    if not decision.allowed:
        if dep.audit_log is not None and not any(same_file(dep.audit_log, log) for log in logged):
            # the deployment's log hears of every refusal, not only the run's [policy] audit_log
            audit.append(dep.audit_log, "render", user=name, os_user=real, input=str(input_path),
                         input_sha256=plan.input_sha256, result="refused", rule=decision.rule, reason=decision.reason,
                         exit_code=RuleRefusal.exit_code)
        raise RuleRefusal(decision.rule, f"un-hiding: {decision.reason}", path=input_path)
    return UnhideGrant(user=name, os_user=real, rule=decision.rule, owner_known=owner is not None, audit_log=dep.audit_log)


def rerender(input_path: Path, plan_path: Path, overrides_path: Path | None, output: Path, cfg: Config, *,
             user: str | None = None, os_user: str | None = None, models: Models | None = None,
             roster: Path | None = None, sidecar: Path | None = None, audio: Path | None = None,
             asr_model: Path | None = None) -> RunResult:
    """Render ``input_path`` into ``output`` with the plan at ``plan_path`` and the overrides
    (if any) applied; verify; publish the MP4 with ``OUTPUT.plan.json`` and
    ``OUTPUT.report.json``. Returns them and the report. ``models``: OCR and speech-to-text for
    verification (loaded only when verification is on and none are given).

    Every attempt leaves a ``render`` audit record in ``[policy] audit_log`` (and in the
    deployment's, when un-hiding): published, refused, quarantined or failed; a published
    render's ``override`` records (one per item, with its reason) come before it."""
    logs = [Path(cfg.policy.audit_log)] if cfg.policy.audit_log else []
    for log in logs:
        check_appendable(log, "audit log")
    base: dict[str, Any] = {"os_user": os_user or audit.os_user_name(), "user": user or os_user or audit.os_user_name(), "input": str(input_path),
                            "output": str(output), "plan": str(plan_path), "config_sha256": cfg.digest(),
                            "overrides": None if overrides_path is None else str(overrides_path)}

    def append(event: str, **fields: Any) -> None:
        for log in dict.fromkeys(logs):
            audit.append(log, event, **{**base, **fields})

    try:
        return _rerender(input_path, plan_path, overrides_path, output, cfg, base=base, logs=logs, append=append,
                         user=user, os_user=os_user, models=models, roster=roster, sidecar=sidecar, audio=audio,
                         asr_model=asr_model)
    except BaseException as exc:
        result = "quarantined" if isinstance(exc, VerificationError) else "refused" if isinstance(exc, PolicyRefusal) else "failed"
        if logs:
            append("render", result=result, rule=getattr(exc, "rule", None), reason=str(exc)[:500],
                   exit_code=getattr(exc, "exit_code", 1))
        raise


@dataclass
class _Rendering:
    """What a render works from, every input checked: the plan as analysed, the plan with
    the overrides applied, and what verification compares with."""

    job: Job
    plan: Plan
    plan_sha: str
    new_plan: Plan
    ov: Overrides | None
    unhidden: set[str]
    grant: UnhideGrant | None
    info: MediaInfo
    side: Sidecar
    report_key: bytes | None
    key: bytes | None
    src_report: dict[str, Any] | None
    src_report_path: Path
    track: AudioTrack | None
    baseline: Any
    no_baseline: str


def _rerender(input_path: Path, plan_path: Path, overrides_path: Path | None, output: Path, cfg: Config, *,
              base: dict[str, Any], logs: list[Path], append: Callable[..., None], user: str | None, os_user: str | None,
              models: Models | None, roster: Path | None, sidecar: Path | None, audio: Path | None,
              asr_model: Path | None) -> RunResult:
    t_start = time.monotonic()
    timings = Timings()
    job = Job(input=Path(input_path), output=Path(output), config=cfg, roster=roster, sidecar=sidecar, audio=audio,
              asr_model=asr_model)
    r = _prepare(job, Path(plan_path), overrides_path, base=base, logs=logs, user=user, os_user=os_user, timings=timings)
    written: list[Path] = []
    try:
        with atomic_path(job.output) as tmp:
            with timings.stage("render_total"):
                out_audio = output_audio(r.track, r.new_plan, cfg, r.key or b"") if r.track is not None else None
                n_written = render_video(job.input, tmp, r.info, r.new_plan, out_audio, cfg, timings)
            if n_written == 0:
                raise ProcessingError("render wrote no frame", path=job.input)
            check_rendered_size(tmp, r.info, job.output)
            verification = _verify(r, tmp, models, timings)
            src = r.src_report or {}
            # no analysis ran: what it read is the run's report's
            report = build_report(job=job, info=r.info, plan=r.new_plan, sidecar=r.side, output_sha256=sha256_file(tmp),
                                  screen=src.get("screen"), timings=timings.stages, wall_s=time.monotonic() - t_start,
                                  n_frames=n_written, audio=r.track, n_words=(src.get("speech") or {}).get("words"),
                                  user=base["user"], version=__version__, verification=verification)
            report.rendered_from = RenderedFrom(plan=str(plan_path), plan_sha256=r.plan_sha, input_sha256=r.plan.input_sha256,
                                                report=str(r.src_report_path) if r.src_report is not None else None)
            report.overrides = None if r.ov is None else AppliedOverrides(
                **r.ov.record(), file=str(overrides_path), unhidden_value_hashes=sorted(r.unhidden),
                access_rule=None if r.grant is None else r.grant.rule)
            write_plan_and_report(job, r.new_plan, report, r.report_key, r.side.agent_employee_id, written)
            if logs:
                for item in r.ov.items() if r.ov is not None else []:
                    append("override", **item, result="applied")
                append("render", result="published", input_sha256=r.plan.input_sha256, output_sha256=report.output.sha256,
                       exit_code=0)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return RunResult.of(job, report)


def _prepare(job: Job, plan_path: Path, overrides_path: Path | None, *, base: dict[str, Any], logs: list[Path],
             user: str | None, os_user: str | None, timings: Timings) -> _Rendering:
    """Every check before the first frame is decoded: paths, the plan against the recording,
    its config and its report, the overrides, and the right to un-hide."""
    cfg, input_path, output = job.config, job.input, job.output
    check_paths(job)
    src_report_path = source_report_path(plan_path)
    src_report = _read_source_report(src_report_path)
    inputs = (("plan", plan_path), ("overrides file", overrides_path), ("run's report", src_report_path),
              ("run's output", _run_output(src_report)))
    for what, out in (("output", output), ("plan", job.plan_path()), ("report", job.report_path())):
        for kind, path in inputs:
            if path is not None and same_file(out, path):
                raise ConfigError(f"the {what} path is the {kind} ({path}): render writes new files, never over its inputs",
                                  path=out)
    report_key = load_key(Path(cfg.policy.report_key_file)) if cfg.policy.report_key_file else None
    plan, plan_sha = _read_plan(plan_path)
    base["plan_sha256"] = plan_sha
    key = read_hash_key(cfg)
    check_plan(plan, plan_sha, plan_path, src_report, job, report_key, key)
    ov: Overrides | None = load_overrides(overrides_path, plan, plan_sha) if overrides_path is not None else None
    if ov is not None:
        base.update(overrides_sha256=ov.sha256, reviewer=ov.reviewer)
    info = probe(input_path)
    if (info.width, info.height) != (plan.width, plan.height):
        raise ConfigError(f"the recording is {info.width}x{info.height}, the plan {plan.width}x{plan.height}", path=input_path)
    side = load_sidecar(job.sidecar)
    grant: UnhideGrant | None = None
    if ov is not None and ov.unhides():
        grant = authorise_unhide(input_path, plan, src_report, logged=logs, user=user, os_user=os_user)
        base.update(user=grant.user, os_user=grant.os_user, access_rule=grant.rule)
        if grant.audit_log is not None:
            logs.append(grant.audit_log)
    audio_src = Path(job.audio) if job.audio else (input_path if info.has_audio else None)
    with timings.stage("audio_decode"):
        track = read_audio(audio_src) if audio_src is not None else None
    baseline, no_baseline = verified_baseline(src_report, src_report_path, plan_sha, report_key, job)
    return _Rendering(job=job, plan=plan, plan_sha=plan_sha, new_plan=apply_overrides(plan, ov) if ov is not None else plan,
                      ov=ov, unhidden=unhidden_hashes(plan, ov) if ov is not None else set(), grant=grant, info=info, side=side,
                      report_key=report_key, key=key, src_report=src_report, src_report_path=src_report_path, track=track,
                      baseline=baseline, no_baseline=no_baseline)


def _verify(r: _Rendering, tmp: Path, models: Models | None, timings: Timings) -> Verification:
    """Verification of a render: against the run's verified output where the two renders
    differ only where the overrides did (``reverify``), else a full re-read."""
    job, cfg, info = r.job, r.job.config, r.info
    verification = Verification(enabled=cfg.policy.verify)
    if not cfg.policy.verify:
        return verification
    v = cfg.video
    with timings.stage("verify"):
        registry = verify_registry(r.new_plan, cfg, load_roster(job.roster), r.side.agent_employee_id, r.key, r.unhidden)
        frame_s = 1.0 / float(info.avg_rate) if info.avg_rate else 0.1
        lazy = LazyOcr(lambda: (models or load_models(cfg, asr_model=job.asr_model, need_audio=False)).ocr)
        delta = (reverify(tmp, r.baseline, r.plan, r.new_plan, registry, lazy, width=info.width, height=info.height,
                          frame_s=frame_s, threshold=v.change_threshold, min_interval_s=cfg.policy.verify_min_interval_s,
                          text_detector=v.text_detector)
                 if r.baseline is not None else None)
        if delta is not None:
            checked, problems, vstats = delta
            verification.mode = "against_run"
            verification.baseline_sha256 = r.src_report["output"]["sha256"] if r.src_report else None
            verification.frames_compared, verification.max_noise_outside = checked.frames, checked.max_noise_outside
            verification.boxes_rechecked = checked.boxes_rechecked
        else:
            why = r.no_baseline if r.baseline is None else "the renders differ beyond codec noise outside the overridden regions"
            if models is None:  # loaded only when a full verification needs them
                with timings.stage("load_models"):
                    models = load_models(cfg, asr_model=job.asr_model, need_audio=r.track is not None)
            problems, vstats = verify_output(tmp, r.new_plan, registry, models.ocr, models.transcriber if r.track is not None else None,
                                             width=info.width, height=info.height, threshold=v.change_threshold,
                                             min_interval_s=cfg.policy.verify_min_interval_s, text_detector=v.text_detector)
            verification.mode, verification.why_full = "full", why
    verification.found(problems, vstats)
    verification.registry = {"roster_values": len(registry.known), "hidden_hashes": len(registry.hidden)}
    if problems:
        quarantine(job, tmp, r.new_plan, problems, verification)
    return verification


__all__ = ["VerifyRegistry", "authorise_unhide", "check_plan", "rerender", "source_report_path"]
