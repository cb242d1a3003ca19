"""The review page: one self-contained HTML file to check an anonymized call and correct it.

Why one static file: a reviewer opens it from disk, in any browser, with no server and no
network. Its Content-Security-Policy (``default-src 'none'``) makes the browser itself
refuse any fetch, so nothing on the page can leak or phone home; images are ``data:`` URIs,
script and style are inline.

By default the page is built only from what is already published: the *output* video and
audio (key frames, waveform) and the plan (boxes, spans, types, categories and value
hashes). It never holds a value. ``--with-original`` adds the original pixels under each
box for a user the deployment entitles (:func:`anonymizer.policy.access.decide_original`),
and every such attempt is written to the audit log, as ``export`` does.

The page's corrections are downloaded as ``overrides.json`` (:data:`OVERRIDES_VERSION`),
which ``anonymizer render --overrides`` applies to the plan whose sha256 it names.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.errors import AnonymizerError, ConfigError, InputError, ProcessingError
from anonymizer.fsutil import sha256_file, write_atomic
from anonymizer.overrides import plan_end_s
from anonymizer.plan import AudioSpan, LiveBoxes, Plan, PlanBox, union_seconds, windows_at

OVERRIDES_VERSION = 1
MAX_KEYFRAMES = 16
THUMB_WIDTH = 720  # px: key frames are shown at most this wide (a 1280x720 call: half size)
CROP_WIDTH = 240  # px: an original crop under a box (--with-original)
WAVE_BUCKETS = 1500  # min/max pairs of the output audio's envelope
JPEG_QUALITY = 72
SPEECH_RMS = 0.02  # about -34 dBFS over 20 ms: louder than the generators' and recorders' noise floor
CSP = "default-src 'none'; img-src data: blob:; media-src data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
PAGE_SUFFIXES = (".html", ".htm")
CATEGORY_COLOURS = {"customer": "#d62728", "colleague": "#1f77b4", "agent": "#2ca02c"}


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ReviewInputs:
    """A published run, checked for consistency: the report, its plan and its output."""

    report_path: Path
    report: dict[str, Any]
    plan_path: Path
    plan: Plan
    plan_sha256: str
    output_path: Path


def _locate(named: object, report_path: Path, what: str) -> Path:
    """A file the report names: next to the report first (the published tree may have been
    moved since the run), else as written (relative to the working folder of the run)."""
    if not isinstance(named, str) or not named:
        raise InputError(f"report names no {what}", path=report_path)
    beside = report_path.parent / Path(named).name
    if beside.is_file():
        return beside
    as_written = Path(named)
    if as_written.is_file():
        return as_written
    raise InputError(f"{what} {named!r} named by the report not found (looked next to the report and at that path)",
                     path=report_path)


def load_inputs(report_path: Path, *, output: Path | None = None) -> ReviewInputs:
    """Read the report, find its plan and output, and check that they belong together:
    the output's sha256 and the plan's input and config hashes must be the report's. A
    report edited after the run, or next to another run's files, is refused (InputError).
    When the report records the plan's own sha256 (``output.plan_sha256``), the plan file's
    bytes must have it; older reports without it are checked by the hashes above only."""
    report_path = Path(report_path)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("report not found", path=report_path) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"report is not readable JSON ({type(exc).__name__}: {exc})", path=report_path) from exc
    if not isinstance(report, dict) or not isinstance(report.get("output"), dict) or not isinstance(report.get("input"), dict):
        raise InputError("not an anonymizer run report (no input/output sections)", path=report_path)
    if report.get("status") != "published":
        raise InputError(f"report says {report.get('status')!r}, not 'published': nothing to review", path=report_path)
    out = report["output"]
    plan_path = _locate(out.get("plan"), report_path, "plan")
    output_path = Path(output) if output is not None else _locate(out.get("file"), report_path, "output video")
    if not output_path.is_file():
        raise InputError("output video not found", path=output_path)
    if sha256_file(output_path) != out.get("sha256"):
        raise InputError("the output video is not the one this report describes (sha256 differs): "
                         "the report or the video was changed after the run", path=output_path)
    plan_bytes = plan_path.read_bytes()
    try:
        plan = Plan.from_json(plan_bytes.decode("utf-8"), path=plan_path)
    except UnicodeDecodeError as exc:
        raise InputError("plan is not UTF-8 JSON", path=plan_path) from exc
    except ConfigError as exc:
        raise InputError(str(exc.args[0]), path=plan_path) from exc
    if plan.input_sha256 != report["input"].get("sha256") or plan.config_sha256 != report.get("config_sha256"):
        raise InputError("the plan does not belong to this report (input or config sha256 differs): "
                         "the report or the plan was changed after the run", path=plan_path)
    plan_sha256 = hashlib.sha256(plan_bytes).hexdigest()
    recorded = out.get("plan_sha256")  # absent from reports written before it was recorded
    if recorded is not None and (not isinstance(recorded, str) or recorded.lower() != plan_sha256):
        raise InputError("the plan is not the one this report describes (sha256 differs from the report's "
                         "output.plan_sha256): the report or the plan was changed after the run", path=plan_path)
    return ReviewInputs(report_path=report_path, report=report, plan_path=plan_path, plan=plan,
                        plan_sha256=plan_sha256, output_path=output_path)


# --------------------------------------------------------------------------- pure figures


def keyframe_times(boxes: Sequence[PlanBox], duration_s: float, *, max_frames: int = MAX_KEYFRAMES,
                   step_s: float = 0.1, start_s: float = 0.0) -> list[float]:
    """Times (s) worth a key frame: where the set of boxes changes (a box starts, or the
    frame after one ends), at most ``max_frames`` of them. When there are more changes,
    the call is cut into ``max_frames`` equal slices and each keeps its largest change
    (most boxes starting or ending), so the frames cover the whole call; free places go
    to the largest remaining changes. Without boxes: evenly spaced times."""
    if max_frames <= 0:
        return []
    end = max(start_s, duration_s)
    weight: dict[float, int] = {}
    for b in boxes:
        weight[round(b.start_s, 3)] = weight.get(round(b.start_s, 3), 0) + 1
        after = round(b.end_s + step_s, 3)
        if after <= end + 1e-6:
            weight[after] = weight.get(after, 0) + 1
    events = sorted(t for t in weight if start_s - 1e-6 <= t <= end + 1e-6)
    if not events:
        n = min(max_frames, 4)
        return [round(start_s + (end - start_s) * (i + 0.5) / n, 3) for i in range(n)]
    if len(events) <= max_frames:
        return events
    span = max(end - start_s, 1e-9)
    chosen: set[float] = set()
    for i in range(max_frames):
        lo, hi = start_s + span * i / max_frames, start_s + span * (i + 1) / max_frames
        inside = [t for t in events if lo - 1e-9 <= t and (t < hi or (i == max_frames - 1 and t <= hi + 1e-9))]
        if inside:
            chosen.add(max(inside, key=lambda t: (weight[t], -t)))
    rest = sorted((t for t in events if t not in chosen), key=lambda t: (-weight[t], t))
    chosen.update(rest[: max_frames - len(chosen)])
    return sorted(chosen)


def _rects_area(rects: Sequence[tuple[int, int, int, int]], width: int, height: int) -> int:
    """Pixels of the union of ``rects`` (x, y, w, h), clipped to the frame (coordinate
    compression: exact, and cheap for the few dozen boxes of a frame)."""
    clipped = [(max(0, x), max(0, y), min(width, x + w), min(height, y + h)) for x, y, w, h in rects]
    clipped = [r for r in clipped if r[2] > r[0] and r[3] > r[1]]
    if not clipped:
        return 0
    xs = np.unique([v for r in clipped for v in (r[0], r[2])])
    ys = np.unique([v for r in clipped for v in (r[1], r[3])])
    cover = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for x0, y0, x1, y1 in clipped:
        cover[np.searchsorted(ys, y0):np.searchsorted(ys, y1), np.searchsorted(xs, x0):np.searchsorted(xs, x1)] = True
    return int((np.diff(ys)[:, None] * np.diff(xs)[None, :] * cover).sum())


def hidden_fraction(plan: Plan, t: float, active: Sequence[PlanBox] | None = None) -> float:
    """Share of the frame at time ``t`` the output hides: its boxes (``active``, default
    those of the plan active at ``t``), and with windows known, everything outside the
    active windows (rendered black)."""
    area = plan.width * plan.height
    if area <= 0:
        return 0.0
    live = [b for b in plan.boxes if b.active(t)] if active is None else active
    boxes = [(b.x, b.y, b.w, b.h) for b in live]
    if not plan.windows:
        return _rects_area(boxes, plan.width, plan.height) / area
    wins = [(w.x, w.y, w.w, w.h) for w in windows_at(plan.windows, t)]
    # what is shown is the windows minus the boxes: |W \ B| = |W ∪ B| - |B|
    visible = _rects_area(wins + boxes, plan.width, plan.height) - _rects_area(boxes, plan.width, plan.height)
    return 1.0 - visible / area


def mean_hidden_fraction(plan: Plan, frame_times: Iterable[float]) -> float:
    """Mean over ``frame_times`` (increasing) of :func:`hidden_fraction`; each distinct set
    of active boxes and windows is measured once."""
    sweep = LiveBoxes(plan.boxes)
    cache: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
    total, n = 0.0, 0
    for t in frame_times:
        active = sweep.at(t)
        key = (tuple(sorted(id(b) for b in active)), tuple(id(w) for w in windows_at(plan.windows, t)))
        if key not in cache:
            cache[key] = hidden_fraction(plan, t, active)
        total += cache[key]
        n += 1
    return total / n if n else 0.0


def bleeped_seconds(spans: Sequence[AudioSpan], *, start_s: float = 0.0, end_s: float | None = None) -> float:
    """Seconds of audio the spans cover (overlaps counted once), within ``start_s..end_s``."""
    hi = float("inf") if end_s is None else end_s
    return union_seconds((max(s.start_s, start_s), min(s.end_s, hi)) for s in spans if min(s.end_s, hi) > max(s.start_s, start_s))


def speech_bleeped_share(rms: np.ndarray, frame_s: float, spans: Sequence[AudioSpan], *, start_s: float = 0.0,
                         threshold: float = SPEECH_RMS) -> float | None:
    """Share of the call's speech that is bleeped. ``rms``: (N,) float RMS of the output
    audio per ``frame_s`` frame from ``start_s``. The bleeped spans were speech; outside
    them, a frame louder than ``threshold`` is taken as speech (an energy estimate: the
    plan keeps no word timings). None when there is no speech at all."""
    times = start_s + (np.arange(len(rms)) + 0.5) * frame_s
    inside = np.zeros(len(rms), dtype=bool)
    for s in spans:
        inside |= (times >= s.start_s) & (times <= s.end_s)
    bleeped = float(inside.sum())
    speech = bleeped + float(((rms >= threshold) & ~inside).sum())
    return None if speech == 0 else bleeped / speech


def distinct_values(plan: Plan) -> dict[str, dict[str, int]]:
    """Per type: distinct value hashes on screen, in the audio and in all, and the boxes
    or spans that hide no named value (ink left unread, whole fields)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, items in (("screen", plan.boxes), ("audio", plan.audio_spans)):
        for it in items:
            row = out.setdefault(it.type, {"screen": set(), "audio": set(), "unnamed": 0})
            if it.value_hash:
                row[kind].add(it.value_hash)
            else:
                row["unnamed"] += 1
    return {t: {"screen": len(r["screen"]), "audio": len(r["audio"]), "all": len(r["screen"] | r["audio"]),
                "unnamed": r["unnamed"]} for t, r in sorted(out.items())}


