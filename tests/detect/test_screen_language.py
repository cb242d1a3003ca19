"""The screen's language, and a name only the other language's model sees on it."""

from __future__ import annotations

import pytest

from anonymizer.config import DetectConfig
from anonymizer.detect import Detector, full_name_shape, screen_language

from .conftest import AGENT, ROSTER

FR_SCREEN = ["Synthèse  Contrats  Historique", "Client fidèle, appelle pour une mise à jour.", "Montant mensuel  159,98 €",
             "Nouveau message de", "peux-tu rappeler le client ?", "Traité par", "Modifier l'adresse e-mail"]
EN_SCREEN = ["Average time  4 min", "Quote sent", "Calls handled today", "Search for a customer by name or number",
             "Changes saved", "Statement sent", "Customer no.", "Callback at the end of the day", "Logged in as",
             "Details of the call", "Please call me back when you can"]


def test_the_screen_language_is_the_one_its_interface_is_written_in() -> None:
    assert screen_language(FR_SCREEN * 5, ("en", "fr")) == "fr"
    assert screen_language(EN_SCREEN * 5, ("en", "fr")) == "en"
    # the interface weighs as often as it is on screen; a single English note does not flip it
    assert screen_language(FR_SCREEN * 5 + ["Callback at the end of the day"], ("en", "fr")) == "fr"
    assert screen_language(FR_SCREEN[:1], ("en", "fr")) is None  # too little said
    assert screen_language((FR_SCREEN + EN_SCREEN) * 5, ("en", "fr")) is None  # mixed: both models judge
    assert screen_language([], ("en",)) == "en"


@pytest.mark.parametrize(("value", "shape"), [("Francois Gauthier", True), ("Marie-Hélène Le Guen", True),
                                               ("Average", False), ("Quote", False), ("appelle pour", False),
                                               ("Julie Martin 07700", False), ("Customer Desk", False)])
def test_full_name_shape(value: str, shape: bool) -> None:
    assert full_name_shape(value) is shape


@pytest.mark.parametrize(("language", "text", "word"), [("en", "Average time  4 min", "Average"),
                                                        ("fr", "Montant mensuel  159,98 €", "mensuel")])
def test_a_word_only_the_other_languages_model_calls_a_person_stays_readable(language: str, text: str, word: str) -> None:
    def persons(lang: str | None) -> list[str]:
        d = Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT, screen_language=lang)
        return [text[f.start : f.end] for f in d.find(text) if f.entity_type == "PERSON"]

    assert word in persons(None)  # both models judge a mixed screen: the other one calls it a person
    assert word not in persons(language)
    # a full name stays a name on either screen, whichever model sees it
    row = "Francois Gauthier  07 44 86 67 71  CLI-318329"
    for lang in ("en", "fr"):
        d = Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT, screen_language=lang)
        assert "Francois Gauthier" in [row[f.start : f.end].strip() for f in d.find(row) if f.entity_type == "PERSON"]
    # speech is not screen text: a transcript keeps every model's names
    d = Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT, screen_language=language)
    assert d.find(text, spoken=True) == Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT).find(text, spoken=True)


@pytest.mark.parametrize(("value", "registered"), [("Julie Gauthier", True), ("Marseillen", False),
                                                    ("Marseille Marseille", False), ("Average", False)])
def test_only_a_full_name_the_model_found_is_searched_everywhere(value: str, registered: bool) -> None:
    """A word the language model called a person once (a city of a results row) stays
    hidden where it was found, but is not searched for in the rest of the call."""
    from anonymizer.screen.findings import _registrable_name

    assert _registrable_name(value) is registered
