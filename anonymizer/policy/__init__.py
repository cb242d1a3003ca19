"""CNIL policy: gates checked before any heavy work, retention (purge) and export access.

Three small modules, re-exported here:

* :mod:`anonymizer.policy.gates` - purpose, excluded lines, windows and call times, each a
  named rule; a refusal is a ``PolicyRefusal`` (exit 6) carrying ``rule``.
* :mod:`anonymizer.policy.retention` - ``purge`` of originals past their retention.
* :mod:`anonymizer.policy.access` - who may export which recording, logged.

Nothing here imports media, OCR or model code, so the gates stay cheap to run first.
"""

from __future__ import annotations

from anonymizer.policy.access import (
    Access,
    Decision,
    Deployment,
    ExportResult,
    Target,
    User,
    decide,
    decide_original,
    export,
    inspect_target,
    load_access,
    load_deployment,
    os_user,
)
from anonymizer.policy.gates import RULES, GateResult, RuleRefusal, check_gates, normalize_line
from anonymizer.policy.retention import parse_duration, purge

__all__ = [
    "RULES",
    "Access",
    "Decision",
    "Deployment",
    "ExportResult",
    "GateResult",
    "RuleRefusal",
    "Target",
    "User",
    "check_gates",
    "decide",
    "decide_original",
    "export",
    "inspect_target",
    "load_access",
    "load_deployment",
    "normalize_line",
    "os_user",
    "parse_duration",
    "purge",
]
