"""OCR behind one small interface. EasyOCR is the only implementation (the only place it is
imported): CRAFT finds text regions, a CRNN reads them; both run offline from the weights
package, with downloads disabled."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.errors import ModelError, ProcessingError
from anonymizer.types import Box


@dataclass(frozen=True)
class OcrText:
    box: Box
    text: str
    conf: float


class OcrEngine(ABC):
    @abstractmethod
    def read(self, rgb: np.ndarray) -> list[OcrText]:
        """Text in ``rgb`` ((H, W, 3) uint8), boxes in the image's coordinates."""


    def read_line(self, rgb: np.ndarray) -> str:
        """The text of ``rgb`` read as one line, without text detection (cheaper; used to
        re-read known regions). Default: every detected text joined."""
        return " ".join(t.text for t in self.read(rgb))

    def read_boxes(self, grey: np.ndarray, boxes: list[Box]) -> list[OcrText]:
        """Each of ``boxes`` (one text line each, in ``grey``'s coordinates) read without
        text detection. ``grey``: (H, W) uint8. Default: ``read_line`` of each crop."""
        out = []
        for b in boxes:
            crop = np.ascontiguousarray(np.repeat(grey[b.y : b.y1, b.x : b.x1, None], 3, axis=2))
            text = self.read_line(crop)
            if text:
                out.append(OcrText(b, text, 1.0))
        return out

    def set_text_height(self, px: float) -> None:  # noqa: B027 - optional hint
        """Hint: the height of the text lines seen so far (sizes the detector's canvas)."""


# Detector magnification: CRAFT reads crisp screen text reliably once lines are about
# this tall on its canvas (measured: 14 px UI font read the same at 1.0 and 1.5, worse at 0.75).
TARGET_TEXT_PX = 18.0
MAG_RANGE = (0.8, 1.6)
CACHE_ENTRIES = 4096


