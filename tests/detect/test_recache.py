"""The regex cache: a saved program compiles to the same pattern, is found by ``re.compile``
of the same string, and any mismatch or damage is a plain cache miss."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from anonymizer.detect import recache

PATTERN = r"(?iu)^(?P<word>[a-zé]+)[-'](?:l[èe]s?|des?)[-](?P<tail>\w+)$"
SAMPLES = ["saut-de-ski", "Pet-les-Bains", "entr'les-x", "plain", "a-des-b", "é-DE-z", "x-la-y"]


def test_a_primed_pattern_is_the_one_re_compile_returns_and_matches_the_same(tmp_path: Path) -> None:
    path = tmp_path / "regex.json"
    recache.save([(PATTERN, 0)], path)
    reference = re.compile(PATTERN)
    re.purge()
    assert recache.prime(path) == 1
    loaded = re._cache[(str, PATTERN, 0)]  # type: ignore[attr-defined]
    primed = re.compile(PATTERN)
    assert primed is loaded and primed is not reference  # found, not compiled again
    assert primed.flags == reference.flags and primed.groupindex == reference.groupindex
    for s in SAMPLES:
        a, b = primed.match(s), reference.match(s)
        assert (a and (a.span(), a.groupdict())) == (b and (b.span(), b.groupdict())), s
    re.purge()


@pytest.mark.parametrize("damage", ["other engine", "program changed", "invalid program", "not json", "missing"])
def test_a_stale_or_damaged_file_is_a_miss(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "regex.json"
    recache.save([(PATTERN, 0)], path)
    data = json.loads(path.read_text())
    if damage == "other engine":
        data["magic"] += 1
        path.write_text(json.dumps(data))
    elif damage == "program changed":
        data["entries"][0]["code"][3] += 1
        path.write_text(json.dumps(data))
    elif damage == "invalid program":  # digest made to match: CPython's own check refuses it
        entry = data["entries"][0]
        entry["code"] = [999, 1, 2]
        entry["sha256"] = recache._digest(entry)
        path.write_text(json.dumps(data))
    elif damage == "not json":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.unlink()
    re.purge()
    assert recache.prime(path) == 0
    assert (str, PATTERN, 0) not in re._cache  # type: ignore[attr-defined]
    assert re.compile(PATTERN).match("saut-de-ski")  # compiled as before


def test_spacy_french_tokenizer_finds_the_saved_pattern(tmp_path: Path) -> None:
    """What ``make install`` saves is what importing spaCy's French language compiles."""
    path = tmp_path / "regex.json"
    code = f"""
import json, re, sys
from pathlib import Path
from anonymizer.detect import recache
path = Path({str(path)!r})
if sys.argv[1] == "save":
    recache.save(recache.spacy_patterns(), path)
else:
    assert recache.prime(path) == 1
    primed = re._cache[(str, json.loads(path.read_text())["entries"][0]["pattern"], 0)]
    from spacy.lang.fr.tokenizer_exceptions import TOKEN_MATCH
    assert TOKEN_MATCH.__self__ is primed
    assert TOKEN_MATCH("faux-vampire") and not TOKEN_MATCH("Jean Martin")
"""
    for step in ("save", "use"):  # fresh processes: nothing compiled yet in either
        subprocess.run([sys.executable, "-c", code, step], check=True)
