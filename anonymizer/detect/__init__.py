"""PII detection over text (screen lines or transcripts) with Presidio — the only place
Presidio is imported. Presidio was chosen because recognizers are small, testable classes
behind a registry and finding PII is kept apart from redacting it.

``Detector.find(text)`` = Presidio (spaCy NER EN+FR, phone, card, IBAN, our FR/EN patterns)
+ the roster (colleagues and the recorded agent) + the recording's *registry*: every value
found anywhere in this recording (screen or audio) is searched everywhere else."""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from anonymizer.config import DetectConfig
from anonymizer.detect.labels import UI_WORDS, is_ui_text, within_one_edit
from anonymizer.detect.phonetic import is_common, phonetic_keys, primary_key
from anonymizer.detect.roster import Employee
from anonymizer.errors import ModelError
from anonymizer.textnorm import digits, fold, ocr_canonical
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


# Values matched by their digits alone, whatever the separators or spoken grouping.
_DIGIT_TYPES = ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "NUMBER", "EXTENSION", "FR_NIR", "FR_RIB", "FR_SIREN", "FR_SIRET")


@dataclass
class KnownValue:
    entity_type: str
    category: str
    value: str
    pattern: re.Pattern[str] | None  # None: matched by digits
    strong: bool = True  # specific enough to prove a leak on its own (used by verification)


_SEP = r"[\s.\-_]*"


def _word_pattern(value: str, *, spelled: bool = False) -> re.Pattern[str] | None:
    """Words in order, any separators between them; ``spelled``: between every character
    too (an id or login said or spelled aloud: "E 1 0 2 3 4", "c d u b o i s")."""
    words = [re.escape(w) for w in re.split(r"\s+", fold(value).strip()) if w]
    if not words:
        return None
    if spelled and len(words) == 1:
        words = [re.escape(c) for c in fold(value).strip()]
    return re.compile(r"(?<![0-9a-z])" + _SEP.join(words) + r"(?![0-9a-z])")


# Findings specific enough to be searched for everywhere else in the recording. CVV (3-4
# digits) and dates are too short or too common to search for on their own.
REGISTRY_TYPES = frozenset({"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD", "EMPLOYEE_ID", "LOGIN", "EXTENSION",
                            "NUMBER", "FR_NIR", "FR_RIB", "FR_SIREN", "FR_SIRET"})


def spoken_name(value: str) -> bool:
    """Whether a name the language model found in a transcript can be one: Whisper writes
    names with a capital, so at least one word must be capitalised and not a common word.
    spaCy's small English model tags "Thank you for waiting" and "you with today" as
    persons in call transcripts; the roster, the registry and the words after "my name is"
    are searched for on their own."""
    return any(w[:1].isupper() and not is_common(w) for w in re.findall(r"[^\W\d_]+", value))


