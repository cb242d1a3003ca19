"""The CTI sidecar (``call.json``): call id, agent, purpose, line, call times, windows.

Schema (all keys optional except where a policy requires them)::

    {"call_id": "C-2026-0001", "agent_employee_id": "E10234", "purpose": "training",
     "line": "+33 1 23 45 67 89", "off_hook_s": 0.0, "on_hook_s": 312.4,
     "windows": [{"x": 0, "y": 0, "w": 1280, "h": 720, "start_s": 0.0, "end_s": null}]}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer.errors import ConfigError
from anonymizer.plan import Window

KEYS = {"call_id", "agent_employee_id", "purpose", "line", "off_hook_s", "on_hook_s", "windows"}


@dataclass(frozen=True)
class Sidecar:
    call_id: str | None = None
    agent_employee_id: str | None = None
    purpose: str | None = None
    line: str | None = None
    off_hook_s: float | None = None
    on_hook_s: float | None = None
    windows: tuple[Window, ...] = field(default_factory=tuple)


WINDOW_KEYS = {"x", "y", "w", "h", "start_s", "end_s"}


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(data: dict[str, Any], key: str, path: Path, where: str = "") -> float | None:
    """A finite non-negative number, or None when absent. NaN and infinity (which Python's
    JSON reader accepts) are refused here, not hours later in a comparison."""
    v = data.get(key)
    if v is None:
        return None
    if not _is_number(v) or not math.isfinite(v) or v < 0:
        raise ConfigError(f"sidecar {where}{key} must be a finite non-negative number, not {v!r}", path=path)
    return float(v)


def _window(w: object, i: int, path: Path) -> Window:
    """One window, exactly as written: integer pixels (``"10"`` or ``0.7`` are refused, not
    converted: a sidecar that says something else than it seems is a broken CTI export)."""
    where = f"windows[{i}]"
    if not isinstance(w, dict):
        raise ConfigError(f"sidecar {where} must be an object with integer x, y, w, h", path=path)
    unknown = set(w) - WINDOW_KEYS
    if unknown:
        raise ConfigError(f"sidecar {where} has unknown key(s) {', '.join(sorted(unknown))}", path=path)
    px = {}
    for key in ("x", "y", "w", "h"):
        v = w.get(key)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ConfigError(f"sidecar {where}.{key} must be an integer (pixels), not {v!r}", path=path)
        px[key] = v
    if px["w"] <= 0 or px["h"] <= 0:
        raise ConfigError(f"sidecar {where} has an empty size", path=path)
    start = _num(w, "start_s", path, f"{where}.") or 0.0
    end = _num(w, "end_s", path, f"{where}.")
    if end is not None and end <= start:
        raise ConfigError(f"sidecar {where}.end_s must be after its start_s", path=path)
    return Window(px["x"], px["y"], px["w"], px["h"], start, end)


def load_sidecar(path: Path | None) -> Sidecar:
    if path is None:
        return Sidecar()
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("sidecar file not found", path=path) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sidecar is not valid JSON: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise ConfigError("sidecar must be a JSON object", path=path)
    unknown = set(data) - KEYS
    if unknown:
        raise ConfigError(f"sidecar has unknown key(s) {', '.join(sorted(unknown))}", path=path)
    raw_windows = data.get("windows")
    if raw_windows is not None and not isinstance(raw_windows, list):
        # ``"windows": 0`` is not "no windows": it is not a list of rectangles at all.
        raise ConfigError(f"sidecar windows must be a list of rectangles, not {raw_windows!r}", path=path)
    windows = [_window(w, i, path) for i, w in enumerate(raw_windows or [])]
    off, on = _num(data, "off_hook_s", path), _num(data, "on_hook_s", path)
    if off is not None and on is not None and on <= off:
        raise ConfigError("sidecar on_hook_s must be after off_hook_s", path=path)
    text: dict[str, str | None] = {}
    for k in ("call_id", "agent_employee_id", "purpose", "line"):
        v = data.get(k)
        # CTI systems write numeric ids and lines as JSON numbers: whole numbers are taken
        # as their digits; anything else (a fraction, a boolean, a list) is refused.
        if isinstance(v, int) and not isinstance(v, bool) and k != "purpose":
            v = str(v)
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"sidecar {k} must be a string, not {type(v).__name__}", path=path)
        text[k] = v
    return Sidecar(off_hook_s=off, on_hook_s=on, windows=tuple(windows), **text)
