"""Speaker-identification attack on the voice disguise (issue 21), and what it costs.

Speakers: synthetic, so an approximation of real colleagues. Each speaker is one espeak-ng
voice variant (``+m1``, ``+f3``, ``+Annie``, ...: formant scaling, breathiness, voicing) at
its own pitch and speed, speaking French (``fr``) and English (``en-us``) call-centre
sentences. Half of each speaker's sentences enrol the speaker, the other half are tests
(text-independent: enrol and test sentences differ).

Speaker identifier (trained here, nothing downloaded): 19 MFCCs + deltas (25 ms / 10 ms,
energy-based frame selection, per-utterance mean and variance normalisation) and a
GMM-UBM: a 64-component diagonal ``sklearn`` GaussianMixture on all enrolment frames,
means MAP-adapted per speaker (relevance 16), each test utterance given to the speaker
of highest average log-likelihood ratio. Top-1 accuracy per test utterance, for:

- ``clean``: enrol and test on original speech (the identifier works);
- ``ignorant``: enrol on original speech, test on speech disguised with the target key;
- ``informed``: the lazy-informed attacker has the tool but not the key: enrols on the
  speaker's enrolment speech disguised with ``--other-keys`` other keys (UBM retrained on
  it), tests on speech disguised with the target key.

Chance is ``1 / speakers``; the goal is ``informed <= 2x chance``. Every test utterance is
its own recording (its own sha256), so the coefficients differ between utterances as they
do between calls. Intelligibility: word error rate of the bundled Whisper (``tiny.en`` for
English, ``base`` for French) on original and disguised test speech against the text
espeak-ng spoke (lower case, no punctuation; words of segments Whisper marks as failed
repetition loops left out). Speed: disguise time per minute of 16 kHz
audio.

Run: ``.venv/bin/python benchmarks/voice_attack.py [--speakers N] [--no-asr]`` (about 5.5
minutes on 2 cores with ASR, 1.5 without; the espeak-ng output is cached in ``--cache``).

Caveats: espeak-ng voices are deterministic, so the same variant sounds exactly alike in
every sentence; that makes identification easier than with people (clean top-1 is 100 %).
Whisper ``base`` transcribes espeak-ng's robotic French poorly (~90 % WER before any
disguise), so the French WER rise says little; the English one is the intelligibility check.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.fft import dct
from scipy.signal import resample_poly

RATE = 16000

# (espeak-ng variant, pitch 0-99, words per minute): 24 distinct synthetic speakers.
SPEAKERS: tuple[tuple[str, int, int], ...] = (
    ("m1", 40, 160), ("m2", 55, 150), ("m3", 35, 170), ("m4", 50, 155), ("m5", 60, 165),
    ("m6", 45, 150), ("m7", 30, 160), ("f1", 55, 165), ("f2", 65, 155), ("f3", 50, 170),
    ("f4", 70, 160), ("f5", 60, 150), ("Alex", 50, 160), ("Andy", 45, 165), ("Annie", 60, 155),
    ("Denis", 40, 150), ("Gene", 50, 170), ("Jacky", 55, 160), ("Lee", 45, 155), ("Mike", 35, 165),
    ("adam", 50, 150), ("anika", 65, 165), ("benjamin", 40, 160), ("david", 55, 150),
)
VOICES = {"fr": "fr", "en": "en-us"}
SENTENCES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Bonjour, vous êtes bien au service client, que puis-je faire pour vous aujourd'hui ?",
        "Je vais vérifier votre dossier, merci de patienter quelques instants.",
        "Votre commande a été expédiée hier et devrait arriver en fin de semaine.",
        "Pouvez-vous me confirmer votre adresse de livraison, s'il vous plaît ?",
        "Je comprends tout à fait, je transmets votre demande au service technique.",
        "Le remboursement apparaîtra sur votre compte sous cinq jours ouvrés.",
    ),
    "en": (
        "Good morning, you are speaking with customer service, how can I help you today?",
        "Let me check your account, please hold the line for a moment.",
        "Your order was shipped yesterday and should arrive by the end of the week.",
        "Could you please confirm the delivery address for this order?",
        "I completely understand, I will forward your request to our technical team.",
        "The refund will appear on your statement within five working days.",
    ),
}
N_ENROL = 3  # sentences per language that enrol; the rest are tests
N_MIX = 64
RELEVANCE = 16.0


@dataclass(frozen=True)
class Utterance:
    speaker: int
    lang: str
    sentence: int
    audio: np.ndarray  # (N,) float32 at RATE

    @property
    def text(self) -> str:
        return SENTENCES[self.lang][self.sentence]

    @property
    def enrol(self) -> bool:
        return self.sentence < N_ENROL


# ---------------------------------------------------------------- speech
def synthesise(speakers: int, cache: Path) -> list[Utterance]:
    """Every speaker saying every sentence, from espeak-ng (run in parallel, cached)."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is required (apt-get install espeak-ng)")
    cache.mkdir(parents=True, exist_ok=True)
    jobs = []
    for s, (variant, pitch, wpm) in enumerate(SPEAKERS[:speakers]):
        for lang, texts in SENTENCES.items():
            for i, text in enumerate(texts):
                cmd = ["espeak-ng", "-v", f"{VOICES[lang]}+{variant}", "-p", str(pitch), "-s", str(wpm), text]
                name = hashlib.sha256("\0".join(cmd).encode()).hexdigest()[:20]
                jobs.append((s, lang, i, cmd, cache / f"{name}.wav"))
    procs: list[subprocess.Popen[bytes]] = []
    for *_, cmd, path in jobs:
        if not path.exists():
            tmp = path.with_suffix(".part")
            procs.append(subprocess.Popen([*cmd[:-1], "-w", str(tmp), cmd[-1]]))
            if len(procs) >= 8:
                _wait(procs)
    _wait(procs)
    for *_, path in jobs:
        tmp = path.with_suffix(".part")
        if tmp.exists():
            tmp.replace(path)
    return [Utterance(s, lang, i, _read(path)) for s, lang, i, _cmd, path in jobs]


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"espeak-ng failed: {p.args!r}")
    procs.clear()


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768.0
    g = np.gcd(sr, RATE)
    return resample_poly(x, RATE // g, sr // g).astype(np.float32)


# ---------------------------------------------------------------- disguise
def disguise(x: np.ndarray, key: bytes) -> np.ndarray:
    """``x`` as the pipeline would publish it: one mono recording, disguised with ``key``."""
    from anonymizer.media import AudioTrack
    from anonymizer.speech.disguise import disguise_track

    track = AudioTrack(samples=x.reshape(1, -1), sample_rate=RATE, layout="mono")
    sha = hashlib.sha256(x.tobytes()).hexdigest()
    out: np.ndarray = disguise_track(track, key, input_sha256=sha, channels=[0]).samples[0]
    return out


# ---------------------------------------------------------------- speaker identification
def _mel_bank(n_fft: int, n_mels: int, rate: int) -> np.ndarray:
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(np.array(60.0)), mel(np.array(rate / 2 - 200)), n_mels + 2) / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    fb = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0.0, None)
    return fb


