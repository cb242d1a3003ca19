"""The call's speech, heard and searched: which spans of it are bleeped, and why.

``hear`` transcribes the track (each side of a two-speaker stereo call on its own, else
the mix) and finds the speech no word covers; ``transcript_spans`` turns the words into
the spans to bleep (detector findings, spoken numbers, garbled identifiers, words Whisper
is unsure of) and ``plan.bleep_summary`` says what a trainer will hear."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from anonymizer.config import Config
from anonymizer.detect import Detector
from anonymizer.detect.phonetic import is_common
from anonymizer.media import AudioTrack, resample_mono
from anonymizer.plan import ALL_CHANNELS, AudioSpan
from anonymizer.speech import (
    ACTIVE_OVER_FLOOR,
    LEVEL_FRAME_S,
    WORD_REACH_S,
    Transcriber,
    frame_levels,
    runs,
    speech_segments,
    unheard_speech,
)
from anonymizer.speech.carriers import SENTENCE_END, carrier_spans
from anonymizer.speech.normalize import SPELLED_WORD, Token, normalize, render
from anonymizer.textnorm import alnum
from anonymizer.types import Word

_MIN_WORD_S = 0.05  # a spoken word shorter than this has no usable timestamp
ASR_RATE = 16000


@dataclass
class Heard:
    """What speech-to-text made of a track: one transcript per stream (``channels[i]``: the
    track channel it was heard on, or ``ALL_CHANNELS`` for the mix), the speech that voice
    activity hears but no word covers, per stream, and (for a two-speaker stereo call) each
    channel's level per ``LEVEL_FRAME_S`` frame, to tell crosstalk from silence."""

    channels: list[int] = field(default_factory=list)
    words: list[list[Word]] = field(default_factory=list)
    unheard: list[list[tuple[float, float]]] = field(default_factory=list)
    levels: np.ndarray | None = None
    track: AudioTrack | None = None  # the two-speaker track, to tell crosstalk on the other side

    @property
    def n_words(self) -> int:
        return sum(len(w) for w in self.words)


# Two channels are two speakers when, of the frames where either speaks, this share has one
# side at least DOMINANCE louder than the other (the turns of a call recorded per side); a
# mono call copied to both sides, or a stereo mix of both voices, is heard as one stream.
SPEAKER_SPLIT_SHARE = 0.6
DOMINANCE = 3.16  # +10 dB
# Over a span bleeped on one side, the other side is bleeped too wherever it holds more
# than its own line noise (+3 dB over its floor) or a copy of the speaking side: crosstalk
# of the value (even under the noise: a -30 dB copy correlates at ~0.4 over a second, where
# two independent line noises stay under 0.07), or the other speaker talking over it, is
# never played.
QUIET_OVER_FLOOR = 1.41
CROSSTALK_CORR = 0.15
CROSSTALK_WINDOW_S = 1.0
CROSSTALK_SHARE = 0.2
CROSSTALK_LAG_S = 0.03  # line echo and acoustic crosstalk arrive this late at most


def channel_levels(track: AudioTrack) -> np.ndarray:
    """(C, frames) RMS of each channel per ``LEVEL_FRAME_S``."""
    return frame_levels(track.samples, track.sample_rate)


def _floor(level: np.ndarray) -> float:
    return max(1e-6, float(np.percentile(level, 10))) if level.size else 1e-6


def two_speakers(levels: np.ndarray) -> bool:
    """Whether a stereo track holds one speaker per side (from the signal: see
    ``SPEAKER_SPLIT_SHARE``)."""
    if levels.shape[0] != 2 or levels.shape[1] < 20:
        return False
    l0, l1 = levels
    active = (l0 > ACTIVE_OVER_FLOOR * _floor(l0)) | (l1 > ACTIVE_OVER_FLOOR * _floor(l1))
    if active.sum() < 10:
        return False
    a0, a1 = l0[active] + 1e-9, l1[active] + 1e-9
    one_sided = (a0 > DOMINANCE * a1) | (a1 > DOMINANCE * a0)
    return bool(one_sided.mean() >= SPEAKER_SPLIT_SHARE) and bool((a0 > DOMINANCE * a1).any() and (a1 > DOMINANCE * a0).any())


