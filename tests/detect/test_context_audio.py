"""Screen <-> audio: a value seen on screen (or in the roster) is found in the transcript in
its spoken forms (digit words FR/EN, "arobase"/"at", "point"/"dot", spelled letters, names
heard differently) and the span bleeped covers the words that said it."""

from __future__ import annotations

import pytest

from anonymizer.config import Config, load_config
from anonymizer.detect import Detector
from anonymizer.speech.normalize import normalize, render
from anonymizer.speech.spans import detect_audio
from anonymizer.types import Word

# (value registered from the screen (type, value) or None for roster values, transcript,
#  the words that must be bleeped)
CASES = [
    (("PHONE_NUMBER", "06 12 34 56 78"), "vous pouvez me joindre au zéro six douze trente-quatre cinquante-six soixante-dix-huit merci",
     "zéro six douze trente-quatre cinquante-six soixante-dix-huit"),
    (("EMAIL_ADDRESS", "jean.zorglub@free.fr"), "c'est jean point zorglub arobase free point fr voilà",
     "jean point zorglub arobase free point fr"),
    (("EMAIL_ADDRESS", "jean.zorglub@free.fr"), "it is jean dot zorglub at free dot fr okay", "jean dot zorglub at free dot fr"),
    (("PERSON", "Xavière Zorglub"), "so miss Zorglub wants a new card", "Zorglub"),
    (None, "my employee id is E one zero two three four okay", "E one zero two three four"),
    (None, "the login is c d u b o i s okay", "c d u b o i s"),
    (None, "le conseiller était Dupont Claire voilà", "Dupont Claire"),
    (None, "please hold for Mr Win from billing", "Win"),
    (None, "ask Marie Lorrain tomorrow", "Marie Lorrain"),
]


@pytest.mark.parametrize(("screen", "said", "bleeped"), CASES)
def test_screen_values_are_found_in_speech(detector: Detector, screen: tuple[str, str] | None, said: str, bleeped: str) -> None:
    if screen is not None:
        detector.add_known(*screen)
    words = [Word(w, 1.0 * i, 1.0 * i + 0.8) for i, w in enumerate(said.split())]
    # the last word comes after a pause: the words said on without one go with a dictated
    # value (test_spans.test_a_dictated_number_takes_the_words_said_on_after_it)
    words[-1] = Word(words[-1].text, words[-1].start_s + 1.0, words[-1].end_s + 1.0)
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    first = len(said[: said.index(bleeped)].split())
    last = first + len(bleeped.split()) - 1
    for k in range(first, last + 1):  # every word of the value is inside a bleeped span
        assert any(s.start_s <= words[k].start_s and words[k].end_s <= s.end_s for s in spans), (k, words[k].text, spans)
    assert not any(s.start_s <= words[-1].start_s and words[-1].end_s <= s.end_s for s in spans)  # the last word is not


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("c d u b o i s", "cdubois"),
        ("D-U-P-O-N-T", "DUPONT"),
        ("six o one two", "6 0 1 2"),  # "o" in a number is still zero
        ("a b", "a b"),  # two letters are not a spelling
    ],
)
def test_spelled_letters_join(said: str, written: str) -> None:
    assert render(normalize(said.split()))[0] == written


def test_words_without_a_duration_get_the_gap_around_them(detector: Detector) -> None:
    """Whisper may time a digit word at zero length: the span reaches the neighbours."""
    words = [Word("call", 0.0, 0.4), Word("0612345678", 2.0, 2.0), Word("please", 4.0, 4.5)]
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert any(s.start_s <= 0.4 and s.end_s >= 4.0 for s in spans), spans


def test_words_speech_to_text_is_unsure_of_are_bleeped(detector: Detector) -> None:
    """"speaking with the target views" was Whisper's hearing of an agent's name: words it
    gives a low probability are bleeped, sure ones are not."""
    probs = {"speaking": 0.93, "with": 0.96, "the": 0.1, "target": 0.05, "views.": 0.23, "thanks": 0.9}
    words = [Word(w, 1.0 * i, 1.0 * i + 0.8, p) for i, (w, p) in enumerate(probs.items())]
    words[-1] = Word("thanks", 6.0, 6.8, 0.9)  # after a pause (the word said on after failing words goes with them)
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    hit = {w.text for w in words if any(s.start_s <= w.start_s and w.end_s <= s.end_s for s in spans)}
    assert {"the", "target", "views."} <= hit and "speaking" not in hit and "thanks" not in hit
    assert [s for s in spans if s.type == "UNSURE"]
    off = detect_audio(words, detector, load_config(None, {"audio": {"unsure_prob": 0.0}}), lambda v: v, register=False)
    assert not [s for s in off if s.type == "UNSURE"]


def test_a_short_island_between_two_bleeps_is_bleeped() -> None:
    from anonymizer.plan import AudioSpan
    from anonymizer.speech.spans import merge_spans

    a, b, far = (AudioSpan(1.0, 4.0, "NUMBER", "customer", "x"), AudioSpan(4.7, 6.0, "UNSURE", "customer", "y"),
                 AudioSpan(9.0, 9.5, "PERSON", "customer", "z"))
    merged = merge_spans([b, far, a], bridge_s=1.0)
    assert [(s.start_s, s.end_s) for s in merged] == [(1.0, 6.0), (9.0, 9.5)]
    assert len(merge_spans([a, b], bridge_s=0.0)) == 2
