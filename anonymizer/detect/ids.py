"""Recognizers for numbers with a structure or a check digit, FR and EN, OCR-tolerant.

Presidio's ``PatternRecognizer`` validates the matched text alone; here a candidate is also
judged by the label before it, so these are small ``EntityRecognizer`` classes sharing one
loop (``CheckedRecognizer.analyze``):

- candidates are found by regexes whose digits also accept OCR look-alikes (``O`` for
  ``0``, ``l`` for ``1``, ``S`` for ``5``...), provided most characters are real digits;
- the candidate is mapped to digits and its check digit / structure verified;
- valid: reported (higher score when a label is near); invalid but a label says what it is
  (``IBAN : FR76 ...`` with an OCR error): still reported, with a lower score (fail closed);
  invalid and unlabelled: dropped (long digit runs are still caught as ``NUMBER``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from anonymizer.detect.checksums import (
    IBAN_LENGTHS,
    LENIENT_DIGIT,
    card_ok,
    compact,
    iban_ok,
    nir_ok,
    ocr_to_digits,
    real_digit_share,
    rib_ok,
    siren_ok,
    siret_ok,
)
from anonymizer.textnorm import fold

D = LENIENT_DIGIT
PHONE_DIGITS = (8, 15)  # a phone number holds this many digits, country code included
SEP = r"[ .\-]?"
# not inside a longer number ("N° 552 100 554 0001" holds no SIREN)
NOT_AFTER_DIGITS = r"(?<![0-9])(?<![0-9][ .\-])"
NOT_BEFORE_DIGITS = r"(?![ .\-]?[0-9])"
_ALNUM = "[0-9A-Z|oli]"


class CheckedRecognizer(EntityRecognizer):
    """Regex candidates, validated and scored by validity and by the label before them."""

    ENTITY: ClassVar[str]
    REGEXES: ClassVar[tuple[re.Pattern[str], ...]]
    LABEL: ClassVar[re.Pattern[str] | None] = None  # searched, folded, just before the value
    VALID_SCORE: ClassVar[float] = 0.95  # valid and labelled: 1.0
    LABEL_SCORE: ClassVar[float] = 0.5  # invalid, but the label says what it is
    MIN_DIGIT_SHARE: ClassVar[float] = 0.6
    LABEL_WINDOW: ClassVar[int] = 40

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=self.entities(),
            name=f"{type(self).__name__}_{supported_language}",
            supported_language=supported_language,
        )

    @classmethod
    def entities(cls) -> list[str]:
        return [cls.ENTITY]

    def load(self) -> None:  # nothing to load: plain regexes
        pass

    def candidates(self, text: str, m: re.Match[str]) -> Iterator[tuple[int, int]]:
        """Spans to try for one regex match, longest first (a greedy match may have
        swallowed a following group)."""
        yield m.span("v")

    def check(self, value: str) -> tuple[str, bool] | None:
        """(entity, valid) for a candidate value; None to drop it whatever the label."""
        raise NotImplementedError

    def labelled(self, text: str, start: int) -> bool:
        if self.LABEL is None:
            return False
        return self.LABEL.search(fold(text[max(0, start - self.LABEL_WINDOW) : start])) is not None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for regex in self.REGEXES:
            for m in regex.finditer(text):
                found = self._judge(text, m)
                if found is not None and found[0] in entities:
                    out.append(self._result(*found))
        return out

    def _judge(self, text: str, m: re.Match[str]) -> tuple[str, int, int, float] | None:
        first: tuple[str, int, int] | None = None
        for start, end in self.candidates(text, m):
            value = text[start:end]
            if real_digit_share(value) < self.MIN_DIGIT_SHARE:
                continue
            checked = self.check(value)
            if checked is None:
                continue
            entity, valid = checked
            if valid:
                return entity, start, end, 1.0 if self.labelled(text, start) else self.VALID_SCORE
            first = first or (entity, start, end)
        if first is not None and self.labelled(text, first[1]):
            return (*first, self.LABEL_SCORE)
        return None

    def _result(self, entity: str, start: int, end: int, score: float) -> RecognizerResult:
        return make_result(self, entity, start, end, score)


def make_result(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    """A result carrying the metadata Presidio's analyzer expects from a recognizer."""
    meta = {RecognizerResult.RECOGNIZER_NAME_KEY: type(recognizer).__name__, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id}
    return RecognizerResult(entity, start, end, score, recognition_metadata=meta)


