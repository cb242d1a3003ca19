"""Phone calls to hear (issue 17): a corpus of call audio and the bench of the speech side.

The screen generators speak every value back to back, so a call there is almost all
personal data and "speech kept" says little. These calls sound more like calls: an agent
and a customer talk about an invoice, a contract or a move, and in between the customer
gives a name (and spells it), numbers digit by digit or in groups, corrects a digit, is put
on hold; the agent names a colleague.

Voices: four engines available offline from Debian, reported separately (robotic voices are
harder for speech-to-text than people): ``espeak-ng``'s formant voices (EN and FR, several
variants), ``flite`` (EN only: kal, awb, rms, slt), SVOX Pico (``pico2wave``: en-US, en-GB,
fr-FR, one voice each, varied in pitch) and MBROLA's diphone voices through espeak-ng (EN:
us1-3, en1; FR: fr1-4). Pico and MBROLA are far closer to people than the formant voices:
Whisper base hears French Pico almost word for word where it hears French espeak-ng as
noise. They come from Debian's contrib and non-free sections (``make bench-voices``).
Speaking rate varies per speaker.

Line: 8 kHz telephony (300-3400 Hz band, then a G.711 mu-law pass) or 16 kHz wideband; light
noise; agent and customer on separate channels (stereo, sometimes with crosstalk of the
other side at -30 dB) or mixed (mono).

Truth: every utterance's span, speaker, channel and whether it is personal data (with its
type and value), so that both the spans left audible and the share of ordinary speech kept
are exact.

Seeds: development seeds are < 1000; seeds >= 1000 are held out (``seeds(n, held_out)``)
and never tuned on.

The bench (``python -m benchmarks.call_audio --n 4 [--held-out]``) runs the product's own
speech path (``anonymizer.speech.spans``) on each call, bleeps it as a run would, and
prints per call and per engine: spans audible, ordinary speech kept, seconds bleeped per
reason, and the time per minute of audio. ``--model`` compares speech models side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import corpus
from benchmarks.score import _span_survival, _windows

HELD_OUT_FROM = 1000
SCORE_SR = 16000  # the scorer's rate (benchmarks.score)

ESPEAK_VOICES = {"en": ["en-us+m1", "en-us+f2", "en-gb+m3", "en-gb+f4", "en-us+m7", "en-gb+f1"],
                 "fr": ["fr+m1", "fr+f2", "fr+m3", "fr+f4", "fr+m7", "fr+f1"]}
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]
# Pico has one voice per language; a voice here is "language@pitch" (Pico's pitch level, 100
# is the voice's own), so that agent and customer do not sound alike.
PICO_VOICES = {"en": ["en-US@85", "en-GB@100", "en-US@125", "en-GB@75"], "fr": ["fr-FR@80", "fr-FR@100", "fr-FR@125"]}
MBROLA_VOICES = {"en": ["mb-us1", "mb-us2", "mb-us3", "mb-en1"], "fr": ["mb-fr1", "mb-fr2", "mb-fr3", "mb-fr4"]}
ENGINES = {"en": ["espeak", "flite", "pico", "mbrola"], "fr": ["espeak", "pico", "mbrola"]}
VOICE_POOLS = {"espeak": ESPEAK_VOICES, "flite": {"en": FLITE_VOICES}, "pico": PICO_VOICES, "mbrola": MBROLA_VOICES}
# The program each engine needs, and the Debian package it comes in.
ENGINE_TOOLS = {"espeak": ("espeak-ng", "espeak-ng"), "flite": ("flite", "flite"),
                "pico": ("pico2wave", "libttspico-utils"), "mbrola": ("mbrola", "mbrola and its voices")}

# Ordinary talk, none of it personal: (speaker, sentence).
SMALL_TALK = {
    "en": [
        ("customer", "I'm calling about my last invoice, the amount looks higher than usual."),
        ("agent", "I understand, let me pull up your file, it will only take a moment."),
        ("customer", "I also moved last month and I would like to update my details."),
        ("agent", "Of course, we can do that together right now."),
        ("agent", "I can see that your contract was renewed in the spring."),
        ("customer", "Yes, and I thought the price would stay the same."),
        ("agent", "The new rate includes the breakdown cover you added."),
        ("customer", "Ah, I see. Can I remove that option?"),
        ("agent", "Yes, the change will apply from the next billing period."),
        ("customer", "That's fine, thank you for explaining."),
        ("agent", "Is there anything else I can help you with today?"),
        ("customer", "Could you send me a confirmation by post as well?"),
        ("agent", "Certainly, you will receive a letter within a week."),
        ("customer", "Great, and how long does the refund usually take?"),
        ("agent", "Usually about ten working days once it is approved."),
        ("agent", "I have noted everything on your file."),
    ],
    "fr": [
        ("customer", "Je vous appelle au sujet de ma dernière facture, le montant me paraît élevé."),
        ("agent", "Je comprends, je consulte votre dossier, cela ne prendra qu'un instant."),
        ("customer", "J'ai aussi déménagé le mois dernier et je voudrais mettre à jour mes coordonnées."),
        ("agent", "Bien sûr, nous pouvons le faire ensemble tout de suite."),
        ("agent", "Je vois que votre contrat a été renouvelé au printemps."),
        ("customer", "Oui, et je pensais que le tarif resterait le même."),
        ("agent", "Le nouveau tarif comprend l'assistance que vous avez ajoutée."),
        ("customer", "Ah, d'accord. Est-ce que je peux supprimer cette option ?"),
        ("agent", "Oui, le changement s'appliquera à la prochaine échéance."),
        ("customer", "Très bien, merci pour vos explications."),
        ("agent", "Est-ce que je peux faire autre chose pour vous aujourd'hui ?"),
        ("customer", "Pourriez-vous aussi m'envoyer une confirmation par courrier ?"),
        ("agent", "Certainement, vous recevrez un courrier dans la semaine."),
        ("customer", "Parfait, et le remboursement prend combien de temps en général ?"),
        ("agent", "En général une dizaine de jours ouvrés après validation."),
        ("agent", "J'ai tout noté dans votre dossier."),
    ],
}

LINES = {
    "en": {"hello": "Hello, you're speaking with {}, how can I help you?",
           "name": "My name is {}.", "spell": "That's {}.", "phone": "My phone number is {}.",
           "correct": "My card number is {}, no sorry, {}.", "card": "My card number is {}.",
           "iban": "My IBAN is {}.", "customer_id": "My customer number is {}.",
           "colleague": "My colleague {} will call you back.", "hold": "Please hold the line for a moment.",
           "back": "Thank you for waiting.", "bye": "Thank you for calling, goodbye."},
    "fr": {"hello": "Bonjour, vous êtes en ligne avec {}, que puis-je faire pour vous ?",
           "name": "Je m'appelle {}.", "spell": "Ça s'écrit {}.", "phone": "Mon numéro de téléphone est le {}.",
           "correct": "Mon numéro de carte est le {}, non pardon, {}.", "card": "Mon numéro de carte est le {}.",
           "iban": "Mon IBAN est {}.", "customer_id": "Mon numéro client est le {}.",
           "colleague": "Mon collègue {} vous rappellera.", "hold": "Je vous mets en attente un instant.",
           "back": "Merci de votre patience.", "bye": "Merci de votre appel, bonne journée."},
}


@dataclass
class Utterance:
    who: str  # agent | customer
    text: str
    pii: tuple[str, str] | None = None  # (type, value) when the whole utterance is personal data
    start_s: float = 0.0
    end_s: float = 0.0


@dataclass
class CallSpec:
    seed: int
    lang: str
    engine: str  # espeak | flite | pico | mbrola
    rate: int  # 8000 | 16000
    stereo: bool
    crosstalk: bool
    duration_s: float
    voices: dict[str, str] = field(default_factory=dict)
    wpm: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        layout = "stereo" if self.stereo else "mono"
        return f"c{self.seed}-{self.lang}-{self.engine}-{self.rate // 1000}k-{layout}"


def seeds(n: int, held_out: bool = False, engines: Sequence[str] = (), start: int | None = None) -> list[int]:
    """The first ``n`` development (or held-out) seeds from ``start``, of ``engines`` only
    when given."""
    out, s = [], start if start is not None else HELD_OUT_FROM if held_out else 1
    while len(out) < n and s < (2 * HELD_OUT_FROM if held_out else HELD_OUT_FROM):
        if not engines or spec_of(s).engine in engines:
            out.append(s)
        s += 1
    return out


def spec_of(seed: int) -> CallSpec:
    """The call drawn for ``seed``: language, engine, line, layout and voices alternate with
    the seed so that consecutive seeds cover FR/EN, every engine of the language, 8/16 kHz
    and mono/stereo."""
    rng = random.Random(f"call-audio:{seed}")
    lang = ("en", "fr")[seed % 2]
    engines = ENGINES[lang]
    k = seed // 2  # the call's rank in its language
    cycle = k // len(engines)  # each engine once per cycle; line and layout move between cycles
    engine = engines[k % len(engines)]
    rate = (8000, 16000)[(k + (cycle if len(engines) % 2 == 0 else 0)) % 2]  # each engine on both lines
    stereo = (k + cycle) % 3 != 0
    pool = VOICE_POOLS[engine][lang]
    agent, customer = rng.sample(pool, 2)
    return CallSpec(seed=seed, lang=lang, engine=engine, rate=rate, stereo=stereo,
                    crosstalk=stereo and rng.random() < 0.5, duration_s=rng.uniform(60.0, 90.0),
                    voices={"agent": agent, "customer": customer},
                    wpm={"agent": rng.randint(145, 190), "customer": rng.randint(135, 185)})


def _spell(word: str) -> str:
    return ", ".join(ch.upper() for ch in corpus._ascii(word) if ch.isalpha())


def _dialogue(spec: CallSpec) -> list[list[Utterance] | float]:
    """Turns (a list of utterances, placed whole or not at all: a carrier such as "my IBAN
    is" never without its value), and holds (a float: seconds of silence). Personal data
    stands in utterances of its own so that its truth span is exact."""
    rng = random.Random(f"dialogue:{spec.seed}")
    data = corpus._make_data(rng, spec.lang, full=False)
    L = LINES[spec.lang]
    cu, ag, col = data.customer, data.agent, data.colleagues[0]
    fr = spec.lang == "fr"
    digits = "".join(ch for ch in cu.card if ch.isdigit())
    wrong = digits[:-1] + str((int(digits[-1]) + 3) % 10)

    def grouped(v: str) -> str:
        return ", ".join(v.split()) if fr else corpus._say(v)

    def ask(key: str, who: str, typ: str, value: str, spoken: str) -> list[Utterance]:
        head, _, tail = L[key].partition("{}")
        out = [Utterance(who, head.strip(" ,")), Utterance(who, spoken, (typ, value))]
        if tail.strip(" .,?"):
            out.append(Utterance(who, tail.strip(" ,")))
        return out

    card_groups = corpus._say(cu.card) if not fr else ", ".join(cu.card.split())
    wrong_groups = " ".join(wrong)
    head, _, rest = L["correct"].partition("{}")
    mid, _, _ = rest.partition("{}")
    card_turn = [Utterance("customer", head.strip(" ,")), Utterance("customer", wrong_groups, ("CREDIT_CARD", wrong)),
                 Utterance("customer", mid.strip(" ,")), Utterance("customer", card_groups, ("CREDIT_CARD", cu.card))]
    values: list[list[Utterance]] = [
        [*ask("name", "customer", "PERSON", cu.name, cu.name), Utterance("customer", L["spell"].partition("{}")[0].strip()),
         Utterance("customer", _spell(cu.last), ("PERSON", cu.last))],
        ask("phone", "customer", "PHONE_NUMBER", cu.phone, cu.phone_spoken if rng.random() < 0.5 else grouped(cu.phone)),
        card_turn if rng.random() < 0.5 else ask("card", "customer", "CREDIT_CARD", cu.card, card_groups),
        ask("iban", "customer", "IBAN_CODE", cu.iban, corpus._say(cu.iban)),
        ask("colleague", "agent", "PERSON", col.name, col.name),
    ]
    talk = list(SMALL_TALK[spec.lang])
    rng.shuffle(talk)
    out: list[list[Utterance] | float] = [ask("hello", "agent", "PERSON", ag.name, ag.name)]
    for k, v in enumerate(values):
        out += [[Utterance(who, text)] for who, text in talk[2 * k: 2 * k + 2]]
        out.append(v)
        if k == 2:
            out += [[Utterance("agent", L["hold"])], rng.uniform(2.0, 4.0), [Utterance("agent", L["back"])]]
    out += [[Utterance(who, text)] for who, text in talk[2 * len(values):]]
    out.append([Utterance("agent", L["bye"])])
    return out


class Voices:
    """espeak-ng, flite, Pico and MBROLA, cached on disk by (engine, voice, rate, text)."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def say(self, engine: str, voice: str, wpm: int, text: str, sr: int) -> np.ndarray:
        import hashlib

        key = hashlib.sha1(f"{engine}|{voice}|{wpm}|{text}".encode()).hexdigest()[:20]
        path = self.cache / f"{key}.wav"
        if not path.exists():
            tmp = path.with_suffix(".tmp.wav")
            tool, package = ENGINE_TOOLS[engine]
            if shutil.which(tool) is None:
                sys.exit(f"{tool} is required for the {engine} voices ({package}: make bench-voices)")
            subprocess.run(_speak_command(engine, voice, wpm, text, tmp), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            tmp.rename(path)
        with wave.open(str(path), "rb") as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
            sr_in = w.getframerate()
        x = corpus._lowpass_resample(x, sr_in, sr)
        idx = np.nonzero(np.abs(x) > 0.01 * max(1e-6, float(np.abs(x).max())))[0]
        return x[idx[0]: idx[-1] + 1].copy() if len(idx) else x


def _speak_command(engine: str, voice: str, wpm: int, text: str, out: Path) -> list[str]:
    if engine in ("espeak", "mbrola"):  # MBROLA's diphones are driven by espeak-ng (mb-* voices)
        return ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(out), text]
    if engine == "pico":  # Pico's markup: speed 100 is the voice's own (about 165 words a minute)
        lang, _, pitch = voice.partition("@")
        marked = f"<pitch level='{pitch or 100}'><speed level='{round(100 * wpm / 165)}'>{text}</speed></pitch>"
        return ["pico2wave", "-l", lang, "-w", str(out), marked]
    # flite: duration_stretch slows (>1) or speeds up (<1) the voice
    return ["flite", "-voice", voice, "--setf", f"duration_stretch={170 / wpm:.3f}", "-t", text, "-o", str(out)]


def _telephone(x: np.ndarray, sr: int) -> np.ndarray:
    """300-3400 Hz band, then G.711 mu-law (8-bit companding) and back."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / sr)
    spec[(f < 300) | (f > 3400)] = 0
    y = np.clip(np.fft.irfft(spec, len(x)), -1, 1)
    mu = 255.0
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    q = np.round(c * 127) / 127
    return (np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu).astype(np.float32)


def make_call(spec: CallSpec, voices: Voices) -> tuple[np.ndarray, list[Utterance]]:
    """(channels, samples) float32 at ``spec.rate``, and the placed utterances."""
    rng = random.Random(f"layout:{spec.seed}")
    sr = spec.rate
    n = int(spec.duration_s * sr)
    tracks = np.zeros((2, n), np.float32)  # agent, customer
    placed: list[Utterance] = []
    t = rng.uniform(0.3, 1.0)
    last_who = None
    for turn in _dialogue(spec):
        if isinstance(turn, float):
            t += turn
            continue
        # lay the turn out first: it is placed whole or skipped
        laid, t1, who1 = [], t, last_who
        for u in turn:
            x = voices.say(spec.engine, spec.voices[u.who], spec.wpm[u.who], u.text, sr)
            if who1 is not None:
                t1 += rng.uniform(0.15, 0.35) if u.who == who1 else rng.uniform(0.3, 0.9)
            s0 = int(t1 * sr)
            laid.append((u, s0, x))
            t1, who1 = (s0 + len(x)) / sr, u.who
        if t1 * sr > n - int(0.3 * sr):
            continue
        for u, s0, x in laid:
            tracks[0 if u.who == "agent" else 1, s0: s0 + len(x)] += 0.6 * x / max(1e-6, float(np.abs(x).max()))
            placed.append(Utterance(u.who, u.text, u.pii, round(s0 / sr, 4), round((s0 + len(x)) / sr, 4)))
        t, last_who = t1, who1
    nrng = np.random.default_rng(spec.seed)
    if spec.stereo:
        out = tracks.copy()
        if spec.crosstalk:
            out[0] += 0.03 * tracks[1]
            out[1] += 0.03 * tracks[0]
    else:
        out = (tracks[0] + tracks[1])[None, :]
    out += nrng.normal(0, 10 ** (nrng.uniform(-48, -40) / 20), out.shape).astype(np.float32)
    if sr == 8000:
        out = np.stack([_telephone(ch, sr) for ch in out])
    return np.clip(out, -1, 1).astype(np.float32), placed


def write_wav(path: Path, samples: np.ndarray, sr: int) -> None:
    pcm = (np.clip(samples.T, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def generate(out_dir: Path, seed: int, cache: Path | None = None) -> tuple[Path, Path, Path]:
    """``out_dir``/call.wav, call.truth.json and call.roster.csv for ``seed``."""
    spec = spec_of(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples, placed = make_call(spec, Voices(cache or Path(tempfile.gettempdir()) / "anonymizer-call-voices"))
    wav, truth, roster = out_dir / "call.wav", out_dir / "call.truth.json", out_dir / "call.roster.csv"
    write_wav(wav, samples, spec.rate)
    corpus._write_roster(roster, corpus._make_data(random.Random(f"dialogue:{seed}"), spec.lang, full=False))
    truth.write_text(json.dumps({
        "seed": seed, "held_out": seed >= HELD_OUT_FROM, "lang": spec.lang, "engine": spec.engine, "rate": spec.rate,
        "channels": samples.shape[0], "crosstalk": spec.crosstalk, "voices": spec.voices, "wpm": spec.wpm,
        "duration_s": round(samples.shape[1] / spec.rate, 4),
        "speech": [{"start_s": u.start_s, "end_s": u.end_s, "who": u.who, "channel": (0 if u.who == "agent" else 1) if spec.stereo else 0,
                    "pii": u.pii is not None, "type": u.pii[0] if u.pii else None, "value": u.pii[1] if u.pii else None,
                    "text": u.text} for u in placed],
    }, indent=1, ensure_ascii=False))
    return wav, truth, roster


# --------------------------------------------------------------------------- scoring


def _to16k(x: np.ndarray, sr: int) -> np.ndarray:
    return corpus._lowpass_resample(x, sr, SCORE_SR) if sr != SCORE_SR else x.astype(np.float32)


def score_call(truth: dict[str, Any], orig: np.ndarray, out: np.ndarray, sr: int) -> dict[str, Any]:
    """Spans of personal data left audible (on the channel that said them, and on the other
    one when it carries crosstalk) and the share of ordinary speech kept (20-ms speech
    windows reaching the output unaltered), as ``benchmarks.score`` measures them."""
    o = [_to16k(ch, sr) for ch in orig]
    b = [_to16k(ch, sr) for ch in out]
    audible, n_pii = [], 0
    kept = n_speech = 0
    for u in truth["speech"]:
        chans = [u["channel"]]
        if u["pii"] and truth["crosstalk"]:
            chans.append(1 - u["channel"])
        if u["pii"]:
            n_pii += 1
            if any(_span_survival(o[c], b[c], u["start_s"], u["end_s"])["survived"] for c in chans):
                audible.append(u["value"])
        else:
            sp, corr, _ = _windows(o[u["channel"]], b[u["channel"]], u["start_s"], u["end_s"])
            kept += int((corr[sp] > 0.5).sum())
            n_speech += int(sp.sum())
    return {"pii_spans": n_pii, "audible": audible, "speech_kept": round(kept / n_speech, 4) if n_speech else None,
            "speech_s": round(n_speech * 0.02, 2)}


# --------------------------------------------------------------------------- bench


def _tokens(texts: Sequence[str]) -> list[str]:
    """Words as the product reads them (numbers written, case and accents folded), digits
    one by one, so that "5391" and "5 3 9 1" compare equal."""
    from anonymizer.speech.normalize import normalize
    from anonymizer.textnorm import alnum

    words = [w for t in texts for w in t.split()]
    out: list[str] = []
    for tok in normalize(words):
        text = alnum(tok.text)
        out += list(text) if text.isdigit() else [text] if text else []
    return out


def word_error(ref: list[str], hyp: list[str]) -> tuple[int, int]:
    """(edits, reference length): Levenshtein distance over words."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def hearing(truth: dict[str, Any], heard: Any) -> dict[str, Any]:
    """Word error of each transcript against what its stream said, and the share of words
    with a usable timestamp (heard in a segment Whisper did not lose, lasting between
    ``_MIN_WORD_S`` and ``LONG_WORD_S`` unless it holds a dictated number)."""
    from anonymizer.speech.spans import _MIN_WORD_S, LONG_WORD_S

    edits = n_ref = usable = n_words = 0
    for ch, words in zip(heard.channels, heard.words, strict=True):
        said = [u["text"] for u in sorted(truth["speech"], key=lambda u: u["start_s"]) if ch < 0 or u["channel"] == ch]
        e, n = word_error(_tokens(said), _tokens([w.text for w in words]))
        edits, n_ref = edits + e, n_ref + n
        n_words += len(words)
        usable += sum(w.probability > 0 and (_MIN_WORD_S <= w.end_s - w.start_s <= LONG_WORD_S or sum(c.isdigit() for c in w.text) >= 4)
                      for w in words)
    return {"wer": round(edits / n_ref, 4) if n_ref else None, "timed_share": round(usable / n_words, 4) if n_words else None}


def bench_call(seed: int, work: Path, cfg: Any, transcribers: dict[str, Any]) -> dict[str, Any]:
    from anonymizer.detect import Detector
    from anonymizer.detect.roster import load_roster
    from anonymizer.media.audio import read_audio
    from anonymizer.plan import Plan, bleep_summary, value_hasher
    from anonymizer.render import apply_audio
    from anonymizer.speech.spans import hear, transcript_spans

    wav, truth_path, roster_path = generate(work / f"c{seed}", seed)
    truth = json.loads(truth_path.read_text())
    track = read_audio(wav)
    hasher = value_hasher(b"k" * 32)
    t0 = time.perf_counter()
    heard = hear(track, transcribers[truth["lang"]])
    detector = Detector(cfg.detect, roster=load_roster(roster_path))
    spans = transcript_spans(heard, detector, cfg, hasher)
    wall = time.perf_counter() - t0
    plan = Plan(input_sha256="", width=2, height=2, duration_s=truth["duration_s"], config_sha256="", style="fill",
                boxes=[], audio_spans=spans)
    out = apply_audio(track, plan, cfg).samples
    r = score_call(truth, track.samples, out, track.sample_rate)
    r.update(hearing(truth, heard))
    r.update(name=spec_of(seed).name, engine=truth["engine"], lang=truth["lang"], rate=truth["rate"],
             channels=truth["channels"], duration_s=truth["duration_s"], wall_s=round(wall, 2),
             words=heard.n_words, bleeped=bleep_summary(spans, track.samples.shape[0], truth["duration_s"]))
    return r


def _model_name(directory: Path, bundled: bool) -> str:
    """The bundled models are tiny.en (English) and the multilingual base; others are named
    by their folder."""
    import models

    if not bundled:
        return Path(directory).name
    return "base" if models.whisper_is_multilingual(Path(directory)) else "tiny.en"


def _table(rows: list[dict[str, Any]], key: str) -> None:
    print(f"| {key} | calls | spans audible | speech kept (median / worst) | word error | usable timestamps | s per audio minute |")
    print("|---|---|---|---|---|---|---|")
    groups: dict[str, list[dict[str, Any]]] = {"all": rows}
    for r in rows:
        groups.setdefault(f"{r['lang']} {r['engine']}", []).append(r)
        groups.setdefault(f"{r['rate'] // 1000} kHz {'stereo' if r['channels'] == 2 else 'mono'}", []).append(r)
    for g, rs in groups.items():
        kept = [r["speech_kept"] or 0 for r in rs]
        print(f"| {g} | {len(rs)} | {sum(len(r['audible']) for r in rs)}/{sum(r['pii_spans'] for r in rs)} | "
              f"{100 * statistics.median(kept):.1f} % / {100 * min(kept):.1f} % | "
              f"{100 * statistics.median(r['wer'] or 0 for r in rs):.0f} % | "
              f"{100 * statistics.median(r['timed_share'] or 0 for r in rs):.0f} % | "
              f"{60 * sum(r['wall_s'] for r in rs) / sum(r['duration_s'] for r in rs):.1f} |")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4, help="calls (consecutive seeds)")
    ap.add_argument("--held-out", action="store_true", help="seeds >= 1000, never tuned on")
    ap.add_argument("--seed", type=int, action="append", help="these seeds instead")
    ap.add_argument("--engine", action="append", default=[], choices=sorted(ENGINE_TOOLS),
                    help="only calls voiced by this engine (repeatable)")
    ap.add_argument("--start", type=int, help="the first seed (held-out seeds already looked at are skipped this way)")
    ap.add_argument("--model", type=Path, action="append", default=[],
                    help="also a CTranslate2 Whisper folder, side by side with the bundled models (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="a policy setting for the speech path, e.g. audio.unsure_prob=0.4 (repeatable)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "anonymizer-call-audio")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args(argv)

    from anonymizer.config import load_config
    from anonymizer.errors import ConfigError
    from anonymizer.speech import WhisperTranscriber

    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        overrides.setdefault(section, {})[name] = json.loads(value)
    cfg = load_config(None, overrides)
    chosen = args.seed or seeds(args.n, args.held_out, args.engine, args.start)
    langs = sorted({spec_of(s).lang for s in chosen})
    rows = []
    for model in [None, *args.model]:
        label = "bundled" if model is None else "--model"
        transcribers = {}
        for lang in langs:
            try:
                transcribers[lang] = WhisperTranscriber(model, language=lang)
            except ConfigError as exc:  # an English-only model and a French call
                print(f"{label}: {lang} skipped ({exc})")
        for s in chosen:
            if spec_of(s).lang not in transcribers:
                continue
            r = bench_call(s, args.work, cfg, transcribers)
            r["model"] = f"{label} {_model_name(transcribers[r['lang']].model_dir, model is None)}"
            rows.append(r)
            b = r["bleeped"]
            print(f"{r['model'][:24]:24s} {r['name']:28s} {r['duration_s']:5.1f} s  words {r['words']:4d}  wer {100 * (r['wer'] or 0):3.0f} %"
                  f"  audible {len(r['audible'])}/{r['pii_spans']}  speech kept {100 * (r['speech_kept'] or 0):5.1f} %"
                  f"  bleeped {b['total_s']:5.1f} s {b['by_reason']}  {60 * r['wall_s'] / r['duration_s']:.1f} s/min", flush=True)
    for model in sorted({r["model"] for r in rows}):
        print(f"\n{model}")
        _table([r for r in rows if r["model"] == model], "group")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
