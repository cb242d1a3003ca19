"""The pure parts of the speaker-identification attack (the full run is
``benchmarks/voice_attack.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import voice_attack as va
from tests.kernels.test_voice import vowel


def test_word_error_rate_ignores_case_and_punctuation() -> None:
    assert va.words("Bonjour, s'il vous plaît !") == ["bonjour", "s", "il", "vous", "plaît"]
    assert va.wer([("Hello there, world.", "hello there world")]) == 0.0
    assert va.wer([("a b c d", "a x c")]) == 50.0  # one substitution, one deletion
    assert va.edit_distance([], ["x", "y"]) == 2


def test_identifier_tells_two_vowel_speakers_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    low = [vowel(16000, 1.0, f0=f0, formants=((500, 80), (1100, 90), (2400, 120))) for f0 in (95, 100, 105)]
    high = [vowel(16000, 1.0, f0=f0, formants=((800, 80), (1500, 90), (2900, 120))) for f0 in (195, 205, 215)]
    feats = {0: [va.mfcc(x) for x in low[:2]], 1: [va.mfcc(x) for x in high[:2]]}
    assert all(f.shape[1] == 38 and np.isfinite(f).all() for fs in feats.values() for f in fs)
    monkeypatch.setattr(va, "N_MIX", 4)  # a tiny model for a tiny test
    model = va.GmmUbm(feats)
    assert va.top1(model, [(0, va.mfcc(low[2])), (1, va.mfcc(high[2]))]) == 1.0