def cpu_threads() -> int:
    """CPU threads one recording's models may use: ``ANONYMIZER_THREADS`` when set (a
    batch sets it for its workers: cores / workers), else every core this process may run on."""
    env = os.environ.get("ANONYMIZER_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return available_cpus()


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class ThreadGovernor:
    """Keeps torch's CPU threads within the cores that other processes leave free.

    A nightly host is rarely idle. With two OpenMP threads on two cores and another CPU-bound
    process beside them, each parallel region waits for the thread the kernel descheduled:
    EasyOCR's stages ran 9x and 14x slower (issue 16), far worse than the 2x that sharing
    the cores would explain. So every ``interval_s`` (checked at each OCR call; two small
    reads of /proc) it measures how many of this process's CPUs the *other* processes kept
    busy since the last look: the CPUs' busy time (``/proc/stat``, only the CPUs this
    process may run on) less this process's own (``/proc/self/stat``). torch gets the
    cores left, rounded, at least 1 and at most ``ceiling``. Where /proc cannot be read it
    keeps ``ceiling``: the behaviour of an idle host."""

    def __init__(self, ceiling: int, *, interval_s: float = 1.0, setter: Any = None) -> None:
        self.ceiling = max(1, ceiling)
        self.interval_s = interval_s
        self.threads = self.ceiling
        self.changes = 0
        self.others: float | None = None  # cores the other processes used over the last window
        self._setter = setter
        self._cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last: tuple[float, int, int] | None = None
        self._next = 0.0

    def _sample(self) -> tuple[float, int, int] | None:
        try:
            wanted = {f"cpu{c}" for c in self._cpus}
            busy = 0
            with open("/proc/stat", encoding="ascii") as fh:
                for line in fh:
                    if not line.startswith("cpu"):
                        break
                    name, *vals = line.split()
                    if name in wanted:
                        v = [int(x) for x in vals[:8]]
                        busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal
            with open("/proc/self/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            own = int(fields[11]) + int(fields[12])  # utime, stime of every thread
        except (OSError, ValueError, IndexError):
            return None
        return time.monotonic(), busy, own

    def tick(self) -> int:
        """Re-measure if ``interval_s`` has passed; return the threads torch now uses."""
        now = time.monotonic()
        if now < self._next or not self._cpus:
            return self.threads
        self._next = now + self.interval_s
        cur = self._sample()
        if cur is None:
            return self.threads
        last, self._last = self._last, cur
        if last is None or cur[0] - last[0] <= 0:
            return self.threads
        others = max(0.0, ((cur[1] - last[1]) - (cur[2] - last[2])) / self._tick / (cur[0] - last[0]))
        self.others = others
        want = max(1, min(self.ceiling, round(len(self._cpus) - others)))
        if want != self.threads:
            self.threads = want
            self.changes += 1
            if self._setter is None:
                import torch

                torch.set_num_threads(want)
            else:
                self._setter(want)
        return self.threads


def _one_device(reader: Any) -> None:
    """EasyOCR wraps its nets in ``torch.nn.DataParallel`` on CUDA, which wants them on
    cuda:0 (a net moved to cuda:1 fails at its first call) and spreads one worker's batch
    over every GPU; unwrapped, each net runs on the device it was moved to."""
    import torch

    for name in ("detector", "recognizer"):
        net = getattr(reader, name, None)
        if isinstance(net, torch.nn.DataParallel):
            setattr(reader, name, net.module)


class EasyOcrEngine(OcrEngine):
    def __init__(self, *, device: str = "cpu", model_dir: Path | None = None, mag_ratio: float = 1.0, threads: int | None = None,
                 detector: bool = True) -> None:
        """``threads``: torch CPU threads; default ``cpu_threads()`` (all this process may
        use, or ``ANONYMIZER_THREADS``). Measured on the 8 s 640x360 test call on an idle
        2-core machine: 2 threads 10.5 s of detector time, 1 thread 16.0 s; a batch with
        several workers divides the cores between them instead. ``detector``: load CRAFT now;
        else ``read`` loads it on first use (the ``ink`` text detector needs the recogniser
        alone). ``device``: "cpu" or "cuda:N" (``anonymizer.runtime``), given to EasyOCR as a
        torch device: its ``gpu=True`` would fall back to the CPU silently."""
        import torch

        import models

        # On the CPU, torch's threads follow what other processes leave free (ThreadGovernor).
        self.governor: ThreadGovernor | None = None
        if device == "cpu":
            ceiling = threads or cpu_threads()
            torch.set_num_threads(ceiling)
            if os.environ.get("ANONYMIZER_GOVERNOR", "on") != "off":  # off: for side-by-side measurement only
                self.governor = ThreadGovernor(ceiling)

        try:
            directory = models.easyocr_dir(model_dir)
        except models.ModelNotFound as exc:
            raise ModelError(f"EasyOCR weights unavailable: {exc}") from exc
        try:
            import easyocr

            with warnings.catch_warnings():
                # torch deprecation notices about EasyOCR's quantized LSTM: not actionable here
                warnings.simplefilter("ignore")
                self._reader = easyocr.Reader(
                    ["en"],
                    gpu=False if device == "cpu" else device,
                    model_storage_directory=str(directory),
                    user_network_directory=str(directory),
                    download_enabled=False,
                    verbose=False,
                    detector=detector,
                )
        except Exception as exc:  # EasyOCR raises bare Exceptions/FileNotFoundError on bad weights
            raise ModelError(f"EasyOCR could not load its models from {directory}: {exc}") from exc
        if device != "cpu":
            _one_device(self._reader)
        self.device = device
        self.mag_ratio = mag_ratio
        self.has_detector = detector
        self._lines: dict[bytes, tuple[str, float]] = {}  # line crop content -> (text, conf)

    def set_text_height(self, px: float) -> None:
        if px > 0:
            self.mag_ratio = min(MAG_RANGE[1], max(MAG_RANGE[0], TARGET_TEXT_PX / px))

    def read_boxes(self, grey: np.ndarray, boxes: list[Box]) -> list[OcrText]:
        out = []
        todo: list[tuple[Box, bytes]] = []
        for b in boxes:
            if b.w < 4 or b.h < 4:
                continue
            # Keyed by content in 8 luma levels: the same text re-encoded (compression noise)
            # or scrolled back into view is read once (the quick bench's EN call: 2057 boxes,
            # 511 distinct exact crops, 334 distinct in 8 levels: 14.3 s -> 10.3 s of screen).
            crop = np.ascontiguousarray(grey[b.y : b.y1, b.x : b.x1] >> 5)
            key = hashlib.blake2b(crop.tobytes(), digest_size=16).digest() + b.w.to_bytes(4, "little")
            hit = self._lines.get(key)
            if hit is None:
                todo.append((b, key))
            elif hit[0]:
                out.append(OcrText(b, hit[0], hit[1]))
        if todo:
            raw = self._call(grey, "recognize", horizontal_list=[[b.x, b.x1, b.y, b.y1] for b, _ in todo], free_list=[],
                             detail=1, reformat=False)
            got = {(int(p[0][0]), int(p[0][1]), int(p[2][0]), int(p[2][1])): (str(text).strip(), float(conf)) for p, text, conf in raw}
            if len(self._lines) + len(todo) > CACHE_ENTRIES:
                self._lines.clear()  # bounded: memory stays flat on long recordings
            for b, key in todo:
                # A line the recogniser skipped is kept as unread text (conf 0): hidden, never shown.
                text, conf = got.get((b.x, b.y, b.x1, b.y1), ("?", 0.0))
                self._lines[key] = (text, conf)
                if text:
                    out.append(OcrText(b, text, conf))
        return out

    def _call(self, rgb: np.ndarray, method: str, **kwargs: Any) -> list[Any]:
        """One EasyOCR call; any failure aborts the recording (fail closed)."""
        h, w = rgb.shape[:2]
        if self.governor is not None:
            self.governor.tick()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "pin_memory ... no accelerator" on CPU hosts
                result: list[Any] = getattr(self._reader, method)(rgb, **kwargs)
                return result
        except Exception as exc:
            raise ProcessingError(f"OCR failed on a {w}x{h} region: {exc}") from exc

    def read_line(self, rgb: np.ndarray) -> str:
        if min(rgb.shape[:2]) < 4:
            return ""
        return " ".join(str(t) for t in self._call(rgb, "recognize", detail=0, reformat=True)).strip()

    def read(self, rgb: np.ndarray) -> list[OcrText]:
        h, w = rgb.shape[:2]
        if h < 4 or w < 4:
            return []
        if not self.has_detector:  # loaded on first use
            try:
                self._reader.setDetector("craft")
            except Exception as exc:
                raise ModelError(f"EasyOCR could not load its text detector: {exc}") from exc
            if self.device != "cpu":
                _one_device(self._reader)
            self.has_detector = True
        raw = self._call(
            rgb,
            "readtext",
            decoder="greedy",
            paragraph=False,
            mag_ratio=self.mag_ratio,
            canvas_size=max(h, w) * 2 + 32,
            width_ths=0.7,
        )
        out = []
        for points, text, conf in raw:
            xs = [int(p[0]) for p in points]
            ys = [int(p[1]) for p in points]
            x0, y0 = max(0, min(xs)), max(0, min(ys))
            x1, y1 = min(w, max(xs)), min(h, max(ys))
            if x1 > x0 and y1 > y0 and text.strip():
                out.append(OcrText(Box(x0, y0, x1 - x0, y1 - y0), text.strip(), float(conf)))
        return out
