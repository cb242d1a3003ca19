"""The call-audio corpus (issue 17): calls that sound like calls, with exact truth, and a
scorer that counts both the personal data left audible and the ordinary speech destroyed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import call_audio
from benchmarks.call_audio import HELD_OUT_FROM, _tokens, generate, score_call, seeds, spec_of, word_error


def test_seeds_cover_languages_lines_and_layouts() -> None:
    specs = [spec_of(s) for s in seeds(4)]
    assert {s.lang for s in specs} == {"en", "fr"} and {s.rate for s in specs} == {8000, 16000}
    assert {s.stereo for s in seeds_specs(6)} == {True, False}
    assert all(s >= HELD_OUT_FROM for s in seeds(3, held_out=True)) and max(seeds(10)) < HELD_OUT_FROM
    assert all(60 <= s.duration_s <= 90 for s in specs)


def test_every_engine_is_drawn_on_every_line_and_layout() -> None:
    specs = [spec_of(s) for s in seeds(48)]
    for lang, engines in call_audio.ENGINES.items():
        for engine in engines:
            drawn = [s for s in specs if s.lang == lang and s.engine == engine]
            assert {s.rate for s in drawn} == {8000, 16000} and {s.stereo for s in drawn} == {True, False}, (lang, engine)
            assert all(s.voices["agent"] != s.voices["customer"] for s in drawn)
    picked = seeds(5, held_out=True, engines=["pico"], start=HELD_OUT_FROM + 40)
    assert len(picked) == 5 and min(picked) >= HELD_OUT_FROM + 40 and {spec_of(s).engine for s in picked} == {"pico"}


def test_pico_is_told_its_pitch_and_rate_in_its_own_markup(tmp_path: Path) -> None:
    cmd = call_audio._speak_command("pico", "fr-FR@80", 198, "Bonjour", tmp_path / "x.wav")
    assert cmd[:3] == ["pico2wave", "-l", "fr-FR"] and cmd[-1] == "<pitch level='80'><speed level='120'>Bonjour</speed></pitch>"
    assert call_audio._speak_command("mbrola", "mb-fr1", 150, "Bonjour", tmp_path / "x.wav")[:3] == ["espeak-ng", "-v", "mb-fr1"]


def seeds_specs(n: int) -> list[call_audio.CallSpec]:
    return [spec_of(s) for s in seeds(n)]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is installed by make install (system-deps)")
def test_a_generated_call_and_its_score(tmp_path: Path) -> None:
    seed = next(s for s in seeds(48) if spec_of(s).engine == "espeak" and spec_of(s).stereo and spec_of(s).rate == 8000)
    wav, truth_path, roster = generate(tmp_path, seed, cache=tmp_path / "voices")
    truth = json.loads(truth_path.read_text())
    from anonymizer.media.audio import read_audio

    track = read_audio(wav)
    assert track.sample_rate == 8000 and track.samples.shape[0] == 2 and roster.is_file()
    speech = truth["speech"]
    assert speech == sorted(speech, key=lambda u: u["start_s"]) and all(u["end_s"] <= truth["duration_s"] for u in speech)
    pii = [u for u in speech if u["pii"]]
    assert len(pii) >= 5 and {"PERSON", "PHONE_NUMBER"} <= {u["type"] for u in pii}
    # a value is never placed without what announced it, nor the announcement without it
    for k, u in enumerate(speech):
        if u["pii"] and u["type"] != "PERSON":
            assert k > 0 and not speech[k - 1]["pii"] and speech[k - 1]["who"] == u["who"], u
    # each side holds its own speaker: agent left, customer right
    for u in speech[:6]:
        a, b = int(u["start_s"] * 8000), int(u["end_s"] * 8000)
        own, other = (np.sqrt(np.mean(track.samples[c, a:b] ** 2)) for c in (u["channel"], 1 - u["channel"]))
        assert own > 4 * other, u

    untouched = score_call(truth, track.samples, track.samples, 8000)
    assert len(untouched["audible"]) == len(pii) and untouched["speech_kept"] == 1.0
    silent = score_call(truth, track.samples, np.zeros_like(track.samples), 8000)
    assert silent["audible"] == [] and silent["speech_kept"] == 0.0


def test_word_error_reads_numbers_as_the_product_does() -> None:
    assert _tokens(["My card is 5 3 9 1, no sorry"]) == _tokens(["my card is 5391 no, sorry."])
    assert word_error(_tokens(["je vous appelle au sujet de ma facture"]), _tokens(["je vous appelle sur ma facture"])) == (3, 8)