def hear(track: AudioTrack, transcriber: Transcriber, *, unsure_prob: float = 0.5) -> Heard:
    """Transcribe ``track``: each side on its own when a stereo call has one speaker per
    side (clean turns, and a value is bleeped on the side that said it), else the mix of its
    channels; listen again where the first pass failed (``listen``: a word under
    ``unsure_prob`` is one it was unsure of)."""
    levels = channel_levels(track)
    if two_speakers(levels):
        heard = Heard(levels=levels, track=track)
        for ch in range(2):
            side = own_voice(resample_mono(track, ASR_RATE, channel=ch), levels[ch])
            words, unheard = listen(side, transcriber, side=True, unsure_prob=unsure_prob)
            heard.channels.append(ch)
            heard.words.append(words)
            heard.unheard.append(unheard)
        return heard
    words, unheard = listen(resample_mono(track, ASR_RATE), transcriber, unsure_prob=unsure_prob)
    return Heard([ALL_CHANNELS], [words], [unheard])


OWN_VOICE_REACH_S = 0.3


def own_voice(audio: np.ndarray, level: np.ndarray) -> np.ndarray:
    """One side of a call recorded per side (``audio`` at ``ASR_RATE``, ``level`` its
    ``channel_levels`` row), silent wherever no frame within ``OWN_VOICE_REACH_S`` rises
    ``ACTIVE_OVER_FLOOR`` (+12 dB) over the side's own line noise: what is left there is
    line noise and the other side's crosstalk, which the other side's transcript already
    covers (and ``widen_over_crosstalk`` bleeps on both sides). Left in, Whisper heard a
    -30 dB copy of the customer on the agent's side as words it was unsure of ("not about
    to try to take the same"), and voice activity as unheard speech: both bleeped the
    agent's side, then every side, over the customer's ordinary speech (dev call 12)."""
    near = _near_voice(level)
    hop = round(ASR_RATE * LEVEL_FRAME_S)
    keep = np.repeat(near, hop)
    keep = np.concatenate([keep, np.full(max(0, audio.size - keep.size), near[-1] if near.size else True)])[: audio.size]
    return np.where(keep, audio, np.float32(0.0)).astype(np.float32)


def _near_voice(level: np.ndarray) -> np.ndarray:
    """Per ``LEVEL_FRAME_S`` frame of one side: whether a frame within
    ``OWN_VOICE_REACH_S`` rises ``ACTIVE_OVER_FLOOR`` over the side's floor."""
    active = level > ACTIVE_OVER_FLOOR * _floor(level)
    reach = round(OWN_VOICE_REACH_S / LEVEL_FRAME_S)
    return np.convolve(active.astype(np.int32), np.ones(2 * reach + 1, np.int32), mode="same") > 0


def on_own_voice(spans: list[AudioSpan], levels: np.ndarray) -> list[AudioSpan]:
    """Each span of one side cut to where that side has a voice of its own (``own_voice``):
    elsewhere the side was silent to speech-to-text, and what it holds is the other side's
    crosstalk, which the other side's spans decide. A card number's last word, stretched
    over the hold, bleeped 12 s of the customer's side, then both (crosstalk), over the
    agent's "please hold the line" (dev call 12)."""
    near_by_side = [_near_voice(level) for level in levels]
    out = []
    for s in spans:
        if s.channel == ALL_CHANNELS or s.channel >= levels.shape[0]:
            out.append(s)
            continue
        near = near_by_side[s.channel]
        f0, f1 = max(0, int(s.start_s / LEVEL_FRAME_S)), min(near.size, int(np.ceil(s.end_s / LEVEL_FRAME_S)))
        for k, e in runs(near[f0:f1]):
            out.append(replace(s, start_s=round(max(s.start_s, (f0 + k) * LEVEL_FRAME_S), 4),
                               end_s=round(min(s.end_s, (f0 + e + 1) * LEVEL_FRAME_S), 4)))
    return out


LONG_WORD_S = 2.0  # a word (not a dictated number) lasting longer has a failed timestamp
RELISTEN_PAD_S = 0.3
# Second listens per stream, at most: RELISTEN_MIN, and one more per RELISTEN_EVERY_S of
# audio (each costs one 30-s decoder window, ~0.3-0.6 s on 2 cores): the cost is bounded
# by design, whatever the call sounds like.
RELISTEN_MIN = 4
RELISTEN_EVERY_S = 6.0
RELISTEN_MAX_S = 28.0  # a stretch longer than Whisper's window is not listened to again


