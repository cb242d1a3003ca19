"""A run's job and its files: the paths checked before anything is decoded (no output is
an input, every folder is writable), the plan and report written next to the output, and
the quarantine where an output that failed verification goes instead of being published."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from anonymizer.config import Config
from anonymizer.errors import ConfigError, InputError, VerificationError
from anonymizer.fsutil import PRIVATE_MODE, check_writable_dir, publish, write_atomic
from anonymizer.plan import Plan
from anonymizer.report import Report, Verification
from anonymizer.signing import long_enough
from anonymizer.verify import Problem


@dataclass
class Job:
    input: Path
    output: Path
    config: Config
    roster: Path | None = None
    sidecar: Path | None = None
    audio: Path | None = None
    asr_model: Path | None = None
    report: Path | None = None
    plan: Path | None = None
    # Device and encoder: ``config.runtime`` (set by ``anonymizer.runtime.with_runtime``), so
    # that they are in the config digest of the plan, the report and the batch's key.

    def report_path(self) -> Path:
        return self.report or self.output.with_name(self.output.stem + ".report.json")

    def plan_path(self) -> Path:
        return self.plan or self.output.with_name(self.output.stem + ".plan.json")


@dataclass(frozen=True)
class RunResult:
    """What a published run (or render) left: the MP4, its plan and report files, and the
    report they hold."""

    output: Path
    plan: Path
    report_path: Path
    report: Report

    @classmethod
    def of(cls, job: Job, report: Report) -> RunResult:
        return cls(output=Path(job.output), plan=job.plan_path(), report_path=job.report_path(), report=report)


def job_inputs(job: Job) -> list[tuple[str, Path]]:
    """Every file the run reads, named: none of them may ever be an output (issue 15: a
    ``--report`` pointed at the roster overwrote it)."""
    cfg = job.config
    named = [("recording", job.input), ("audio", job.audio), ("sidecar", job.sidecar), ("roster", job.roster),
             ("policy file", cfg.source), ("access file", cfg.policy.access_file), ("audit log", cfg.policy.audit_log),
             ("hash key", cfg.output.hash_key_file), ("report key", cfg.policy.report_key_file)]
    return [(what, Path(path)) for what, path in named if path]


def same_file(a: Path, b: Path) -> bool:
    """One file under two names: equal once resolved (links, ``..``), or, for files that
    exist, the same inode (a hard link resolves to a different path)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_paths(job: Job) -> None:
    """Everything about the paths that can be known before decoding: the recording exists,
    no output is an input or another output, and every folder written to is writable
    (exit 2 naming the path, not an internal error after the whole run)."""
    src, dst = Path(job.input), Path(job.output)
    if not src.exists():
        raise InputError("file not found", path=src)
    if dst.suffix.lower() != ".mp4":
        raise ConfigError("output must be an .mp4 file", path=dst)
    outs = [("output", dst), ("plan", job.plan_path()), ("report", job.report_path())]
    for what, out in outs:
        for kind, path in job_inputs(job):
            if same_file(out, path):
                raise ConfigError(f"the {what} path is the {kind} ({path}): originals are never overwritten", path=out)
    for i, (what, out) in enumerate(outs):
        for other, out2 in outs[i + 1 :]:
            if same_file(out, out2):
                raise ConfigError(f"the {what} and the {other} are the same file", path=out)
    folders = list(dict.fromkeys(out.parent for _, out in outs))
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError("output folder does not exist", path=folder)
        check_writable_dir(folder, "output folder")
    if job.config.policy.verify:
        check_quarantine(quarantine_dir(job), folders)


def check_quarantine(qdir: Path, output_folders: list[Path]) -> None:
    """The quarantine exists (created private, 0700), is writable, and is outside every
    output folder: a quarantined MP4 still shows what it should hide, and the output tree is
    what gets published."""
    q = qdir.resolve()
    for folder in output_folders:
        f = folder.resolve()
        # Below a hidden folder is not published (the default ~/.local/state/... under an
        # output written to $HOME): a run writes one file, not its folder's whole tree.
        if q == f or (q.is_relative_to(f) and not any(part.startswith(".") for part in q.relative_to(f).parts)):
            raise ConfigError(f"the quarantine folder must not be inside the output folder {folder}", path=qdir)
    if not qdir.is_dir():
        try:
            qdir.mkdir(parents=True, mode=0o700)
            os.chmod(qdir, 0o700)  # mkdir's mode is cut by the umask
        except FileExistsError:
            pass  # made meanwhile by a parallel run
        except OSError as exc:
            raise ConfigError(f"cannot create the quarantine folder: {exc.strerror}", path=qdir) from exc
    check_writable_dir(qdir, "quarantine folder")


def write_plan_and_report(job: Job, plan: Plan, report: Report, report_key: bytes | None, agent_id: str | None,
                          written: list[Path]) -> None:
    """Write the plan, then its report naming the plan's sha256 (render refuses an edited
    plan) and signed when a report key is set (export trusts a report only with a valid
    HMAC, anonymizer.signing); each path goes into ``written`` once it exists, so that a
    failure before the MP4 is published removes it."""
    plan_json = plan.to_json()
    report.output.plan_sha256 = hashlib.sha256(plan_json.encode("utf-8")).hexdigest()
    if report_key is not None:
        report.sign(report_key, agent_id=agent_id)
    write_atomic(job.plan_path(), plan_json)
    written.append(job.plan_path())
    write_atomic(job.report_path(), json.dumps(report.to_dict(), indent=1, sort_keys=True))
    written.append(job.report_path())


def quarantine_dir(job: Job) -> Path:
    return job.config.policy.quarantine_path()


def quarantine(job: Job, tmp: Path, plan: Plan, problems: list[Problem], verification: Verification) -> None:
    """Move a rendered output that failed verification out of the publish path (with a
    report saying why, without the values) and raise VerificationError. The MP4 still holds
    personal data: it and its report are 0600 in a 0700 folder (made by check_quarantine)."""
    qdir = quarantine_dir(job)
    check_quarantine(qdir, [Path(job.output).parent])
    # Named by the input's hash too: two recordings named alike (team1/call, team2/call)
    # never overwrite each other's quarantined output.
    target = qdir / f"{Path(job.output).stem}.{plan.input_sha256[:12]}.mp4"
    kinds = sorted({f"{p.modality}:{p.entity_type}" for p in problems})
    report = {"status": "quarantined", "input_sha256": plan.input_sha256, "config_sha256": plan.config_sha256,
              "reason": f"{len(problems)} value(s) found again in the output ({', '.join(kinds)})",
              "verification": verification.to_dict()}
    write_atomic(target.with_name(target.stem + ".report.json"), json.dumps(report, indent=1, sort_keys=True), mode=PRIVATE_MODE)
    publish(tmp, target, mode=PRIVATE_MODE)
    raise VerificationError(f"not published: {report['reason']}; quarantined as {target}", path=job.input)


def read_hash_key(cfg: Config) -> bytes | None:
    """The deployment's value-hash key (``[output] hash_key_file``), or None when unset
    (a run then draws a random one)."""
    if cfg.output.hash_key_file:
        try:
            key = Path(cfg.output.hash_key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read hash key: {exc}", path=cfg.output.hash_key_file) from exc
        # It keys the value hashes and the voice disguise: a guessable one undoes both.
        return long_enough(key, "hash key file", cfg.output.hash_key_file)
    return None