@dataclass
class Detector:
    config: DetectConfig
    roster: list[Employee] = field(default_factory=list)
    agent_id: str | None = None
    keep_categories: tuple[str, ...] = ()  # [redact] categories kept readable: not leaks
    _cache: dict[str, list[Finding]] = field(default_factory=dict)
    _known: dict[tuple[str, str], KnownValue] = field(default_factory=dict)
    # Registry matches per (text, strong_only), valid while the registry is unchanged: a
    # screen shows the same lines frame after frame, and every state is searched again once
    # the registry is complete (the calm 10-min call: most of its detection time).
    _matches: dict[tuple[str, bool], list[Finding]] = field(default_factory=dict)
    _fuzzy: tuple[dict[str, KnownValue], dict[str, KnownValue]] | None = None

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

    # -- registry --------------------------------------------------------------------
    def registers(self, entity_type: str) -> bool:
        """Whether a finding of this type joins the registry: the built-in specific types and
        the policy's own id shapes ([detect] id_patterns)."""
        return entity_type in REGISTRY_TYPES or any(p.name == entity_type for p in self.config.id_patterns)

    def add_known(self, entity_type: str, value: str, category: str = "customer", *, roster: bool = False,
                  strong: bool | None = None) -> None:
        """Remember a value found somewhere in this recording, to find it everywhere.

        Roster values, numbers and multi-word names are *strong*: finding one again in an
        output proves a leak. A single word that NER called a name (possibly OCR garbage
        like 'LulU') is still searched for during analysis, but not used as proof.
        ``strong=False`` says so for any value (a labelled field's)."""
        value = value.strip()
        if strong is None:
            strong = roster or entity_type != "PERSON" or len(re.findall(r"[^\W\d_]{2,}", value)) >= 2
        if entity_type in _DIGIT_TYPES and len(digits(value)) >= 4:
            key = ("#", digits(value))
            if key not in self._known:
                self._remember(key, KnownValue(entity_type, category, value, None, True))
            return
        if len(fold(value)) < 3 and entity_type != "EMPLOYEE_ID":
            return
        if entity_type in ("PERSON", "FIELD") and not roster and is_ui_text(value, fuzzy=True):
            return  # a misread label ("Demiere commande") is not a name to search everywhere
        key = ("w", fold(value))
        if key not in self._known:
            pat = _word_pattern(value, spelled=entity_type in ("EMPLOYEE_ID", "LOGIN"))
            if pat is not None:
                self._remember(key, KnownValue(entity_type, category, value, pat, strong))

    def _remember(self, key: tuple[str, str], kv: KnownValue) -> None:
        self._known[key] = kv
        self._matches.clear()  # found with the registry as it was
        self._fuzzy = None

    def known_values(self) -> list[KnownValue]:
        return list(self._known.values())

    # -- detection ---------------------------------------------------------------------
    def find(self, text: str, *, spoken: bool = False) -> list[Finding]:
        """Findings in ``text``; ``spoken``: a transcript, where names are also matched
        by sound (speech-to-text spells what it hears: "Win" for "Nguyen")."""
        if not text.strip():
            return []
        base = self._cache.get(text)
        if base is None:
            base = self._presidio(text)
            self._cache[text] = base
        extra = self._phonetic_names(text) if spoken else []
        if spoken:  # see spoken_name
            base = [f for f in base if f.entity_type != "PERSON" or spoken_name(text[f.start : f.end])]
        return _dedupe(base + self._registry_matches(text) + extra)

    def find_known(self, text: str) -> list[Finding]:
        """Exact matches of the roster and of this recording's strong registry values (to
        verify an output: generic recognizers and fuzzy matching would fire on redaction
        texture and OCR garbage; a value that really leaked reads back exactly)."""
        if not text.strip():
            return []
        return _dedupe(self._registry_matches(text, strong_only=True))

    def _presidio(self, text: str) -> list[Finding]:
        out: list[Finding] = []
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
                    out.append(Finding(r.entity_type, start, end, float(r.score)))
        return out

    def _registry_matches(self, text: str, *, strong_only: bool = False) -> list[Finding]:
        key = (text, strong_only)
        hit = self._matches.get(key)
        if hit is None:
            if len(self._matches) >= MATCH_CACHE_ENTRIES:
                self._matches.clear()  # bounded: memory stays flat
            hit = self._matches[key] = self._search_registry(text, strong_only)
        return hit

    def _search_registry(self, text: str, strong_only: bool) -> list[Finding]:
        folded = fold(text)
        if len(folded) != len(text):  # rare ligatures: fall back to positions in folded text
            folded = folded[: len(text)].ljust(len(text))
        out: list[Finding] = []
        digit_map: list[int] | None = None
        for kv in self._known.values():
            if strong_only and (not kv.strong or kv.category in self.keep_categories):
                continue
            if kv.pattern is not None:
                for m in kv.pattern.finditer(folded):
                    out.append(Finding(kv.entity_type, m.start(), m.end(), 1.0, kv.category))
            else:
                if digit_map is None:
                    digit_map = [i for i, c in enumerate(text) if c.isdigit()]
                    text_digits = "".join(text[i] for i in digit_map)
                target = digits(kv.value)
                pos = text_digits.find(target) if digit_map else -1
                while pos >= 0:
                    start, end = digit_map[pos], digit_map[pos + len(target) - 1] + 1
                    if _digits_match(text, start, end, short=len(target) <= SHORT_NUMBER_DIGITS):
                        out.append(Finding(kv.entity_type, start, end, 1.0, kv.category))
                    pos = text_digits.find(target, pos + 1)
        if not strong_only:  # fuzzy matching serves recall, not proof
            out.extend(self._fuzzy_names(text, folded))
            out.extend(self._fuzzy_ids(folded))
        return out

    def _fuzzy_tables(self) -> tuple[dict[str, KnownValue], dict[str, KnownValue]]:
        """The registry's name tokens (5+ letters, OCR look-alikes folded) and its roster ids
        and logins (5+ characters), built once per registry state."""
        if self._fuzzy is None:
            tokens: dict[str, KnownValue] = {}
            for kv in self._known.values():
                if kv.entity_type == "PERSON":
                    for tok in re.findall(r"[a-z]{5,}", fold(kv.value)):
                        if tok not in UI_WORDS:
                            tokens.setdefault(ocr_canonical(tok), kv)
            ids = {fold(kv.value): kv for kv in self._known.values()
                   if kv.entity_type in ("EMPLOYEE_ID", "LOGIN") and kv.strong and len(kv.value) >= 5}
            self._fuzzy = (tokens, ids)
        return self._fuzzy

    def _fuzzy_ids(self, folded: str) -> list[Finding]:
        """A roster id or login (5+ characters) with one character misread by OCR
        ("E6+862" for "E64862"): same length, one substitution."""
        ids = self._fuzzy_tables()[1]
        if not ids:
            return []
        out = []
        for m in re.finditer(r"[^\s.,;:()]{5,}", folded):
            word = m.group()
            for value, kv in ids.items():
                if len(word) == len(value) and sum(a != b for a, b in zip(word, value, strict=True)) <= 1:
                    out.append(Finding(kv.entity_type, m.start(), m.end(), 0.9, kv.category))
                    break
        return out

    def _fuzzy_names(self, text: str, folded: str) -> list[Finding]:
        """Name tokens garbled by OCR or accents ('Tumer' for 'Turner', 'Lefevre' for
        'Lefèvre'): canonicalise common OCR confusions, then allow one edit (5+ letters)."""
        tokens = self._fuzzy_tables()[0]
        if not tokens:
            return []
        out = []
        for m in re.finditer(r"[a-z0-9|]{4,}", folded):
            word = ocr_canonical(m.group())
            if len(word) < 4 or fold(m.group()) in UI_WORDS:
                continue
            for tok, kv in tokens.items():
                if abs(len(tok) - len(word)) <= 1 and (word == tok or within_one_edit(word, tok)):
                    out.append(Finding("PERSON", m.start(), m.end(), 0.9, kv.category))
                    break
        return out

    def _phonetic_names(self, text: str) -> list[Finding]:
        """Transcript words (or 2-3 short words run together: "Du Pont") that sound like a
        known name token. A common word ("when" ~ "Win") counts only next to another name
        match or written with a capital inside a sentence (Whisper capitalises names)."""
        names: dict[str, KnownValue] = {}
        full: set[str] = set()  # keys of names as written ("lrnt"), not silent-ending ones ("lrn")
        for kv in self._known.values():
            if kv.entity_type == "PERSON" and kv.strong:
                for tok in re.findall(r"[^\W\d_]{3,}", kv.value):
                    if fold(tok) not in UI_WORDS:
                        for key in phonetic_keys(tok):
                            names.setdefault(key, kv)
                        full.add(primary_key(tok))
        if not names:
            return []
        words = list(re.finditer(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", text))
        hits: dict[int, tuple[int, KnownValue]] = {}  # first word -> (last word, value)
        for i in range(len(words)):
            for n in (1, 2, 3):
                group = words[i : i + n]
                if len(group) < n or (n > 1 and any(len(w.group()) > 5 for w in group)):
                    break
                if n == 1 and fold(group[0].group()) in UI_WORDS:
                    continue  # "Mr" is not "Marie"
                if n > 1 and any(text[a.end() : b.start()].strip() for a, b in itertools.pairwise(group)):
                    continue  # only words separated by spaces join
                keys = phonetic_keys("".join(w.group() for w in group))
                match = next((names[k] for k in keys if k in names), None)
                if match is not None:
                    hits.setdefault(i, (i + n - 1, match))
                    break
        # A run of common words ("when" ~ "Win", "du pont"), or a lower-case word that only
        # sounds like a name's silent-ending form ("learn" ~ "Laurent"), needs more evidence:
        # a capital inside a sentence, or a neighbouring match without doubt ("Marie Lorrain").
        def doubtful(i: int, j: int) -> bool:
            group = words[i : j + 1]
            if all(is_common(w.group()) for w in group):
                return True
            w = group[0].group()
            return i == j and w[:1].islower() and primary_key(w) not in full

        weak = {i for i, (j, _kv) in hits.items() if doubtful(i, j)}
        strong_ends = {j for i, (j, _kv) in hits.items() if i not in weak}
        out = []
        for i, (j, kv) in hits.items():
            first, last = words[i], words[j]
            if i in weak:
                before = text[: first.start()].rstrip()
                capital = first.group()[:1].isupper() and bool(before) and before[-1] not in ".?!"
                if not (capital or (i - 1) in strong_ends or ((j + 1) in hits and (j + 1) not in weak)):
                    continue
            out.append(Finding("PERSON", first.start(), last.end(), 0.85, kv.category))
        return out


MATCH_CACHE_ENTRIES = 20_000

# A known number this short (an extension, a postcode) is matched only as a whole number
# ("poste 41 27", "41-27", "4 1 2 7" said aloud), never inside a date or a longer number
# ("2026-04-12" holds no "0412", "14127" no "4127").
SHORT_NUMBER_DIGITS = 6
_GLUED_DIGIT = re.compile(r"\d|[.\-/:]\d")  # a digit, or one glued on by a date/number separator


def _digits_match(text: str, start: int, end: int, *, short: bool) -> bool:
    """Whether the digits of a known number found at ``text[start:end]`` are that number:
    no letters between them ("8081 Visa 2026" holds no "8120"); a short one is whole."""
    span = text[start:end]
    if re.search(r"[^\W\d_]", span):
        return False
    if not short:
        return True
    return (not re.search(r"[^\d .\-]| {2}|[.\-]{2}", span)
            and not _GLUED_DIGIT.match(text[max(0, start - 2) : start][::-1])
            and not _GLUED_DIGIT.match(text[end : end + 2]))


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
