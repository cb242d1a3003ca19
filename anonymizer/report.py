"""The run report: what was hidden where, with which models and settings — never a value.

A :class:`Report` is made by :func:`build_report` (``run`` and ``render`` add what only
they know), signed with :meth:`Report.sign` and written as :meth:`Report.to_dict`, the
JSON of the report file. Readers of report files (export, review, render) read that JSON
as a dict: files of older versions hold other keys."""

from __future__ import annotations

import datetime as _dt
import platform
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

import models
from anonymizer.fsutil import sha256_file
from anonymizer.plan import Plan, bleep_summary
from anonymizer.signing import sign_report

if TYPE_CHECKING:
    from anonymizer.verify import Problem, VerifyStats


# a field's metadata: left out of the report while it is None (not written as null)
_ABSENT = {"omit_none": True}


def _plain(value: Any) -> Any:
    """``value`` as JSON data: a dataclass as the dict of its fields (less those that are
    ``_ABSENT`` and None), lists, tuples and dicts item by item (copies)."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            v = getattr(value, f.name)
            if not (v is None and f.metadata.get("omit_none")):
                out[f.name] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class AudioInput:
    sample_rate: int
    layout: str
    duration_s: float


@dataclass
class InputSection:
    """The recording read, and the sha256 of the companion files verification searched
    besides the recording's own values (render compares them); None: there was none."""

    file: str
    sha256: str
    width: int
    height: int
    frames: int
    duration_s: float
    video_codec: str
    audio: AudioInput | None
    roster_sha256: str | None
    sidecar_sha256: str | None
    audio_sha256: str | None


@dataclass
class OutputSection:
    file: str
    sha256: str
    plan: str
    plan_sha256: str | None = field(default=None, metadata=_ABSENT)  # set when the plan is written (render refuses an edited plan)


@dataclass
class CallSection:
    call_id: str | None
    agent_employee_id_present: bool
    agent_hmac: str | None = field(default=None, metadata=_ABSENT)  # signed reports with a known agent (anonymizer.signing)


@dataclass
class Counts:
    """Boxes and spans per type, and both per category."""

    screen: dict[str, int]
    audio: dict[str, int]
    by_category: dict[str, int]


@dataclass
class TimeRanges:
    """Merged ``[start_s, end_s]`` ranges where something is hidden."""

    screen: list[list[float]]
    audio: list[list[float]]


@dataclass
class ScreenSection:
    """What the analysis pass read of the screen."""

    frames_changed: int
    ocr_calls: int
    ocr_pixel_fraction: float
    ink_reads: int
    boxes_read: int
    ink_pixel_fraction: float

    @classmethod
    def of(cls, stats: Any) -> ScreenSection:
        """From :func:`anonymizer.screen.analyse.analyse_screen`'s statistics."""
        pixels = max(1, stats.frame_pixels)
        return cls(frames_changed=stats.frames_changed, ocr_calls=stats.ocr_calls,
                   ocr_pixel_fraction=round(stats.ocr_pixels / pixels, 5), ink_reads=stats.ink_reads,
                   boxes_read=stats.boxes_read, ink_pixel_fraction=round(stats.ink_pixels / pixels, 5))


@dataclass
class SpeechSection:
    """Words heard, how the voice was kept or disguised, and what a trainer will hear:
    seconds bleeped per reason and per channel, share kept (None: no audio)."""

    words: int | None
    voice: dict[str, Any]
    bleeped: dict[str, object] | None


@dataclass
class RuntimeSection:
    """Where the models ran and what wrote the video (both in config_sha256 too)."""

    device: str
    device_reason: str
    encoder: str
    encoder_reason: str


@dataclass
class Verification:
    """The output read again (``[policy] verify``): ``enabled`` alone when off; else what
    the pass found (``problems``, never a value) and read; a render's says how (``mode``
    ``against_run``: compared with the run's verified output, or ``full``, and why)."""

    enabled: bool
    problems: list[Problem] | None = field(default=None, metadata=_ABSENT)
    frames: int | None = field(default=None, metadata=_ABSENT)
    crops_read: int | None = field(default=None, metadata=_ABSENT)
    crops_cached: int | None = field(default=None, metadata=_ABSENT)
    crops_flat: int | None = field(default=None, metadata=_ABSENT)
    words: int | None = field(default=None, metadata=_ABSENT)
    mode: str | None = field(default=None, metadata=_ABSENT)
    baseline_sha256: str | None = field(default=None, metadata=_ABSENT)
    frames_compared: int | None = field(default=None, metadata=_ABSENT)
    max_noise_outside: float | None = field(default=None, metadata=_ABSENT)
    boxes_rechecked: int | None = field(default=None, metadata=_ABSENT)
    why_full: str | None = field(default=None, metadata=_ABSENT)
    registry: dict[str, int] | None = field(default=None, metadata=_ABSENT)

    def found(self, problems: list[Problem], stats: VerifyStats) -> None:
        """Record a pass: its problems and what it read."""
        self.problems = list(problems)
        self.frames, self.crops_read, self.crops_cached = stats.frames, stats.crops_read, stats.crops_cached
        self.crops_flat, self.words = stats.crops_flat, stats.words

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _plain(self)
        return out