def verification_summary(report: dict[str, Any]) -> list[tuple[str, str]]:
    """What the run's verification checked, as (label, value) rows, from the report."""
    v = report.get("verification")
    if not isinstance(v, dict) or not v:
        return [("verification", "not recorded in the report")]
    if not v.get("enabled", True):
        return [("verification", "disabled by the policy")]
    labels = {"frames": "frames re-read", "words": "words re-heard", "crops_read": "box crops re-read by OCR",
              "crops_flat": "box crops flat (nothing left to read)", "crops_cached": "box crops unchanged since checked"}
    rows = [(label, str(v[k])) for k, label in labels.items() if k in v]
    problems = v.get("problems") or []
    rows.append(("problems found", str(len(problems)) if isinstance(problems, list) else str(problems)))
    return rows


def headline(plan: Plan, report: dict[str, Any], frame_times: Sequence[float], rms: np.ndarray | None,
             rms_frame_s: float, audio_start_s: float, audio_duration_s: float | None) -> dict[str, Any]:
    """The page's headline figures (plain numbers; the page formats them)."""
    lo, hi = (plan.trim if plan.trim is not None else (0.0, None))
    bleeped = bleeped_seconds(plan.audio_spans, start_s=lo, end_s=hi)
    speech = None if rms is None else speech_bleeped_share(rms, rms_frame_s, plan.audio_spans, start_s=audio_start_s)
    return {
        "frames": len(frame_times),
        "mean_hidden": mean_hidden_fraction(plan, frame_times),
        "boxes": len(plan.boxes),
        "spans": len(plan.audio_spans),
        "bleeped_s": bleeped,
        "bleeped_of_audio": None if not audio_duration_s else bleeped / audio_duration_s,
        "bleeped_of_speech": speech,
        "distinct": distinct_values(plan),
        "verification": verification_summary(report),
    }


def envelope(samples: np.ndarray, buckets: int = WAVE_BUCKETS) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of (N,) float ``samples`` over ``buckets`` equal slices: two (B,) float32."""
    n = len(samples)
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    buckets = max(1, min(buckets, n))
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    mins = np.minimum.reduceat(samples, edges[:-1]).astype(np.float32)
    maxs = np.maximum.reduceat(samples, edges[:-1]).astype(np.float32)
    return mins, maxs


def frame_rms(samples: np.ndarray, rate: int, frame_s: float = 0.02) -> np.ndarray:
    """(N,) float32 RMS of ``samples`` per ``frame_s`` frame (the last partial one dropped)."""
    size = max(1, round(rate * frame_s))
    n = len(samples) // size
    if n == 0:
        return np.zeros(0, np.float32)
    blocks = samples[: n * size].reshape(n, size).astype(np.float64)
    return np.sqrt((blocks * blocks).mean(axis=1)).astype(np.float32)


# --------------------------------------------------------------------------- media


def _jpeg_uri(rgb: np.ndarray, width: int, quality: int = JPEG_QUALITY) -> str:
    """``rgb``: (H, W, 3) uint8, scaled down to at most ``width`` px wide, as a data: URI."""
    from PIL import Image

    img = Image.fromarray(rgb)
    if img.width > width:
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def grab_frames(path: Path, times: Sequence[float]) -> tuple[list[tuple[float, np.ndarray]], list[float]]:
    """One pass over ``path``: for each of ``times`` (sorted), the first frame at or after
    it, as (t, (H, W, 3) uint8); and every frame's time. Times past the end get the last
    frame. A frame picked twice is returned once."""
    from anonymizer.media import iter_frames

    wanted = sorted(times)
    picked: list[tuple[float, np.ndarray]] = []
    all_times: list[float] = []
    i = 0
    last: Any = None
    for fd in iter_frames(path):
        all_times.append(fd.t)
        last = fd
        took = False
        while i < len(wanted) and fd.t >= wanted[i] - 1e-6:
            if not took:
                picked.append((fd.t, fd.rgb()))
                took = True
            i += 1
    if i < len(wanted) and last is not None and (not picked or picked[-1][0] != last.t):
        picked.append((last.t, last.rgb()))
    return picked, all_times


def _crop_uri(rgb: np.ndarray, b: PlanBox, pad: int = 2) -> str | None:
    h, w = rgb.shape[:2]
    x0, y0 = max(0, b.x - pad), max(0, b.y - pad)
    x1, y1 = min(w, b.x + b.w + pad), min(h, b.y + b.h + pad)
    if x1 <= x0 or y1 <= y0:
        return None
    return _jpeg_uri(np.ascontiguousarray(rgb[y0:y1, x0:x1]), CROP_WIDTH, quality=85)


# --------------------------------------------------------------------------- page


def recording_label(inputs: ReviewInputs) -> str:
    """The recording's name on the default page: ``call`` and the first 12 hex digits of
    the output's sha256 (never the file name, which may name a person)."""
    return "call " + str(inputs.report["output"].get("sha256", ""))[:12]