def _shorter_at_separators(text: str, start: int, end: int, min_digits: int) -> Iterator[tuple[int, int]]:
    """(start, end), then the same span cut before each trailing separated group."""
    yield start, end
    value = text[start:end]
    for cut in reversed([g.start() for g in re.finditer(r"[ .\-]+", value)]):
        if len(compact(value[:cut])) >= min_digits:
            yield start, start + cut


def label_regex(words: str) -> re.Pattern[str]:
    """A label regex over folded text (lower case, no accents)."""
    return re.compile(rf"(?<![a-z])(?:{words})(?![a-z])")


# -- phones and extensions -----------------------------------------------------------------


class PhoneRecognizer(CheckedRecognizer):
    """French numbers in every usual writing (``06 12 34 56 78``, ``06.12.34.56.78``,
    ``0612345678``, ``+33 6...``, ``+33 (0)1...``, ``0033...``) and international ones
    (``+44 20 7946 0958``, ``(555) 010-1234``). Presidio's libphonenumber recognizer runs too;
    this one adds OCR look-alikes and dropped spaces."""

    ENTITY = "PHONE_NUMBER"
    LABEL = label_regex(r"tel|telephone|phone|mobile|portable|fixe|gsm|cell|fax|appeler|call|rappel|joindre|contact")
    NOT = label_regex(r"commande|order|facture|invoice|ref|reference|suivi|tracking|colis|dossier|ticket|siret|siren")
    REGEXES = (
        # French: 0 + 9 digits, any grouping; +33 / 0033, optional (0)
        re.compile(rf"(?<![0-9+])(?P<v>(?:(?:\+|00)\s?33\s?(?:\(\s?[0Oo]\s?\)\s?)?|[0Oo])[1-9IlZSB](?:{SEP}{D}{{2}}){{4}})(?![0-9])"),
        # international: +CC then 6 to 13 digits in groups, brackets allowed
        re.compile(rf"(?<![0-9\w])(?P<v>(?:\+|00)\s?[1-9]{D}{{0,2}}(?:[ .\-]?\(?{D}{{1,4}}\)?){{2,6}})(?![0-9])"),
        # North American: (555) 010-1234, 555-010-1234
        re.compile(rf"(?<![\w]){NOT_AFTER_DIGITS}(?P<v>(?:\({D}{{3}}\)\s?|{D}{{3}}[ .\-]){D}{{3}}[ .\-]{D}{{4}}){NOT_BEFORE_DIGITS}"),
    )
    VALID_SCORE = 0.85

    def check(self, value: str) -> tuple[str, bool] | None:
        number = re.sub(r"\D", "", ocr_to_digits(value))
        if value.startswith("00"):  # 00 = international prefix, not part of the number
            number = number[2:]
        return self.ENTITY, PHONE_DIGITS[0] <= len(number) <= PHONE_DIGITS[1]

    def _judge(self, text: str, m: re.Match[str]) -> tuple[str, int, int, float] | None:
        found = super()._judge(text, m)
        if found is not None and not self.labelled(text, found[1]) and self.NOT.search(fold(text[max(0, found[1] - 30) : found[1]])):
            return None  # an order or ticket number shaped like a phone (still a NUMBER)
        return found


class ExtensionRecognizer(CheckedRecognizer):
    """``poste 4127``, ``ext. 4127``, ``extension: 4127``, and ``x4127`` right after a phone
    number; only the digits are reported so the label stays readable."""

    ENTITY = "EXTENSION"
    REGEXES = (
        re.compile(
            rf"(?i:(?<![a-zà-ÿ])(?:poste|p0ste|ext|extn|extension|ligne\s+directe)(?![a-zà-ÿ])\.?\s*(?:n[°o]\s*)?:?\s*)(?P<v>{D}{{3,5}})(?![0-9])"
        ),
        re.compile(rf"(?<=[0-9])\s?[xX]\.?\s?(?P<v>{D}{{3,5}})(?![0-9])"),
    )
    VALID_SCORE = 0.85

    def check(self, value: str) -> tuple[str, bool] | None:
        return (self.ENTITY, True) if ocr_to_digits(value).isdigit() else None

    def _judge(self, text: str, m: re.Match[str]) -> tuple[str, int, int, float] | None:
        if m.group(0).lstrip()[:1] in "xX" and len(re.sub(r"\D", "", text[max(0, m.start() - 20) : m.start()])) < 8:
            return None  # "1920 x 1080" is not a phone extension
        return super()._judge(text, m)


