"""One recording end to end: analyse -> plan -> render -> report.

Two passes over the video: the analysis pass reads text only where pixels changed and
builds the plan with look-ahead (a value recognised when complete is hidden from its first
keystroke); the render pass decodes again and applies the plan frame by frame. Any failure
raises before the output's atomic rename: nothing half-anonymized is ever published."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import kernels
from anonymizer import __version__, audit
from anonymizer.config import CATEGORIES, Config
from anonymizer.detect import Detector
from anonymizer.detect import preload as preload_detection
from anonymizer.detect.labels import REFERENCE_LABEL, context_findings, is_ui_text, reference_values
from anonymizer.detect.roster import load_roster
from anonymizer.errors import ConfigError, CorruptInputError, InputError, PolicyRefusal, ProcessingError, VerificationError
from anonymizer.fsutil import PRIVATE_MODE, atomic_path, check_appendable, check_writable_dir, publish, sha256_file, write_atomic
from anonymizer.media import AudioTrack, MediaInfo, iter_frames, probe, read_audio, write_recording
from anonymizer.ocr import EasyOcrEngine, OcrEngine, available_cpus, cpu_threads
from anonymizer.plan import LiveBoxes, Plan, Window, value_hasher, windows_at
from anonymizer.policy import check_gates
from anonymizer.policy.gates import RuleRefusal
from anonymizer.report import build_report
from anonymizer.screen.layout import Line, build_lines, finding_boxes
from anonymizer.screen.state import ScreenState
from anonymizer.screen.tracks import StateBox, merge_tracks, unsure_boxes
from anonymizer.sidecar import Sidecar, load_sidecar
from anonymizer.signing import key_id, load_key, long_enough, sign_report
from anonymizer.speech import Transcriber, WhisperTranscriber
from anonymizer.speech.spans import Heard, hear, transcript_spans
from anonymizer.textnorm import digits, fold
from anonymizer.types import Box, Finding, TextBox
from anonymizer.verify import Problem, VerifyStats, verify_output

log = logging.getLogger(__name__)

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


@dataclass
class Models:
    """Loaded once per process; a batch reuses them for every file."""

    ocr: OcrEngine
    transcriber: Transcriber | None


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds


def asr_threads(threads: int, cpus: int, *, shared_openmp: bool) -> int:
    """Intra-op threads for Whisper in a process whose OCR uses ``threads`` of ``cpus``.

    CTranslate2 (Whisper) ships its own libgomp, but when torch (EasyOCR, and spaCy through
    thinc) is loaded first, both run in torch's OpenMP runtime. libgomp stops spin-waiting
    between parallel regions once it manages more threads than the process has CPUs; the
    recogniser's many small ops then sleep and wake their threads each time. On 2 cores,
    EasyOCR read the same 60 text lines in 1.5 s before Whisper had run and 7.3 s after, for
    the rest of the process (verification, every later file of a batch). So with a shared
    runtime Whisper's team is sized to keep the two within the CPUs; tiny and base gain
    nothing from a second thread on 2 cores (60 s of speech: 1.66 s with 1, 1.72 s with 2).
    ``benchmarks/bench_recogniser.py`` measures it side by side."""
    if not shared_openmp:
        return threads
    return max(1, min(threads, cpus - threads + 1))


def load_models(config: Config, *, asr_model: Path | None = None, device: str | None = None, need_audio: bool = True) -> Models:
    """EasyOCR and Whisper on ``device`` ("cpu" or "cuda:N"; default ``config.runtime.device``)."""
    device = device or config.runtime.device
    threads = cpu_threads()
    # Whisper first: CTranslate2 then binds to its own OpenMP runtime (see asr_threads), and
    # it sets the OpenMP thread count of the thread that loads it, which EasyOcrEngine then
    # sets back to ``threads`` for torch.
    shared = "torch" in sys.modules and "ctranslate2" not in sys.modules
    transcriber = (WhisperTranscriber(asr_model, language=config.audio.language, device=device,
                                      threads=asr_threads(threads, available_cpus(), shared_openmp=shared))
                   if need_audio else None)
    ocr = EasyOcrEngine(device=device, threads=threads, detector=config.video.text_detector == "craft")
    return Models(ocr=ocr, transcriber=transcriber)


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


# progress(stage, done, total): frames of a stage done of those expected (0 total: unknown)
ProgressFn = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def run(job: Job, models: Models | None = None, *, renderer: Callable[..., int] | None = None,
        progress: ProgressFn = _no_progress) -> dict[str, Any]:
    """Anonymize ``job.input`` into ``job.output`` (+ plan and report). Returns the report.

    With ``[policy] audit_log`` set, every run leaves one hash-chained audit record: a
    published output's record is written *before* the output is renamed into place (an
    output never exists without its record); refusals and failures are recorded too."""
    log = Path(job.config.policy.audit_log) if job.config.policy.audit_log else None
    if log is not None:
        check_appendable(log, "audit log")  # before anything: a failure could not even be recorded
    base = {"os_user": audit.os_user_name(), "input": str(job.input), "output": str(job.output), "config_sha256": job.config.digest()}

    def before_publish(report: dict[str, Any]) -> None:
        if log is not None:
            audit.append(log, "run", **base, result="published", input_sha256=report["input"]["sha256"],
                         output_sha256=report["output"]["sha256"], exit_code=0)

    try:
        return _run(job, models, renderer=renderer, before_publish=before_publish, progress=progress)
    except BaseException as exc:
        if log is not None:
            result = "quarantined" if isinstance(exc, VerificationError) else "refused" if isinstance(exc, PolicyRefusal) else "failed"
            audit.append(log, "run", **base, result=result, rule=getattr(exc, "rule", None), reason=str(exc)[:500],
                         exit_code=getattr(exc, "exit_code", 1))
        raise


def _run(job: Job, models: Models | None, *, renderer: Callable[..., int] | None,
         before_publish: Callable[[dict[str, Any]], None], progress: ProgressFn = _no_progress) -> dict[str, Any]:
    t_start = time.monotonic()
    timings = Timings()
    cfg = job.config
    check_paths(job)
    # The report key is read now: a bad key is exit 2 before the run, not after it.
    report_key = load_key(Path(cfg.policy.report_key_file)) if cfg.policy.report_key_file else None
    file_key = read_hash_key(cfg)
    key = file_key or secrets.token_bytes(32)  # likewise the hash key: a missing file is exit 2 before any decoding
    roster = load_roster(job.roster)
    sidecar = load_sidecar(job.sidecar)  # every value checked here (NaN, strings, 0 windows): exit 2 before any media is read
    info = probe(job.input)
    # CNIL gates first: a recording that must not be processed is never decoded.
    gate = check_gates(cfg, sidecar if job.sidecar is not None else None, input_path=Path(job.input),
                       duration_s=info.duration_s, width=info.width, height=info.height)
    refuse_still_video(job.input, cfg.video.change_threshold, cfg.video.tile_px)
    audio_src = Path(job.audio) if job.audio else (Path(job.input) if info.has_audio else None)
    if audio_src is None and cfg.audio.required:
        raise InputError("no audio stream (pass --audio FILE, or set [audio] required = false in the policy)", path=job.input)
    t = time.monotonic()
    if models is None:
        models = load_models(cfg, asr_model=job.asr_model, need_audio=audio_src is not None)
    preload_detection(cfg.detect)  # spaCy (~5 s) loads while the screen is read
    timings.add("load_models", time.monotonic() - t)
    hasher = value_hasher(key)

    # -- analyse ---------------------------------------------------------------------
    n_expected = expected_frames(info)
    states, frame_times, screen_stats = analyse_screen(job.input, info, models.ocr, cfg, timings, windows=gate.windows,
                                                       progress=lambda n: progress("screen", n, n_expected))
    # The speech is transcribed in a thread while the screen's text is registered: Whisper
    # (CTranslate2) releases the GIL, Presidio holds it, and each keeps one core busy.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr") as pool:
        heard = pool.submit(_hear, audio_src, models.transcriber, timings) if audio_src is not None else None
        t = time.monotonic()
        detector = Detector(cfg.detect, roster=roster, agent_id=sidecar.agent_employee_id,
                            keep_categories=tuple(c for c in CATEGORIES if cfg.redact.keeps(c)))
        timings.add("load_models", time.monotonic() - t)  # what is left of the wait
        t = time.monotonic()
        # Pass 1: everything found on screen joins the registry...
        for _t0, texts in states:
            register_screen(texts, detector)
        timings.add("detect", time.monotonic() - t)
        track, speech = heard.result() if heard is not None else (None, Heard())

    t = time.monotonic()
    # ...and so does what is found in the audio; then both sides are searched with it.
    audio_spans = transcript_spans(speech, detector, cfg, hasher)
    state_boxes = [(t0, screen_boxes(texts, detector, cfg, hasher)) for t0, texts in states]
    boxes = merge_tracks(state_boxes, frame_times, pad_s=cfg.video.pad_s, width=info.width, height=info.height)
    timings.add("detect", time.monotonic() - t)

    plan = Plan(
        input_sha256=sha256_file(job.input),
        width=info.width,
        height=info.height,
        duration_s=frame_times[-1] if frame_times else 0.0,
        config_sha256=cfg.digest(),
        style=cfg.video.style,
        boxes=boxes,
        audio_spans=audio_spans,
        windows=list(gate.windows),
        trim=gate.trim,
        voice=voice_plan(track, cfg),
        hash_key_id=key_id(file_key) if file_key is not None else "",
    )

    # -- render (to a temporary name; renamed only when complete) ----------------------
    # The MP4 is renamed into place last: plan and report exist before it, and are
    # removed again if anything fails, so a published MP4 always has its report.
    written: list[Path] = []
    try:
        with atomic_path(job.output) as tmp:
            t = time.monotonic()
            out_audio = output_audio(track, plan, cfg, key) if track is not None else None
            progress("render", 0, len(frame_times))
            render = renderer or partial(render_video, progress=lambda n: progress("render", n, len(frame_times)))
            n_written = render(job.input, tmp, info, plan, out_audio, cfg, timings)
            timings.add("render_total", time.monotonic() - t)
            kept = len(frame_times) if plan.trim is None else sum(1 for ft in frame_times if in_trim(ft, plan.trim))
            if n_written != kept:
                raise ProcessingError(f"render wrote {n_written} frames but analysis expected {kept}", path=job.input)
            check_rendered_size(tmp, info, job.output)
            verification: dict[str, Any] = {"enabled": cfg.policy.verify}
            if cfg.policy.verify:
                t = time.monotonic()
                progress("verify", 0, 0)
                problems, vstats = verify_output(tmp, plan, detector, models.ocr, models.transcriber if track is not None else None,
                                                 width=info.width, height=info.height, threshold=cfg.video.change_threshold,
                                                 min_interval_s=cfg.policy.verify_min_interval_s, text_detector=cfg.video.text_detector)
                timings.add("verify", time.monotonic() - t)
                verification.update(verification_record(problems, vstats))
                if problems:
                    quarantine(job, tmp, plan, problems, verification)
            report = build_report(
                job=job, info=info, plan=plan, sidecar=sidecar, output_sha256=sha256_file(tmp), screen_stats=screen_stats,
                timings=timings.stages, wall_s=time.monotonic() - t_start, n_frames=len(frame_times),
                audio=track, n_words=speech.n_words, user=audit.os_user_name(), version=__version__,
            )
            report["verification"] = verification
            write_plan_and_report(job, plan, report, report_key, sidecar.agent_employee_id, written)
            before_publish(report)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return report


def check_rendered_size(tmp: Path, info: MediaInfo, output: Path) -> None:
    out_info = probe(tmp)
    if (out_info.width, out_info.height) != (info.width, info.height):
        raise ProcessingError("output size differs from input", path=output)


def verification_record(problems: list[Problem], stats: VerifyStats) -> dict[str, Any]:
    """What a report says of a verification pass (with ``enabled`` and any mode)."""
    return {"problems": [asdict(p) for p in problems], "frames": stats.frames, "crops_read": stats.crops_read,
            "crops_cached": stats.crops_cached, "crops_flat": stats.crops_flat, "words": stats.words}


def write_plan_and_report(job: Job, plan: Plan, report: dict[str, Any], report_key: bytes | None, agent_id: str | None,
                          written: list[Path]) -> None:
    """Write the plan, then its report naming the plan's sha256 (render refuses an edited
    plan) and signed when a report key is set (export trusts a report only with a valid
    HMAC, anonymizer.signing); each path goes into ``written`` once it exists, so that a
    failure before the MP4 is published removes it."""
    plan_json = plan.to_json()
    report["output"]["plan_sha256"] = hashlib.sha256(plan_json.encode("utf-8")).hexdigest()
    if report_key is not None:
        sign_report(report, report_key, agent_id=agent_id)
    write_atomic(job.plan_path(), plan_json)
    written.append(job.plan_path())
    write_atomic(job.report_path(), json.dumps(report, indent=1, sort_keys=True))
    written.append(job.report_path())


def _hear(src: Path, transcriber: Transcriber | None, timings: Timings) -> tuple[AudioTrack, Heard]:
    """The audio track of ``src`` and what speech-to-text heard of it."""
    t = time.monotonic()
    track = read_audio(src)
    timings.add("audio_decode", time.monotonic() - t)
    if transcriber is None:
        raise ProcessingError("audio present but no speech model loaded")
    t = time.monotonic()
    heard = hear(track, transcriber)
    timings.add("asr", time.monotonic() - t)
    return track, heard


# A tile counts as changed when this share of its pixels changed: sparse codec noise (or
# noise added on purpose) flips a few scattered pixels, typing or a moving window whole
# glyphs and edges.
STILL_TILE_SHARE = 1 / 16
# A recording is not a still image once this share of the frame area has changed.
STILL_AREA_SHARE = 0.0025


def refuse_still_video(path: Path, threshold: int, tile_px: int = 16) -> None:
    """A "video" whose frames never change is a screenshot in disguise; the CNIL deems
    screenshots disproportionate.

    Judged on the *area* that changed over the whole recording, not on the largest pixel
    difference (issue 15: a screenshot looped into an H.264 file passed on a few pixels of
    codec noise). Each frame is compared with the first, luma differences of ``threshold``
    or more count per ``tile_px`` tile, a tile with enough of them is marked, marks
    accumulate over the recording, and decoding stops as soon as they cover
    ``STILL_AREA_SHARE`` of the frame."""
    first: np.ndarray | None = None
    changed: np.ndarray | None = None
    need_tiles = 1
    n = 0
    for fd in iter_frames(path):
        n += 1
        luma = fd.luma()
        if first is None:
            first = luma.astype(np.int16)
            h, w = first.shape
            th, tw = -(-h // tile_px), -(-w // tile_px)
            changed = np.zeros((th, tw), bool)
            need_tiles = max(1, round(STILL_AREA_SHARE * h * w / (tile_px * tile_px)))
            continue
        if luma.shape != first.shape:
            return  # the size changed: not one image
        assert changed is not None
        hot = np.abs(luma.astype(np.int16) - first) >= threshold
        th, tw = changed.shape
        padded = np.zeros((th * tile_px, tw * tile_px), np.int32)
        padded[: hot.shape[0], : hot.shape[1]] = hot
        counts = padded.reshape(th, tile_px, tw, tile_px).sum(axis=(1, 3))
        changed |= counts >= max(2, round(STILL_TILE_SHARE * tile_px * tile_px))
        if int(changed.sum()) >= need_tiles:
            return
    raise RuleRefusal("still_image", f"its {n} frame(s) never change over more than a few scattered pixels: "
                      "a still image, not a screen recording", path=path)


def quarantine_dir(job: Job) -> Path:
    return job.config.policy.quarantine_path()


def quarantine(job: Job, tmp: Path, plan: Plan, problems: list[Problem], verification: dict[str, Any]) -> None:
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
              "reason": f"{len(problems)} value(s) found again in the output ({', '.join(kinds)})", "verification": verification}
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


def expected_frames(info: MediaInfo) -> int:
    """Frames the container announces (for progress only; 0 when it cannot say)."""
    return round(info.duration_s * float(info.avg_rate)) if info.avg_rate and info.duration_s > 0 else 0


def business_rects(windows: Sequence[Window], t: float, width: int, height: int) -> np.ndarray | None:
    """The business windows active at ``t`` as (n, 4) int32 ``x, y, w, h`` rectangles, or
    None when nothing is to be masked (no windows known, or an active one covers the whole
    frame). Decided per frame from the windows active now (issue 15: a full-frame window
    that had ended still unmasked everything after it). With windows known, a frame that
    no active window covers whole is black outside the active ones, and entirely black when
    none is active: nothing says what is business then."""
    if not windows:
        return None
    wins = windows_at(windows, t)
    if any(w.x <= 0 and w.y <= 0 and w.x + w.w >= width and w.y + w.h >= height for w in wins):
        return None
    return np.array([[w.x, w.y, w.w, w.h] for w in wins], dtype=np.int32).reshape(-1, 4)


class _OutsideMask:
    """Blanks what lies outside the business windows before the screen is analysed: a
    messenger or a personal tab beside the application is never decoded into text, never
    read and never costs OCR time. The per-window-set mask is cached (windows change rarely)."""

    def __init__(self, windows: Sequence[Window], width: int, height: int) -> None:
        self.windows, self.width, self.height = tuple(windows), width, height
        self._key: bytes | None = None
        self._inside: np.ndarray | None = None

    def inside(self, t: float) -> np.ndarray | None:
        rects = business_rects(self.windows, t, self.width, self.height)
        if rects is None:
            return None
        key = rects.tobytes()
        if key != self._key or self._inside is None:
            inside = np.zeros((self.height, self.width), dtype=bool)
            for x, y, w, h in rects:
                inside[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = True
            self._key, self._inside = key, inside
        return self._inside


def analyse_screen(path: Path, info: MediaInfo, ocr: OcrEngine, cfg: Config, timings: Timings,
                   *, progress: Callable[[int], None] | None = None, windows: Sequence[Window] = ()
                   ) -> tuple[list[tuple[float, list[TextBox]]], list[float], Any]:
    """Decode once; OCR only changed regions. Returns the text states (start time, texts),
    every frame's time, and OCR statistics. Pixels outside the active business
    ``windows`` are blanked first, so they are never analysed (render blacks them out)."""
    v = cfg.video
    state = ScreenState(ocr=ocr, width=info.width, height=info.height, tile_px=v.tile_px, threshold=v.change_threshold,
                        pad_px=v.ocr_pad_px, text_detector=v.text_detector)
    states: list[tuple[float, list[TextBox]]] = []
    times: list[float] = []
    t_dec = time.monotonic()
    t_ocr = 0.0
    outside = _OutsideMask(windows, info.width, info.height)
    for fd in iter_frames(path):
        t0 = time.monotonic()
        inside = outside.inside(fd.t)
        if inside is None:
            changed = state.update(fd.t, fd.luma(), fd.rgb)
        else:
            changed = state.update(fd.t, np.where(inside, fd.luma(), np.uint8(0)), partial(_masked_rgb, fd, inside))
        t_ocr += time.monotonic() - t0
        if changed or not states:
            states.append((fd.t, list(state.texts)))
        times.append(fd.t)
        if progress is not None:
            progress(len(times))
    if not times:
        raise CorruptInputError("video stream has no decodable frame", path=path)
    # A truncated file can decode "successfully" up to the cut: compare with the duration
    # the container announced so a cut recording is never published as complete.
    expected = info.duration_s
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    if expected > 0 and times[-1] + 2 * step < expected - max(1.0, 0.05 * expected):
        raise CorruptInputError(f"truncated: video stops at {times[-1]:.1f} s of the announced {expected:.1f} s", path=path)
    st = state.stats
    timings.add("screen_change", st.change_s)
    timings.add("ocr_detector", st.detector_s)
    timings.add("ocr_recogniser", st.recogniser_s)
    timings.add("screen_other", max(0.0, t_ocr - st.change_s - st.detector_s - st.recogniser_s))
    timings.add("screen_decode", time.monotonic() - t_dec - t_ocr)
    return states, times, state.stats


def _masked_rgb(fd: Any, inside: np.ndarray) -> np.ndarray:
    rgb = fd.rgb()
    rgb[~inside] = 0
    return rgb


_CLOCK_IN_LINE = re.compile(r"(?<![\w:.])\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?![\w:.])")


def _zeroed_clock(m: re.Match[str], year: int) -> str:
    """A clock's digits as zeros (same length): a status bar whose clock ticks is the same
    text to the detector from one second to the next (its findings are cached by text)."""
    return re.sub(r"\d", "0", m.group()) if _plainly_not_pii(m.group(), year) else m.group()


def _line_findings(texts: list[TextBox], detector: Detector) -> tuple[list[Line], list[tuple[int, Finding]]]:
    """The screen's lines and the detector's findings on each, less the generic shapes
    (an employee-id-like code, a number shorter than a card's) in the value of a
    reference label: "Ticket  T-48623" names a ticket, even on a line where OCR split the
    label off."""
    lines = build_lines(texts)
    refs = reference_values(texts)
    year = time.gmtime().tm_year
    found = []
    for k, line in enumerate(lines):
        for f in detector.find(_CLOCK_IN_LINE.sub(lambda m: _zeroed_clock(m, year), line.text)):
            generic = f.entity_type == "EMPLOYEE_ID" or (f.entity_type == "NUMBER" and len(digits(line.text[f.start : f.end])) < 12)
            if generic and f.category == "customer":
                pieces = [tb for off, tb in line.pieces if off < f.end and f.start < off + len(tb.text)]
                if pieces and all(tb in refs for tb in pieces):
                    continue
            found.append((k, f))
    return lines, found


def screen_findings(texts: list[TextBox], detector: Detector, cfg: Config) -> list[tuple[Line, Finding]]:
    """Every finding on one screen state, per line: recognizers, roster and registry, and
    the values of labelled fields (``FIELD``: right of or below a label such as "Nom",
    "Handled by"), minus what the ``[redact]`` policy keeps. A field value is dropped only
    when kept findings cover all of it ("Agent: Claire Dubois" with agent = "keep")."""
    lines, found = _line_findings(texts, detector)
    if "FIELD" in cfg.detect.entities:
        found += [(fv.line, fv.finding) for fv in context_findings(lines)]
    keep = cfg.redact
    kept: dict[int, list[Finding]] = {}
    for k, f in found:
        if keep.keeps(f.category, f.entity_type):
            kept.setdefault(k, []).append(f)
    out = []
    for k, f in found:
        if keep.keeps(f.category, f.entity_type):
            continue
        if f.entity_type == "FIELD" and k in kept:
            rest = list(lines[k].text[f.start : f.end])
            for g in kept[k]:
                for c in range(max(f.start, g.start), min(f.end, g.end)):
                    rest[c - f.start] = " "
            if not re.search(r"[^\W_]{2,}", "".join(rest)):
                continue
        out.append((lines[k], f))
    return out


def register_screen(texts: list[TextBox], detector: Detector) -> None:
    """Add one screen state's values to the recording's registry (searched everywhere)."""
    lines, found = _line_findings(texts, detector)
    for k, f in found:
        if detector.registers(f.entity_type):
            detector.add_known(f.entity_type, lines[k].text[f.start : f.end], f.category)
    # A field's value is searched too, but never as proof of a leak (a misread label could
    # make anything a "value"); names as names (fuzzy, by sound only if strong elsewhere).
    for fv in context_findings(lines):
        value = lines[fv.line].text[fv.finding.start : fv.finding.end].strip()
        if len(digits(value)) >= 4 and len(digits(value)) * 2 >= len(re.sub(r"\W", "", value)):
            detector.add_known("NUMBER", value, fv.finding.category)
        elif len(value) >= 4:
            detector.add_known("PERSON" if fv.names else "FIELD", value, fv.finding.category, strong=False)


_CLOCK = re.compile(r"^(\d{1,2})([:.])(\d{2})(?:\2(\d{2}))?$")
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{2}[-/.]\d{2}|\d{2}[-/.]\d{2}[-/.]\d{4})$")
_MONEY = re.compile(r"^(?:[£$€]\s?)?\d{1,3}(?:[ \u202f.,]?\d{3})*[.,]\d{2}(?:\s?(?:[£$€]|EUR|GBP|USD))?$", re.IGNORECASE)
_LEADING_UI = re.compile(r"^(?:[^\W\d_]+\.?:?\s+)+")


def _plainly_not_pii(text: str, year: int) -> bool:
    """A clock (a dotted one only with its seconds: "12.34.56" is how OCR often reads
    "12:34:56", "06.12" may be a phone being typed), a date of this or last year (history
    rows; birth dates are older), an amount with its currency sign."""
    clock = _CLOCK.match(text)
    if clock:
        h, sep, m, sec = clock.groups()
        return int(h) < 24 and int(m) < 60 and ((sec is None and sep == ":") or (sec is not None and int(sec) < 60))
    if _DATE.match(text):
        return any(str(y) in text for y in (year, year - 1))
    return bool(_MONEY.match(text)) and bool(re.search(r"[£$€]|EUR|GBP|USD", text, re.IGNORECASE))


def unsure_candidates(texts: list[TextBox]) -> list[TextBox]:
    """The parts of OCR boxes that may hide an unreadable value. A box is split at its
    wide gaps ("Connecté en tant que jdupont   Poste 5872") and each part judged alone:
    UI labels, clocks, recent dates and amounts stay readable (``_plainly_not_pii``), and
    so do the values of reference labels (an order, a ticket: ``reference_values``). A part
    that starts with UI words ("Ext. 4127") is cut to the rest. A cut is moved a character
    and a third of the text height into what stays readable, so the value keeps its glyphs."""
    year = time.gmtime().tm_year
    refs = reference_values(texts)
    out = []
    for tb in texts:
        if tb in refs:
            continue
        b, n = tb.box, max(1, len(tb.text))
        for part in re.finditer(r"\S+(?: \S+)*", tb.text):
            start, text = part.start(), part.group()
            if is_ui_text(text, fuzzy=True) or _plainly_not_pii(text, year):
                continue
            lead = _LEADING_UI.match(text)
            if lead and is_ui_text(lead.group()):
                if REFERENCE_LABEL.search(fold(lead.group())):
                    continue  # "Ticket T-48623" in one box
                start, text = start + lead.end(), text[lead.end() :]
                if _plainly_not_pii(text, year):
                    continue
            end = start + len(text)
            if (start, end) == (0, len(tb.text)):
                out.append(tb)
                continue
            margin = b.w // n + b.h // 3
            x0 = b.x + b.w * start // n - (margin if start > 0 else 0)
            x1 = b.x + -(-(b.w * end) // n) + (margin if end < len(tb.text) else 0)
            x0, x1 = max(b.x, x0), min(b.x1, x1)
            out.append(TextBox(Box(x0, b.y, max(1, x1 - x0), b.h), text, tb.conf, tb.since_s))
    return out


def screen_boxes(texts: list[TextBox], detector: Detector, cfg: Config, hasher: Callable[[str], str]) -> list[StateBox]:
    out: list[StateBox] = []
    for line, f in screen_findings(texts, detector, cfg):
        value = line.text[f.start : f.end]
        source = "registry" if f.score >= 1.0 and f.category != "customer" else "ocr"
        for box, since in finding_boxes(line, f, cfg.video.pad_px):
            out.append(StateBox(box, f.entity_type, f.category, source, hasher(value), since))
    if "UNSURE" in cfg.detect.entities and not cfg.redact.keeps("customer", "UNSURE"):
        # Barely readable text stays hidden unless it reads as a known UI label.
        out += unsure_boxes(unsure_candidates(texts), conf=cfg.video.unsure_conf, min_digits=cfg.video.unsure_min_digits, pad_px=cfg.video.pad_px, hasher=hasher)
    return out


def apply_audio(track: AudioTrack, plan: Plan, cfg: Config) -> AudioTrack:
    """A copy of ``track`` with every plan span replaced by a tone or silence."""
    samples = track.samples.copy()
    rate = track.sample_rate
    for s in plan.audio_spans:
        i0 = max(0, int(np.floor((s.start_s - track.start_s) * rate)))
        i1 = min(samples.shape[1], int(np.ceil((s.end_s - track.start_s) * rate)))
        if i1 <= i0:
            continue
        # a span heard on one side of a stereo call is bleeped there; a channel this track
        # does not have (a plan applied to another file) means every channel
        rows = [s.channel] if 0 <= s.channel < samples.shape[0] else slice(None)
        if cfg.audio.mode == "tone":
            tt = np.arange(i0, i1, dtype=np.float64) / rate
            samples[rows, i0:i1] = (0.2 * np.sin(2 * np.pi * cfg.audio.tone_hz * tt)).astype(np.float32)
        else:
            samples[rows, i0:i1] = 0.0
    return AudioTrack(samples=samples, sample_rate=rate, layout=track.layout, start_s=track.start_s)


def voice_channels(track: AudioTrack, cfg: Config) -> list[int]:
    """The channels whose voice is disguised: with stereo, the agent's side (``[audio]
    agent_channel``) and the customer's only if ``customer_voice`` says so; a mono (or
    other) mix holds both voices, so it is disguised whole when either is to be."""
    a = cfg.audio
    n = track.samples.shape[0]
    if n == 2:
        agent = 0 if a.agent_channel == "left" else 1
        return sorted(([agent] if a.voice == "disguise" else []) + ([1 - agent] if a.customer_voice == "disguise" else []))
    return list(range(n)) if "disguise" in (a.voice, a.customer_voice) else []


def voice_plan(track: AudioTrack | None, cfg: Config) -> dict[str, Any]:
    """What the plan records of the disguise: the method and the channels, never the key."""
    channels = voice_channels(track, cfg) if track is not None else []
    if not channels:
        return {}
    from anonymizer.speech.disguise import METHOD

    return {**METHOD, "channels": channels}


def output_audio(track: AudioTrack, plan: Plan, cfg: Config, key: bytes) -> AudioTrack:
    """The audio as published: voices disguised (plan.voice), then bleeped (so the bleeps
    stay exact tones that verification hears), then trimmed to pick-up..hang-up."""
    if plan.voice:
        from anonymizer.speech.disguise import disguise_track

        track = disguise_track(track, key, input_sha256=plan.input_sha256, channels=plan.voice["channels"])
    return trim_audio(apply_audio(track, plan, cfg), plan.trim)


def in_trim(t: float, trim: tuple[float, float]) -> bool:
    return trim[0] - 1e-6 <= t <= trim[1] + 1e-6


def trim_audio(track: AudioTrack, trim: tuple[float, float] | None) -> AudioTrack:
    """Keep pick-up..hang-up, with the original timestamps (video keeps its pts too)."""
    if trim is None:
        return track
    rate = track.sample_rate
    i0 = max(0, round((trim[0] - track.start_s) * rate))
    i1 = min(track.samples.shape[1], round((trim[1] - track.start_s) * rate))
    if i0 == 0 and i1 >= track.samples.shape[1]:
        return track
    return AudioTrack(samples=track.samples[:, i0:max(i0, i1)].copy(), sample_rate=rate, layout=track.layout,
                      start_s=track.start_s + i0 / rate)


def render_video(src: Path, dst: Path, info: MediaInfo, plan: Plan, audio: AudioTrack | None, cfg: Config, timings: Timings,
                 *, encoder: str | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Decode ``src`` again and write it to ``dst`` with the plan applied. Frames without
    any box or mask go to the encoder as decoded (no RGB conversion). ``encoder``:
    default ``cfg.runtime.encoder`` (chosen by probing, ``media.writer.choose_encoder``)."""
    windows = plan.windows

    in_gen = 0.0

    sweep = LiveBoxes(plan.boxes)
    seed = int(plan.input_sha256[:8], 16)
    even = info.width % 2 == 0 and info.height % 2 == 0

    def frames() -> Iterator[tuple[int, Any]]:
        nonlocal in_gen
        t_kernel = 0.0
        n_done = 0
        t_gen = time.monotonic()
        for fd in iter_frames(src):
            t = fd.t
            if plan.trim is not None and not in_trim(t, plan.trim):
                continue  # CNIL: only pick-up to hang-up is kept
            active = sweep.at(t)
            n_done += 1
            if progress is not None:
                progress(n_done)
            rects = business_rects(windows, t, info.width, info.height)
            mask_needed = rects is not None
            if not active and not mask_needed:
                in_gen += time.monotonic() - t_gen
                yield fd.pts, fd.frame  # untouched frames skip the RGB round trip
                t_gen = time.monotonic()
                continue
            t0 = time.monotonic()
            arr = np.array([[b.x, b.y, b.w, b.h] for b in active], dtype=np.int32).reshape(-1, 4)
            if not mask_needed and even and fd.frame.format.name == "yuv420p":
                # redacted on the decoded planes: only the pixels around the boxes are
                # converted (a whole-frame RGB round trip cost ~6 ms a frame)
                frame = fd.frame
                frame.make_writable()  # the decoder may still hold this buffer as a reference
                planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size) for p in frame.planes]
                kernels.redact_yuv420(planes, info.width, info.height, arr, plan.style, seed=seed)
                t_kernel += time.monotonic() - t0
                in_gen += time.monotonic() - t_gen
                yield fd.pts, frame
                t_gen = time.monotonic()
                continue
            rgb = fd.rgb()
            if active:
                kernels.redact(rgb, arr, plan.style, seed=seed)
            if rects is not None:
                kernels.mask_outside(rgb, rects)
            t_kernel += time.monotonic() - t0
            in_gen += time.monotonic() - t_gen
            yield fd.pts, rgb
            t_gen = time.monotonic()
        in_gen += time.monotonic() - t_gen
        timings.add("render_kernel", t_kernel)
        timings.add("render_decode", in_gen - t_kernel)

    t_all = time.monotonic()
    n = write_recording(
        dst, width=info.width, height=info.height, time_base=info.time_base, rate=info.avg_rate,
        frames=frames(), audio=audio, crf=cfg.video.crf, preset=cfg.video.preset, codec=encoder or cfg.runtime.encoder,
        device=cfg.runtime.device,
    )
    timings.add("render_encode", time.monotonic() - t_all - in_gen)
    return n


__all__ = ["Job", "Models", "Sidecar", "load_models", "run"]