def overrides_name(inputs: ReviewInputs, *, with_name: bool) -> str:
    """The downloaded overrides' file name: after the output's name on a page that may
    show it (``--with-original``), else after its sha256 like :func:`recording_label`."""
    if with_name:
        stem = inputs.output_path.name
        for suffix in (".anon.mp4", ".mp4"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        return (stem or "review") + ".overrides.json"
    return "call-" + str(inputs.report["output"].get("sha256", ""))[:12] + ".overrides.json"


def page_data(inputs: ReviewInputs, *, original: Path | None = None, max_keyframes: int = MAX_KEYFRAMES) -> dict[str, Any]:
    """Everything the page's script draws, as JSON-ready data: built from the output
    video and audio and the plan (and, with ``original``, crops of the original frames)."""
    from anonymizer.media import read_audio

    plan = inputs.plan
    lo = plan.trim[0] if plan.trim is not None else 0.0
    hi = plan.trim[1] if plan.trim is not None else plan.duration_s
    times = keyframe_times(plan.boxes, hi, max_frames=max_keyframes, start_s=lo)
    frames, all_times = grab_frames(inputs.output_path, times)
    originals: dict[float, np.ndarray] = {}
    if original is not None:
        got, _ = grab_frames(original, [t for t, _ in frames])
        originals = dict(got)
    keyframes = []
    for t, rgb in frames:
        active = [i for i, b in enumerate(plan.boxes) if b.active(t)]
        kf: dict[str, Any] = {"t": round(t, 3), "src": _jpeg_uri(rgb, THUMB_WIDTH), "boxes": active}
        if original is not None and t in originals:
            kf["originals"] = {str(i): _crop_uri(originals[t], plan.boxes[i]) for i in active}
        keyframes.append(kf)

    wave: dict[str, Any] | None = None
    rms, rms_frame_s, audio_start, audio_dur = None, 0.02, lo, None
    if inputs.report["input"].get("audio") is not None:
        try:
            track = read_audio(inputs.output_path)
        except InputError:
            track = None
        if track is not None:
            mono = track.samples.mean(axis=0)
            mins, maxs = envelope(mono)
            audio_start, audio_dur = track.start_s, track.duration_s
            wave = {"start_s": round(track.start_s, 4), "duration_s": round(track.duration_s, 4),
                    "min": [round(float(v), 3) for v in mins], "max": [round(float(v), 3) for v in maxs]}
            rms = frame_rms(mono, track.sample_rate, rms_frame_s)

    types = sorted({b.type for b in plan.boxes} | {s.type for s in plan.audio_spans})
    cats = sorted({b.category for b in plan.boxes} | {s.category for s in plan.audio_spans} | set(CATEGORY_COLOURS))
    hashes = sorted({b.value_hash for b in plan.boxes} | {s.value_hash for s in plan.audio_spans})
    ti, ci, hi_ = ({v: i for i, v in enumerate(xs)} for xs in (types, cats, hashes))
    return {
        "width": plan.width, "height": plan.height, "start_s": lo, "end_s": hi,
        "plan_sha256": inputs.plan_sha256, "style": plan.style,
        # the default page holds no personal data, and a file name may be one (a site naming
        # its calls after the customer): the recording is named by its output's sha256 only
        "label": inputs.output_path.name if original is not None else recording_label(inputs),
        "download_name": overrides_name(inputs, with_name=original is not None),
        "end_limit_s": plan_end_s(plan),
        "created_utc": inputs.report.get("created_utc"), "anonymizer_version": inputs.report.get("anonymizer_version"),
        "types": types, "categories": cats, "hashes": hashes, "colours": CATEGORY_COLOURS,
        # compact rows: x, y, w, h, start_s, end_s, type, category, value hash (indices), source
        "boxes": [[b.x, b.y, b.w, b.h, b.start_s, b.end_s, ti[b.type], ci[b.category], hi_[b.value_hash], b.source]
                  for b in plan.boxes],
        "spans": [[s.start_s, s.end_s, ti[s.type], ci[s.category], hi_[s.value_hash]] for s in plan.audio_spans],
        "keyframes": keyframes,
        "wave": wave,
        "with_original": original is not None,
        "headline": headline(plan, inputs.report, all_times, rms, rms_frame_s, audio_start, audio_dur),
    }


def render_html(data: dict[str, Any]) -> str:
    """The page: CSP first, inline style and script, the data as inline JSON."""
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("</", "<\\/")
    title = html.escape(f"Review: {data['label']}")
    return (_PAGE.replace("{{CSP}}", html.escape(CSP, quote=True)).replace("{{TITLE}}", title)
            .replace("{{STYLE}}", _STYLE).replace("{{SCRIPT}}", _SCRIPT).replace("{{DATA}}", blob))


def build_review(report_path: Path, *, output: Path | None = None, with_original: Path | None = None,
                 max_keyframes: int = MAX_KEYFRAMES) -> str:
    """The review page (HTML) for the run of ``report_path``. ``output``: the anonymized
    video, if not where the report says. ``with_original``: the original recording, whose
    pixels then show under each box; the caller must have checked the user's right to it
    (:func:`authorise_original`)."""
    inputs = load_inputs(report_path, output=output)
    if with_original is not None and sha256_file(with_original) != inputs.plan.input_sha256:
        raise InputError("not the original of this run (sha256 differs from the plan's input_sha256)", path=with_original)
    return render_html(page_data(inputs, original=with_original, max_keyframes=max_keyframes))


# --------------------------------------------------------------------------- original


def find_original(inputs: ReviewInputs, original: Path | None = None) -> Path:
    """The original recording: ``original`` if given, else where the report says; its
    sha256 must be the plan's ``input_sha256``."""
    path = Path(original) if original is not None else _locate(inputs.report["input"].get("file"), inputs.report_path,
                                                               "original recording")
    if not path.is_file():
        raise InputError("original recording not found (purged?)", path=path)
    if sha256_file(path) != inputs.plan.input_sha256:
        raise InputError("not the original of this run (sha256 differs from the plan's input_sha256)", path=path)
    return path


def authorise_original(inputs: ReviewInputs, original: Path, *, user: str | None = None) -> dict[str, Any]:
    """Decide whether ``user`` (default: the OS user) may see ``original`` and write the
    attempt to the deployment's audit log (event ``review-original``) before any pixel of
    it is read. Refused: :class:`~anonymizer.policy.gates.RuleRefusal` (exit 6), logged.
    Returns the audit fields, for :func:`write_review` to log a later failure with."""
    from anonymizer import audit, signing
    from anonymizer.policy.access import decide_original, inspect_target, load_deployment, os_user
    from anonymizer.policy.gates import RuleRefusal

    dep = load_deployment()
    assert dep.access is not None and dep.key is not None and dep.audit_log is not None  # load_deployment checked
    who = os_user(dep.service_uid)
    user = user or who
    known, acting = dep.access.users.get(user), dep.access.users.get(who)
    fields: dict[str, Any] = {"user": user, "role": None if known is None else known.role, "os_user": who,
                              "os_user_role": None if acting is None else acting.role, "file": str(original),
                              "sha256": inputs.plan.input_sha256, "output": str(inputs.output_path)}
    try:
        if signing.SIGNATURE in inputs.report:
            problem = signing.signature_problem(inputs.report, dep.key)
            if problem is not None:
                raise InputError(problem, path=inputs.report_path)
        owner = inspect_target(inputs.output_path, key=dep.key, access=dep.access, service_uid=dep.service_uid).owner_agent
    except AnonymizerError as exc:
        audit.append(dep.audit_log, "review-original", decision="failed", exit_code=exc.exit_code, reason=str(exc)[:500],
                     **fields)
        raise
    decision = decide_original(dep.access, user, owner, os_user=who)
    fields["rule"] = decision.rule
    if not decision.allowed:
        audit.append(dep.audit_log, "review-original", decision="refused", exit_code=RuleRefusal.exit_code, **fields)
        raise RuleRefusal(decision.rule, decision.reason, path=original)
    audit.append(dep.audit_log, "review-original", decision="allowed", **fields)
    return {"log": dep.audit_log, **fields}


def deployment_files() -> list[tuple[str, Path]]:
    """The deployment's files, when its policy can be read: the policy itself, its access
    file, audit log and keys. Best effort (no trust checks, nothing required): only used
    to keep the review page from overwriting one of them."""
    from anonymizer.config import load_config
    from anonymizer.policy.access import policy_path

    path = policy_path()
    if not path.is_file():
        return []
    files = [("policy file", path)]
    try:
        cfg = load_config(path)
    except (AnonymizerError, OSError, ValueError):
        return files
    named = [("access file", cfg.policy.access_file), ("audit log", cfg.policy.audit_log),
             ("report key", cfg.policy.report_key_file), ("hash key", cfg.output.hash_key_file)]
    return files + [(what, Path(p)) for what, p in named if p]


def check_page_path(html_path: Path, inputs: ReviewInputs, *, original: Path | None = None) -> None:
    """The page must not overwrite what it is made from or anything of the deployment: the
    report, the plan, the output video, the original recording (``original``, else the one
    the report names when it is found) and the deployment's files (:func:`deployment_files`).
    Compared by resolved path and inode (:func:`anonymizer.job.same_file`); refused with
    ConfigError (exit 2) naming the page's path."""
    from anonymizer.job import same_file

    named = [("report", inputs.report_path), ("plan", inputs.plan_path), ("output video", inputs.output_path)]
    if original is None:
        try:
            original = _locate(inputs.report["input"].get("file"), inputs.report_path, "original recording")
        except InputError:  # purged, or elsewhere: nothing to overwrite there
            original = None
    if original is not None:
        named.append(("original recording", original))
    named += deployment_files()
    for what, path in named:
        if same_file(html_path, path):
            raise ConfigError(f"the review page would overwrite the {what} ({path}): give -o another file", path=html_path)


def write_review(report_path: Path, html_path: Path | None = None, *, output: Path | None = None,
                 with_original: bool = False, original: Path | None = None, user: str | None = None,
                 max_keyframes: int = MAX_KEYFRAMES) -> Path:
    """Build the page and write it atomically to ``html_path`` (default: the report's
    name with ``.review.html``). With ``with_original``, the user's right is decided and
    audited first (:func:`authorise_original`); refused, nothing is written. A page path
    that is not .html/.htm, or that is one of the run's or the deployment's files
    (:func:`check_page_path`), is refused (ConfigError, exit 2) before anything is written."""
    report_path = Path(report_path)
    if html_path is None:
        name = report_path.name.removesuffix(".json").removesuffix(".report")
        html_path = report_path.with_name(name + ".review.html")
    html_path = Path(html_path)
    if html_path.suffix.lower() not in PAGE_SUFFIXES:
        raise ConfigError("the review page must be an .html or .htm file", path=html_path)
    if not html_path.parent.is_dir():
        raise ConfigError("folder of the review page does not exist", path=html_path.parent)
    inputs = load_inputs(report_path, output=output)
    if not with_original:
        if original is not None:
            raise ConfigError("--original is only used with --with-original")
        check_page_path(html_path, inputs)
        write_atomic(html_path, render_html(page_data(inputs, max_keyframes=max_keyframes)))
        return html_path
    src = find_original(inputs, original)
    check_page_path(html_path, inputs, original=src)  # before the attempt is audited: nothing written
    logged = authorise_original(inputs, src, user=user)
    try:
        page = render_html(page_data(inputs, original=src, max_keyframes=max_keyframes))
        # the originals' pixels: readable by its owner only, like a quarantined output
        write_atomic(html_path, page, mode=0o600)
    except (OSError, AnonymizerError) as exc:
        from anonymizer import audit

        log = logged.pop("log")
        code = exc.exit_code if isinstance(exc, AnonymizerError) else ProcessingError.exit_code
        audit.append(log, "review-original", decision="failed", exit_code=code, dest=str(html_path), **logged)
        raise
    return html_path


# --------------------------------------------------------------------------- page text

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{CSP}}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>{{STYLE}}</style>
</head>
<body>
<header><h1>{{TITLE}}</h1><p id="subtitle"></p></header>
<section id="headline" aria-label="Headline figures"></section>
<section class="panel"><h2>Timeline</h2>
 <div class="controls"><label>Zoom <input id="zoom" type="range" min="1" max="40" step="0.5" value="1"></label>
  <span class="legend" id="legend"></span><span class="hint">wheel over the timeline zooms</span></div>
 <div id="timeline"></div>
