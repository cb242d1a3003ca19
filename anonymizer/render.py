"""Applying a plan: the video decoded again with every box redacted and everything outside
the business windows blacked out, the audio bleeped (and its voices disguised), both
trimmed to pick-up..hang-up."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import kernels
from anonymizer.config import Config
from anonymizer.errors import ProcessingError
from anonymizer.media import AudioTrack, MediaInfo, iter_frames, probe, write_recording
from anonymizer.plan import LiveBoxes, Plan, PlanBox, business_rects
from anonymizer.timings import Timings


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
    sweep = LiveBoxes(plan.boxes)
    seed = int(plan.input_sha256[:8], 16)
    even = info.width % 2 == 0 and info.height % 2 == 0
    spent = {"generator": 0.0, "kernel": 0.0}  # the generator's own time, between the encoder's calls

    def frames() -> Iterator[tuple[int, Any]]:
        n_done = 0
        t_gen = time.monotonic()
        for fd in iter_frames(src):
            if plan.trim is not None and not in_trim(fd.t, plan.trim):
                continue  # CNIL: only pick-up to hang-up is kept
            active = sweep.at(fd.t)
            n_done += 1
            if progress is not None:
                progress(n_done)
            rects = business_rects(plan.windows, fd.t, info.width, info.height)
            t0 = time.monotonic()
            out = redact_frame(fd, active, rects, plan.style, seed=seed, even=even)
            now = time.monotonic()
            spent["kernel"] += now - t0
            spent["generator"] += now - t_gen
            yield fd.pts, out
            t_gen = time.monotonic()
        spent["generator"] += time.monotonic() - t_gen

    t_all = time.monotonic()
    n = write_recording(
        dst, width=info.width, height=info.height, time_base=info.time_base, rate=info.avg_rate,
        frames=frames(), audio=audio, crf=cfg.video.crf, preset=cfg.video.preset, codec=encoder or cfg.runtime.encoder,
        device=cfg.runtime.device,
    )
    timings.add("render_kernel", spent["kernel"])
    timings.add("render_decode", spent["generator"] - spent["kernel"])
    timings.add("render_encode", time.monotonic() - t_all - spent["generator"])
    return n


def redact_frame(fd: Any, active: Sequence[PlanBox], rects: np.ndarray | None, style: str, *, seed: int, even: bool) -> Any:
    """Decoded frame ``fd`` with the ``active`` boxes redacted and, with ``rects``, everything
    outside those business windows blacked out: the decoded frame itself when there is
    nothing to do (no RGB round trip), its YUV planes redacted in place when only boxes are
    (only the pixels around the boxes are converted: a whole-frame RGB round trip cost ~6 ms
    a frame), else an RGB array."""
    if not active and rects is None:
        return fd.frame
    arr = np.array([[b.x, b.y, b.w, b.h] for b in active], dtype=np.int32).reshape(-1, 4)
    if rects is None and even and fd.frame.format.name == "yuv420p":
        frame = fd.frame
        frame.make_writable()  # the decoder may still hold this buffer as a reference
        planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size) for p in frame.planes]
        kernels.redact_yuv420(planes, frame.width, frame.height, arr, style, seed=seed)
        return frame
    rgb = fd.rgb()
    if active:
        kernels.redact(rgb, arr, style, seed=seed)
    if rects is not None:
        kernels.mask_outside(rgb, rects)
    return rgb


def check_rendered_size(tmp: Path, info: MediaInfo, output: Path) -> None:
    out_info = probe(tmp)
    if (out_info.width, out_info.height) != (info.width, info.height):
        raise ProcessingError("output size differs from input", path=output)