def listen(audio: np.ndarray, transcriber: Transcriber, *, side: bool = False,
           unsure_prob: float = 0.5) -> tuple[list[Word], list[tuple[float, float]]]:
    """The words of ``audio`` (mono, ``ASR_RATE``; ``side``: one side of a call recorded per
    side, ``Transcriber.side_words``) and the speech no word covers, after a second listen
    to each stretch where the first one failed, on its own (no neighbouring speech to
    confuse the decoder, no loop carried over from it), longest first, within the budget
    (``RELISTEN_MIN``, ``RELISTEN_EVERY_S``):

    - a word lasting over ``LONG_WORD_S`` (Whisper stretched it over a pause or over speech
      it skipped) is replaced by what the second listen hears there, if that holds the word
      again; otherwise it stays as it is (whatever it hid is bleeped with it);
    - speech that voice activity hears but no word covers gains the words heard there;
    - a stretch of speech (one of voice activity's, a turn or a sentence) where a third or
      more of the words are unsure (under ``unsure_prob``, a decoding loop's are 0) is
      heard again, and the second listen's words replace the first's when fewer of them are
      unsure: a loop that began on a spelled name ("-S -O -N" for 20 s over the customer's
      next turns, dev call 4) ends with the utterance it began in.
    What is still unheard after that is returned (it is bleeped as unsure); what is still
    unsure is bleeped by ``transcript_spans``."""
    words = transcriber.side_words(audio) if side else transcriber.words(audio)
    speech = speech_segments(audio, ASR_RATE)
    unheard = unheard_speech(audio, words, ASR_RATE, speech)
    long_words = [w for w in words if w.end_s - w.start_s > LONG_WORD_S and sum(c.isdigit() for c in w.text) < 4]
    failing = [(a, b) for a, b in speech if b - a <= RELISTEN_MAX_S and _unsure_share(_within(words, a, b), unsure_prob) >= FAILING_SHARE]
    budget = RELISTEN_MIN + int(audio.size / ASR_RATE / RELISTEN_EVERY_S)
    todo = sorted([(w.start_s, w.end_s, "long", w) for w in long_words] + [(a, b, "unheard", None) for a, b in unheard]
                  + [(a, b, "failing", None) for a, b in failing], key=lambda t: t[0] - t[1])
    if not todo:
        return words, unheard
    done: list[tuple[float, float]] = []  # heard again already (a stretch inside one is not heard a third time)
    for a, b, why, word in todo:
        if len(done) >= budget:
            break
        if any(c <= a and b <= d for c, d in done):
            continue
        done.append((a, b))
        i0 = max(0, int((a - RELISTEN_PAD_S) * ASR_RATE))
        clip = audio[i0 : int((b + RELISTEN_PAD_S) * ASR_RATE)]
        offset = i0 / ASR_RATE
        again = [replace(w, start_s=round(w.start_s + offset, 3), end_s=round(w.end_s + offset, 3)) for w in transcriber.words(clip)]
        again = _within(again, a, b)
        if why == "unheard":
            words = sorted(words + again, key=lambda w: w.start_s)
        elif why == "long" and word is not None and alnum(word.text) and alnum(word.text) in alnum(" ".join(w.text for w in again)):
            words = sorted([w for w in words if w is not word] + again, key=lambda w: w.start_s)
        elif why == "failing" and again and _unsure_share(again, unsure_prob) < _unsure_share(_within(words, a, b), unsure_prob):
            before = set(map(id, _within(words, a, b)))
            words = sorted([w for w in words if id(w) not in before] + again, key=lambda w: w.start_s)
    return words, unheard_speech(audio, words, ASR_RATE, speech)


def _within(words: list[Word], a: float, b: float) -> list[Word]:
    """The words whose middle lies in [``a``, ``b``]."""
    return [w for w in words if a <= (w.start_s + w.end_s) / 2 <= b]


def _unsure_share(words: list[Word], unsure_prob: float) -> float:
    spoken = [w for w in words if any(c.isalnum() for c in w.text)]
    return sum(w.probability < unsure_prob for w in spoken) / len(spoken) if spoken else 0.0


