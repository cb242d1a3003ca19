"""Batch progress: a one-line bar on a terminal, plain log lines otherwise (cron, systemd)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _hms(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """Files done of total, minutes of media, ETA from the bytes still to do."""

    def __init__(self, total_files: int, total_bytes: int, *, stream: TextIO | None = None, tty: bool | None = None,
                 enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.enabled = enabled
        self.total_files, self.total_bytes = total_files, max(1, total_bytes)
        self.files = 0
        self.bytes = 0
        self.media_s = 0.0
        self.failed = 0
        self.t0 = time.monotonic()

    def eta_s(self) -> float | None:
        elapsed = time.monotonic() - self.t0
        if self.bytes <= 0 or elapsed <= 0:
            return None
        return elapsed * (self.total_bytes - self.bytes) / self.bytes

    def update(self, rel: str, status: str, size: int, media_s: float, reason: str = "") -> None:
        self.files += 1
        self.bytes += size
        self.media_s += media_s
        self.failed += status not in ("done", "deferred")  # deferred: still being written, not a failure
        if not self.enabled:
            return
        eta = self.eta_s()
        eta_text = "?" if eta is None else _hms(eta)
        if self.tty:
            width = 30
            filled = round(width * self.files / max(1, self.total_files))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.files}/{self.total_files} files, "
                              f"{self.media_s / 60:.1f} min of media, {self.failed} failed, ETA {eta_text}  ")
            if self.files == self.total_files:
                self.stream.write("\n")
        else:
            why = f": {reason}" if reason and status != "done" else ""
            self.stream.write(f"anonymizer batch: [{self.files}/{self.total_files}] {status} {rel} "
                              f"({media_s:.1f} s of media, ETA {eta_text}){why}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.enabled:
            self.stream.write(("\n" if self.tty and 0 < self.files < self.total_files else "") + f"anonymizer batch: {text}\n")
            self.stream.flush()


class StageProgress:
    """``anonymizer run`` on a terminal: the stage, its frames done of those expected and an
    ETA for the stage, redrawn at most 5 times a second; nothing when not a terminal (the
    report has the timings)."""

    def __init__(self, *, stream: TextIO | None = None, tty: bool | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and (self.stream.isatty() if tty is None else tty)
        self.stage = ""
        self.t_stage = self.t_drawn = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage != self.stage:
            if self.stage:
                self.stream.write("\n")
            self.stage, self.t_stage, self.t_drawn = stage, now, 0.0
        if now - self.t_drawn < 0.2 and done < total:
            return
        self.t_drawn = now
        width = 30
        share = min(1.0, done / total) if total > 0 else 0.0
        elapsed = now - self.t_stage
        eta = _hms(elapsed * (1 - share) / share) if share > 0 else "?"
        frames = f"{done}/{total} frames" if total > 0 else f"{done} frames"
        self.stream.write(f"\r{stage:<8} [{'#' * round(width * share)}{'.' * (width - round(width * share))}] {frames}, ETA {eta}  ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.stage:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = ""