</section>
<section class="panel"><h2>Audio and bleeps</h2>
 <div id="waveform"><canvas id="waveform-canvas" height="120"></canvas></div>
 <p class="hint">Drag on the waveform to add a bleep over that time range.</p>
</section>
<div class="work">
<section class="panel" id="frames-panel"><h2>Key frames of the output</h2>
 <p class="hint">Click a box to un-hide it (or its value everywhere). Drag on a frame to add a rectangle.
  <label id="orig-toggle" hidden><input type="checkbox" id="show-originals"> show the original under each box</label></p>
 <div id="keyframes"></div>
</section>
<section class="panel" id="corrections"><h2>Corrections</h2>
 <div id="selected" class="selected">No box selected.</div>
 <div class="forms">
  <fieldset><legend>Add a rectangle</legend>
   x <input id="ab-x" type="number" min="0" value="0"> y <input id="ab-y" type="number" min="0" value="0">
   w <input id="ab-w" type="number" min="1" value="100"> h <input id="ab-h" type="number" min="1" value="30"><br>
   from <input id="ab-start" type="number" step="0.1" min="0" value="0"> s to <input id="ab-end" type="number" step="0.1" min="0" value="1"> s
   <input id="ab-reason" type="text" placeholder="reason"> <button id="ab-add" type="button">Add rectangle</button>
  </fieldset>
  <fieldset><legend>Add a bleep</legend>
   from <input id="bl-start" type="number" step="0.1" min="0" value="0"> s to <input id="bl-end" type="number" step="0.1" min="0" value="1"> s
   <input id="bl-reason" type="text" placeholder="reason"> <button id="bl-add" type="button">Add bleep</button>
  </fieldset>
 </div>
 <p id="form-error" class="error" role="alert" hidden></p>
 <div id="override-lists"></div>
 <p><label>Reviewer <input id="reviewer" type="text" placeholder="your name"></label>
  <button id="download" type="button">Download overrides.json</button></p>
 <details><summary>overrides.json</summary><pre id="overrides-json"></pre></details>