# -- French identifiers --------------------------------------------------------------------


class NirRecognizer(CheckedRecognizer):
    """French social security number: ``1 85 05 78 006 084 36``, Corsica ``2A``/``2B``; the
    key (last two digits) must match; without a key, only next to a label."""

    ENTITY = "FR_NIR"
    LABEL = label_regex(r"secu|securite\s+sociale|s\.s\.|nir|insee|vitale|immatriculation|social\s+security|ssn|n°\s*ss|no\s*ss|num(?:ero)?\s*ss")
    REGEXES = (
        re.compile(
            rf"(?<![0-9])(?P<v>[12378IlZB](?:{SEP}{D}){{4}}{SEP}(?:2[ABab]|{D}{SEP}{D})(?:{SEP}{D}){{6}}(?:{SEP}{D}{SEP}{D})?)(?![0-9])"
        ),
    )

    def check(self, value: str) -> tuple[str, bool] | None:
        v = compact(value)
        v = ocr_to_digits(v[:5]) + (v[5:7].upper() if v[5:7].upper() in ("2A", "2B") else ocr_to_digits(v[5:7])) + ocr_to_digits(v[7:])
        return self.ENTITY, nir_ok(v)


class IbanRecognizer(CheckedRecognizer):
    """IBAN of any country, with or without spaces, length checked per country, mod 97.
    OCR look-alikes are mapped only in groups that hold digits (``GB29 NWBK ...`` keeps its
    bank code)."""

    ENTITY = "IBAN_CODE"
    LABEL = label_regex(r"iban|bic|rib|compte|account|bank|banque|virement|prelevement|sepa|transfer")
    REGEXES = (re.compile(rf"(?<![A-Za-z0-9])(?P<v>[A-Z]{{2}}\s?{D}{{2}}(?:[ \-]?{_ALNUM}){{10,30}})(?![0-9])"),)
    VALID_SCORE = 0.95
    MIN_DIGIT_SHARE = 0.5

    def candidates(self, text: str, m: re.Match[str]) -> Iterator[tuple[int, int]]:
        start, end = m.span("v")
        want = IBAN_LENGTHS.get(text[start : start + 2])
        if want is None:
            return
        seen = 0
        for i in range(start, end):
            if text[i].isalnum() or text[i] == "|":
                seen += 1
                if seen == want:
                    yield start, i + 1
                    return
        yield start, end  # too short: only a label can save it

    def check(self, value: str) -> tuple[str, bool] | None:
        country, rest = value[:2], value[2:].strip()
        groups = [g for g in re.split(r"[ \-]+", rest) if g]
        head = compact(rest)
        raw = country + ocr_to_digits(head[:2]) + head[2:].upper()
        mapped = country + "".join(ocr_to_digits(g) if any(c.isdigit() for c in g) else g for g in groups).upper()
        return self.ENTITY, iban_ok(raw) or iban_ok(mapped)


class RibRecognizer(CheckedRecognizer):
    """French bank details: bank (5 digits), branch (5), account (11, letters allowed), key (2)."""

    ENTITY = "FR_RIB"
    LABEL = label_regex(r"rib|releve\s+d.identite\s+bancaire|coordonnees\s+bancaires|bank\s+details|banque|guichet|compte|account")
    REGEXES = (re.compile(rf"(?<![A-Za-z0-9])(?P<v>{D}{{5}}{SEP}{D}{{5}}{SEP}{_ALNUM}{{11}}{SEP}{D}{{2}})(?![A-Za-z0-9])"),)

    def check(self, value: str) -> tuple[str, bool] | None:
        v = compact(value)
        bank, branch, account, key = ocr_to_digits(v[:5]), ocr_to_digits(v[5:10]), v[10:21], ocr_to_digits(v[21:])
        return self.ENTITY, rib_ok(bank, branch, ocr_to_digits(account), key) or rib_ok(bank, branch, account, key)