@dataclass
class RenderedFrom:
    """A render's source: the run's plan and report (None: no report was read)."""

    plan: str
    plan_sha256: str
    input_sha256: str
    report: str | None


@dataclass
class AppliedOverrides:
    """A render's overrides (:meth:`anonymizer.overrides.Overrides.record`), its file, the
    value hashes un-hidden and the access rule that allowed it (None: nothing un-hidden)."""

    version: int
    plan_sha256: str
    sha256: str
    reviewer: str
    items: list[dict[str, Any]]
    file: str
    unhidden_value_hashes: list[str]
    access_rule: str | None


@dataclass
class Signature:
    alg: str
    key_id: str
    hmac: str


@dataclass
class Report:
    """One published run's (or render's) report. ``screen``: a render's is the run's
    report's own, as read; ``rendered_from`` and ``overrides`` are a render's only."""

    anonymizer_version: str
    created_utc: str
    status: str
    user: str
    host: str
    input: InputSection
    output: OutputSection
    call: CallSection
    config_sha256: str
    style: str
    counts: Counts
    time_ranges: TimeRanges
    screen: ScreenSection | dict[str, Any] | None
    speech: SpeechSection
    models: dict[str, str]
    runtime: RuntimeSection
    timings_s: dict[str, float]
    wall_s: float
    real_time_factor: float | None
    verification: Verification
    rendered_from: RenderedFrom | None = field(default=None, metadata=_ABSENT)
    overrides: AppliedOverrides | None = None  # written (null too) only with rendered_from
    signature: Signature | None = field(default=None, metadata=_ABSENT)

    def to_dict(self) -> dict[str, Any]:
        """The report file's JSON."""
        out: dict[str, Any] = _plain(self)
        if self.rendered_from is None:
            del out["overrides"]
        return out

    def sign(self, key: bytes, *, agent_id: str | None) -> None:
        """Set ``call.agent_hmac`` (when the agent is known) and the signature, the HMAC of
        :meth:`to_dict` (:func:`anonymizer.signing.sign_report`)."""
        self.signature = None
        signed = sign_report(self.to_dict(), key, agent_id=agent_id)
        self.call.agent_hmac = signed["call"].get("agent_hmac")
        self.signature = Signature(**signed["signature"])


def _ranges(items: list[tuple[float, float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for s, e in sorted(items):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([round(s, 3), round(e, 3)])
    return merged


def companion_sha256(path: Any) -> str | None:
    """sha256 of a roster or sidecar file the run read, or None when there was none."""
    return sha256_file(path) if path else None


def build_report(*, job: Any, info: Any, plan: Plan, sidecar: Any, output_sha256: str,
                 screen: ScreenSection | dict[str, Any] | None, timings: dict[str, float], wall_s: float, n_frames: int,
                 audio: Any, n_words: int | None, user: str, version: str, verification: Verification) -> Report:
    duration = plan.duration_s
    rt = job.config.runtime
    return Report(
        anonymizer_version=version,
        created_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        status="published",
        user=user,
        host=platform.node(),
        input=InputSection(
            file=str(job.input), sha256=plan.input_sha256, width=info.width, height=info.height, frames=n_frames,
            duration_s=round(info.duration_s or duration, 3), video_codec=info.video_codec,
            audio=None if audio is None else AudioInput(audio.sample_rate, audio.layout, round(audio.duration_s, 3)),
            roster_sha256=companion_sha256(job.roster), sidecar_sha256=companion_sha256(job.sidecar),
            audio_sha256=companion_sha256(job.audio)),
        output=OutputSection(file=str(job.output), sha256=output_sha256, plan=str(job.plan_path())),
        call=CallSection(call_id=sidecar.call_id, agent_employee_id_present=sidecar.agent_employee_id is not None),
        config_sha256=plan.config_sha256,
        style=plan.style,
        counts=Counts(screen=dict(Counter(b.type for b in plan.boxes)), audio=dict(Counter(s.type for s in plan.audio_spans)),
                      by_category=dict(Counter(b.category for b in plan.boxes) + Counter(s.category for s in plan.audio_spans))),
        time_ranges=TimeRanges(screen=_ranges([(b.start_s, b.end_s) for b in plan.boxes]),
                               audio=_ranges([(s.start_s, s.end_s) for s in plan.audio_spans])),
        screen=screen,
        speech=SpeechSection(words=n_words, voice=plan.voice or {"method": "keep"},
                             bleeped=None if audio is None else bleep_summary(plan.audio_spans, audio.samples.shape[0], audio.duration_s)),
        models=models.versions(),
        runtime=RuntimeSection(device=rt.device, device_reason=rt.device_reason, encoder=rt.encoder,
                               encoder_reason=rt.encoder_reason),
        timings_s={k: round(v, 3) for k, v in timings.items()},
        wall_s=round(wall_s, 3),
        real_time_factor=round(wall_s / duration, 3) if duration else None,
        verification=verification,
    )
