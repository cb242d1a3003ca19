"""PII detection over text (screen lines or transcripts) with Presidio — the only place
Presidio is imported. Presidio was chosen because recognizers are small, testable classes
behind a registry (Presidio's ``RecognizerRegistry``, loaded by ``_analyzer``) and finding
PII is kept apart from redacting it.

``Detector.find(text)`` = Presidio (spaCy NER EN+FR, phone, card, IBAN, our FR/EN patterns)
+ the roster (colleagues and the recorded agent) + the recording's *known values*
(``anonymizer.detect.known``): every value found anywhere in this recording (screen or
audio) is searched everywhere else."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from anonymizer.config import DetectConfig
from anonymizer.detect.known import KNOWN_TYPES, KnownValues
from anonymizer.detect.labels import is_ui_text
from anonymizer.detect.phonetic import is_common
from anonymizer.detect.roster import Employee
from anonymizer.errors import ModelError
from anonymizer.textnorm import digits
from anonymizer.types import Finding

_log = logging.getLogger(__name__)
# Presidio warns once per call about entity/label mapping details we configure on purpose.
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
_ANALYZER_LOCK = threading.Lock()
_ANALYZERS: dict[tuple[str, ...], object] = {}


def preload(config: DetectConfig) -> None:
    """Start loading the Presidio/spaCy engine for ``config``'s languages in a background
    thread, so it loads while the screen is read; ``Detector`` then finds it loaded, or
    waits for it. A failure here is left for ``Detector`` to raise (it loads again)."""
    import models

    languages = tuple(config.languages)
    for lang in languages:  # a missing model is said now, not after the screen was read
        try:
            models.spacy_package(lang)
        except models.ModelNotFound as exc:
            raise ModelError(f"NER model unavailable: {exc}") from exc
    with _ANALYZER_LOCK:
        if languages in _ANALYZERS:
            return

    def load() -> None:
        try:
            _analyzer(languages)
        except Exception:  # noqa: BLE001 (Detector() raises it, naming the model)
            _log.debug("background load of the detection models failed", exc_info=True)

    threading.Thread(target=load, name="detect-preload", daemon=True).start()


def _analyzer(languages: tuple[str, ...]) -> object:
    """One Presidio AnalyzerEngine per language set per process (loading spaCy costs ~5 s)."""
    with _ANALYZER_LOCK:
        if languages in _ANALYZERS:
            return _ANALYZERS[languages]
        import models

        try:
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
            from presidio_analyzer.predefined_recognizers import (
                IbanRecognizer,
                PhoneRecognizer,
                SpacyRecognizer,
            )

            from anonymizer.detect.recognizers import simple_recognizers

            ner = NerModelConfiguration(
                model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
                labels_to_ignore=["ORG", "MISC", "NORP", "CARDINAL", "LOC", "GPE", "FAC", "DATE", "TIME", "PRODUCT", "EVENT",
                                  "WORK_OF_ART", "LAW", "LANGUAGE", "PERCENT", "MONEY", "QUANTITY", "ORDINAL"],
            )
            from anonymizer.detect import recache

            recache.prime()  # the French tokenizer's pattern, compiled at install
            nlp = SpacyNlpEngine(
                models=[{"lang_code": lang, "model_name": str(models.spacy_model_dir(lang))} for lang in languages],
                ner_model_configuration=ner,
            )
            nlp.load()
            registry = RecognizerRegistry(supported_languages=list(languages))
            for lang in languages:
                registry.add_recognizer(_national_phones(PhoneRecognizer)(supported_language=lang, supported_regions=("FR", "GB", "US", "BE", "CH", "DE", "ES", "IT", "CA")))
                registry.add_recognizer(IbanRecognizer(supported_language=lang))
                registry.add_recognizer(SpacyRecognizer(supported_language=lang, supported_entities=["PERSON"]))
                for rec in simple_recognizers(lang):
                    registry.add_recognizer(rec)
            engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=list(languages))
        except models.ModelNotFound as exc:
            raise ModelError(f"NER model unavailable: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise ModelError(f"Presidio/spaCy could not load: {exc}") from exc
        _ANALYZERS[languages] = engine
        return engine


def spoken_name(value: str) -> bool:
    """Whether a name the language model found in a transcript can be one: Whisper writes
    names with a capital, so at least one word must be capitalised and not a common word.
    spaCy's small English model tags "Thank you for waiting" and "you with today" as
    persons in call transcripts; the roster, the known values and the words after "my name is"
    are searched for on their own."""
    return any(w[:1].isupper() and not is_common(w) for w in re.findall(r"[^\W\d_]+", value))


# Particles a full name may hold ("Marie-Hélène Le Guen", "Jan van der Berg").
_NAME_PARTICLES = frozenset("de d du des la le van von der den da di del della dos das ben bin el al".split())


def full_name_shape(value: str) -> bool:
    """Two to four capitalised words of letters, none a common word or a UI word, and
    name particles: "Francois Gauthier", not "Average", "Quote" or "appelle pour"."""
    words = value.split()
    if len(words) > 6 or not all(re.fullmatch(r"[^\W\d_](?:[^\W\d_]|['’.-])*", w) for w in words):
        return False
    names = [w for w in words if w.lower() not in _NAME_PARTICLES]
    return 2 <= len(names) <= 4 and all(w[0].isupper() and not is_common(w) and not is_ui_text(w) for w in names)


def screen_language(texts: Iterable[str], languages: Iterable[str]) -> str | None:
    """The language a screen's text is written in, from the stop words of three letters or
    more that belong to one of ``languages`` only (spaCy's lists), counted over every text
    as often as it was on screen (the interface stays; values come and go): a language
    with at least 20 of them and three times as many as any other. None when the screen
    is mixed or says too little."""
    import importlib

    langs = list(languages)
    if len(langs) < 2:
        return langs[0] if langs else None
    stops = {lang: frozenset(w for w in importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS if len(w) >= 3)
             for lang in langs}
    own = {lang: stops[lang].difference(*(stops[o] for o in langs if o != lang)) for lang in langs}
    counts = dict.fromkeys(langs, 0)
    for text, n in Counter(texts).items():
        for w in re.findall(r"[^\W\d_]+", text.lower()):
            for lang in langs:
                counts[lang] += n * (w in own[lang])
    best = max(langs, key=lambda lang: counts[lang])
    rest = max(counts[lang] for lang in langs if lang != best)
    return best if counts[best] >= 20 and counts[best] >= 3 * rest else None


@dataclass
class Detector:
    config: DetectConfig
    roster: list[Employee] = field(default_factory=list)
    agent_id: str | None = None
    keep_categories: tuple[str, ...] = ()  # [redact] categories kept readable: not leaks
    # The language the screen is written in (``screen_language``), when it is plain: a name
    # that only the other language's model sees on that screen must look like a full name.
    screen_language: str | None = None
    _cache: dict[str, list[tuple[str, Finding]]] = field(default_factory=dict)
    known: KnownValues = field(default_factory=KnownValues, init=False, repr=False)  # this recording's values

    def __post_init__(self) -> None:
        self._engine = _analyzer(tuple(self.config.languages))
        supported = set(self._engine.get_supported_entities())  # type: ignore[attr-defined]
        self._entities = [e for e in self.config.entities if e in supported]
        # the policy's own id shapes ([detect] id_patterns), per request: the engine is shared
        from anonymizer.detect.recognizers import IdPatternRecognizer

        self._ad_hoc = [IdPatternRecognizer(p, lang) for p in self.config.id_patterns for lang in self.config.languages]
        self._entities += [p.name for p in self.config.id_patterns]
        for emp in self.roster:
            category = "agent" if self.agent_id and emp.employee_id == self.agent_id else "colleague"
            for etype, value in emp.values():
                self.add_known(etype, value, category, roster=True)

    # -- known values ------------------------------------------------------------------
    def registers(self, entity_type: str) -> bool:
        """Whether a finding of this type joins the known values: the built-in specific
        types and the policy's own id shapes ([detect] id_patterns)."""
        return entity_type in KNOWN_TYPES or any(p.name == entity_type for p in self.config.id_patterns)

    def add_known(self, entity_type: str, value: str, category: str = "customer", *, roster: bool = False,
                  strong: bool | None = None) -> None:
        """Remember a value found somewhere in this recording, to find it everywhere
        (``KnownValues.add``)."""
        self.known.add(entity_type, value, category, roster=roster, strong=strong)

    # -- detection ---------------------------------------------------------------------
    def find(self, text: str, *, spoken: bool = False) -> list[Finding]:
        """Findings in ``text``; ``spoken``: a transcript, where names are also matched
        by sound (speech-to-text spells what it hears: "Win" for "Nguyen")."""
        if not text.strip():
            return []
        found = self._cache.get(text)
        if found is None:
            found = self._presidio(text)
            self._cache[text] = found
        base = [f for lang, f in found if spoken or self._screen_finding(text, lang, f)]
        extra = self.known.sounding_names(text) if spoken else []
        if spoken:  # see spoken_name
            base = [f for f in base if f.entity_type != "PERSON" or spoken_name(text[f.start : f.end])]
        return _dedupe(base + self.known.matches(text) + extra)

    def find_known(self, text: str) -> list[Finding]:
        """Exact matches of the roster and of this recording's strong known values, less
        the kept categories (to verify an output: generic recognizers and fuzzy matching
        would fire on redaction texture and OCR garbage; a value that really leaked reads
        back exactly)."""
        if not text.strip():
            return []
        return _dedupe(f for f in self.known.matches(text, strong_only=True) if f.category not in self.keep_categories)

    def _screen_finding(self, text: str, lang: str, f: Finding) -> bool:
        """Whether a finding of ``lang``'s recognizers holds on a screen written in
        ``screen_language``. Each spaCy model, run on the other language's interface,
        tags ordinary words as persons: the French model "Average" (of "Average time")
        and "Quote" (of "Quote sent"), the English one "mensuel" (of "Montant mensuel")
        and "appelle pour" (of a note). Such a name stands only in a full name's shape."""
        if f.entity_type != "PERSON" or self.screen_language in (None, lang):
            return True
        return full_name_shape(text[f.start : f.end])

    def _presidio(self, text: str) -> list[tuple[str, Finding]]:
        out: list[tuple[str, Finding]] = []
        for lang in self.config.languages:
            results = self._engine.analyze(  # type: ignore[attr-defined]
                text=text, language=lang, entities=self._entities, score_threshold=self.config.score_threshold,
                ad_hoc_recognizers=self._ad_hoc,
            )
            for r in results:
                for start, end in _field_parts(text, r.start, r.end, r.entity_type):
                    if r.entity_type in ("PERSON", "EMAIL_ADDRESS"):
                        trimmed = _trim_labels(text, start, end, name=r.entity_type == "PERSON")
                        if trimmed is None:
                            continue
                        start, end = trimmed
                    elif r.entity_type == "EXTENSION":  # "poste 4127": the label stays readable
                        start += re.search(r"\d", text[start:end]).start()  # type: ignore[union-attr]
                    out.append((lang, Finding(r.entity_type, start, end, float(r.score))))
        return out


def _national_phones(base: type) -> type:
    """Presidio's libphonenumber recognizer (national writings of other countries), minus
    what it finds in clocks, prices and dates: a match whose first screen field holds
    fewer digits than a phone number ("09.18.09", the "03" of "723.03  2026-01-28") is no phone number."""

    from anonymizer.detect.ids import PHONE_DIGITS

    class NationalPhoneRecognizer(base):  # type: ignore[misc, valid-type]
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            out = []
            for r in super().analyze(text, entities, nlp_artifacts):
                s, e = _field_parts(text, r.start, r.end, r.entity_type)[0]
                if len(digits(text[s:e])) >= PHONE_DIGITS[0]:
                    out.append(r)
            return out

    return NationalPhoneRecognizer


def _field_parts(text: str, start: int, end: int, entity_type: str) -> list[tuple[int, int]]:
    """A wide gap ("  " in a rebuilt line) separates screen fields: a NER span is cut
    into its parts, a pattern span ends at the first gap (an address pattern running into
    the history table beside it, a phone pattern into the clock)."""
    parts, pos = [], start
    for m in re.finditer(r"  +", text[start:end]):
        parts.append((pos, start + m.start()))
        pos = start + m.end()
    parts.append((pos, end))
    parts = [(s, e) for s, e in parts if e > s]
    return parts if entity_type == "PERSON" else parts[:1]


def _trim_labels(text: str, start: int, end: int, *, name: bool = False) -> tuple[int, int] | None:
    """Drop UI label words at either end of a NER span (and, for a ``name``, words of more
    digits than letters, such as a history date); None if nothing but labels remain."""
    tokens = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^\s:,;()]+", text[start:end])]

    def label(tok: tuple[int, int]) -> bool:
        word = text[tok[0] : tok[1]]
        # a name's word is mostly letters ("T74420" is a ticket, "2026" a date)
        return is_ui_text(word, fuzzy=True) or (name and sum(c.isdigit() for c in word) >= sum(c.isalpha() for c in word))

    while tokens and label(tokens[0]):
        tokens.pop(0)
    while tokens and label(tokens[-1]):
        tokens.pop()
    if not tokens:
        return None
    s, e = tokens[0][0], tokens[-1][1]
    if e - s < 2 or not re.search(r"[A-Za-zÀ-ÿ]", text[s:e]):
        return None
    return s, e


def _rank(f: Finding) -> tuple[bool, float, bool]:
    """Colleague/agent attribution first, then score, then a specific type over NUMBER."""
    return (f.category != "customer", f.score, f.entity_type not in ("NUMBER", "UNSURE"))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: dict[tuple[int, int], Finding] = {}
    for f in findings:
        key = (f.start, f.end)
        old = seen.get(key)
        if old is None or _rank(f) > _rank(old):
            seen[key] = f
    return sorted(seen.values(), key=lambda f: (f.start, f.end))
