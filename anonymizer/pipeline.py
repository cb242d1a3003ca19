"""One recording end to end: analyse -> plan -> render -> report.

Two passes over the video: the analysis pass reads text only where pixels changed and
builds the plan with look-ahead (a value recognised when complete is hidden from its first
keystroke); the render pass decodes again and applies the plan frame by frame. Any failure
raises before the output's atomic rename: nothing half-anonymized is ever published."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from anonymizer import __version__, audit
from anonymizer.config import CATEGORIES
from anonymizer.detect import Detector, screen_language
from anonymizer.detect import preload as preload_detection
from anonymizer.detect.roster import Employee, load_roster
from anonymizer.errors import InputError, PolicyRefusal, ProcessingError, VerificationError
from anonymizer.fsutil import atomic_path, check_appendable, sha256_file
from anonymizer.job import Job, RunResult, check_paths, quarantine, read_hash_key, write_plan_and_report
from anonymizer.media import AudioTrack, MediaInfo, probe, read_audio
from anonymizer.plan import Plan, value_hasher
from anonymizer.policy import check_gates
from anonymizer.policy.gates import GateResult
from anonymizer.render import check_rendered_size, in_trim, output_audio, render_video, voice_plan
from anonymizer.report import Report, ScreenSection, Verification, build_report
from anonymizer.runtime import Models, load_models
from anonymizer.screen.analyse import analyse_screen, expected_frames, refuse_still_video
from anonymizer.screen.findings import register_screen, screen_boxes
from anonymizer.screen.tracks import merge_tracks
from anonymizer.sidecar import Sidecar, load_sidecar
from anonymizer.signing import key_id, load_key
from anonymizer.speech import Transcriber
from anonymizer.speech.spans import Heard, hear, transcript_spans
from anonymizer.timings import Timings
from anonymizer.verify import verify_output

log = logging.getLogger(__name__)

# progress(stage, done, total): frames of a stage done of those expected (0 total: unknown)
ProgressFn = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def run(job: Job, models: Models | None = None, *, renderer: Callable[..., int] | None = None,
        progress: ProgressFn = _no_progress) -> RunResult:
    """Anonymize ``job.input`` into ``job.output`` (+ plan and report): the files and the
    report written.

    With ``[policy] audit_log`` set, every run leaves one hash-chained audit record: a
    published output's record is written *before* the output is renamed into place (an
    output never exists without its record); refusals and failures are recorded too."""
    log = Path(job.config.policy.audit_log) if job.config.policy.audit_log else None
    if log is not None:
        check_appendable(log, "audit log")  # before anything: a failure could not even be recorded
    digest = job.config.digest()

    def before_publish(report: Report) -> None:
        if log is not None:
            audit.record_run(log, input=job.input, output=job.output, config_sha256=digest, result="published",
                             input_sha256=report.input.sha256, output_sha256=report.output.sha256, exit_code=0)

    try:
        return _run(job, models, renderer=renderer, before_publish=before_publish, progress=progress)
    except BaseException as exc:
        if log is not None:
            result = "quarantined" if isinstance(exc, VerificationError) else "refused" if isinstance(exc, PolicyRefusal) else "failed"
            audit.record_run(log, input=job.input, output=job.output, config_sha256=digest, result=result,
                             rule=getattr(exc, "rule", None), reason=str(exc), exit_code=getattr(exc, "exit_code", 1))
        raise


@dataclass
class _Inputs:
    """What is known before any frame is decoded: every check that can fail has passed."""

    key: bytes  # value hashes and the voice disguise
    file_key: bytes | None  # [output] hash_key_file's key (None: ``key`` was drawn for this run)
    report_key: bytes | None
    roster: list[Employee]
    sidecar: Sidecar
    info: MediaInfo
    gate: GateResult
    audio_src: Path | None


@dataclass
class _Analysis:
    plan: Plan
    detector: Detector
    track: AudioTrack | None
    speech: Heard
    frame_times: list[float]
    screen_stats: Any


def _run(job: Job, models: Models | None, *, renderer: Callable[..., int] | None,
         before_publish: Callable[[Report], None], progress: ProgressFn = _no_progress) -> RunResult:
    t_start = time.monotonic()
    timings = Timings()
    inputs = _prepare(job)
    with timings.stage("load_models"):
        if models is None:
            models = load_models(job.config, asr_model=job.asr_model, need_audio=inputs.audio_src is not None)
        preload_detection(job.config.detect)  # spaCy (~5 s) loads while the screen is read
    analysis = _analyse(job, inputs, models, timings, progress)
    return _render_and_publish(job, inputs, analysis, models, timings, renderer=renderer, before_publish=before_publish,
                               progress=progress, t_start=t_start)


def _prepare(job: Job) -> _Inputs:
    """Paths, keys, roster, sidecar, the CNIL gates and the audio's source, in that order:
    a recording that must not be processed is never decoded, and a bad key or companion
    file is exit 2 before the run, not after it."""
    cfg = job.config
    check_paths(job)
    report_key = load_key(Path(cfg.policy.report_key_file)) if cfg.policy.report_key_file else None
    file_key = read_hash_key(cfg)
    key = file_key or secrets.token_bytes(32)
    roster = load_roster(job.roster)
    sidecar = load_sidecar(job.sidecar)  # every value checked here (NaN, strings, 0 windows): exit 2 before any media is read
    info = probe(job.input)
    gate = check_gates(cfg, sidecar if job.sidecar is not None else None, input_path=Path(job.input),
                       duration_s=info.duration_s, width=info.width, height=info.height)
    refuse_still_video(job.input, cfg.video.change_threshold, cfg.video.tile_px)
    audio_src = Path(job.audio) if job.audio else (Path(job.input) if info.has_audio else None)
    if audio_src is None and cfg.audio.required:
        raise InputError("no audio stream (pass --audio FILE, or set [audio] required = false in the policy)", path=job.input)
    return _Inputs(key=key, file_key=file_key, report_key=report_key, roster=roster, sidecar=sidecar, info=info, gate=gate,
                   audio_src=audio_src)


def _analyse(job: Job, inputs: _Inputs, models: Models, timings: Timings, progress: ProgressFn) -> _Analysis:
    """Read the screen, hear the call, find what is personal in both, and plan it."""
    cfg, info = job.config, inputs.info
    hasher = value_hasher(inputs.key)
    n_expected = expected_frames(info)
    states, frame_times, screen_stats = analyse_screen(job.input, info, models.ocr, cfg, timings, windows=inputs.gate.windows,
                                                       progress=lambda n: progress("screen", n, n_expected))
    # The speech is transcribed in a thread while the screen's text is registered: Whisper
    # (CTranslate2) releases the GIL, Presidio holds it, and each keeps one core busy.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr") as pool:
        src = inputs.audio_src
        heard = pool.submit(_hear, src, models.transcriber, timings, cfg.audio.unsure_prob) if src is not None else None
        with timings.stage("detect"):
            language = screen_language((tb.text for _t0, texts in states for tb in texts), cfg.detect.languages)
        with timings.stage("load_models"):  # what is left of the wait
            detector = Detector(cfg.detect, roster=inputs.roster, agent_id=inputs.sidecar.agent_employee_id,
                                keep_categories=tuple(c for c in CATEGORIES if cfg.redact.keeps(c)),
                                screen_language=language)
        with timings.stage("detect"):
            # Pass 1: everything found on screen joins the registry...
            for _t0, texts in states:
                register_screen(texts, detector)
        track, speech = heard.result() if heard is not None else (None, Heard())

    with timings.stage("detect"):
        # ...and so does what is found in the audio; then both sides are searched with it.
        audio_spans = transcript_spans(speech, detector, cfg, hasher)
        state_boxes = [(t0, screen_boxes(texts, detector, cfg, hasher)) for t0, texts in states]
        boxes = merge_tracks(state_boxes, frame_times, pad_s=cfg.video.pad_s, width=info.width, height=info.height)

    plan = Plan(
        input_sha256=sha256_file(job.input),
        width=info.width,
        height=info.height,
        duration_s=frame_times[-1] if frame_times else 0.0,
        config_sha256=cfg.digest(),
        style=cfg.video.style,
        boxes=boxes,
        audio_spans=audio_spans,
        windows=list(inputs.gate.windows),
        trim=inputs.gate.trim,
        voice=voice_plan(track, cfg),
        hash_key_id=key_id(inputs.file_key) if inputs.file_key is not None else "",
    )
    return _Analysis(plan=plan, detector=detector, track=track, speech=speech, frame_times=frame_times, screen_stats=screen_stats)


def _render_and_publish(job: Job, inputs: _Inputs, a: _Analysis, models: Models, timings: Timings, *,
                        renderer: Callable[..., int] | None, before_publish: Callable[[Report], None],
                        progress: ProgressFn, t_start: float) -> RunResult:
    """Render to a temporary name, verify, write plan and report, publish. The MP4 is
    renamed into place last: plan and report exist before it, and are removed again if
    anything fails, so a published MP4 always has its report."""
    cfg, info, plan = job.config, inputs.info, a.plan
    n_frames = len(a.frame_times)
    written: list[Path] = []
    try:
        with atomic_path(job.output) as tmp:
            with timings.stage("render_total"):
                out_audio = output_audio(a.track, plan, cfg, inputs.key) if a.track is not None else None
                progress("render", 0, n_frames)
                render = renderer or partial(render_video, progress=lambda n: progress("render", n, n_frames))
                n_written = render(job.input, tmp, info, plan, out_audio, cfg, timings)
            kept = n_frames if plan.trim is None else sum(1 for ft in a.frame_times if in_trim(ft, plan.trim))
            if n_written != kept:
                raise ProcessingError(f"render wrote {n_written} frames but analysis expected {kept}", path=job.input)
            check_rendered_size(tmp, info, job.output)
            verification = _verify(job, tmp, a, models, timings, progress)
            report = build_report(
                job=job, info=info, plan=plan, sidecar=inputs.sidecar, output_sha256=sha256_file(tmp),
                screen=ScreenSection.of(a.screen_stats), timings=timings.stages, wall_s=time.monotonic() - t_start,
                n_frames=n_frames, audio=a.track, n_words=a.speech.n_words, user=audit.os_user_name(), version=__version__,
                verification=verification,
            )
            write_plan_and_report(job, plan, report, inputs.report_key, inputs.sidecar.agent_employee_id, written)
            before_publish(report)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return RunResult.of(job, report)


def _verify(job: Job, tmp: Path, a: _Analysis, models: Models, timings: Timings, progress: ProgressFn) -> Verification:
    """Re-read the rendered output (``[policy] verify``); quarantine it on any problem."""
    cfg = job.config
    verification = Verification(enabled=cfg.policy.verify)
    if not cfg.policy.verify:
        return verification
    with timings.stage("verify"):
        progress("verify", 0, 0)
        problems, vstats = verify_output(tmp, a.plan, a.detector, models.ocr, models.transcriber if a.track is not None else None,
                                         width=a.plan.width, height=a.plan.height, threshold=cfg.video.change_threshold,
                                         min_interval_s=cfg.policy.verify_min_interval_s, text_detector=cfg.video.text_detector)
    verification.found(problems, vstats)
    if problems:
        quarantine(job, tmp, a.plan, problems, verification)
    return verification


def _hear(src: Path, transcriber: Transcriber | None, timings: Timings, unsure_prob: float) -> tuple[AudioTrack, Heard]:
    """The audio track of ``src`` and what speech-to-text heard of it."""
    with timings.stage("audio_decode"):
        track = read_audio(src)
    if transcriber is None:
        raise ProcessingError("audio present but no speech model loaded")
    with timings.stage("asr"):
        heard = hear(track, transcriber, unsure_prob=unsure_prob)
    return track, heard


__all__ = ["Job", "Models", "RunResult", "Sidecar", "load_models", "run"]