_BANK = _mel_bank(512, 26, RATE)


def mfcc(x: np.ndarray) -> np.ndarray:
    """``(T, 38)`` float64: MFCC 1-19 and their deltas, speech frames only, normalised."""
    x = np.asarray(x, np.float64)
    if x.size < 400:
        x = np.pad(x, (0, 400 - x.size))
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    frames = np.lib.stride_tricks.sliding_window_view(x, 400)[::160] * np.hamming(400)
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    logmel = np.log(power @ _BANK.T + 1e-10)
    ceps = dct(logmel, type=2, norm="ortho", axis=1)[:, 1:20]
    delta = np.gradient(ceps, axis=0)
    feats = np.hstack([ceps, delta])
    energy = np.log(power.sum(axis=1) + 1e-10)
    keep = energy > energy.max() - 9.0  # within ~40 dB of the loudest frame
    feats = feats[keep] if keep.sum() >= 10 else feats
    return (feats - feats.mean(0)) / (feats.std(0) + 1e-8)


class GmmUbm:
    """A universal background model and one MAP-adapted mean set per speaker."""

    def __init__(self, enrol: dict[int, list[np.ndarray]], seed: int = 0) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        frames = np.vstack([f for feats in enrol.values() for f in feats])
        self.ubm = GaussianMixture(N_MIX, covariance_type="diag", max_iter=60, random_state=seed, reg_covar=1e-3)
        with warnings.catch_warnings():  # 60 EM steps are plenty for a UBM; no "did not converge" noise
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.ubm.fit(frames)
        self.speakers = sorted(enrol)
        self.means = {}
        for s in self.speakers:
            x = np.vstack(enrol[s])
            resp = self.ubm.predict_proba(x)
            n_k = resp.sum(0)
            ex = resp.T @ x / np.maximum(n_k, 1e-10)[:, None]
            a = (n_k / (n_k + RELEVANCE))[:, None]
            self.means[s] = a * ex + (1.0 - a) * self.ubm.means_

    def _loglik(self, x: np.ndarray, means: np.ndarray) -> float:
        var = self.ubm.covariances_
        ll = -0.5 * (((x[:, None, :] - means[None]) ** 2 / var[None]).sum(-1) + np.log(2 * np.pi * var).sum(-1)[None])
        ll += np.log(self.ubm.weights_)[None]
        mx = ll.max(1, keepdims=True)
        return float((mx[:, 0] + np.log(np.exp(ll - mx).sum(1))).mean())

    def identify(self, x: np.ndarray) -> int:
        base = self._loglik(x, self.ubm.means_)
        scores = [self._loglik(x, self.means[s]) - base for s in self.speakers]
        return self.speakers[int(np.argmax(scores))]


def top1(model: GmmUbm, tests: list[tuple[int, np.ndarray]]) -> float:
    return float(np.mean([model.identify(f) == s for s, f in tests]))


