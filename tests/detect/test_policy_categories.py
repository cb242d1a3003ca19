"""``[redact]`` per category of person: customer, colleague, recorded agent; redact or keep.
Default: redact all. Unknown keys or values are configuration errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymizer.config import Config, RedactConfig, load_config
from anonymizer.detect import Detector
from anonymizer.errors import ConfigError
from anonymizer.screen.findings import screen_boxes, screen_findings
from anonymizer.speech.spans import detect_audio
from anonymizer.types import Box, TextBox, Word
from tests.conftest import anonymizer_cmd


def test_default_redacts_every_category() -> None:
    r = load_config(None).redact
    assert (r.customer, r.colleague, r.agent) == ("redact", "redact", "redact")
    assert not any(r.keeps(c) for c in ("customer", "colleague", "agent"))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[redact]\nagent = "hide"\n', "redact.agent must be one of"),
        ('[redact]\nmanager = "keep"\n', "unknown key [redact].manager"),
        ("[redact]\ncustomer = true\n", "[redact].customer must be a string"),
    ],
)
def test_bad_redact_policy_is_a_config_error(tmp_path: Path, toml: str, message: str) -> None:
    p = tmp_path / "policy.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_config(p)


def test_bad_redact_policy_exits_2_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "policy.toml"
    p.write_text('[redact]\ncolleague = "maybe"\n')
    r = anonymizer_cmd("run", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.mp4"), "--policy", str(p), timeout=120)
    assert r.returncode == ConfigError.exit_code == 2
    assert "policy.toml" in r.stderr and "redact.colleague" in r.stderr
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("redact", "category", "etype", "kept"),
    [
        ({"agent": "keep"}, "agent", "PERSON", True),
        ({"agent": "keep"}, "colleague", "PERSON", False),
        ({"agent": "keep"}, "customer", "PHONE_NUMBER", False),
        ({"customer": "keep"}, "customer", "PERSON", True),
        # whose value it is is unknown: kept only if every category is kept
        ({"customer": "keep"}, "customer", "UNSURE", False),
        ({"customer": "keep", "colleague": "keep"}, "customer", "ANNOUNCED", False),
        ({"customer": "keep", "colleague": "keep", "agent": "keep"}, "customer", "UNSURE", True),
    ],
)
def test_keeps(redact: dict[str, str], category: str, etype: str, kept: bool) -> None:
    assert RedactConfig(**redact).keeps(category, etype) is kept


def _cfg(**redact: str) -> Config:
    return Config(redact=RedactConfig(**redact)).validate()


def _line(*parts: tuple[int, str]) -> list[TextBox]:
    return [TextBox(Box(x, 10, 8 * len(t), 14), t, 0.9, 0.0) for x, t in parts]


def _screen(det: Detector, cfg: Config, texts: list[TextBox]) -> set[tuple[str, str]]:
    return {(f.category, line.text[f.start : f.end]) for line, f in screen_findings(texts, det, cfg)}


def test_keeping_the_agent_on_screen(detector: Detector) -> None:
    agent_line = _line((10, "Agent: Claire Dubois (E10234)"))
    colleague_line = _line((10, "Handled by"), (200, "Marc Lefevre"))
    assert ("agent", "Claire Dubois") in _screen(detector, _cfg(), agent_line)
    assert _screen(detector, _cfg(agent="keep"), agent_line) == set()  # the label's value is all agent
    assert ("colleague", "Marc Lefevre") in _screen(detector, _cfg(agent="keep"), colleague_line)
    assert _screen(detector, _cfg(colleague="keep"), colleague_line) == set()


def test_field_value_with_more_than_the_kept_agent_stays_hidden(detector: Detector) -> None:
    found = _screen(detector, _cfg(agent="keep"), _line((10, "Agent: Claire Dubois / Zorglub")))
    assert any("Zorglub" in v for _c, v in found)


def test_unsure_text_stays_hidden_when_customers_are_kept(detector: Detector) -> None:
    texts = [TextBox(Box(10, 10, 80, 14), "0G 1Z 3A", 0.1, 0.0)]
    boxes = screen_boxes(texts, detector, _cfg(customer="keep"), hasher=lambda v: v)
    assert [b.type for b in boxes] == ["UNSURE"]
    everyone = _cfg(customer="keep", colleague="keep", agent="keep")
    assert screen_boxes(texts, detector, everyone, hasher=lambda v: v) == []


def test_keeping_the_agent_in_audio(detector: Detector) -> None:
    said = "Claire Dubois speaking, I will ask Marc Lefevre to check".split()
    words = [Word(w, 0.5 * i, 0.5 * i + 0.4) for i, w in enumerate(said)]
    default = detect_audio(words, detector, _cfg(), lambda v: v, register=False)
    kept = detect_audio(words, detector, _cfg(agent="keep"), lambda v: v, register=False)
    assert {s.category for s in default} >= {"agent", "colleague"}
    assert "agent" not in {s.category for s in kept} and "colleague" in {s.category for s in kept}
    assert all(s.start_s >= 1.0 for s in kept)  # "Claire Dubois" (0 - 0.9 s) is not bleeped


def test_verification_does_not_count_kept_values_as_leaks() -> None:
    from anonymizer.config import DetectConfig
    from tests.detect.conftest import AGENT, ROSTER

    text = "Agent: Claire Dubois  Handled by Marc Lefevre"
    strict = Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT)
    lenient = Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT, keep_categories=("agent",))
    assert {f.category for f in strict.find_known(text)} == {"agent", "colleague"}
    assert {f.category for f in lenient.find_known(text)} == {"colleague"}
