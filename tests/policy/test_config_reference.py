"""docs/policy.schema.json and docs/configuration.md are printed from the declarations in
anonymizer/config.py: the committed files must be what the code prints, and the schema
must judge a policy as ``load_config`` does."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from anonymizer._cli import cli
from anonymizer.config import SECTIONS, Config, load_config, settings
from anonymizer.config_doc import reference, schema, schema_text, toml_value
from anonymizer.errors import ConfigError
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def test_committed_schema_is_what_the_code_prints() -> None:
    assert (DOCS / "policy.schema.json").read_text(encoding="utf-8") == schema_text(), \
        "run: anonymizer config schema > docs/policy.schema.json"
    assert json.loads(schema_text()) == schema()


def test_committed_reference_is_what_the_code_prints() -> None:
    assert (DOCS / "configuration.md").read_text(encoding="utf-8") == reference(), \
        "run: anonymizer config reference > docs/configuration.md"


def test_cli_prints_schema_and_reference() -> None:
    for command, expected in (("schema", schema_text()), ("reference", reference())):
        result = CliRunner().invoke(cli, ["config", command])
        assert result.exit_code == 0 and result.output == expected, result.output


def test_reference_has_a_row_per_key_with_its_default() -> None:
    text, defaults = reference(), Config().to_dict()
    for section, cls in SECTIONS.items():
        assert f"## `[{section}]`" in text
        for f in settings(cls):
            (row,) = [line for line in text.splitlines() if line.startswith(f"| `{f.name}` |")]
            assert f"| `{toml_value(defaults[section][f.name])}` |" in row and f.metadata["help"] in row


def test_schema_defaults_are_the_defaults() -> None:
    props = schema()["properties"]
    assert set(props) == set(SECTIONS) and "runtime" not in props
    for section, values in Config().to_dict().items():
        if section == "runtime":
            continue
        assert {k: p["default"] for k, p in props[section]["properties"].items()} == json.loads(json.dumps(values))
        assert props[section]["additionalProperties"] is False


def _errors(value: Any, s: dict[str, Any], where: str = "") -> list[str]:
    """The few JSON Schema keywords the generated schema uses, checked by hand (jsonschema is
    not a dependency)."""
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float), "integer": int}
    if not isinstance(value, kinds[s["type"]]) or (s["type"] in ("number", "integer") and isinstance(value, bool)):
        return [f"{where}: not {s['type']}"]
    out = []
    if "enum" in s and value not in s["enum"]:
        out.append(f"{where}: not in enum")
    if "minimum" in s and not s["minimum"] <= value <= s["maximum"]:
        out.append(f"{where}: out of range")
    if "pattern" in s and not re.search(s["pattern"], value):
        out.append(f"{where}: pattern")
    if s["type"] == "array":
        if len(value) < s.get("minItems", 0):
            out.append(f"{where}: too short")
        out += [e for i, item in enumerate(value) for e in _errors(item, s["items"], f"{where}[{i}]")]
    if s["type"] == "object":
        out += [f"{where}.{k}: unknown" for k in value if k not in s["properties"]]
        out += [f"{where}.{k}: required" for k in s.get("required", ()) if k not in value]
        out += [e for k, v in value.items() if k in s["properties"] for e in _errors(v, s["properties"][k], f"{where}.{k}")]
    return out


@pytest.mark.parametrize(("toml", "valid"), [
    ("", True),
    ('[video]\nstyle = "blur"\npad_px = 5\npad_s = 1\n[audio]\nlanguage = "auto"\ntone_hz = 800\n', True),
    ('[detect]\nlanguages = ["fr"]\nentities = ["PERSON", "FIELD"]\n'
     'id_patterns = [{name = "CONTRACT_ID", regex = "CT-\\\\d{8}", context = ["contrat"], score = 0.9}]\n', True),
    ('[policy]\npurposes = ["training"]\naccess_file = "/etc/anonymizer/access.toml"\n[redact]\nagent = "keep"\n', True),
    ('[batch]\nquota_per_agent = 5\nmemory_mb = 2048\n', True),
    ("[video]\npad_px = 1000\n", False),
    ("[video]\nstyle = 'smudge'\n", False),
    ("[video]\nblurr = 1\n", False),
    ("[videos]\nstyle = 'fill'\n", False),
    ("[video]\npad_px = 'big'\n", False),
    ("[video]\nunsure_conf = 7.0\n", False),
    ("[video]\nunsure_min_digits = -5\n", False),
    ('[video]\npreset = "bogus"\n', False),
    ("[audio]\nrequired = 1\n", False),
    ("[detect]\nlanguages = ['de']\n", False),
    ("[detect]\nentities = ['SHOE_SIZE']\n", False),
    ("[detect]\nid_patterns = [{name = 'contract', regex = 'x'}]\n", False),
    ("[detect]\nid_patterns = [{regex = 'x'}]\n", False),
    ("[detect]\nid_patterns = [{name = 'A_ID', regex = 'x', score = 0.1}]\n", False),
    ("[policy]\npurposes = []\n", False),
    ('[policy]\naccess_file = "access.toml"\n', False),
    ('[redact]\ncustomer = "hide"\n', False),
    ("[batch]\nmax_attempts = 0\n", False),
])
def test_schema_judges_a_policy_as_load_config_does(tmp_path: Path, toml: str, valid: bool) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(toml)
    errors = _errors(tomllib.loads(toml), schema())
    assert (errors == []) is valid, errors
    if valid:
        load_config(policy)
    else:
        with pytest.raises(ConfigError):
            load_config(policy)
