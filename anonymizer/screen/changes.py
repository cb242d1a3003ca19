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


def ink_tiles(luma: np.ndarray, tile: int, threshold: int) -> np.ndarray:
    """(ceil(H/tile), ceil(W/tile)) bool: tiles of ``luma`` holding contrast that is not
    just a straight border line (a glyph stroke, an icon)."""
    h, w = luma.shape
    th, tw = -(-h // tile), -(-w // tile)
    padded = np.empty((th * tile, tw * tile), dtype=np.uint8)
    padded[:h, :w] = luma
    padded[h:, :] = padded[h - 1 : h, :] if h else 0
    padded[:, w:] = padded[:, w - 1 : w]
    t4 = padded.reshape(th, tile, tw, tile).transpose(0, 2, 1, 3)  # (th, tw, tile, tile)
    med = np.median(t4.reshape(th, tw, -1), axis=2).astype(np.int16)
    ink = np.abs(t4.astype(np.int16) - med[:, :, None, None]) >= threshold
    rows_any, rows_all = ink.any(axis=3), ink.all(axis=3)  # (th, tw, tile) per pixel row
    cols_any, cols_all = ink.any(axis=2), ink.all(axis=2)
    has = rows_any.any(axis=2)
    # only full-width rows (a horizontal rule) or only full-height columns (a vertical rule)
    line_only = (rows_any == rows_all).all(axis=2) | (cols_any == cols_all).all(axis=2)
    mask: np.ndarray = has & ~line_only
    return mask


def content_boxes(luma: np.ndarray, tile: int, threshold: int) -> list[Box]:
    """Parts of ``luma`` ((H, W) uint8) worth sending to the text detector, in its
    coordinates: groups of ``ink_tiles`` grown by one tile and merged. Blank background
    (most of a screen) is skipped; a tile with any glyph stroke is kept, so nothing
    readable is left out."""
    h, w = luma.shape
    mask = ink_tiles(luma, tile, threshold)
    if not mask.any():
        return []
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    return merge_boxes(regions_from_tiles(grown.astype(bool), tile, w, h))
