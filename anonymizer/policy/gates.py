"""CNIL gates: cheap checks on the sidecar and the probed media, run before any decoding,
OCR or speech work, so a recording that must not be processed is never even read.

Every refusal is a :class:`RuleRefusal` (a ``PolicyRefusal``, exit 6) naming its rule::

    refused by policy rule 'purpose': purpose 'evaluation' is not allowed (allowed: training)

Rules, all fail-closed:

``purpose``
    The CNIL allows coupling screen and call audio for training only; ``[policy] purposes``
    lists what this site allows (compared case-insensitively). A sidecar is the CTI
    system's statement about the call, so a sidecar *without* a purpose is refused: the
    call was never tagged for an allowed use. With *no sidecar at all* nothing states the
    purpose; the run itself is then taken as the declaration, which is unambiguous only
    when the one allowed purpose is ``training`` (the default). If the policy allows
    several purposes, or another one, a run without a sidecar is refused. The result says
    whether the purpose was stated or assumed, for the audit log.
``excluded_line``
    Calls on ``[policy] excluded_lines`` (e.g. staff representatives) are never processed.
    Numbers are compared as digits with French prefixes unified (``+33 1 23 45 67 89``,
    ``0033123456789``, ``01 23 45 67 89`` and ``+33 (0)1 ...`` are one line). When lines are
    excluded, a call whose line is unknown (no sidecar, or no ``line``) is refused too: it
    could be one of them.
``windows_required``
    With ``require_windows``, at least one business-window rectangle must overlap the frame.
``call_times_required``
    With ``require_call_times``, both ``off_hook_s`` and ``on_hook_s`` must be known.
``call_times_outside``
    Known call times must fall within the media (``on_hook_s`` may run past its end by
    ``CALL_TIME_SLACK_S``, clock skew between CTI and recorder; it is then clipped). If the
    media duration is unknown, known call times cannot be checked and are refused.
``still_image``
    Applied by ``screen.analyse.refuse_still_video`` (it decodes, so it runs after these): a video
    whose changed area over the whole recording stays under 0.25 % of the frame is a
    screenshot in disguise. Area, not the largest pixel difference, so codec noise or a few
    sprinkled pixels do not make a still image a recording.

Messages never contain the phone number or any other personal value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from anonymizer.config import Config
from anonymizer.errors import ConfigError, PolicyRefusal
from anonymizer.plan import Window
from anonymizer.sidecar import Sidecar

DEFAULT_PURPOSE = "training"
CALL_TIME_SLACK_S = 1.0
RULES = ("purpose", "excluded_line", "windows_required", "call_times_required", "call_times_outside", "still_image")


class RuleRefusal(PolicyRefusal):
    """A named policy rule refused the recording; ``rule`` is machine-readable for the audit log."""

    def __init__(self, rule: str, reason: str, *, path: object | None = None) -> None:
        self.rule = rule
        super().__init__(f"refused by policy rule {rule!r}: {reason}", path=path)


@dataclass(frozen=True)
class GateResult:
    """What the gates established: the purpose (and whether it was stated or assumed), the
    part of the media that is the call (None: all of it) and the business windows."""

    purpose: str
    purpose_assumed: bool
    trim: tuple[float, float] | None
    windows: tuple[Window, ...]


def normalize_line(number: str) -> str:
    """Digits of a phone line in one international form, French prefixes unified.

    ``+33 1 23 45 67 89``, ``0033 1 23 45 67 89``, ``01 23 45 67 89`` and
    ``+33 (0)1 23 45 67 89`` all give ``33123456789``. Short internal numbers stay as
    their digits (``4127``)."""
    text = number.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        intl = digits
    elif digits.startswith("00"):
        intl = digits[2:]
    elif len(digits) == 10 and digits.startswith("0"):
        intl = "33" + digits[1:]  # French national format
    else:
        return digits
    if intl.startswith("330") and len(intl) == 12:
        intl = "33" + intl[3:]  # "+33 (0)1 ..." keeps the trunk zero
    return intl


def _check_purpose(config: Config, sidecar: Sidecar | None, path: Path) -> tuple[str, bool]:
    allowed = tuple(p.strip().lower() for p in config.policy.purposes)
    shown = ", ".join(config.policy.purposes)
    if sidecar is None:
        if allowed == (DEFAULT_PURPOSE,):
            return DEFAULT_PURPOSE, True
        raise RuleRefusal("purpose", f"no sidecar states the purpose and the policy allows more than training (allowed: {shown})",
                          path=path)
    if sidecar.purpose is None or not sidecar.purpose.strip():
        raise RuleRefusal("purpose", f"the sidecar does not state the purpose (allowed: {shown})", path=path)
    purpose = sidecar.purpose.strip().lower()
    if purpose not in allowed:
        raise RuleRefusal("purpose", f"purpose {sidecar.purpose.strip()!r} is not allowed (allowed: {shown})", path=path)
    return purpose, False


def _check_line(config: Config, sidecar: Sidecar | None, path: Path) -> None:
    excluded = set()
    for i, entry in enumerate(config.policy.excluded_lines):
        norm = normalize_line(entry)
        if not norm:
            raise ConfigError(f"policy.excluded_lines[{i}] has no digits")
        excluded.add(norm)
    if not excluded:
        return
    line = None if sidecar is None else sidecar.line
    if line is None or not normalize_line(line):
        raise RuleRefusal("excluded_line", "the call's line is unknown and the policy excludes some lines", path=path)
    if normalize_line(line) in excluded:
        raise RuleRefusal("excluded_line", "the call's line is on policy.excluded_lines", path=path)


def _overlaps(w: Window, width: int, height: int, duration_s: float | None) -> bool:
    inside = w.x < width and w.y < height and w.x + w.w > 0 and w.y + w.h > 0
    starts_in_time = duration_s is None or w.start_s < duration_s
    return inside and starts_in_time and (w.end_s is None or w.end_s > w.start_s)


def _check_windows(config: Config, sidecar: Sidecar | None, width: int, height: int, duration_s: float | None,
                   path: Path) -> tuple[Window, ...]:
    windows = () if sidecar is None else tuple(sidecar.windows)
    if config.policy.require_windows:
        if not windows:
            raise RuleRefusal("windows_required", "no business-window rectangle is known (sidecar 'windows')", path=path)
        if not any(_overlaps(w, width, height, duration_s) for w in windows):
            raise RuleRefusal("windows_required", f"no business window overlaps the {width}x{height} frame "
                              "during the recording", path=path)
    return windows


def _check_call_times(config: Config, sidecar: Sidecar | None, duration_s: float | None,
                      path: Path) -> tuple[float, float] | None:
    off = None if sidecar is None else sidecar.off_hook_s
    on = None if sidecar is None else sidecar.on_hook_s
    if config.policy.require_call_times and (off is None or on is None):
        raise RuleRefusal("call_times_required", "the sidecar must give both off_hook_s and on_hook_s", path=path)
    if off is None and on is None:
        return None
    if duration_s is None or not math.isfinite(duration_s) or duration_s <= 0:
        raise RuleRefusal("call_times_outside", "the media duration is unknown, so the call times cannot be checked", path=path)
    start = 0.0 if off is None else off
    end = duration_s if on is None else on
    if start >= duration_s:
        raise RuleRefusal("call_times_outside", f"off_hook_s {start:.3f} is not before the end of the media ({duration_s:.3f} s)",
                          path=path)
    if end > duration_s + CALL_TIME_SLACK_S:
        raise RuleRefusal("call_times_outside", f"on_hook_s {end:.3f} is after the end of the media ({duration_s:.3f} s)",
                          path=path)
    if end <= start:
        raise RuleRefusal("call_times_outside", "on_hook_s is not after off_hook_s", path=path)
    return (start, min(end, duration_s))


def check_gates(config: Config, sidecar: Sidecar | None, *, input_path: Path, duration_s: float | None,
                width: int, height: int) -> GateResult:
    """Apply every rule (module docstring); raise :class:`RuleRefusal` on the first that fails.

    ``sidecar`` is None when no sidecar file was given (``load_sidecar(None)`` returns an
    empty ``Sidecar``: pass None instead, the purpose rule tells the two apart)."""
    purpose, assumed = _check_purpose(config, sidecar, input_path)
    _check_line(config, sidecar, input_path)
    windows = _check_windows(config, sidecar, width, height, duration_s, input_path)
    trim = _check_call_times(config, sidecar, duration_s, input_path)
    return GateResult(purpose=purpose, purpose_assumed=assumed, trim=trim, windows=windows)