class SirenSiretRecognizer(CheckedRecognizer):
    """Company numbers: SIREN (9 digits, ``552 100 554``) and SIRET (SIREN + 5, ``552 100 554
    00013``), Luhn (La Poste's establishments: digit sum multiple of 5). A bare 9-digit
    number passes Luhn one time in ten: unlabelled ones get a lower score."""

    ENTITY = "FR_SIRET"
    LABEL = label_regex(r"siren|siret|rcs|n°\s*tva|tva\s+intra|company\s+(?:number|registration)|immatricul\w*|entreprise|societe")
    REGEXES = (re.compile(rf"{NOT_AFTER_DIGITS}(?P<v>{D}{{3}}{SEP}{D}{{3}}{SEP}{D}{{3}}(?:{SEP}{D}{{5}})?){NOT_BEFORE_DIGITS}"),)
    VALID_SCORE = 0.6

    @classmethod
    def entities(cls) -> list[str]:
        return ["FR_SIREN", "FR_SIRET"]

    def check(self, value: str) -> tuple[str, bool] | None:
        v = ocr_to_digits(compact(value))
        if len(v) == 14:
            return "FR_SIRET", siret_ok(v)
        return "FR_SIREN", siren_ok(v)


# -- payment cards ----------------------------------------------------------------------------


class CardRecognizer(CheckedRecognizer):
    """Payment cards of every brand (Visa, Mastercard incl. the 2221-2720 range, Amex, Diners,
    Discover, JCB, UnionPay, Maestro 12-19 digits, CB co-badged): brand prefix and length,
    then Luhn."""

    ENTITY = "CREDIT_CARD"
    LABEL = label_regex(r"carte|card|cb|visa|mastercard|master\s+card|amex|american\s+express|maestro|paiement|payment|pan|credit|debit")
    REGEXES = (
        re.compile(rf"{NOT_AFTER_DIGITS}(?P<v>{D}{{4}}(?:[ \-]?{D}{{4}}){{2}}(?:[ \-]?{D}{{1,4}})?(?:[ \-]?{D}{{1,3}})?)(?![0-9])"),
        re.compile(rf"{NOT_AFTER_DIGITS}(?P<v>{D}{{4}}[ \-]?{D}{{6}}[ \-]?{D}{{4,5}})(?![0-9])"),
    )

    def candidates(self, text: str, m: re.Match[str]) -> Iterator[tuple[int, int]]:
        yield from _shorter_at_separators(text, *m.span("v"), min_digits=12)

    def check(self, value: str) -> tuple[str, bool] | None:
        return self.ENTITY, card_ok(ocr_to_digits(compact(value)))


class CvvRecognizer(CheckedRecognizer):
    """The 3-4 digit security code, only right after its label (alone it is any number)."""

    ENTITY = "CVV"
    REGEXES = (
        re.compile(
            r"(?i:(?<![a-z])(?:cvv2?|cvc2?|cvn|csc|ccv|cw|cryptogramme(?:\s+visuel)?|crypto|code\s+de\s+s[ée]curit[ée]|"
            r"security\s+code|card\s+verification(?:\s+(?:code|value))?)\s*[:=#]?\s*(?:n[°o]\s*)?)"
            rf"(?P<v>{D}{{3,4}})(?![0-9A-Za-z])"
        ),
    )
    VALID_SCORE = 0.9

    def check(self, value: str) -> tuple[str, bool] | None:
        return (self.ENTITY, True) if ocr_to_digits(value).isdigit() else None


CHECKED_RECOGNIZERS: tuple[type[CheckedRecognizer], ...] = (
    PhoneRecognizer,
    ExtensionRecognizer,
    NirRecognizer,
    IbanRecognizer,
    RibRecognizer,
    SirenSiretRecognizer,
    CardRecognizer,
    CvvRecognizer,
)
