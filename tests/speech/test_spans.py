"""The call's speech, heard per side and bleeped where the data was said (issue 17): a
stereo call with one speaker per side is told from its signal and bleeped on the side that
spoke; crosstalk widens a bleep to both sides; a stretched timestamp is heard again; what a
trainer will hear is summed up. Short generated clips; the speech model is faked here (its
real use is covered by tests/speech/test_languages.py and the end-to-end tests)."""

from __future__ import annotations

import numpy as np
import pytest

from anonymizer.config import Config
from anonymizer.detect import Detector
from anonymizer.media import AudioTrack
from anonymizer.plan import ALL_CHANNELS, AudioSpan, Plan, bleep_summary
from anonymizer.render import apply_audio
from anonymizer.speech import Transcriber
from anonymizer.speech.spans import Heard, detect_audio, hear, listen, merge_spans, transcript_spans, two_speakers
from anonymizer.types import Word
from tests.detect.conftest import detector  # noqa: F401  (fixture)

RATE = 8000


def _burst(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A voiced-like burst: a 180 Hz buzz with harmonics, amplitude-modulated at 4 Hz."""
    t = np.arange(int(seconds * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * 180 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    return (0.2 * buzz * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def _call(turns: list[tuple[int, float, float]], *, seconds: float = 12.0, crosstalk: float = 0.0, mono_copy: bool = False,
          seed: int = 0) -> AudioTrack:
    """A stereo call: each (side, start, end) turn is a burst on that side, under light
    line noise; ``crosstalk``: the gain each side leaks into the other."""
    rng = np.random.default_rng(seed)
    x = np.zeros((2, int(seconds * RATE)), np.float32)
    for side, a, b in turns:
        x[side, int(a * RATE) : int(a * RATE) + int((b - a) * RATE)] += _burst(rng, b - a)
    if mono_copy:
        x[1] = x[0] = x[0] + x[1]
    x = x + crosstalk * x[::-1]
    x += rng.normal(0, 0.004, x.shape).astype(np.float32)
    return AudioTrack(samples=x, sample_rate=RATE, layout="stereo")


TURNS = [(0, 0.5, 2.5), (1, 3.0, 5.5), (0, 6.0, 7.0), (1, 7.5, 10.5)]


def test_two_speakers_are_told_from_the_signal() -> None:
    from anonymizer.speech.spans import channel_levels

    assert two_speakers(channel_levels(_call(TURNS)))
    assert not two_speakers(channel_levels(_call(TURNS, mono_copy=True)))  # a mono call on both sides
    mono = _call(TURNS)
    assert not two_speakers(channel_levels(AudioTrack(mono.samples[:1], RATE, "mono")))


class Scripted(Transcriber):
    """Returns one scripted transcript per call, in order, and records what it was given."""

    def __init__(self, *scripts: list[Word]) -> None:
        self.scripts = list(scripts)
        self.heard: list[np.ndarray] = []

    def words(self, audio: np.ndarray) -> list[Word]:
        self.heard.append(audio)
        return self.scripts.pop(0) if self.scripts else []


def _said(text: str, start: float, step: float = 0.3, prob: float = 0.95) -> list[Word]:
    return [Word(w, round(start + k * step, 3), round(start + k * step + 0.25, 3), prob) for k, w in enumerate(text.split())]


def _energy(audio: np.ndarray, a: float, b: float) -> float:
    return float(np.sqrt(np.mean(audio[int(a * 16000) : int(b * 16000)] ** 2)))


def test_each_side_is_transcribed_alone_and_bleeped_where_it_spoke(detector: Detector) -> None:  # noqa: F811
    track = _call(TURNS)
    asr = Scripted(_said("hello how can I help", 0.5) + _said("of course", 6.0),
                   _said("my number is 4 5 6 7 8 9", 3.0) + _said("thanks a lot", 7.5))
    heard = hear(track, asr)
    # each side, then the customer's burst that no word covers (8.7-10.5 s), heard again
    assert heard.channels == [0, 1] and len(asr.heard) == 3
    left, right = asr.heard[:2]  # the left side's audio holds the agent's turns only
    assert _energy(left, 0.5, 2.5) > 10 * _energy(left, 3.0, 5.5)
    assert _energy(right, 3.0, 5.5) > 10 * _energy(right, 0.5, 2.5)

    spans = transcript_spans(heard, detector, Config(), lambda v: v)
    number = [s for s in spans if s.start_s < 5.0 and s.end_s > 4.0]
    assert number and all(s.channel == 1 for s in number), spans
    plan = Plan(input_sha256="", width=2, height=2, duration_s=12.0, config_sha256="", style="fill", audio_spans=spans)
    out = apply_audio(track, plan, Config()).samples
    i0, i1 = int(4.0 * RATE), int(4.8 * RATE)
    assert np.array_equal(out[0], track.samples[0])  # the agent's side is played as it was
    assert not np.allclose(out[1, i0:i1], track.samples[1, i0:i1])


def test_crosstalk_bleeps_both_sides(detector: Detector) -> None:  # noqa: F811
    """The customer's side leaks into the agent's at -30 dB, under the line noise: the
    number is bleeped on both sides."""
    track = _call(TURNS, crosstalk=0.03)
    asr = Scripted([], _said("my number is 4 5 6 7 8 9", 3.0))
    spans = transcript_spans(hear(track, asr), detector, Config(), lambda v: v)
    over = [s for s in spans if s.start_s <= 4.5 <= s.end_s]
    assert over and any(s.channel == ALL_CHANNELS for s in over), spans
    from anonymizer.speech.spans import channel_levels, leaks_across

    assert leaks_across(track, channel_levels(track)) and not leaks_across(_call(TURNS), channel_levels(_call(TURNS)))


def test_spans_merge_per_channel() -> None:
    spans = [AudioSpan(1.0, 2.0, "PERSON", channel=0), AudioSpan(1.5, 3.0, "PERSON", channel=1),
             AudioSpan(2.5, 3.0, "NUMBER", channel=0)]
    merged = merge_spans(spans, bridge_s=1.0)
    assert [(s.start_s, s.end_s, s.channel) for s in merged] == [(1.0, 3.0, 0), (1.5, 3.0, 1)]


def test_a_span_on_a_channel_the_track_lacks_bleeps_every_channel() -> None:
    track = _call(TURNS)
    plan = Plan(input_sha256="", width=2, height=2, duration_s=12.0, config_sha256="", style="fill",
                audio_spans=[AudioSpan(1.0, 2.0, "PERSON", channel=5)])
    out = apply_audio(track, plan, load_silence()).samples
    assert not np.abs(out[:, int(1.1 * RATE) : int(1.9 * RATE)]).any()


def load_silence() -> Config:
    from anonymizer.config import load_config

    return load_config(None, {"audio": {"mode": "silence"}})


def test_plans_keep_the_channel() -> None:
    plan = Plan(input_sha256="", width=2, height=2, duration_s=1.0, config_sha256="", style="fill",
                audio_spans=[AudioSpan(0.1, 0.2, "PERSON", channel=1), AudioSpan(0.3, 0.4, "NUMBER")])
    again = Plan.from_json(plan.to_json())
    assert [s.channel for s in again.audio_spans] == [1, ALL_CHANNELS]


def test_a_stretched_word_is_heard_again_and_realigned(detector: Detector) -> None:  # noqa: F811
    """Whisper timed "Zorglub" over 12 s (a pause and speech it skipped): the stretch is
    transcribed again on its own, the name is found at its real place, and only there is
    bleeped, not the whole stretch as one name."""
    detector.add_known("PERSON", "Xavière Zorglub")
    audio = np.zeros(20 * 16000, np.float32)
    first = [*_said("bonjour je suis", 0.5), Word("Zorglub", 2.0, 14.0, 0.9), *_said("au revoir", 15.0)]
    second = [Word("Zorglub", 0.5, 1.0, 0.9), *_said("merci beaucoup pour votre patience", 9.0)]  # from 1.7 s
    asr = Scripted(first, second)
    words, _unheard = listen(audio, asr)
    assert len(asr.heard) == 2 and len(asr.heard[1]) == pytest.approx(12.6 * 16000, abs=2)
    name = next(w for w in words if w.text == "Zorglub")
    assert (name.start_s, name.end_s) == pytest.approx((2.2, 2.7))
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert [s for s in spans if s.start_s <= 2.3 and s.end_s >= 2.6]  # the name is bleeped...
    assert not [s for s in spans if s.start_s < 11.5 and s.end_s > 10.0]  # ...not the 12 s it was stretched over


def test_a_stretched_word_not_heard_again_stays_as_it_was() -> None:
    audio = np.zeros(20 * 16000, np.float32)
    first = [Word("Zorglub", 2.0, 14.0, 0.9)]
    words, _ = listen(audio, Scripted(first, _said("merci beaucoup", 5.0)))
    assert words == first  # fail closed: what it hid is bleeped with it


@pytest.mark.parametrize(("said", "bleeped"), [
    ("Moniment est 1 ,5 le plus propre, si probablement 4 ,8 le lit, mais autant que 4 ,5 le lit.",
     "est 1 ,5 le plus propre, si probablement 4 ,8 le lit, mais autant que 4 ,5 le lit."),  # an IBAN, heard badly
    ("that's I am the RFO, I am FFO, and great.", "the RFO, I am FFO, and great."),  # "R, O, B, I, N, S, O, N"
    ("ça s'écrit M, E, R, C, I, E, R. Bien sûr", "M, E, R, C, I, E, R."),
])
def test_dictated_and_spelled_values_are_bleeped_whole(detector: Detector, said: str, bleeped: str) -> None:  # noqa: F811
    words = _said(said, 0.0)
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    first = len(said[: said.index(bleeped)].split())
    for w in words[first : first + len(bleeped.split())]:
        assert any(s.start_s <= w.start_s and w.end_s <= s.end_s for s in spans), (w, spans)


def test_ordinary_speech_with_a_number_is_kept(detector: Detector) -> None:  # noqa: F811
    said = "usually about 10 working days once it is approved, thank you for waiting"
    assert detect_audio(_said(said, 0.0), detector, Config(), lambda v: v, register=False) == []


def test_bleep_summary_counts_seconds_per_reason_and_channel() -> None:
    spans = [AudioSpan(1.0, 3.0, "PERSON", channel=0), AudioSpan(2.0, 4.0, "UNSURE", channel=1),
             AudioSpan(8.0, 9.0, "NUMBER", channel=ALL_CHANNELS)]
    s = bleep_summary(spans, 2, 10.0)
    assert s["total_s"] == 4.0 and s["kept_share"] == 0.6
    assert s["by_reason"] == {"NUMBER": 1.0, "PERSON": 2.0, "UNSURE": 2.0}
    assert s["by_channel"] == [3.0, 3.0]


def test_heard_counts_words() -> None:
    assert Heard([0, 1], [_said("a b", 0), _said("c", 1)], [[], []]).n_words == 3


def test_where_the_decoder_fails_its_sure_words_are_bleeped_too(detector: Detector) -> None:  # noqa: F811
    """"I vote as I depend on I will call" was an IBAN: a third of the words around are
    unsure, so the sure ones between them are not trusted; one unsure word in a sure
    sentence is bleeped alone."""
    probs = [0.3, 0.9, 0.7, 0.37, 0.55, 0.84, 0.86, 0.79, 0.3, 0.11, 0.9, 0.2]
    said = "I vote as I depend on I will call you for explaining".split()
    words = [Word(w, 0.4 * k, 0.4 * k + 0.3, p) for k, (w, p) in enumerate(zip(said, probs, strict=True))]
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert any(s.start_s <= words[4].start_s and words[7].end_s <= s.end_s for s in spans), spans  # "I depend on I"
    said = "the new rate includes the breakdown cover you added last spring and it stays".split()
    calm = [Word(w, 0.4 * k, 0.4 * k + 0.3, 0.3 if k == 6 else 0.95) for k, w in enumerate(said)]
    spans = detect_audio(calm, detector, Config(), lambda v: v, register=False)
    assert [(s.start_s, s.end_s) for s in spans] == [(2.4 - 0.25, 2.7 + 0.25)]


def test_a_hyphen_before_a_number_word_is_whispers_not_the_speakers() -> None:
    from anonymizer.speech.normalize import normalize

    assert [t.text for t in normalize(["8,", "-Zero,", "I", "-Zero,"])] == ["8", "0", "I", "0"]


def test_a_phrase_said_again_at_once_is_a_decoding_loop() -> None:
    from anonymizer.speech import unloop

    said = _said("mon IBAN est je ne peux pas je ne peux pas je ne peux pas voilà merci", 0.0)
    probs = [w.probability for w in unloop(said)]
    assert probs[:3] == [0.95] * 3 and probs[3:15] == [0.0] * 12 and probs[15:] == [0.95] * 2
    assert unloop(_said("non non merci merci beaucoup", 0.0)) == _said("non non merci merci beaucoup", 0.0)


def test_a_side_is_heard_only_where_it_speaks() -> None:
    """The customer leaks into the agent's side at -30 dB: the agent's side is silent for
    speech-to-text wherever it holds only that and its line noise, and intact where the agent
    speaks (Whisper made unsure words of the leak: bleeped, they hid the customer's talk)."""
    from anonymizer.media import resample_mono
    from anonymizer.speech.spans import channel_levels, own_voice

    track = _call(TURNS, crosstalk=0.03)
    levels = channel_levels(track)
    left = resample_mono(track, 16000, channel=0)
    own = own_voice(left, levels[0])
    assert own.shape == left.shape
    assert not own[int(3.4 * 16000) : int(5.1 * 16000)].any()  # the customer's turn, in the agent's side
    assert not own[int(7.9 * 16000) : int(10.1 * 16000)].any()
    assert np.array_equal(own[int(0.5 * 16000) : int(2.5 * 16000)], left[int(0.5 * 16000) : int(2.5 * 16000)])


def test_a_loud_stretch_no_word_covers_is_unheard_even_if_voice_activity_misses_it() -> None:
    from anonymizer.speech import loud_segments, unheard_speech

    rng = np.random.default_rng(3)
    audio = rng.normal(0, 0.003, 8 * 16000).astype(np.float32)
    t = np.arange(2 * 16000) / 16000
    audio[3 * 16000 : 5 * 16000] += (0.2 * np.sign(np.sin(2 * np.pi * 300 * t))).astype(np.float32)  # a square tone
    assert [(round(a, 1), round(b, 1)) for a, b in loud_segments(audio)] == [(3.0, 5.0)]
    gaps = unheard_speech(audio, [Word("ah", 3.0, 3.3, 0.9)])
    assert gaps and gaps[0][0] <= 3.7 and gaps[-1][1] >= 4.9
    assert loud_segments(np.zeros(16000, np.float32)) == []


def _speech_at(spans: list[tuple[float, float]], seconds: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(5)
    audio = rng.normal(0, 0.003, int(seconds * 16000)).astype(np.float32)
    for a, b in spans:
        t = np.arange(int((b - a) * 16000)) / 16000
        audio[int(a * 16000) : int(a * 16000) + t.size] += (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return audio


def test_a_failing_stretch_is_heard_again_on_its_own() -> None:
    """A decoding loop began on a spelled name and ran over the next turn ("-S -O -N" at
    probability 0): that stretch is transcribed again alone, and its words replace the
    loop's when fewer of them are unsure."""
    audio = _speech_at([(1.0, 3.0), (5.0, 7.0)])
    first = _said("hello how are you today my friend", 1.0) + _said("-S -O -N -S -O -N", 5.0, prob=0.0)
    asr = Scripted(first, _said("can I remove that option", 0.5))  # the clip starts at 4.7 s
    words, unheard = listen(audio, asr)
    assert len(asr.heard) == 2 and len(asr.heard[1]) < 3 * 16000
    assert [w.text for w in words] == "hello how are you today my friend can I remove that option".split()
    assert words[7].start_s == pytest.approx(5.2) and unheard == []


def test_a_second_listen_no_surer_is_not_taken() -> None:
    audio = _speech_at([(5.0, 7.0)])
    first = _said("one two three four", 5.0, prob=0.1)
    words, _ = listen(audio, Scripted(first, _said("who knows what", 0.5, prob=0.2)))
    assert words == first  # fail closed: as unsure as before, bleeped as before


def test_dictation_does_not_reach_back_into_its_carrier(detector: Detector) -> None:  # noqa: F811
    words = _said("my phone number is 555 -017, I take 96. Great", 0.0)
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    said = [s for s in spans if s.type == "DICTATED"]
    assert said and min(s.start_s for s in said) >= words[4].start_s - Config().audio.pad_ms / 1000 - 1e-6


def test_a_shaky_word_beside_an_unsure_one_or_unheard_speech_is_unsure(detector: Detector) -> None:  # noqa: F811
    """Mishearings come in clusters: a colleague's name heard as "prévoie" (0.59) right after
    speech no word covered, or after a word at 0.2, is bleeped; the same word among sure
    words, or far from the unheard stretch, is played."""
    words = [Word("vous", 70.0, 70.3, 0.95), Word("prévoie,", 73.1, 73.8, 0.59), Word("on", 73.8, 74.1, 0.9),
             Word("rappellera", 74.1, 74.6, 0.95)]
    heard = Heard([ALL_CHANNELS], [words], [[(71.0, 72.7)]])
    spans = transcript_spans(heard, detector, Config(), lambda v: v)
    assert any(s.start_s <= 73.2 and s.end_s >= 73.7 for s in spans), spans
    assert not any(s.start_s < 74.5 and s.end_s > 74.2 for s in spans)  # "rappellera": sure, played
    far = Heard([ALL_CHANNELS], [words], [[(66.0, 68.0)]])
    assert not any(s.start_s < 73.7 and s.end_s > 73.2 for s in transcript_spans(far, detector, Config(), lambda v: v))

    after_unsure = [*_said("nous avons", 10.0), Word("xqz", 10.6, 10.85, 0.2), Word("prévoie", 10.9, 11.4, 0.59),
                    *_said("ensemble demain matin", 11.5)]
    spans = detect_audio(after_unsure, detector, Config(), lambda v: v, register=False)
    assert any(s.start_s <= 11.0 and s.end_s >= 11.3 for s in spans)
    alone = [*_said("nous avons", 10.0), Word("prévoie", 10.9, 11.4, 0.59), *_said("ensemble demain matin", 11.5)]
    assert not any(s.start_s < 11.3 and s.end_s > 11.0 for s in detect_audio(alone, detector, Config(), lambda v: v, register=False))


def test_a_dictated_number_takes_the_words_said_on_after_it(detector: Detector) -> None:  # noqa: F811
    """ "4, 2, -0, 7, -0, 4, -0. near -room," was "... 0 8 8 9": the last pieces were heard
    as words after a full stop; the words said on without a pause are bleeped with it, not
    the next turn."""
    words = [*_said("very 4 -4, 2 -0, 7 -0, 4 -0.", 28.2), *_said("near -room,", 31.1), *_said("thank you so much", 34.0)]
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert any(s.start_s <= 31.2 and s.end_s >= 31.6 for s in spans), spans
    assert not any(s.start_s < 34.9 and s.end_s > 34.4 for s in spans)


def test_a_value_reaches_into_a_neighbour_stretched_over_it(detector: Detector) -> None:  # noqa: F811
    """ "is" timed 11.5-12.4 s held the start of "Benjamin": the name's span starts where
    "is" would have ended, not at 12.4 s."""
    words = [*_said("my name", 11.0, step=0.25), Word("is", 11.5, 12.4, 1.0), Word("Benjamin", 12.4, 12.4, 0.25),
             Word("Roberts.", 12.4, 12.9, 0.76)]
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert min(s.start_s for s in spans if s.end_s > 12.5) <= 11.5 + 0.31 - 0.25 + 1e-6, spans


def test_the_edges_of_a_failing_stretch_go_with_it(detector: Detector) -> None:  # noqa: F811
    shaky = [Word(w, 25.0 + 0.4 * k, 25.3 + 0.4 * k, p) for k, (w, p) in enumerate(
        [("I'm", 0.65), ("very", 0.43), ("blessed", 0.11), ("for", 0.62), ("all,", 0.30), ("two", 0.18), ("years", 0.33)])]
    words = [*shaky, Word("near", 27.9, 28.2, 0.92), Word("-rover", 28.2, 28.6, 0.92),
             *_said("and I understand, let me pull up your file", 28.7), *_said("thank you very much", 33.0)]
    from anonymizer.speech.spans import _failing

    ((_first, b),) = _failing(words, 0.5)
    assert words[b + 1].text == "-rover"  # the stretch stops short of the digits heard as words...
    spans = detect_audio(words, detector, Config(), lambda v: v, register=False)
    assert any(s.start_s <= 28.3 and s.end_s >= 28.5 for s in spans), spans  # ...which go with it
    assert not any(s.start_s < 33.9 and s.end_s > 33.6 for s in spans)  # after a pause: played


def test_a_side_s_bleep_stops_where_that_side_is_silent() -> None:
    """A card's last word stretched over the hold bleeped the customer's side for 12 s, then
    both sides (crosstalk), over the agent's ordinary talk: a side's span holds only where
    that side has a voice of its own."""
    from anonymizer.speech.spans import channel_levels, on_own_voice

    track = _call(TURNS, crosstalk=0.03)
    spans = on_own_voice([AudioSpan(3.2, 7.2, "UNSURE", channel=1), AudioSpan(0.6, 1.0, "PERSON", channel=0),
                          AudioSpan(6.2, 6.8, "NUMBER")], channel_levels(track))
    customer = [(s.start_s, s.end_s) for s in spans if s.channel == 1]
    assert len(customer) == 1 and customer[0][0] == 3.2 and 5.5 <= customer[0][1] <= 5.9  # not over the agent's 6-7 s
    assert (0.6, 1.0) in [(s.start_s, s.end_s) for s in spans if s.channel == 0]
    assert (6.2, 6.8) in [(s.start_s, s.end_s) for s in spans if s.channel == ALL_CHANNELS]


def test_a_merged_span_is_named_after_what_covers_most_of_it() -> None:
    spans = [AudioSpan(1.0, 1.5, "PERSON", "colleague", "n"), AudioSpan(1.4, 9.0, "UNSURE", "customer", "u"),
             AudioSpan(9.5, 10.0, "NUMBER", "customer", "x")]
    (merged,) = merge_spans(spans, bridge_s=1.0)
    assert (merged.start_s, merged.end_s, merged.type) == (1.0, 10.0, "UNSURE")
    assert (merged.category, merged.value_hash) == ("colleague", "n")  # as before: the first member's
    (tie,) = merge_spans([AudioSpan(1.0, 2.0, "PERSON"), AudioSpan(2.0, 3.0, "NUMBER")])
    assert tie.type == "PERSON"
