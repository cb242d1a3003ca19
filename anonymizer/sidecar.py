"""The CTI sidecar (``call.json``): call id, agent, purpose, line, call times, windows.

Schema (all keys optional except where a policy requires them)::

    {"call_id": "C-2026-0001", "agent_employee_id": "E10234", "purpose": "training",
     "line": "+33 1 23 45 67 89", "off_hook_s": 0.0, "on_hook_s": 312.4,
     "windows": [{"x": 0, "y": 0, "w": 1280, "h": 720, "start_s": 0.0, "end_s": null}]}
"""

from __future__ import annotations

import json
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


def _num(data: dict[str, Any], key: str, path: Path) -> float | None:
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ConfigError(f"sidecar {key} must be a non-negative number", path=path)
    return float(v)


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
    windows = []
    for i, w in enumerate(data.get("windows") or []):
        try:
            win = Window(int(w["x"]), int(w["y"]), int(w["w"]), int(w["h"]), float(w.get("start_s") or 0.0),
                         None if w.get("end_s") is None else float(w["end_s"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"sidecar windows[{i}] needs integer x, y, w, h: {exc}", path=path) from exc
        if win.w <= 0 or win.h <= 0:
            raise ConfigError(f"sidecar windows[{i}] has an empty size", path=path)
        windows.append(win)
    off, on = _num(data, "off_hook_s", path), _num(data, "on_hook_s", path)
    if off is not None and on is not None and on <= off:
        raise ConfigError("sidecar on_hook_s must be after off_hook_s", path=path)
    text = {k: (None if data.get(k) is None else str(data[k])) for k in ("call_id", "agent_employee_id", "purpose", "line")}
    return Sidecar(off_hook_s=off, on_hook_s=on, windows=tuple(windows), **text)
