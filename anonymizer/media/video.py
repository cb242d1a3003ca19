"""Stream decoded video frames with their pts; never hold a whole video in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from anonymizer.errors import CorruptInputError
from anonymizer.media._open import decode_error, open_input


@dataclass
class VideoFrameData:
    """One decoded frame. ``luma``: (H, W) uint8 view of the Y plane (no colour conversion);
    ``rgb()`` converts on demand, only for frames that are OCR'd or redacted."""

    pts: int
    time_base: Fraction
    frame: Any  # av.VideoFrame

    @property
    def t(self) -> float:
        return float(self.pts * self.time_base)

    def luma(self) -> np.ndarray:
        f = self.frame
        if f.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "yuvj444p", "gray", "nv12"):
            plane = f.planes[0]
            arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            return arr[:, : f.width]
        out: np.ndarray = f.to_ndarray(format="gray")
        return out

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8, C-contiguous and writable."""
        arr: np.ndarray = self.frame.to_ndarray(format="rgb24")
        return np.ascontiguousarray(arr)


def iter_frames(path: Path) -> Iterator[VideoFrameData]:
    """Yield every frame of the first video stream in presentation order.

    Raises CorruptInputError (naming the file) when decoding fails part way, so a
    truncated recording can never be half-processed and published."""
    path = Path(path)
    with open_input(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = Fraction(stream.time_base)
        last_pts: int | None = None
        try:
            for frame in container.decode(stream):
                pts = frame.pts
                if pts is None:
                    pts = frame.dts if frame.dts is not None else (0 if last_pts is None else last_pts + 1)
                if last_pts is not None and pts <= last_pts:
                    raise CorruptInputError(f"video frames out of order or duplicated at pts {pts}", path=path)
                last_pts = pts
                yield VideoFrameData(pts=pts, time_base=tb, frame=frame)
        except av.error.FFmpegError as exc:
            raise decode_error(path, exc, "video") from exc
        if last_pts is None:
            raise CorruptInputError("video stream has no decodable frame", path=path)
