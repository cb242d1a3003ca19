from __future__ import annotations

import pytest

from anonymizer.speech.normalize import normalize, render


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
