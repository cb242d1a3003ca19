"""``[detect] id_patterns``: the policy's own customer/contract id shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymizer.config import Config, DetectConfig, IdPattern, load_config
from anonymizer.detect import Detector
from anonymizer.errors import ConfigError


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text("[detect]\n" + body + "\n", encoding="utf-8")
    return path


def test_parsed_with_defaults(tmp_path: Path) -> None:
    config = load_config(
        _policy(tmp_path, 'id_patterns = [{name = "CONTRACT_ID", regex = "CT-\\\\d{4}", context = ["contrat"]}, {name = "CUSTOMER_ID", regex = "CLI\\\\d{8}", score = 1}]')
    )
    assert config.detect.id_patterns == (IdPattern("CONTRACT_ID", r"CT-\d{4}", ("contrat",)), IdPattern("CUSTOMER_ID", r"CLI\d{8}", (), 1.0))
    assert config.digest() != Config().digest()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('id_patterns = [{name = "CONTRACT_ID", regex = "CT-(\\\\d{4}"}]', "[detect].id_patterns[0].regex is not a valid regular expression"),
        ('id_patterns = [{name = "A_ID", regex = "x"}, {name = "B_ID", regex = "[z"}]', "[detect].id_patterns[1].regex is not a valid"),
        ('id_patterns = [{name = "CONTRACT_ID", regex = "\\\\d*"}]', "[detect].id_patterns[0].regex must not match the empty string"),
        ('id_patterns = [{name = "contract", regex = "x"}]', "[detect].id_patterns[0].name must be an upper-case entity name"),
        ('id_patterns = [{regex = "x"}]', "[detect].id_patterns[0].name"),
        ('id_patterns = [{name = "IBAN_CODE", regex = "x"}]', "is a built-in entity type"),
        ('id_patterns = [{name = "A_ID", regex = "x"}, {name = "A_ID", regex = "y"}]', "names must be unique"),
        ('id_patterns = [{name = "A_ID", regex = "x", flags = "i"}]', "unknown key [detect.id_patterns[0]].flags"),
        ('id_patterns = [{name = "A_ID", regex = "x", score = 0.1}]', "score must be in 0.35..1"),
        ('id_patterns = [{name = "A_ID", regex = 3}]', "regex must be a string"),
        ('id_patterns = ["CT-\\\\d{4}"]', "[detect].id_patterns must be a list of tables"),
    ],
)
def test_bad_patterns_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = _policy(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_detector_uses_them_only_when_configured() -> None:
    line = "Ref CT-2024-001235, Contrat CT-2024-001234"
    plain = Detector(DetectConfig())
    assert not [f for f in plain.find(line) if f.entity_type == "CONTRACT_ID"]
    det = Detector(DetectConfig(id_patterns=(IdPattern("CONTRACT_ID", r"CT-\d{4}-\d{6}", ("contrat",), 0.6),)))
    found = {line[f.start : f.end]: f.score for f in det.find(line) if f.entity_type == "CONTRACT_ID"}
    assert set(found) == {"CT-2024-001234", "CT-2024-001235"}
    assert found["CT-2024-001234"] > found["CT-2024-001235"] >= 0.6  # the label raises the score


def test_screen_ids_join_the_registry() -> None:
    """A policy id or a French id seen on screen is searched for everywhere afterwards
    (here: in a transcript line where no recognizer would find it)."""
    from anonymizer.screen.findings import register_screen
    from anonymizer.types import Box, TextBox

    det = Detector(DetectConfig(id_patterns=(IdPattern("CONTRACT_ID", r"CT-\d{4}-\d{6}", ("contrat",), 0.6),)))
    spoken = "the reference is CT-2024-001234 thanks and the siren 7328 29320"
    assert {spoken[f.start : f.end] for f in det.find_known(spoken)} == set()
    register_screen([TextBox(Box(0, 0, 300, 20), "Contrat CT-2024-001234", 0.99, 0.0),
                     TextBox(Box(0, 30, 300, 20), "SIREN 732 829 320", 0.99, 0.0)], det)
    found = {spoken[f.start : f.end] for f in det.find_known(spoken)}
    assert "CT-2024-001234" in found and "7328 29320" in found