</section>
</div>
<script type="application/json" id="review-data">{{DATA}}</script>
<script>{{SCRIPT}}</script>
</body>
</html>
"""

_STYLE = """
:root{--bg:#f6f7f9;--fg:#1d2330;--muted:#667085;--line:#d0d5dd;--card:#fff}
*{box-sizing:border-box}
body{margin:0;padding:0 20px 40px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg)}
header h1{font-size:20px;margin:16px 0 2px}
#subtitle,.hint{color:var(--muted);margin:2px 0 8px}
h2{font-size:15px;margin:0 0 8px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:12px 0}
#headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:10px;margin:12px 0}
.fig{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.fig .big{font-size:24px;font-weight:600}
.fig .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.fig table{border-collapse:collapse;font-size:12px;width:100%}
.fig td{padding:1px 4px;border-bottom:1px solid #eef0f3}
.fig td.n{text-align:right;font-variant-numeric:tabular-nums}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin-bottom:6px}
.legend span{display:inline-flex;align-items:center;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px}
#timeline{overflow-x:auto;overflow-y:hidden;border:1px solid var(--line);border-radius:4px;background:#fbfbfc}
#timeline svg{display:block;padding-right:24px}
#timeline text{font-size:11px;fill:#344054}
#waveform{border:1px solid var(--line);border-radius:4px;background:#fbfbfc;cursor:crosshair}
#waveform-canvas{display:block;width:100%;height:120px}
.work{display:grid;grid-template-columns:minmax(0,1fr) 380px;gap:12px;align-items:start}
.work>.panel{margin:0}
#corrections{position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto}
#keyframes{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.keyframe{margin:0}
.keyframe figcaption{font-size:12px;color:var(--muted);margin-top:3px}
.frame{position:relative;line-height:0;cursor:crosshair;user-select:none;border:1px solid var(--line)}
.frame img.still{width:100%;height:auto;display:block;pointer-events:none}
.box{position:absolute;border:2px solid var(--c);background:transparent;cursor:pointer}
.box .label{position:absolute;left:-2px;bottom:100%;background:var(--c);color:#fff;font:600 10px/1.3 system-ui,sans-serif;padding:0 3px;white-space:nowrap;pointer-events:none}
.box.nolabel .label{display:none}
.box.nolabel:hover .label,.box.nolabel.selected .label{display:block}
.box:hover,.box.selected{outline:2px solid #f5b700;z-index:2}
.box:hover .label,.box.selected .label{display:block}
.box.unhidden{border-style:dashed;background:rgba(255,255,255,.35)}
.box.unhidden .label::after{content:" (un-hidden)"}
.box img.orig{display:none;width:100%;height:100%;object-fit:fill;pointer-events:none}
body.originals .box img.orig{display:block}
.added{position:absolute;border:2px dashed #f28e00;background:rgba(242,142,0,.15);pointer-events:none}
.selected{padding:8px;border:1px dashed var(--line);border-radius:6px;margin-bottom:8px;line-height:1.7}
.selected img{display:block;max-width:240px;border:1px solid var(--line);margin:4px 0}
.forms{display:flex;gap:12px;flex-wrap:wrap}
fieldset{border:1px solid var(--line);border-radius:6px}
input[type=number]{width:70px}
input[type=text]{width:170px}
.forms fieldset{width:100%}
input.missing{border-color:#d62728;background:#fff5f5}
.error{color:#b42318;background:#fef3f2;border:1px solid #fda29b;border-radius:6px;padding:6px 8px;margin:8px 0}
.ov{font-size:13px;margin:4px 0}
.ov h3{font-size:13px;margin:8px 0 2px}
.ov div{display:flex;gap:8px;align-items:center;margin:2px 0}
.ov code{background:#eef0f3;padding:0 4px;border-radius:3px}
pre#overrides-json{background:#0f172a;color:#e2e8f0;padding:8px;border-radius:6px;font-size:12px;max-height:300px;overflow:auto;line-height:1.3}
button{cursor:pointer}
"""

_SCRIPT = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById("review-data").textContent);
const W = D.width, H = D.height, T0 = D.start_s, T1 = Math.max(D.end_s, D.start_s + 0.001);
const END = D.end_limit_s;  // the latest time render accepts (overrides.plan_end_s)
const END_MS = Math.floor(END * 1000) / 1000;  // the latest r3() time within it
const colour = c => (D.colours[D.categories[c]] || "#7f7f7f");
const catColour = name => (D.colours[name] || "#7f7f7f");
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v); }
  for (const k of kids) e.append(k); return e; };
// the SVG namespace as the HTML parser sets it: the page spells no URL at all
const SVG_NS = (() => { const t = document.createElement("template"); t.innerHTML = "<svg></svg>"; return t.content.firstChild.namespaceURI; })();
const svgEl = (tag, attrs) => { const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); return e; };
const pct = v => (100 * v).toFixed(1) + " %";
const r3 = v => Math.round(v * 1000) / 1000;

// ---------------------------------------------------------------- state
const S = {unhideValues: new Map(), unhideBoxes: new Map(), addBoxes: [], addBleeps: []};
let selected = null;

window.anonymizerOverrides = function () {
  return {
    version: 1, plan_sha256: D.plan_sha256, reviewer: document.getElementById("reviewer").value,
    unhide_values: [...S.unhideValues].map(([h, r]) => ({value_hash: h, reason: r})),
    unhide_boxes: [...S.unhideBoxes].sort((a, b) => a[0] - b[0]).map(([i, r]) => ({box: i, reason: r})),
    add_boxes: S.addBoxes.map(b => ({x: b.x, y: b.y, w: b.w, h: b.h, start_s: b.start_s, end_s: b.end_s, reason: b.reason})),
    add_bleeps: S.addBleeps.map(b => ({start_s: b.start_s, end_s: b.end_s, reason: b.reason})),
  };
};

// ---------------------------------------------------------------- headline
function headline() {
  const h = D.headline, box = document.getElementById("headline");
  const fig = (label, big, extra) => { const f = el("div", {class: "fig"}, el("div", {class: "label", text: label}), el("div", {class: "big", text: big}));
    if (extra) f.append(extra); return f; };
  box.append(fig("Mean share of the frame hidden", pct(h.mean_hidden), el("div", {class: "hint", text: `${h.boxes} boxes over ${h.frames} frames`})));
  const sp = h.bleeped_of_speech === null ? "no speech" : pct(h.bleeped_of_speech);
  box.append(fig("Speech bleeped", sp, el("div", {class: "hint",
    text: `${h.spans} span${h.spans === 1 ? "" : "s"}, ${h.bleeped_s.toFixed(1)} s` + (h.bleeped_of_audio === null ? "" : ` = ${pct(h.bleeped_of_audio)} of the audio`) + " (speech: energy estimate)"})));
  const t = el("table");
  t.append(el("tr", {}, el("td", {text: "type"}), el("td", {class: "n", text: "screen"}), el("td", {class: "n", text: "audio"}), el("td", {class: "n", text: "distinct"})));
  for (const [ty, r] of Object.entries(h.distinct)) t.append(el("tr", {}, el("td", {text: ty}), el("td", {class: "n", text: r.screen}), el("td", {class: "n", text: r.audio}), el("td", {class: "n", text: r.all})));
  box.append(fig("Distinct values per type", String(Object.values(h.distinct).reduce((a, r) => a + r.all, 0)), t));
  const v = el("table");
  for (const [k, n] of h.verification) v.append(el("tr", {}, el("td", {text: k}), el("td", {class: "n", text: n})));
  box.append(fig("Verification checked", "", v));
  document.getElementById("subtitle").textContent = `${W}×${H}, ${(T1 - T0).toFixed(1)} s, style ${D.style}` +
    (D.created_utc ? `, anonymized ${D.created_utc}` : "") + (D.anonymizer_version ? ` by anonymizer ${D.anonymizer_version}` : "") +
    ". This page holds no personal data" + (D.with_original ? " except the ORIGINAL crops under the boxes: keep it private." : ".");
}

// ---------------------------------------------------------------- timeline
const lanes = [];
(function buildLanes() {
  const seen = new Map();
  const lane = (kind, ty) => { const k = kind + ":" + ty; if (!seen.has(k)) { seen.set(k, lanes.length); lanes.push({kind, type: D.types[ty], items: []}); } return lanes[seen.get(k)]; };
  D.boxes.forEach((b, i) => lane("screen", b[6]).items.push({s: b[4], e: b[5], c: b[7], i}));
  D.spans.forEach((s, i) => lane("audio", s[2]).items.push({s: s[0], e: s[1], c: s[3], i}));
  lanes.sort((a, b) => (a.kind === b.kind ? a.type.localeCompare(b.type) : a.kind === "screen" ? -1 : 1));
})();
const LABEL_W = 150, ROW = 18;
let zoom = 1;
function drawTimeline() {
  const host = document.getElementById("timeline");
  const width = Math.max(400, (host.clientWidth - LABEL_W - 4) * zoom);
  const x = t => LABEL_W + (t - T0) / (T1 - T0) * width;
  const rows = lanes.length + 2, height = 22 + rows * ROW;
  const svg = svgEl("svg", {width: LABEL_W + width + 4, height, id: "timeline-svg"});
  const step = niceStep((T1 - T0) / (width / 80));
  for (let t = Math.ceil(T0 / step) * step; t <= T1 + 1e-9; t += step) {
    svg.append(svgEl("line", {x1: x(t), x2: x(t), y1: 14, y2: height, stroke: "#e4e7ec"}));
    const lab = svgEl("text", {x: x(t) + 2, y: 11}); lab.textContent = fmtTime(t); svg.append(lab);
  }
  const addRow = (r, label, draw) => { const y = 18 + r * ROW; const tx = svgEl("text", {x: 4, y: y + 12}); tx.textContent = label; svg.append(tx); draw(y); };
  lanes.forEach((ln, r) => addRow(r, (ln.kind === "screen" ? "▭ " : "♪ ") + ln.type, y => {
    for (const it of ln.items) {
      const unhidden = ln.kind === "screen" && isUnhidden(it.i);
      const rect = svgEl("rect", {x: x(it.s), y: y + 2, width: Math.max(1.5, x(it.e) - x(it.s)), height: ROW - 5, rx: 2,
        fill: colour(it.c), "fill-opacity": unhidden ? 0.15 : (ln.kind === "audio" ? 0.85 : 0.55),
        stroke: ln.kind === "audio" ? "#000" : "none", "stroke-opacity": 0.4, class: ln.kind === "screen" ? "tl-box" : "tl-span"});
      const title = svgEl("title"); title.textContent = `${ln.type} (${D.categories[it.c]}) ${fmtTime(it.s)}–${fmtTime(it.e)}`;
      rect.append(title); svg.append(rect);
    }
  }));
  addRow(lanes.length, "✎ added", y => {
    for (const b of S.addBoxes) svg.append(svgEl("rect", {x: x(b.start_s), y: y + 2, width: Math.max(1.5, x(b.end_s) - x(b.start_s)), height: (ROW - 5) / 2, fill: "#f28e00"}));
    for (const b of S.addBleeps) svg.append(svgEl("rect", {x: x(b.start_s), y: y + 2 + (ROW - 5) / 2, width: Math.max(1.5, x(b.end_s) - x(b.start_s)), height: (ROW - 5) / 2, fill: "#9467bd"}));
  });
  addRow(lanes.length + 1, "◆ key frames", y => {
    D.keyframes.forEach((k, n) => { const m = svgEl("rect", {x: x(k.t) - 1, y: y + 2, width: 3, height: ROW - 5, fill: "#101828", class: "tl-key"});
      const title = svgEl("title"); title.textContent = "key frame " + fmtTime(k.t); m.append(title);
      m.addEventListener("click", () => document.getElementById("kf-" + n).scrollIntoView({behavior: "smooth", block: "center"}));
      m.style.cursor = "pointer"; svg.append(m); });
  });
  const keep = host.scrollLeft / Math.max(1, host.scrollWidth);
  host.replaceChildren(svg);
  host.scrollLeft = keep * host.scrollWidth;
}
function niceStep(raw) { const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3)))); for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p; return 10 * p; }
function fmtTime(t) { const m = Math.floor(t / 60), s = t - 60 * m; return (m ? m + ":" + (s < 10 ? "0" : "") : "") + s.toFixed(s % 1 ? 1 : 0) + (m ? "" : " s"); }

// ---------------------------------------------------------------- waveform
const wave = document.getElementById("waveform-canvas");
let dragWave = null;
function waveX(t) { return (t - T0) / (T1 - T0) * wave.width; }
function drawWave() {
  const dpr = window.devicePixelRatio || 1;
  wave.width = Math.round(wave.clientWidth * dpr); wave.height = Math.round(120 * dpr);
  const g = wave.getContext("2d"), w = wave.width, h = wave.height, mid = h / 2;
  g.clearRect(0, 0, w, h);
  const shade = (s, e, fill) => { g.fillStyle = fill; g.fillRect(waveX(s), 0, Math.max(1, waveX(e) - waveX(s)), h); };
  for (const s of D.spans) shade(s[0], s[1], hexA(colour(s[3]), 0.22));
  for (const b of S.addBleeps) shade(b.start_s, b.end_s, "rgba(148,103,189,.35)");
  if (dragWave) shade(Math.min(dragWave.a, dragWave.b), Math.max(dragWave.a, dragWave.b), "rgba(148,103,189,.25)");
  g.strokeStyle = "#98a2b3"; g.beginPath(); g.moveTo(0, mid); g.lineTo(w, mid); g.stroke();
  if (D.wave) {
    const n = D.wave.min.length, d = D.wave.duration_s; g.fillStyle = "#344054";
    for (let i = 0; i < n; i++) {
      const t0 = D.wave.start_s + d * i / n, t1 = D.wave.start_s + d * (i + 1) / n;
      const x0 = waveX(t0), x1 = Math.max(x0 + 1, waveX(t1));
      const y0 = mid - D.wave.max[i] * mid * 0.95, y1 = mid - D.wave.min[i] * mid * 0.95;
      g.fillRect(x0, y0, x1 - x0, Math.max(1, y1 - y0));
    }
  } else { g.fillStyle = "#667085"; g.font = `${12 * dpr}px sans-serif`; g.fillText("no audio", 8 * dpr, 18 * dpr); }
  g.font = `${11 * dpr}px sans-serif`;
  for (const s of D.spans) { g.fillStyle = colour(s[3]); g.fillText(D.types[s[2]], waveX(s[0]) + 3 * dpr, 13 * dpr); }
}
function hexA(hex, a) { const n = parseInt(hex.slice(1), 16); return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`; }
function waveTime(ev) { const r = wave.getBoundingClientRect(); return T0 + Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)) * (T1 - T0); }
wave.addEventListener("mousedown", ev => { dragWave = {a: waveTime(ev), b: waveTime(ev)}; ev.preventDefault(); });
window.addEventListener("mousemove", ev => { if (dragWave) { dragWave.b = waveTime(ev); drawWave(); } });
window.addEventListener("mouseup", ev => {
  if (dragWave) { const s = Math.min(dragWave.a, dragWave.b), e = Math.max(dragWave.a, dragWave.b); dragWave = null;
    if (e - s >= 0.05) addBleep(s, Math.min(e, END_MS), ""); else drawWave(); }
});

// ---------------------------------------------------------------- key frames
function isUnhidden(i) { return S.unhideBoxes.has(i) || S.unhideValues.has(D.hashes[D.boxes[i][8]]); }
function refreshBoxes() {
  for (const node of document.querySelectorAll(".box[data-index]")) {
    const i = Number(node.dataset.index);
    node.classList.toggle("unhidden", isUnhidden(i));
    node.classList.toggle("selected", i === selected);
  }
}
function keyframes() {
  const host = document.getElementById("keyframes");
  D.keyframes.forEach((k, n) => {
    const frame = el("div", {class: "frame", "data-t": k.t});
    frame.append(el("img", {class: "still", src: k.src, alt: "output frame at " + fmtTime(k.t), draggable: "false"}));
    for (const i of k.boxes) {
      const b = D.boxes[i], type = D.types[b[6]];
      const node = el("div", {class: "box", "data-index": i, "data-type": type, "data-category": D.categories[b[7]], title: `${type} (${D.categories[b[7]]}), box ${i}`});
      node.style.left = (100 * b[0] / W) + "%"; node.style.top = (100 * b[1] / H) + "%";
      node.style.width = (100 * b[2] / W) + "%"; node.style.height = (100 * b[3] / H) + "%";
      node.style.setProperty("--c", colour(b[7]));
      node.append(el("span", {class: "label", text: type}));
      if (k.originals && k.originals[i]) node.append(el("img", {class: "orig", src: k.originals[i], alt: ""}));
      node.addEventListener("mousedown", ev => ev.stopPropagation());
      node.addEventListener("click", ev => { ev.stopPropagation(); toggleBox(i, k); });
      frame.append(node);
    }
    const next = D.keyframes[n + 1] ? D.keyframes[n + 1].t : Math.min(T1, k.t + 1);
    attachDraw(frame, k.t, Math.min(END_MS, Math.max(next, k.t + 0.1)));
    host.append(el("figure", {class: "keyframe", id: "kf-" + n, "data-t": k.t}, frame,
      el("figcaption", {text: `${fmtTime(k.t)} · ${k.boxes.length} box${k.boxes.length === 1 ? "" : "es"}`})));
  });
  placeLabels();
}
// A label per box would pile up where boxes crowd (a history column): the largest boxes
// get theirs first, and a label that would cover one already placed is shown on hover only.
function placeLabels() {
  for (const frame of document.querySelectorAll(".frame")) {
    const scale = frame.clientWidth / W; if (!scale) continue;
    const placed = [], nodes = [...frame.querySelectorAll(".box[data-index]")];
    nodes.sort((a, b) => { const p = D.boxes[a.dataset.index], q = D.boxes[b.dataset.index]; return q[2] * q[3] - p[2] * p[3]; });
    for (const node of nodes) {
      const b = D.boxes[node.dataset.index], lw = (node.dataset.type.length * 6.4 + 8) / scale, lh = 14 / scale;
      const lx = Math.min(Math.max(0, b[0]), W - lw), ly = b[1] - lh >= 0 ? b[1] - lh : b[1];
      const free = placed.every(r => lx >= r[0] + r[2] || lx + lw <= r[0] || ly >= r[1] + r[3] || ly + lh <= r[1]);
      const label = node.querySelector(".label");
      if (free) { placed.push([lx, ly, lw, lh]); node.classList.remove("nolabel");
        label.style.left = ((lx - b[0]) * scale - 2) + "px"; label.style.top = ((ly - b[1]) * scale - 2) + "px"; label.style.bottom = "auto"; }
      else { node.classList.add("nolabel"); label.style.left = label.style.top = label.style.bottom = ""; }
    }
  }
}
function toggleBox(i, k) {
  selected = i;
  if (S.unhideBoxes.has(i)) S.unhideBoxes.delete(i); else S.unhideBoxes.set(i, "");
  showSelected(k); changed();
}
function showSelected(k) {
  const box = document.getElementById("selected"), b = D.boxes[selected], hash = D.hashes[b[8]];
  const uses = D.boxes.filter(o => o[8] === b[8]).length;
  box.replaceChildren();
  box.append(el("b", {text: `Box ${selected}: ${D.types[b[6]]}`}), ` (${D.categories[b[7]]}, found by ${b[9]}) at x ${b[0]}, y ${b[1]}, ${b[2]}×${b[3]} px, ${fmtTime(b[4])}–${fmtTime(b[5])}`);
  if (k && k.originals && k.originals[selected]) box.append(el("img", {src: k.originals[selected], alt: "original under the box"}));
  box.append(el("br"), `value ${hash ? hash : "(none named)"}` + (hash ? ` — hidden in ${uses} box${uses === 1 ? "" : "es"}` : ""), " ");
  const one = el("button", {type: "button", id: "unhide-box", text: S.unhideBoxes.has(selected) ? "Hide this box again" : "Un-hide this box"});
  one.addEventListener("click", () => toggleBox(selected, k));
  box.append(one, " ");
  if (hash) {
    const all = el("button", {type: "button", id: "unhide-value", text: S.unhideValues.has(hash) ? "Hide this value again" : "Un-hide this value everywhere"});
    all.addEventListener("click", () => { if (S.unhideValues.has(hash)) S.unhideValues.delete(hash); else S.unhideValues.set(hash, ""); showSelected(k); changed(); });
    box.append(all);
  }
}
function attachDraw(frame, t0, t1) {
  let drag = null, ghost = null;
  const pos = ev => { const r = frame.getBoundingClientRect();
    return {x: Math.min(W, Math.max(0, (ev.clientX - r.left) / r.width * W)), y: Math.min(H, Math.max(0, (ev.clientY - r.top) / r.height * H))}; };
  frame.addEventListener("mousedown", ev => { drag = {a: pos(ev)}; drag.b = drag.a; ghost = el("div", {class: "added"}); frame.append(ghost); place(); ev.preventDefault(); });
  frame.addEventListener("mousemove", ev => { if (drag) { drag.b = pos(ev); place(); } });
  const finish = ev => { if (!drag) return; drag.b = pos(ev); const r = rectOf(); ghost.remove(); drag = null;
    if (r.w >= 3 && r.h >= 3) addBox(r.x, r.y, r.w, r.h, r3(t0), r3(t1), ""); };
  frame.addEventListener("mouseup", finish);
  frame.addEventListener("mouseleave", ev => { if (drag) finish(ev); });
  function rectOf() { const x = Math.round(Math.min(drag.a.x, drag.b.x)), y = Math.round(Math.min(drag.a.y, drag.b.y));
    return {x, y, w: Math.round(Math.max(drag.a.x, drag.b.x)) - x, h: Math.round(Math.max(drag.a.y, drag.b.y)) - y}; }
  function place() { const r = rectOf(); ghost.style.left = (100 * r.x / W) + "%"; ghost.style.top = (100 * r.y / H) + "%";
    ghost.style.width = (100 * r.w / W) + "%"; ghost.style.height = (100 * r.h / H) + "%"; }
}
function drawAdded() {
  for (const g of document.querySelectorAll(".frame .added.kept")) g.remove();
  for (const frame of document.querySelectorAll(".frame")) {
    const t = Number(frame.dataset.t);
    for (const b of S.addBoxes) if (b.start_s - 1e-6 <= t && t <= b.end_s + 1e-6) {
      const g = el("div", {class: "added kept"}); g.style.left = (100 * b.x / W) + "%"; g.style.top = (100 * b.y / H) + "%";
      g.style.width = (100 * b.w / W) + "%"; g.style.height = (100 * b.h / H) + "%"; frame.append(g);
    }
  }
}

// ---------------------------------------------------------------- corrections
// What `anonymizer render --overrides` refuses is refused here, with a message, not added.
function refuse(msg) { const p = document.getElementById("form-error"); p.textContent = msg; p.hidden = false; return false; }
function accept() { const p = document.getElementById("form-error"); p.textContent = ""; p.hidden = true; return true; }
function num(v) { return (typeof v === "string" && !v.trim()) ? NaN : Number(v); }
function rangeProblem(s, e) {
  if (!isFinite(s) || !isFinite(e)) return "start and end must be numbers";
  if (s < 0) return `start ${s} s is before the recording's start (0 s)`;
  if (e <= s) return `end ${e} s must be after start ${s} s`;
  if (e > END + 1e-6) return `end ${e} s is past the recording's end (${r3(END)} s)`;
  return null;
}
function bleepOverlap(s, e, skip) {
  const k = S.addBleeps.findIndex((b, n) => n !== skip && s < b.end_s && b.start_s < e);
  return k < 0 ? null : `${s}–${e} s overlaps the bleep ${S.addBleeps[k].start_s}–${S.addBleeps[k].end_s} s already added`;
}
function addBox(x, y, w, h, s, e, reason) {
  [x, y, w, h] = [x, y, w, h].map(v => Math.round(num(v))); s = r3(num(s)); e = r3(num(e));
  if (![x, y, w, h].every(isFinite)) return refuse("rectangle not added: x, y, w and h must be numbers");
  if (w <= 0 || h <= 0) return refuse(`rectangle not added: w and h must be positive, not ${w}×${h}`);
  if (x < 0 || y < 0 || x + w > W || y + h > H) return refuse(`rectangle not added: ${x},${y} ${w}×${h} is outside the ${W}×${H} frame`);
  const p = rangeProblem(s, e); if (p) return refuse("rectangle not added: " + p);
  S.addBoxes.push({x, y, w, h, start_s: s, end_s: e, reason}); accept(); changed(); return true;
}
function addBleep(s, e, reason) {
  s = r3(num(s)); e = r3(num(e));
  const p = rangeProblem(s, e) || bleepOverlap(s, e, -1); if (p) { drawWave(); return refuse("bleep not added: " + p); }
  S.addBleeps.push({start_s: s, end_s: e, reason}); accept(); changed(); return true;
}
const val = id => document.getElementById(id).value;
document.getElementById("ab-add").addEventListener("click", () => addBox(val("ab-x"), val("ab-y"), val("ab-w"), val("ab-h"), val("ab-start"), val("ab-end"), val("ab-reason")));
document.getElementById("bl-add").addEventListener("click", () => addBleep(val("bl-start"), val("bl-end"), val("bl-reason")));
function reasonInput(get, set, cls) {
  const i = el("input", {type: "text", class: "reason " + cls, placeholder: "reason (required)"}); i.value = get();
  i.classList.toggle("missing", !i.value.trim());
  i.addEventListener("input", () => { set(i.value); i.classList.toggle("missing", !i.value.trim()); showJson(); });
  return i;
}
function removeButton(fn) { const b = el("button", {type: "button", class: "remove", text: "remove"}); b.addEventListener("click", fn); return b; }
function lists() {
  const host = document.getElementById("override-lists"), wrap = el("div", {class: "ov"});
  const section = (title, rows) => { if (!rows.length) return; wrap.append(el("h3", {text: title})); for (const r of rows) wrap.append(r); };
  section("Un-hide a value everywhere", [...S.unhideValues.keys()].map(h => el("div", {class: "ov-value", "data-hash": h}, el("code", {text: h}),
    reasonInput(() => S.unhideValues.get(h), v => S.unhideValues.set(h, v), "value"), removeButton(() => { S.unhideValues.delete(h); changed(); }))));
  section("Un-hide one box", [...S.unhideBoxes.keys()].sort((a, b) => a - b).map(i => el("div", {class: "ov-box", "data-index": i},
    el("code", {text: `box ${i} ${D.types[D.boxes[i][6]]}`}), reasonInput(() => S.unhideBoxes.get(i), v => S.unhideBoxes.set(i, v), "box"),
    removeButton(() => { S.unhideBoxes.delete(i); changed(); }))));
  section("Add a rectangle", S.addBoxes.map((b, n) => el("div", {class: "ov-add-box"}, el("code", {text: `x ${b.x} y ${b.y} ${b.w}×${b.h} px`}),
    numIn(b, "start_s", -1), "–", numIn(b, "end_s", -1), "s", reasonInput(() => b.reason, v => { b.reason = v; }, "add-box"),
    removeButton(() => { S.addBoxes.splice(n, 1); changed(); }))));
  section("Add a bleep", S.addBleeps.map((b, n) => el("div", {class: "ov-add-bleep"}, numIn(b, "start_s", n), "–", numIn(b, "end_s", n), "s",
    reasonInput(() => b.reason, v => { b.reason = v; }, "add-bleep"), removeButton(() => { S.addBleeps.splice(n, 1); changed(); }))));
  if (!wrap.childNodes.length) wrap.append(el("p", {class: "hint", text: "No corrections yet."}));
  host.replaceChildren(wrap);
}
// bleep: the index of the added bleep edited (it may not overlap the others), -1 for a rectangle
function numIn(obj, key, bleep) {
  const i = el("input", {type: "number", step: "0.1", min: "0", max: String(r3(END)), class: key}); i.value = obj[key];
  i.addEventListener("change", () => {
    const next = {start_s: obj.start_s, end_s: obj.end_s}; next[key] = r3(num(i.value));
    const p = rangeProblem(next.start_s, next.end_s) || (bleep >= 0 ? bleepOverlap(next.start_s, next.end_s, bleep) : null);
    if (p) { i.value = obj[key]; refuse("not changed: " + p); return; }
    obj[key] = next[key]; accept(); changed();
  });
  return i;
}
function showJson() { document.getElementById("overrides-json").textContent = JSON.stringify(window.anonymizerOverrides(), null, 1); }
function changed() { refreshBoxes(); drawAdded(); lists(); drawTimeline(); drawWave(); showJson(); }
document.getElementById("reviewer").addEventListener("input", showJson);
document.getElementById("download").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(window.anonymizerOverrides(), null, 1) + "\n"], {type: "application/json"});
  const a = el("a", {href: URL.createObjectURL(blob), download: D.download_name});
  document.body.append(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});
document.getElementById("zoom").addEventListener("input", ev => { zoom = Number(ev.target.value); drawTimeline(); });
document.getElementById("timeline").addEventListener("wheel", ev => {
  if (Math.abs(ev.deltaY) <= Math.abs(ev.deltaX)) return;
  ev.preventDefault(); zoom = Math.min(40, Math.max(1, zoom * (ev.deltaY < 0 ? 1.25 : 0.8)));
  document.getElementById("zoom").value = zoom; drawTimeline();
}, {passive: false});
if (D.with_original) { const t = document.getElementById("orig-toggle"); t.hidden = false;
  document.getElementById("show-originals").addEventListener("change", ev => document.body.classList.toggle("originals", ev.target.checked)); }
const legend = document.getElementById("legend");
for (const c of ["customer", "colleague", "agent"]) legend.append(el("span", {}, el("i", {style: "background:" + catColour(c)}), c));
legend.append(el("span", {}, el("i", {style: "background:#f28e00"}), "added rectangle"), el("span", {}, el("i", {style: "background:#9467bd"}), "added bleep"));
headline(); keyframes(); changed();
window.addEventListener("resize", () => { drawTimeline(); drawWave(); placeLabels(); });
document.body.dataset.ready = "1";
})();
"""