def crosstalk(x: np.ndarray, y: np.ndarray, max_lag: int) -> float:
    """The largest normalised cross-correlation of ``x`` and ``y`` (equal length) at lags
    up to ``max_lag`` samples either way: how much of one side is heard in the other."""
    if x.size < 2 or x.size != y.size:
        return 0.0
    x = x.astype(np.float64) - x.mean()
    y = y.astype(np.float64) - y.mean()
    norm = float(np.sqrt((x**2).sum() * (y**2).sum()))
    if norm == 0.0:
        return 0.0
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    c = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)
    lags = np.concatenate([c[: max_lag + 1], c[n - max_lag :]]) if max_lag else c[:1]
    return float(np.abs(lags).max() / norm)


def leaks_across(track: AudioTrack, levels: np.ndarray) -> bool:
    """Whether one side of the call is heard in the other's: of the ``CROSSTALK_WINDOW_S``
    windows where one side speaks and the other is 10 dB quieter, at least
    ``CROSSTALK_SHARE`` correlate over ``CROSSTALK_CORR``. A microphone that picks up the
    other side does so all call long, not only where a window happens to show it."""
    floors = np.array([_floor(lv) for lv in levels])[:, None]
    loud = levels > ACTIVE_OVER_FLOOR * floors
    hop = round(CROSSTALK_WINDOW_S / LEVEL_FRAME_S)
    rate, lag = track.sample_rate, round(CROSSTALK_LAG_S * track.sample_rate)
    hits = n = 0
    for k in range(0, levels.shape[1] - hop + 1, hop):
        rms = levels[:, k : k + hop].mean(axis=1)
        if loud[:, k : k + hop].mean(axis=1).max() < 0.5 or rms.max() < DOMINANCE * rms.min():
            continue  # nobody speaks, or both do
        i0, i1 = (int((m * LEVEL_FRAME_S) * rate) for m in (k, k + hop))
        n += 1
        hits += crosstalk(track.samples[0, i0:i1], track.samples[1, i0:i1], lag) > CROSSTALK_CORR
    return n > 0 and hits >= CROSSTALK_SHARE * n


