"""Small value types shared by the stages.

Times are seconds as floats derived from ``pts * time_base`` (never frame indices).
Boxes are integer pixel rectangles ``(x, y, w, h)`` in the full-frame coordinate system.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    def area(self) -> int:
        return max(0, self.w) * max(0, self.h)

    def intersects(self, other: Box) -> bool:
        return self.x < other.x1 and other.x < self.x1 and self.y < other.y1 and other.y < self.y1

    def same_row(self, other: Box) -> bool:
        """Vertical centres within half the taller box's height: on one line of text."""
        return abs((self.y + self.h / 2) - (other.y + other.h / 2)) <= max(self.h, other.h) / 2

    def intersection(self, other: Box) -> int:
        w = min(self.x1, other.x1) - max(self.x, other.x)
        h = min(self.y1, other.y1) - max(self.y, other.y)
        return max(0, w) * max(0, h)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area() + other.area() - inter
        return inter / union if union else 0.0

    def union(self, other: Box) -> Box:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.x1, other.x1) - x, max(self.y1, other.y1) - y)

    def pad(self, dx: int, dy: int) -> Box:
        return Box(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)

    def clip(self, width: int, height: int) -> Box:
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.x1), min(height, self.y1)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class TextBox:
    """One OCR'd text region. ``since_s`` is when this text field instance first appeared
    where it is (kept across re-reads while the field is being typed), used for look-back
    redaction; ``edited``: it was kept from an earlier read of the field (typing); ``cut``:
    unread because the edge of a list being scrolled cuts it (hidden, looked at again)."""

    box: Box
    text: str
    conf: float
    since_s: float
    edited: bool = False
    cut: bool = False


@dataclass(frozen=True)
class Finding:
    """A PII span in a piece of text: ``text[start:end]`` is of type ``entity_type``."""

    entity_type: str
    start: int
    end: int
    score: float
    category: str = "customer"  # customer | colleague | agent


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float = 1.0
