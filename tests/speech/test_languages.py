"""French and English calls: the bundled multilingual Whisper base (joined from its two
packages, checked by sha256), ``language = "auto"``, and the refusal of an English-only
model for a French call. Real faster-whisper on real espeak-ng speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import models
from anonymizer.config import Config, load_config
from anonymizer.errors import ConfigError, ModelError
from anonymizer.media import read_audio, resample_mono
from anonymizer.speech import WhisperTranscriber

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is installed by make install")

FR = "Bonjour madame, mon numéro de téléphone est le zéro six, douze, trente-quatre, cinquante-six."
EN = "Good morning, my phone number is zero seven nine, one two three, four five six seven."


def _speech(tmp: Path, text: str, voice: str) -> np.ndarray:
    wav = tmp / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
    return resample_mono(read_audio(wav), 16000)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def base(cache: Path) -> WhisperTranscriber:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANONYMIZER_CACHE", str(cache))
        return WhisperTranscriber(language="auto", threads=1)


def test_multilingual_model_is_joined_once_and_checked(base: WhisperTranscriber, cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_CACHE", str(cache))
    d = models.whisper_multilingual_dir()
    assert d == base.model_dir and d.parent == cache
    assert models.whisper_is_multilingual(d)
    assert not models.whisper_is_multilingual(models.whisper_dir())  # bundled tiny.en
    assert [p.name for p in cache.iterdir()] == [d.name]  # no .part folder left behind
    mtime = (d / "model.bin").stat().st_mtime_ns
    assert models.whisper_multilingual_dir() == d and (d / "model.bin").stat().st_mtime_ns == mtime  # not rebuilt
    # a damaged copy is refused, never loaded
    cfg = d / "config.json"
    original = cfg.read_bytes()
    cfg.write_bytes(original.replace(b"alignment_heads", b"alignment_headz"))
    try:
        with pytest.raises(models.ModelNotFound, match="sha256"):
            models.whisper_multilingual_dir()
    finally:
        cfg.write_bytes(original)


def test_french_and_english_calls_are_transcribed_and_told_apart(base: WhisperTranscriber, tmp_path: Path) -> None:
    fr = base.words(_speech(tmp_path, FR, "fr"))
    assert base.detected == "fr"
    text = " ".join(w.text for w in fr).lower()
    # espeak's French is robotic: whisper base gets some of it, in French (not English).
    # How much varies between hosts with the same packages and model bytes (2026-12-04, an
    # AMD EPYC: "vous m'obûtez le téléphone", where earlier hosts heard "numéro de
    # téléphone"; the base commit fails the same way there), so one accented French word
    # is asked.
    assert "téléphone" in text, text
    assert all(0 <= w.start_s <= w.end_s for w in fr)
    assert [w.text for w in base.words(_speech(tmp_path, FR, "fr"))] == [w.text for w in fr]  # greedy: reproducible
    en = base.words(_speech(tmp_path, EN, "en-us"))
    assert base.detected == "en"
    assert "phone" in " ".join(w.text for w in en).lower()


def test_french_with_an_english_only_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="English-only"):
        WhisperTranscriber(models.whisper_dir(), language="fr")


def test_missing_multilingual_package_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "WHISPER_BASE_PACKAGES", ("no_such_whisper_pkg_1", "no_such_whisper_pkg_2"))
    with pytest.raises(ModelError, match="no-such-whisper-pkg-1"):
        WhisperTranscriber(language="fr")


def test_language_setting(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[audio]\nlanguage = "auto"\n', encoding="utf-8")
    assert load_config(policy).audio.language == "auto"
    policy.write_text('[audio]\nlanguage = "de"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"audio\.language"):
        load_config(policy)
    assert Config().audio.language == "en"


def test_a_repetition_loop_is_unsure(base: WhisperTranscriber, monkeypatch: pytest.MonkeyPatch) -> None:
    """Greedy decoding can loop ("je m'en ai dit que" x 40, all at probability ~1): a
    segment Whisper would itself retry gives words of probability 0, which are bleeped."""
    from types import SimpleNamespace as NS

    def fake(audio: np.ndarray, **kw: object) -> tuple[list[NS], None]:
        w = [NS(word=" que", start=1.0, end=1.2, probability=0.98), NS(word=" je", start=1.2, end=1.3, probability=1.0)]
        ok = NS(compression_ratio=1.3, avg_logprob=-0.3, words=w[:1])
        loop = NS(compression_ratio=9.5, avg_logprob=-0.05, words=w[1:])
        return [ok, loop], None

    monkeypatch.setattr(base._model, "transcribe", fake)
    monkeypatch.setattr(base, "language", "fr")
    words = base.words(np.zeros(16000, dtype=np.float32))
    assert [(w.text, w.probability) for w in words] == [("que", 0.98), ("je", 0.0)]


def test_speech_the_transcript_does_not_cover_is_found(tmp_path: Path) -> None:
    """Whisper once stopped transcribing a call half way (a CVV and an address went unheard):
    the voice-activity model hears the speech no word covers, silence excepted."""
    from anonymizer.speech import unheard_speech
    from anonymizer.types import Word

    speech = _speech(tmp_path, "my card number is four nine seven one, and the code is three zero three", "en")
    rate = 16000
    audio = np.concatenate([np.zeros(rate, np.float32), speech, np.zeros(rate, np.float32)])
    total = audio.size / rate
    half = 1.0 + speech.size / rate / 2
    words = [Word("my card number", 1.0, half, 0.9)]  # a transcript that stopped half way
    gaps = unheard_speech(audio, words)
    assert gaps and gaps[0][0] <= half + 0.35 and gaps[-1][1] >= total - 1.3  # the rest of the speech
    assert all(a >= 0.5 and b <= total - 0.5 for a, b in gaps)  # not the silence around it
    full = [Word("all", 1.0, total - 1.0, 0.9)]
    assert unheard_speech(audio, full) == []
    assert unheard_speech(np.zeros(3 * rate, np.float32), []) == []