def widen_over_crosstalk(spans: list[AudioSpan], heard: Heard) -> list[AudioSpan]:
    """A span heard on one side covers every side when the call leaks one side into the
    other (``leaks_across``) or a window of it does, and otherwise wherever another side
    is not quiet (``QUIET_OVER_FLOOR``): the other speaker talking over it is never played."""
    levels, track = heard.levels, heard.track
    if levels is None or track is None:
        return spans
    leaking = levels.shape[0] == 2 and leaks_across(track, levels)
    floors = np.array([_floor(lv) for lv in levels])[:, None]
    loud = levels > QUIET_OVER_FLOOR * floors
    rate, x = track.sample_rate, track.samples
    lag, hop = round(CROSSTALK_LAG_S * rate), round(CROSSTALK_WINDOW_S * rate)
    out = []
    for s in spans:
        out.append(s)
        if s.channel == ALL_CHANNELS:
            continue
        others = [c for c in range(levels.shape[0]) if c != s.channel]
        i0, i1 = (max(0, int((t - track.start_s) * rate)) for t in (s.start_s, s.end_s))
        if leaking or s.channel >= levels.shape[0] or any(
            crosstalk(x[c, a : min(a + hop, i1)], x[s.channel, a : min(a + hop, i1)], lag) > CROSSTALK_CORR
            for c in others for a in range(i0, max(i0 + 1, i1 - hop // 2), hop)
        ):
            out[-1] = replace(s, channel=ALL_CHANNELS)
            continue
        f0, f1 = int(s.start_s / LEVEL_FRAME_S), int(np.ceil(s.end_s / LEVEL_FRAME_S))
        for k, e in runs(np.asarray(loud[others, f0:f1].any(axis=0))):
            a, b = max(s.start_s, (f0 + k - 1) * LEVEL_FRAME_S), min(s.end_s, (f0 + e + 2) * LEVEL_FRAME_S)
            out.append(replace(s, start_s=round(a, 4), end_s=round(b, 4), channel=ALL_CHANNELS))
    return out


def transcript_spans(heard: Heard, detector: Detector, cfg: Config, hasher: Callable[[str], str]) -> list[AudioSpan]:
    """The spans to bleep. Every finding joins the registry first (a name said once is
    searched for in the whole call), then each transcript is searched again with it; the
    unheard speech is bleeped as unsure unless the policy keeps unsure customer data."""
    first = [detect_audio(words, detector, cfg, hasher, register=True, channel=ch) for ch, words in zip(heard.channels, heard.words, strict=True)]
    spans = [s for group in first for s in group]
    for ch, words in zip(heard.channels, heard.words, strict=True):
        spans += detect_audio(words, detector, cfg, hasher, register=False, channel=ch)
    if not cfg.redact.keeps("customer", "UNSURE"):
        pad = cfg.audio.pad_ms / 1000.0
        for ch, words, gaps in zip(heard.channels, heard.words, heard.unheard, strict=True):
            spans += [AudioSpan(round(max(0.0, a - pad), 4), round(b + pad, 4), "UNSURE", "customer", hasher("unheard speech"), ch)
                      for a, b in gaps]
            spans += [AudioSpan(round(max(0.0, w.start_s - pad), 4), round(w.end_s + pad, 4), "UNSURE", "customer", hasher(w.text), ch)
                      for w in _shaky_beside(words, gaps)]
    spans = merge_spans(spans, bridge_s=cfg.audio.bridge_ms / 1000)
    if heard.levels is not None:
        spans = on_own_voice(spans, heard.levels)
    spans = widen_over_crosstalk(spans, heard)
    return [s for s in merge_spans(spans) if s.end_s > 0]


def _shaky_beside(words: list[Word], gaps: list[tuple[float, float]]) -> list[Word]:
    """The shaky words (under ``SHAKY_PROB``) said right before or after unheard speech:
    unheard is the most unsure of all ("Mon collègue" went unheard, then "Marc Dubois" was
    "prévoie," at 0.59, dev call 13)."""
    reach = WORD_REACH_S + SHAKY_GAP_S  # an unheard stretch stops WORD_REACH_S short of any word
    return [w for w in words if w.probability < SHAKY_PROB and any(c.isalnum() for c in w.text)
            and any(-reach < w.start_s - b < reach or -reach < a - w.end_s < reach for a, b in gaps)]


def detect_audio(words: list[Word], detector: Detector, cfg: Config, hasher: Callable[[str], str], *, register: bool,
                 channel: int = ALL_CHANNELS) -> list[AudioSpan]:
    """Spans of the transcript to bleep: detector findings on the written form, plus every
    run of ``min_digits`` or more spoken digits (numbers said aloud are identifiers)."""
    if not words:
        return []
    sp = _Spanner(words, normalize([w.text for w in words]), cfg.audio.pad_ms / 1000.0, hasher, channel)
    out, found = _found_spans(sp, detector, cfg, register=register)
    carriers = carrier_spans(words)
    for first, last in carriers if not cfg.redact.keeps("customer", "ANNOUNCED") else []:
        out.append(sp.words_span(first, _announced_end(words, first, last, found), "ANNOUNCED", "customer", sp.joined(first, last)))
    if cfg.audio.unsure_prob > 0 and not cfg.redact.keeps("customer", "UNSURE"):
        out += _unsure_spans(sp, cfg.audio.unsure_prob)
    return out + _shape_spans(sp, cfg.audio.min_digits, {first for first, _last in carriers})


def _spoken_s(word: Word) -> float:
    """About how long ``word`` takes to say: 0.15 s and 0.08 s per letter or digit."""
    return 0.15 + 0.08 * len(alnum(word.text))


def _stretched(word: Word) -> bool:
    return word.end_s - word.start_s > 2 * _spoken_s(word)


@dataclass
class _Spanner:
    """A transcript's words and their normalized tokens, and how a run of them becomes a
    padded ``AudioSpan`` with the value's hash."""

    words: list[Word]
    tokens: list[Token]
    pad: float
    hasher: Callable[[str], str]
    channel: int

    def words_span(self, first_word: int, last_word: int, etype: str, category: str, value: str) -> AudioSpan:
        # A word without a real duration (Whisper sometimes gives digits a zero-length
        # time) reaches back to the previous word's end / on to the next word's start:
        # the value is somewhere in that gap, and over-redacting is the safe side.
        words = self.words
        w0, w1 = words[first_word], words[last_word]
        start_s, end_s = w0.start_s, w1.end_s
        # A neighbour stretched far past its length swallowed the edge of the value: "is"
        # timed 11.5-12.4 s held the start of "Benjamin" (held-out call 1054). The span
        # reaches back (on) to where that word would have ended (begun).
        if first_word > 0 and _stretched(words[first_word - 1]):
            start_s = min(start_s, words[first_word - 1].start_s + _spoken_s(words[first_word - 1]))
        if last_word + 1 < len(words) and _stretched(words[last_word + 1]):
            end_s = max(end_s, words[last_word + 1].end_s - _spoken_s(words[last_word + 1]))
        if w0.end_s - w0.start_s < _MIN_WORD_S and first_word > 0:
            start_s = min(start_s, words[first_word - 1].end_s)
        if w1.end_s - w1.start_s < _MIN_WORD_S:
            end_s = max(end_s, words[last_word + 1].start_s if last_word + 1 < len(words) else end_s + 1.0)
        return AudioSpan(round(max(0.0, start_s - self.pad), 4), round(end_s + self.pad, 4), etype, category, self.hasher(value),
                         self.channel)

    def tokens_span(self, tok_first: int, tok_last: int, etype: str, category: str, value: str) -> AudioSpan:
        return self.words_span(self.tokens[tok_first].first_word, self.tokens[tok_last].last_word, etype, category, value)

    def joined(self, a: int, b: int) -> str:
        return " ".join(w.text for w in self.words[a : b + 1])


def _found_spans(sp: _Spanner, detector: Detector, cfg: Config, *, register: bool) -> tuple[list[AudioSpan], set[int]]:
    """The detectors' findings on the written form, and the words inside any finding."""
    text, starts = render(sp.tokens)
    offsets = [s for s, _ in starts]

    def token_at(char: int) -> int:
        return max(0, bisect.bisect_right(offsets, char) - 1)

    out = []
    found: set[int] = set()
    for f in detector.find(text, spoken=True):
        t0, t1 = token_at(f.start), token_at(max(f.start, f.end - 1))
        found.update(range(sp.tokens[t0].first_word, sp.tokens[t1].last_word + 1))
        if cfg.redact.keeps(f.category, f.entity_type):
            continue
        value = text[f.start : f.end]
        out.append(sp.tokens_span(t0, t1, f.entity_type, f.category, value))
        if register and detector.registers(f.entity_type):
            detector.add_known(f.entity_type, value, f.category)
    return out, found


SHAKY_PROB = 0.75  # a word under this, beside an unsure one, is unsure too (``_unsure_spans``)
SHAKY_GAP_S = 0.3


def _unsure_spans(sp: _Spanner, unsure_prob: float) -> list[AudioSpan]:
    """A word Whisper is unsure of is where names and numbers get misheard ("the target
    views" for "Emily Wilson"): unsure is redacted, never played; unless it is a common
    word ("my", "but", "hello") between two sure words: a name misheard as a common word
    leaves its neighbours unsure too, or is caught by its sound (roster, registry) or by
    what announced it. Where the decoder fails, its sure words go too (``_failing``)."""
    words = sp.words

    def sure(k: int) -> bool:
        return not 0 <= k < len(words) or words[k].probability >= unsure_prob

    out = []
    unsure = set()
    for k, w in enumerate(words):
        if w.probability < unsure_prob and any(c.isalnum() for c in w.text):
            if not (is_common(w.text) and w.probability > 0 and sure(k - 1) and sure(k + 1)):
                unsure.add(k)
    # Mishearings come in clusters: a shaky word said in one breath with an unsure one is
    # unsure too ("prévoie" at 0.59 was a colleague's name, after a word at 0.2, dev call 13).
    for k in sorted(unsure):
        for j in (k - 1, k + 1):
            if not 0 <= j < len(words) or words[j].probability >= SHAKY_PROB or not any(c.isalnum() for c in words[j].text):
                continue
            later, earlier = (words[j], words[k]) if j > k else (words[k], words[j])
            if abs(later.start_s - earlier.end_s) < SHAKY_GAP_S:
                unsure.add(j)
    out += [sp.words_span(k, k, "UNSURE", "customer", words[k].text) for k in sorted(unsure)]
    for a, b in _failing(words, unsure_prob):
        # its end is no safer than its middle: the word said on without a pause goes too
        # ("near -rover" was "0 0 2 7" at the end of a failing stretch, held-out call 1056)
        b0 = b
        while b + 1 < len(words) and b - b0 < FAILING_REACH_WORDS and words[b + 1].start_s - words[b].end_s < TURN_GAP_S:
            b += 1
        out.append(sp.words_span(a, b, "UNSURE", "customer", sp.joined(a, b)))
    return out


def _shape_spans(sp: _Spanner, min_digits: int, announced: set[int]) -> list[AudioSpan]:
    """Values told by their shape, whatever they are: garbled identifiers, spelled letters,
    dictated pieces and runs of ``min_digits`` or more digits (``announced``: the first word
    of each value a carrier announced, ``_dictated``)."""
    words, tokens = sp.words, sp.tokens
    out = []
    # Words mixing letters and digits ("charlatanavis54atemail") are garbled identifiers.
    for k, w in enumerate(words):
        if sum(c.isdigit() for c in w.text) >= 2 and sum(c.isalpha() for c in w.text) >= 2:
            out.append(sp.words_span(k, k, "NUMBER", "customer", w.text))
    # Spelled letters ("M, E, R, C, I, E, R": normalize joins 3+ into one token) spell a
    # name, a login or an email, whether or not the result matches anything known.
    for tok in tokens:
        if (tok.last_word - tok.first_word >= 2 and tok.text.isalpha()) or SPELLED_WORD.match(words[tok.first_word].text.strip(" ,;:!?")):
            out.append(sp.words_span(tok.first_word, tok.last_word, "SPELLED", "customer", tok.text))
    out += [sp.words_span(a, b, "DICTATED", "customer", sp.joined(a, b)) for a, b in _dictated(words, tokens, min_digits, announced)]
    i = 0
    while i < len(tokens):
        if any(c.isdigit() for c in tokens[i].text):
            j = i
            n = 0
            while j < len(tokens) and (tokens[j].text.replace("-", "").replace(".", "").isdigit() or (j > i and tokens[j].text in ("-", "."))):
                n += sum(c.isdigit() for c in tokens[j].text)
                j += 1
            if j == i:  # mixed token like "E10234": count it alone
                n = sum(c.isdigit() for c in tokens[i].text)
                j = i + 1
            if n >= min_digits:
                value = "".join(tokens[k].text for k in range(i, j))
                out.append(sp.tokens_span(i, j - 1, "NUMBER", "customer", value))
            i = j
        else:
            i += 1
    return out


def _announced_end(words: list[Word], first: int, last: int, found: set[int]) -> int:
    """Where an announced value ends: where the carrier says (``carrier_spans``), or
    sooner when the detectors found the value right after the carrier and it ends with a
    pause in the punctuation ("speaking with Charlotte Harris, how can I help you")."""
    if first not in found:
        return last
    end = first
    while end + 1 <= last and end + 1 in found:
        end += 1
    return end if end < last and re.search(r"[,;.?!]$", words[end].text) else last


FAILING_WINDOW_S = 2.5  # either side of a word
FAILING_SHARE = 1 / 3
FAILING_MIN_WORDS = 4
FAILING_REACH_WORDS = 1  # words after a failing stretch, said without a pause, that go with it


def _failing(words: list[Word], unsure_prob: float) -> list[tuple[int, int]]:
    """(first, last) words of the stretches where the decoder was failing: around each of
    them (``FAILING_WINDOW_S`` either side, ``FAILING_MIN_WORDS`` words at least) a third or
    more of the words are unsure. Its sure words there are not to be trusted either ("I vote
    as I depend on" was an IBAN): the whole stretch is unsure."""
    mids = [(w.start_s + w.end_s) / 2 for w in words]
    bad = np.array([w.probability < unsure_prob for w in words], dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(bad)])
    lo = np.searchsorted(mids, np.array(mids) - FAILING_WINDOW_S, side="left")
    hi = np.searchsorted(mids, np.array(mids) + FAILING_WINDOW_S, side="right")
    n = hi - lo
    return runs((n >= FAILING_MIN_WORDS) & (cum[hi] - cum[lo] >= FAILING_SHARE * n))


TURN_GAP_S = 0.7  # words further apart than this are in different turns (or sentences)
DICTATION_GAP_WORDS = 5  # pieces with at most this many other words between are one value
DICTATION_TAIL_WORDS = 3  # a dictated value's last pieces are often heard as words
_CAPS = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{2,12}$")  # "RFO", "EW8RDS": letters spelled aloud, heard as one word


def _pieces(tok: Token, words: list[Word]) -> int:
    """How many characters of a dictated identifier ``tok`` holds: its digits, and the
    letters of what sounds spelled (joined single letters, "D-U-P-O-N-T", "RFO", a capital
    letter alone other than the words "I" and "A")."""
    n = sum(c.isdigit() for c in tok.text)
    said = " ".join(w.text for w in words[tok.first_word : tok.last_word + 1]).strip(" ,;:!?.-")
    if (tok.last_word - tok.first_word >= 2 and tok.text.isalpha()) or SPELLED_WORD.match(said) or _CAPS.match(said):
        n += sum(c.isalpha() for c in tok.text)
    elif len(said) == 1 and said.isupper() and said not in "IA":
        n += 1
    return n


def _dictated(words: list[Word], tokens: list[Token], min_pieces: int, announced: set[int]) -> list[tuple[int, int]]:
    """(first, last) words of identifiers dictated with parts misheard ("1, 5 le plus
    propre, si probablement 4, 8 le lit" for an IBAN; "I am the RFO, I am FFO" for a
    spelled name): in one turn, pieces (``_pieces``) with at most ``DICTATION_GAP_WORDS``
    words between add up, and once they reach ``min_pieces`` the value is bleeped with the
    ``DICTATION_TAIL_WORDS`` words said on after it in the turn (its last pieces may have
    been heard as words), and, when words came between its pieces, as many before it (in
    the turn and its sentence, never back into the carrier that announced it: "my phone
    number is" was heard right; ``announced`` holds each announced value's first word): its
    first pieces were heard as words as well."""
    turn = [0] * len(words)
    for k in range(1, len(words)):
        turn[k] = turn[k - 1] + (words[k].start_s - words[k - 1].end_s > TURN_GAP_S)
    out = []
    run: list[Token] = []
    n = 0
    for tok in [*tokens, None]:
        d = _pieces(tok, words) if tok is not None else 0
        if tok is not None and not d:
            continue
        if run and (tok is None or turn[tok.first_word] != turn[run[-1].last_word]
                    or tok.first_word - run[-1].last_word - 1 > DICTATION_GAP_WORDS):
            if n >= min_pieces:
                a, b = run[0].first_word, run[-1].last_word
                # heard whole, a value ends where its pieces do; heard in pieces, words
                # between them, it runs on (its last pieces were heard as words too)
                garbled = any(q.first_word > p.last_word + 1 for p, q in itertools.pairwise(run))
                last = b
                # its last pieces may have been heard as words, full stop or not ("4, -0. near
                # -room," was "0 8 8 9", held-out call 1040): the words said on without a pause go too
                while last + 1 < len(words) and last - b < DICTATION_TAIL_WORDS and turn[last + 1] == turn[b]:
                    last += 1
                first = a
                while (garbled and first > 0 and a - first < DICTATION_TAIL_WORDS and turn[first - 1] == turn[a]
                       and first not in announced and not SENTENCE_END.search(words[first - 1].text)):
                    first -= 1
                out.append((first, last))
            run, n = [], 0
        if tok is not None:
            run.append(tok)
            n += d
    return out


def merge_spans(spans: list[AudioSpan], *, bridge_s: float = 0.0) -> list[AudioSpan]:
    """Overlapping spans of the same channel as one; spans less than ``bridge_s`` apart too:
    a short island between two bleeps is most likely the same value, a word of it misheard
    with confidence (French card digits heard as "Méocat")."""
    out: list[AudioSpan] = []
    for ch in sorted({s.channel for s in spans}):
        groups: list[list[AudioSpan]] = []
        end = 0.0
        for s in sorted((s for s in spans if s.channel == ch), key=lambda s: s.start_s):
            if groups and s.start_s <= end + bridge_s:
                groups[-1].append(s)
                end = max(end, s.end_s)
            else:
                groups.append([s])
                end = s.end_s
        for group in groups:
            # the merged span is named after the reason that covers most of it (a chain of
            # unsure words that began on a name is reported as unsure, not as 73 s of a
            # name); its category and value stay the first member's, as before
            cover: dict[str, float] = {}
            for s in group:
                cover[s.type] = cover.get(s.type, 0.0) + s.end_s - s.start_s
            main = max(cover, key=cover.__getitem__)  # on a tie, the reason met first
            first = group[0]
            out.append(AudioSpan(first.start_s, max(s.end_s for s in group), main, first.category, first.value_hash, ch))
    return sorted(out, key=lambda s: (s.start_s, s.channel))
