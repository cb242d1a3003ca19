"""Compiled regular expressions kept from one process to the next.

spaCy's French tokenizer builds one token-match pattern of 1.45 MB (hyphenated and elided
words, each with Unicode letter classes) and compiles it when ``spacy.lang.fr`` is imported:
2.3 s of CPU in every process, spent while the screen is being read (the detection models
load in a background thread). Python cannot save a compiled pattern, but it can save the
program ``re`` compiles it to (the opcode list ``_sre.compile`` takes): ``save`` writes it
once (``make install``, or ``python -m anonymizer.detect.recache``) into the Python
environment, next to the packages it comes from, and ``prime`` reads it
back in ~25 ms and puts the pattern in ``re``'s own cache, where spaCy's ``re.compile`` of
the same string finds it.

Nothing can go wrong silently: the file is tied to the interpreter's regex engine
(``_sre.MAGIC`` and the Python version) and holds each pattern string with a digest of all
it holds; CPython validates a program when it is loaded. Any other pattern (another spaCy
version), a missing, stale or damaged file, or an interpreter without these internals is
a cache miss: the pattern compiles as before."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from anonymizer.fsutil import write_atomic


def cache_path() -> Path:
    """In the Python environment itself (``make install`` writes it there, with the
    packages it derives from): only who may change spaCy may change it."""
    return Path(sys.prefix) / "share" / "anonymizer" / f"regex-{sys.implementation.cache_tag}.json"


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({k: v for k, v in entry.items() if k != "sha256"}, sort_keys=True).encode()).hexdigest()


def _engine() -> dict[str, Any]:
    import _sre

    return {"magic": _sre.MAGIC, "python": sys.version}


def save(patterns: Iterable[tuple[str, int]], path: Path) -> None:
    """Compile each ``(pattern, flags)`` (as ``re.compile(pattern, flags)`` would) and write
    the programs to ``path`` atomically."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    entries = []
    for pattern, flags in patterns:
        parsed = _parser.parse(pattern, flags)
        code = list(_compiler._code(parsed, flags))
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, i in parsed.state.groupdict.items():
            indexgroup[i] = name
        entry = {"pattern": pattern, "flags": flags, "state_flags": parsed.state.flags, "code": code,
                 "groups": parsed.state.groups, "groupindex": dict(parsed.state.groupdict), "indexgroup": indexgroup}
        entries.append({**entry, "sha256": _digest(entry)})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**_engine(), "entries": entries}))


def prime(path: Path | None = None) -> int:
    """Put the patterns saved in ``path`` (default ``cache_path()``) into ``re``'s cache;
    how many (0 on any miss)."""
    try:
        import _sre

        data = json.loads((path or cache_path()).read_bytes())
        if {k: data.get(k) for k in ("magic", "python")} != _engine():
            return 0
        cache = re._cache  # type: ignore[attr-defined]
        n = 0
        for e in data["entries"]:
            if _digest(e) != e["sha256"]:
                continue
            compiled = _sre.compile(e["pattern"], e["flags"] | e["state_flags"], e["code"], e["groups"] - 1,
                                    e["groupindex"], tuple(e["indexgroup"]))
            cache[(str, e["pattern"], e["flags"])] = compiled
            n += 1
        return n
    except Exception:  # noqa: BLE001 (a cache miss, whatever the reason: the pattern compiles as before)
        return 0


def spacy_patterns() -> list[tuple[str, int]]:
    """The patterns worth keeping: the French tokenizer's token match (compiled on import)."""
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH

    return [(TOKEN_MATCH.__self__.pattern, 0)]  # type: ignore[attr-defined]


def main() -> int:
    path = cache_path()
    try:
        save(spacy_patterns(), path)
    except OSError as exc:
        print(f"regex cache not written ({exc}): spaCy's French pattern compiles at each run", file=sys.stderr)
        return 1
    print(f"regex cache: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
