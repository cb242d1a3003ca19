"""The run report: what was hidden where, with which models and settings — never a value."""

from __future__ import annotations

import datetime as _dt
import platform
from collections import Counter
from typing import Any

import models
from anonymizer.fsutil import sha256_file
from anonymizer.plan import Plan, bleep_summary


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


def build_report(*, job: Any, info: Any, plan: Plan, sidecar: Any, output_sha256: str, screen_stats: Any,
                 timings: dict[str, float], wall_s: float, n_frames: int, audio: Any, n_words: int,
                 user: str, version: str) -> dict[str, Any]:
    screen_counts = Counter(b.type for b in plan.boxes)
    audio_counts = Counter(s.type for s in plan.audio_spans)
    categories = Counter(b.category for b in plan.boxes) + Counter(s.category for s in plan.audio_spans)
    duration = plan.duration_s
    rt = job.config.runtime
    return {
        "anonymizer_version": version,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "status": "published",
        "user": user,
        "host": platform.node(),
        "input": {"file": str(job.input), "sha256": plan.input_sha256, "width": info.width, "height": info.height,
                  "frames": n_frames, "duration_s": round(info.duration_s or duration, 3), "video_codec": info.video_codec,
                  "audio": None if audio is None else {"sample_rate": audio.sample_rate, "layout": audio.layout,
                                                       "duration_s": round(audio.duration_s, 3)},
                  # what verification searched besides the recording's own values (render compares them)
                  "roster_sha256": companion_sha256(job.roster), "sidecar_sha256": companion_sha256(job.sidecar),
                  "audio_sha256": companion_sha256(job.audio)},
        "output": {"file": str(job.output), "sha256": output_sha256, "plan": str(job.plan_path())},
        "call": {"call_id": sidecar.call_id, "agent_employee_id_present": sidecar.agent_employee_id is not None},
        "config_sha256": plan.config_sha256,
        "style": plan.style,
        "counts": {"screen": dict(screen_counts), "audio": dict(audio_counts), "by_category": dict(categories)},
        "time_ranges": {"screen": _ranges([(b.start_s, b.end_s) for b in plan.boxes]),
                        "audio": _ranges([(s.start_s, s.end_s) for s in plan.audio_spans])},
        "screen": {"frames_changed": screen_stats.frames_changed, "ocr_calls": screen_stats.ocr_calls,
                   "ocr_pixel_fraction": round(screen_stats.ocr_pixels / max(1, screen_stats.frame_pixels), 5),
                   "ink_reads": screen_stats.ink_reads, "boxes_read": screen_stats.boxes_read,
                   "ink_pixel_fraction": round(screen_stats.ink_pixels / max(1, screen_stats.frame_pixels), 5)},
        # what a trainer will hear: seconds bleeped per reason and per channel, share kept
        "speech": {"words": n_words, "voice": plan.voice or {"method": "keep"},
                   "bleeped": None if audio is None else bleep_summary(plan.audio_spans, audio.samples.shape[0], audio.duration_s)},
        "models": models.versions(),
        # where the models ran and what wrote the video (both in config_sha256 too)
        "runtime": {"device": rt.device, "device_reason": rt.device_reason, "encoder": rt.encoder,
                    "encoder_reason": rt.encoder_reason},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "wall_s": round(wall_s, 3),
        "real_time_factor": round(wall_s / duration, 3) if duration else None,
    }
