from __future__ import annotations

import pytest

from anonymizer.speech.carriers import carrier_spans
from anonymizer.speech.normalize import normalize, render
from anonymizer.types import Word


def _text(words: str) -> str:
    return render(normalize(words.split()))[0]


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("zero six twelve thirty four fifty six", "0 6 12 34 56"),
        ("zéro six douze trente-quatre", "0 6 12 34"),
        ("double seven one", "77 1"),
        ("john dot smith at example dot com", "john.smith@example.com"),
        ("jean point martin arobase orange point fr", "jean.martin@orange.fr"),
        ("my number is 06 12 34", "my number is 06 12 34"),
        ("twenty one", "21"),
        ("soixante-dix-sept", "77"),
    ],
)
def test_spoken_forms(spoken: str, written: str) -> None:
    assert _text(spoken) == written


def test_tokens_keep_word_indices() -> None:
    tokens = normalize("call me on thirty four".split())
    assert [t.text for t in tokens] == ["call", "me", "on", "34"]
    assert (tokens[-1].first_word, tokens[-1].last_word) == (3, 4)


def _words(spec: list[tuple[str, float, float]]) -> list[Word]:
    return [Word(t, s, e) for t, s, e in spec]


def test_carrier_phrases_announce_garbled_values() -> None:
    """Real tiny.en output for "my email address is charlotte davies 54 at gmail dot com"."""
    words = _words([
        ("My", 22.34, 22.48), ("email", 22.48, 22.78), ("address", 22.78, 23.1), ("is", 23.1, 23.48),
        ("charlatanavis54atemail", 23.48, 25.42), (".com.", 25.42, 26.0), ("I", 28.7, 29.58), ("was", 29.58, 29.84),
    ])  # fmt: skip
    assert [(a, b) for a, b in carrier_spans(words)] == [(4, 5)]


def test_carrier_phrases_in_french_stop_at_sentence_end() -> None:
    words = _words([
        ("Je", 0.0, 0.2), ("m'appelle", 0.2, 0.6), ("Amélie", 0.6, 1.0), ("Zorglub.", 1.0, 1.5),
        ("Merci", 1.7, 2.0), ("beaucoup.", 2.0, 2.4),
    ])  # fmt: skip
    assert carrier_spans(words) == [(2, 3)]


def test_no_carrier_no_span() -> None:
    assert carrier_spans(_words([("Hello", 0.0, 0.3), ("there.", 0.3, 0.6)])) == []


def test_french_elisions_split_by_whisper_still_announce() -> None:
    """Whisper writes "m'appelle" as two words, "m" and "'appelle": the carrier still holds."""
    words = _words([
        ("Je", 0.0, 0.2), ("m", 0.2, 0.3), ("'appelle", 0.3, 0.6), ("Mariefort,", 0.6, 1.3),
        ("merci.", 1.5, 1.9), ("Ça", 2.0, 2.2), ("s", 2.2, 2.3), ("'écrit", 2.3, 2.6), ("F,", 2.7, 2.9), ("A.", 3.0, 3.2),
    ])  # fmt: skip
    assert carrier_spans(words) == [(3, 4), (8, 9)]


def test_the_french_greeting_announces_the_agent() -> None:
    words = _words([("vous", 0.0, 0.2), ("êtes", 0.2, 0.4), ("en", 0.4, 0.5), ("ligne", 0.5, 0.7), ("avec", 0.7, 1.0),
                    ("le", 1.0, 1.2), ("héros,", 1.2, 1.6), ("que", 1.8, 2.0)])  # fmt: skip
    assert carrier_spans(words)[0][0] == 5
