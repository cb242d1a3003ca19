"""Change map on the luma plane: tiles whose pixels differ from the last state read."""

from __future__ import annotations

import cv2
import numpy as np

from anonymizer.types import Box


def changed_tiles(prev: np.ndarray, cur: np.ndarray, tile: int, threshold: int) -> np.ndarray:
    """(ceil(H/tile), ceil(W/tile)) bool: True where any pixel moved by >= ``threshold``.

    ``prev``, ``cur``: (H, W) uint8 luma planes."""
    h, w = cur.shape
    diff = cv2.absdiff(prev, cur) >= threshold
    th, tw = -(-h // tile), -(-w // tile)
    padded = np.zeros((th * tile, tw * tile), dtype=bool)
    padded[:h, :w] = diff
    return np.asarray(padded.reshape(th, tile, tw, tile).any(axis=(1, 3)))


def regions_from_tiles(mask: np.ndarray, tile: int, width: int, height: int) -> list[Box]:
    """Bounding boxes (pixels) of 8-connected groups of changed tiles."""
    if not mask.any():
        return []
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        boxes.append(Box(x * tile, y * tile, w * tile, h * tile).clip(width, height))
    return boxes


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Union overlapping boxes until none overlap."""
    out = list(boxes)
    changed = True
    while changed:
        changed = False
        merged: list[Box] = []
        for b in out:
            for i, m in enumerate(merged):
                if b.intersects(m):
                    merged[i] = m.union(b)
                    changed = True
                    break
            else:
                merged.append(b)
        out = merged
    return out
