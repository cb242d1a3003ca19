"""Speech-to-text with word timestamps (faster-whisper, the only place it is imported).

faster-whisper runs Whisper on CTranslate2 with int8 on CPU, ~0.07x real time for tiny.en
here, and gives per-word times — what bleeping needs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from anonymizer.errors import ConfigError, ModelError, ProcessingError
from anonymizer.types import Word

SPOKEN = ("en", "fr")
# Whisper's own thresholds for "this decoding failed" (faster-whisper's defaults): greedy
# decoding keeps the words reproducible, and a failed segment is marked unsure instead of
# being re-sampled at random.
LOOP_COMPRESSION = 2.4
MIN_AVG_LOGPROB = -1.0


class Transcriber(ABC):
    @abstractmethod
    def words(self, audio: np.ndarray) -> list[Word]:
        """``audio``: (N,) float32 mono 16 kHz. Words with start/end seconds."""

    def side_words(self, audio: np.ndarray) -> list[Word]:
        """The words of one side of a call recorded per side: speech with long silences
        (the other side's turns), where a decoder left to run on silence makes words up."""
        return self.words(audio)


class WhisperTranscriber(Transcriber):
    def __init__(self, model_dir: Path | None = None, *, language: str = "en", device: str = "cpu", threads: int = 0) -> None:
        import models

        try:
            if model_dir is None and language != "en":
                directory = models.whisper_multilingual_dir()  # French / auto: the bundled base
            else:
                directory = models.whisper_dir(model_dir)
        except models.ModelNotFound as exc:
            raise ModelError(f"speech model unavailable: {exc}") from exc
        if language != "en" and not models.whisper_is_multilingual(directory):
            raise ConfigError(
                f"speech model {directory} is English-only but the call language is {language!r}: "
                "pass --asr-model DIR with a multilingual CTranslate2 Whisper model"
            )
        self.language = language  # en | fr | auto (the likelier of SPOKEN per recording)
        self.detected: str | None = None
        self.model_dir = directory
        self.threads = threads  # CPU intra-op threads (0: CTranslate2 chooses)
        try:
            # ``device``: "cpu" or "cuda:N" (anonymizer.runtime); CTranslate2 takes the index apart.
            kind, _, index = device.partition(":")
            if kind != "cpu":  # CTranslate2 needs CUDA 12's cuBLAS beside torch's 13 (faster-whisper 1431)
                from anonymizer.cuda_libs import preload_cuda12

                preload_cuda12()
            from faster_whisper import WhisperModel

            compute = "int8" if kind == "cpu" else "float16"
            self._model = WhisperModel(str(directory), device=kind, device_index=int(index or 0), compute_type=compute,
                                       cpu_threads=threads, local_files_only=True)
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad folders
            raise ModelError(f"speech model could not load from {directory}: {exc}") from exc

    def side_words(self, audio: np.ndarray) -> list[Word]:
        # Silero voice activity (shipped with faster-whisper) skips the silences: on one
        # side of a held-out flite call, tiny.en made 211 words of "your eyes, your eyes"
        # out of the other side's turns (155 unsure); with it, 82 (26). Speech it skips is
        # still found by unheard_speech and bleeped.
        return self.words(audio, vad=True)

    def words(self, audio: np.ndarray, vad: bool = False) -> list[Word]:
        if audio.size < 1600:  # < 0.1 s: nothing to say
            return []
        try:
            language = self.language
            if language == "auto":
                language = self.detected = self.detect(audio)
            segments, _info = self._model.transcribe(
                audio,
                language=language,
                word_timestamps=True,
                beam_size=1,
                vad_filter=vad,
                condition_on_previous_text=False,
                # Greedy only: Whisper's fallback samples at temperature > 0 on hard audio,
                # so the same call gave different words (hence bleeps) on each run.
                temperature=0.0,
            )
            out: list[Word] = []
            for seg in segments:
                # A segment Whisper itself would retry (a repetition loop: its text
                # compresses too well; or a very unlikely decoding) says nothing reliable
                # about what was said: its words are given probability 0 (unsure).
                lost = seg.compression_ratio > LOOP_COMPRESSION or seg.avg_logprob < MIN_AVG_LOGPROB
                for w in seg.words or []:
                    out.append(Word(w.word.strip(), float(w.start), float(w.end), 0.0 if lost else float(w.probability)))
            return unloop(out)
        except Exception as exc:
            raise ProcessingError(f"speech-to-text failed: {exc}") from exc

    def detect(self, audio: np.ndarray) -> str:
        """The likelier of ``SPOKEN`` in ``audio`` (Whisper's language id, over up to three
        30-s windows). Restricted to the languages the detectors know, so a noisy start
        cannot switch a French call to, say, Italian."""
        _lang, _p, probs = self._model.detect_language(audio, language_detection_segments=3)
        scores = dict(probs)
        return max(SPOKEN, key=lambda lang: scores.get(lang, 0.0))


LOOP_MIN_WORDS = 3  # a phrase of this many words or more said twice in a row is a decoding loop


def unloop(words: list[Word]) -> list[Word]:
    """``words`` with every phrase of ``LOOP_MIN_WORDS``+ words that repeats itself at once
    ("je ne peux pas me faire le p'tain." three times over an IBAN) given probability 0:
    a repetition loop inside a segment too short to trip ``LOOP_COMPRESSION``; what was
    said under it is unknown."""
    keys = ["".join(c for c in w.text.lower() if c.isalnum()) for w in words]
    looped = [False] * len(words)
    for n in range(LOOP_MIN_WORDS, 13):
        for k in range(len(words) - 2 * n + 1):
            if keys[k : k + n] == keys[k + n : k + 2 * n] and any(keys[k : k + n]):
                looped[k : k + 2 * n] = [True] * (2 * n)
    return [Word(w.text, w.start_s, w.end_s, 0.0) if bad else w for w, bad in zip(words, looped, strict=True)]


# Speech the transcript does not cover (Whisper can stop early or skip a stretch: a CVV and
# an address went unheard in a benchmark call) is found with the voice-activity model that
# ships with faster-whisper (Silero, ONNX, offline).
WORD_REACH_S = 0.3  # a word's time, widened by this, covers the speech around it
MIN_UNHEARD_S = 0.3  # shorter stretches of uncovered speech are breaths and word edges


def speech_segments(audio: np.ndarray, rate: int = 16000) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches of ``audio`` (mono float32 at ``rate``) where the
    voice-activity model hears speech: a turn or a sentence each, split at 300 ms pauses."""
    if audio.size < rate // 10:
        return []
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        speech = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100), sampling_rate=rate)
    except Exception as exc:
        raise ProcessingError(f"voice activity detection failed: {exc}") from exc
    return _union([(seg["start"] / rate, seg["end"] / rate) for seg in speech] + loud_segments(audio, rate))


LEVEL_FRAME_S = 0.05
# A stream is "speaking" in a frame this far above its own floor (the 10th percentile of
# its frame levels: line noise between turns).
ACTIVE_OVER_FLOOR = 4.0  # +12 dB
SOUND_GAP_S = 0.3


def frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """(C, frames) RMS of each row of ``samples`` (C, N) per ``LEVEL_FRAME_S``."""
    hop = max(1, round(rate * LEVEL_FRAME_S))
    n = samples.shape[1] // hop
    x = samples[:, : n * hop].astype(np.float64).reshape(samples.shape[0], n, hop)
    return np.sqrt((x**2).mean(axis=2))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def loud_segments(audio: np.ndarray, rate: int = 16000) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches of ``audio`` standing ``ACTIVE_OVER_FLOOR`` over
    its own line noise, pauses under ``SOUND_GAP_S`` bridged. Voice activity is a model, and
    it can miss a voice it was not trained on: Silero heard none of a synthetic voice
    dictating an IBAN (dev call 9), which Whisper skipped too, so it was played. Loud is not
    always speech, but what is loud and not transcribed is bleeped either way (fail closed)."""
    level = frame_levels(audio[None, :], rate)[0]
    if level.size < 2:
        return []
    heard = level[level > 0]  # a side of a call is silenced where only the other side is heard (own_voice)
    if heard.size == 0:
        return []
    loud = level > ACTIVE_OVER_FLOOR * max(1e-5, float(np.percentile(heard, 10)))
    out: list[tuple[float, float]] = []
    for first, last in runs(loud):
        a, b = float(first * LEVEL_FRAME_S), float((last + 1) * LEVEL_FRAME_S)
        if out and a - out[-1][1] < SOUND_GAP_S:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _union(segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(segments):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def unheard_speech(audio: np.ndarray, words: list[Word], rate: int = 16000,
                   speech: list[tuple[float, float]] | None = None) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches of ``audio`` (mono float32 at ``rate``) where the
    voice-activity model hears speech (``speech``, when already found) and no transcribed
    word lies."""
    if speech is None:
        speech = speech_segments(audio, rate)
    covered = sorted((w.start_s - WORD_REACH_S, w.end_s + WORD_REACH_S) for w in words)
    out = []
    for start, end in speech:
        pos = start
        for c0, c1 in covered:
            if c1 <= pos or c0 >= end:
                continue
            if c0 - pos >= MIN_UNHEARD_S:
                out.append((round(pos, 3), round(c0, 3)))
            pos = max(pos, c1)
        if end - pos >= MIN_UNHEARD_S:
            out.append((round(pos, 3), round(end, 3)))
    return out