# ---------------------------------------------------------------- intelligibility
def words(text: str) -> list[str]:
    """Lower case, no punctuation, apostrophes and hyphens as spaces."""
    t = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    return re.sub(r"[^\w\s]|_", " ", t).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[-1]


def wer(pairs: list[tuple[str, str]]) -> float:
    """Word error rate in percent over (reference, hypothesis) pairs."""
    errors = sum(edit_distance(words(r), words(h)) for r, h in pairs)
    return 100.0 * errors / max(1, sum(len(words(r)) for r, _ in pairs))


def transcribe(lang: str, audios: list[np.ndarray]) -> list[str]:
    from anonymizer.speech import WhisperTranscriber

    asr = WhisperTranscriber(language=lang, threads=2)
    # words of a segment Whisper itself marks as failed (a repetition loop: probability 0,
    # anonymizer.speech) are left out, as the pipeline treats them as unheard
    return [" ".join(w.text for w in asr.words(a) if w.probability > 0) for a in audios]


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speakers", type=int, default=len(SPEAKERS), help=f"at most {len(SPEAKERS)}")
    ap.add_argument("--other-keys", type=int, default=3, help="keys the informed attacker enrols with")
    ap.add_argument("--no-asr", action="store_true", help="skip the word error rates")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "anonymizer-voice-attack")
    args = ap.parse_args(argv)
    n_spk = max(2, min(args.speakers, len(SPEAKERS)))

    t0 = time.perf_counter()
    utts = synthesise(n_spk, args.cache)
    enrol = [u for u in utts if u.enrol]
    tests = [u for u in utts if not u.enrol]
    print(f"{n_spk} speakers, {len(enrol)} enrolment and {len(tests)} test utterances "
          f"({sum(u.audio.size for u in utts) / RATE / 60:.1f} min), espeak-ng {time.perf_counter() - t0:.1f} s")

    from kernels import voice

    voice.warmup()
    target = hashlib.sha256(b"target key").digest()
    others = [hashlib.sha256(b"other key %d" % k).digest() for k in range(args.other_keys)]
    t1 = time.perf_counter()
    disguised = [disguise(u.audio, target) for u in tests]
    dt = time.perf_counter() - t1
    minutes = sum(u.audio.size for u in tests) / RATE / 60
    per_min = dt / minutes
    informed_enrol = [(u, disguise(u.audio, k)) for u in enrol for k in others]

    def by_speaker(items: list[tuple[int, np.ndarray]]) -> dict[int, list[np.ndarray]]:
        out: dict[int, list[np.ndarray]] = {}
        for s, a in items:
            out.setdefault(s, []).append(mfcc(a))
        return out

    clean_model = GmmUbm(by_speaker([(u.speaker, u.audio) for u in enrol]))
    informed_model = GmmUbm(by_speaker([(u.speaker, a) for u, a in informed_enrol]))
    clean_tests = [(u.speaker, mfcc(u.audio)) for u in tests]
    dis_tests = [(u.speaker, mfcc(a)) for u, a in zip(tests, disguised, strict=True)]
    chance = 1.0 / n_spk
    rows = [
        ("clean (enrol clean, test clean)", top1(clean_model, clean_tests)),
        ("ignorant (enrol clean, test disguised)", top1(clean_model, dis_tests)),
        (f"informed (enrol disguised with {len(others)} other keys)", top1(informed_model, dis_tests)),
    ]
    wers: list[tuple[str, float, float]] = []
    if not args.no_asr:
        for lang in SENTENCES:
            idx = [i for i, u in enumerate(tests) if u.lang == lang]
            refs = [tests[i].text for i in idx]
            orig = transcribe(lang, [tests[i].audio for i in idx])
            dis = transcribe(lang, [disguised[i] for i in idx])
            wers.append((lang, wer(list(zip(refs, orig, strict=True))), wer(list(zip(refs, dis, strict=True)))))

    print(f"\nspeaker identification, top-1 over {len(tests)} test utterances (chance {100 * chance:.1f} %, "
          f"goal for informed <= {200 * chance:.1f} %)")
    for name, acc in rows:
        print(f"  {name:<52} {100 * acc:5.1f} %")
    for lang, w0, w1 in wers:
        print(f"  WER {lang} (Whisper): original {w0:5.1f} %, disguised {w1:5.1f} % (+{w1 - w0:.1f} points)")
    print(f"  disguise time: {per_min:.2f} s per minute of 16 kHz audio (1 thread)")
    print(f"  total {time.perf_counter() - t0:.0f} s\n")

    print("| measure | value |")
    print("|---|---|")
    print(f"| speakers (espeak-ng variants, synthetic) | {n_spk} (chance {100 * chance:.1f} %) |")
    for name, acc in rows:
        print(f"| speaker ID top-1, {name} | {100 * acc:.1f} % |")
    for lang, w0, w1 in wers:
        print(f"| WER {lang}, original → disguised | {w0:.1f} % → {w1:.1f} % |")
    print(f"| disguise time per audio minute (16 kHz, 1 core) | {per_min:.2f} s |")


if __name__ == "__main__":
    main()
