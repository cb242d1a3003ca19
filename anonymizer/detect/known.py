"""The recording's known values: every value found anywhere in one recording (screen,
audio) or in its roster, searched for everywhere else in it. Not Presidio's recognizer
registry (``anonymizer.detect._analyzer``): these are values, not recognizers.

A value is found again exactly (its words in order, any separators between them; a number
by its digits alone), and, for recall during analysis, by fuzzy matching: a name token or
a roster id one OCR misread away, a transcript word that sounds like a known name."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from anonymizer.detect.labels import UI_WORDS, is_ui_text, within_one_edit
from anonymizer.detect.phonetic import is_common, phonetic_keys, primary_key
from anonymizer.textnorm import digits, fold, ocr_canonical
from anonymizer.types import Finding

# Values matched by their digits alone, whatever the separators or spoken grouping.
_DIGIT_TYPES = ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "NUMBER", "EXTENSION", "FR_NIR", "FR_RIB", "FR_SIREN", "FR_SIRET")

# Findings specific enough to be searched for everywhere else in the recording. CVV (3-4
# digits) and dates are too short or too common to search for on their own.
KNOWN_TYPES = frozenset({"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD", "EMPLOYEE_ID", "LOGIN", "EXTENSION",
                         "NUMBER", "FR_NIR", "FR_RIB", "FR_SIREN", "FR_SIRET"})

MATCH_CACHE_ENTRIES = 20_000

# A known number this short (an extension, a postcode) is matched only as a whole number
# ("poste 41 27", "41-27", "4 1 2 7" said aloud), never inside a date or a longer number
# ("2026-04-12" holds no "0412", "14127" no "4127").
SHORT_NUMBER_DIGITS = 6
_GLUED_DIGIT = re.compile(r"\d|[.\-/:]\d")  # a digit, or one glued on by a date/number separator


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


@dataclass
class KnownValues:
    """One recording's known values and where they occur in a text."""

    _known: dict[tuple[str, str], KnownValue] = field(default_factory=dict)
    # Matches per (text, strong_only), valid while the values are unchanged: a screen shows
    # the same lines frame after frame, and every state is searched again once the values
    # are complete (the calm 10-min call: most of its detection time).
    _matches: dict[tuple[str, bool], list[Finding]] = field(default_factory=dict)
    _fuzzy: tuple[dict[str, KnownValue], dict[str, KnownValue]] | None = None

    def __len__(self) -> int:
        return len(self._known)

    def add(self, entity_type: str, value: str, category: str = "customer", *, roster: bool = False,
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
        self._matches.clear()  # found with the values as they were
        self._fuzzy = None

    def matches(self, text: str, *, strong_only: bool = False) -> list[Finding]:
        """Where known values occur in ``text`` (``strong_only``: exactly, strong values only;
        else fuzzy name and id matches too). Cached while the values are unchanged."""
        key = (text, strong_only)
        hit = self._matches.get(key)
        if hit is None:
            if len(self._matches) >= MATCH_CACHE_ENTRIES:
                self._matches.clear()  # bounded: memory stays flat
            hit = self._matches[key] = self._search(text, strong_only)
        return hit

    def _search(self, text: str, strong_only: bool) -> list[Finding]:
        folded = fold(text)
        if len(folded) != len(text):  # rare ligatures: fall back to positions in folded text
            folded = folded[: len(text)].ljust(len(text))
        out: list[Finding] = []
        digit_map: list[int] | None = None
        for kv in self._known.values():
            if strong_only and not kv.strong:
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
            out.extend(self._fuzzy_names(folded))
            out.extend(self._fuzzy_ids(folded))
        return out

    def _fuzzy_tables(self) -> tuple[dict[str, KnownValue], dict[str, KnownValue]]:
        """The name tokens (5+ letters, OCR look-alikes folded) and the roster ids and logins
        (5+ characters), built once per state of the values."""
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

    def _fuzzy_names(self, folded: str) -> list[Finding]:
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

    def sounding_names(self, text: str) -> list[Finding]:
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
        hits = _sound_hits(text, words, names)
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


def _sound_hits(text: str, words: list[re.Match[str]], names: dict[str, KnownValue]) -> dict[int, tuple[int, KnownValue]]:
    """First word -> (last word, value) of each run of 1-3 words whose phonetic key is a
    known name's (a run of short words separated by spaces only)."""
    hits: dict[int, tuple[int, KnownValue]] = {}
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
    return hits


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
