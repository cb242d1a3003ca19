"""Recognizers Presidio does not ship (or ships with a network dependency), FR + EN.

Presidio's own EmailRecognizer validates TLDs with ``tldextract``, which fetches the public
suffix list over the network on first use: we use a plain pattern instead (and never load
the URL recognizer). Numbers with a check digit live in ``ids.py``."""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from anonymizer.detect.checksums import OCR_DIGITS, ocr_to_digits, real_digit_share
from anonymizer.detect.ids import CHECKED_RECOGNIZERS, CheckedRecognizer, D, label_regex, make_result
from anonymizer.detect.labels import REFERENCE_LABEL
from anonymizer.textnorm import fold

if TYPE_CHECKING:
    from anonymizer.config import IdPattern

_MONTHS = (
    "jan|janv|janvier|january|feb|fev|fevr|fevrier|février|february|mar|mars|march|apr|avr|avril|april|"
    "may|mai|jun|juin|june|jul|juil|juillet|july|aug|aou|aout|août|august|sep|sept|septembre|september|"
    "oct|octobre|october|nov|novembre|november|dec|déc|decembre|décembre|december"
)
_STREET = (
    "rue|avenue|av|ave|boulevard|bd|blvd|chemin|allee|allée|place|pl|impasse|imp|route|rte|quai|cours|square|sq|"
    "faubourg|fbg|passage|sentier|voie|hameau|lieu-dit|lieu dit|lotissement|residence|résidence|res|rés|cite|cité|"
    "esplanade|promenade|parvis|rond-point|villa|"
    "street|st|road|rd|lane|ln|drive|dr|way|court|ct|close|crescent|terrace|gardens|row|mews|hill|avenue|parkway|pkwy|"
    "highway|hwy|circle|cir|grove|walk|park|square"
)

_TAIL = r"(?:,\s*[\w'’ .\-]{1,40}){0,2}"


class DateOfBirthRecognizer(CheckedRecognizer):
    """Dates of birth, FR and EN writings (``04/03/1985``, ``1985-03-04``, ``4 mars 1985``,
    ``September 17, 1987``, OCR look-alikes and dropped spaces included).

    Next to a birth label (``né le``, ``DDN``, ``date of birth``...) any date is one, even a
    garbled one; next to another date label (``date d'appel``, ``expires``...) none is; with
    no label, a date whose year is a plausible adult's birth year is kept as one (fail
    closed), so history and appointment dates of recent years stay readable."""

    ENTITY = "DATE_OF_BIRTH"
    LABEL = label_regex(
        r"naissance|ne|nee|ne\(e\)|ne\s+le|nee\s+le|birth|born|dob|d\.o\.b|ddn|date\s+de\s+naiss\w*|anniversaire|birthday|age"
    )
    OTHER = label_regex(
        r"appel|call|cree|creee|created|modifie|updated|echeance|expir\w*|exp|valid\w*|ouverture|opened|souscri\w*|"
        r"signature|signed|depuis|since|rdv|rendez-vous|appointment|facture|invoice|commande|order|livraison|delivery|"
        r"historique|history|paiement|payment|du|au|from|to|until|jusqu.au|version|release|build|v"
    )
    _SEP = r"[/.\-]"
    _MONTH = rf"(?:{_MONTHS})\.?"
    REGEXES = (
        re.compile(rf"(?<![0-9])(?P<v>{D}{{1,2}}\s?{_SEP}\s?{D}{{1,2}}\s?{_SEP}\s?(?:{D}{{4}}|{D}{{2}}))(?![0-9])"),
        re.compile(rf"(?<![0-9])(?P<v>{D}{{4}}{_SEP}{D}{{1,2}}{_SEP}{D}{{1,2}})(?![0-9])"),
        re.compile(rf"(?i)(?<![0-9])(?P<v>{D}{{1,2}}(?:er|st|nd|rd|th)?\s*(?:of\s+)?{_MONTH}\s*,?\s*{D}{{4}})(?![0-9])"),
        re.compile(rf"(?i)(?<![a-z])(?P<v>{_MONTH}\s*{D}{{1,2}}(?:st|nd|rd|th)?\s*,?\s*{D}{{4}})(?![0-9])"),
    )
    VALID_SCORE = 0.5
    LABEL_SCORE = 0.6

    def check(self, value: str) -> tuple[str, bool] | None:
        return self.ENTITY, _plausible_date(ocr_to_digits(value))

    def _judge(self, text: str, m: re.Match[str]) -> tuple[str, int, int, float] | None:
        start, end = m.span("v")
        value = text[start:end]
        if real_digit_share(re.sub(r"(?i)[a-z]{2,}", "", value)) < self.MIN_DIGIT_SHARE:
            return None
        before = fold(text[max(0, start - self.LABEL_WINDOW) : start])
        birth = [x.end() for x in self.LABEL.finditer(before)]
        other = [x.end() for x in self.OTHER.finditer(before)]
        if birth and any(r.search(before[max(birth):]) for r in self.REGEXES):
            birth = []  # another date lies between the label and this one: that one is the birth date
        if birth and (not other or max(birth) > max(other)):  # the nearest label decides
            return self.ENTITY, start, end, 0.95 if _plausible_date(ocr_to_digits(value)) else self.LABEL_SCORE
        if other:
            return None
        year = _year(ocr_to_digits(value))
        if year is not None and 1900 <= year <= _dt.date.today().year - 12 and _plausible_date(ocr_to_digits(value)):
            return self.ENTITY, start, end, self.VALID_SCORE
        return None


def _year(value: str) -> int | None:
    years = re.findall(r"(?<![0-9])\d{4}(?![0-9])", value)
    return int(years[0]) if years else None


def _plausible_date(value: str) -> bool:
    """Day, month and year of a written date make sense (month names or numbers, d/m/y, y/m/d
    or the US m/d/y); two-digit years count as 19xx/20xx."""
    nums = [int(n) for n in re.findall(r"\d+", value)]
    words = re.findall(r"[^\W\d_]{3,}", fold(value))
    month_word = next((_month_number(w) for w in words if _month_number(w)), None)
    if month_word is not None:
        if len(nums) != 2:
            return False
        day, year = nums
        month = month_word
    elif len(nums) == 3:
        if nums[0] > 31:
            year, month, day = nums
        else:
            day, month, year = nums
            if month > 12 and day <= 12:
                day, month = month, day
    else:
        return False
    if year < 100:
        year += 1900 if year > _dt.date.today().year % 100 else 2000
    try:
        return 1900 <= year <= _dt.date.today().year and _dt.date(year, month, day) is not None
    except ValueError:
        return False


_MONTH_NUMBER = {
    "jan": 1, "feb": 2, "fev": 2, "mar": 3, "apr": 4, "avr": 4, "may": 5, "mai": 5, "jun": 6, "juin": 6, "jul": 7,
    "juil": 7, "aug": 8, "aou": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip


def _month_number(word: str) -> int:
    return _MONTH_NUMBER.get(word[:4], 0) or _MONTH_NUMBER.get(word[:3], 0)


class DigitRunRecognizer(PatternRecognizer):
    """Long digit runs are identifiers (accounts, contracts, cards without a valid Luhn):
    redacted even when no specific recognizer is sure (fail closed). Date-shaped runs are
    left to the date-of-birth recognizer so history dates stay readable."""

    _DATE = re.compile(r"^(?:\d{4}[.\-]\d{2}[.\-]\d{2}|\d{2}[.\-]\d{2}[.\-]\d{4})$")

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="NUMBER",
            patterns=[Pattern("digit run", r"(?<![\d])\d(?:[ .\-]?\d){6,}(?!\d)", 0.4)],
            supported_language=supported_language,
            name=f"DigitRunRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern's low score: a specific recognizer's verdict on the same
        # span (an IBAN or card label with a failed checksum) outranks this one
        return False if self._DATE.match(pattern_text.strip()) else None


_CITY = r"[A-ZÀ-Ý][A-Za-zÀ-ÿ'’\-]{1,30}(?:[ \-](?:[A-ZÀ-Ý][A-Za-zÀ-ÿ'’\-]+|sur|sous|en|lès|les|le|la|de|du|des|CEDEX(?: \d{1,2})?)){0,4}"
_NOT_CITY = r"(?!(?:EUR|USD|GBP|CHF|Euros?|EUROS?|Dollars?|Go|Mo|Ko|Km|KM|Pts|Points|Clients?|Appels?|Calls?|Commandes?|Orders?|Items?|Articles?|Tickets?|Minutes?|Secondes?|Heures?|Hours?|Jours?|Days?)\b)"
_PARTICLE = r"(?:de|des|du|la|le|les|l'|d'|l’|d’|aux|au|en|sur|of|the)"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|"
    "PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)


class _NotAfterRecognizer(PatternRecognizer):
    """A pattern recognizer that drops matches right after a word saying the value is
    something else (``NOT_AFTER``, matched on the folded 20 characters before it)."""

    NOT_AFTER: re.Pattern[str]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None, regex_flags: int | None = None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not self.NOT_AFTER.search(fold(text[max(0, r.start - 20) : r.start]))]


class AddressRecognizer(_NotAfterRecognizer):
    """Postal addresses FR/EN: number + street type + name (``12 rue des Lilas``, ``221 Baker
    Street``), then postcode and city; postcode + city alone (``75011 Paris``); UK postcodes;
    US state + ZIP. Case-sensitive (a city or street name is capitalised), house numbers and
    postcodes accept OCR look-alikes when most of it is digits."""

    def __init__(self, supported_language: str = "en") -> None:
        street = rf"(?i:{_STREET})"
        name = rf"(?:\s+{_PARTICLE})*\s*[A-ZÀ-Ý0-9][\w'’\-]*(?:\s+(?:{_PARTICLE}|[A-ZÀ-Ý0-9][\w'’\-]*))*"
        # a house number holds at least one real digit ("Save" is not "5 ave")
        number = rf"(?<![0-9A-Za-z])(?=[^\s,]{{0,3}}[0-9]){D}{{1,4}}(?:\s?(?:bis|ter|[a-cA-C])\b)?"
        super().__init__(
            supported_entity="ADDRESS",
            patterns=[
                Pattern("fr street", rf"{number},?\s*{street}\b\.?{name}{_TAIL}", 0.6),
                Pattern("en street", rf"{number}\s+(?:[A-ZÀ-Ý0-9][A-Za-zÀ-ÿ'’\-]*\s+){{1,3}}{street}\b\.?{_TAIL}", 0.6),
                Pattern("fr postcode city", rf"(?<![0-9A-Za-z])(?:F-)?{D}{{5}}\s+{_NOT_CITY}{_CITY}", 0.5),
                Pattern("uk postcode", rf"(?<![0-9A-Za-z])[A-Z]{{1,2}}{D}[A-Z\d]?\s*{D}[A-Z]{{2}}(?![A-Za-z0-9])", 0.6),
                Pattern("us state zip", rf"(?<![A-Za-z])(?:{_US_STATES})\s+{D}{{5}}(?:-\d{{4}})?(?![0-9])", 0.5),
            ],
            context=["adresse", "address", "domicile", "rue", "street", "ville", "city"],
            supported_language=supported_language,
            name=f"AddressRecognizer_{supported_language}",
            global_regex_flags=re.DOTALL | re.MULTILINE,
        )

    # "Commande 12345 Livrée" is an order number followed by a word, not a postcode + city
    NOT_AFTER = REFERENCE_LABEL

    def validate_result(self, pattern_text: str) -> bool | None:
        # the digit-like parts (house number, postcode) must be at least half real digits
        runs = re.findall(rf"{D}+", pattern_text)
        numeric = [r for r in runs if any(c.isdigit() for c in r)]
        if not numeric:
            return False
        return None if all(real_digit_share(r) >= 0.5 for r in numeric) else False


class EmployeeIdRecognizer(_NotAfterRecognizer):
    """An id shaped like an employee's (``E10234``, ``AB-12345``) even off the roster; not
    a ticket, order or case number so labelled (``Ticket  T-48623``)."""

    NOT_AFTER = REFERENCE_LABEL

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="EMPLOYEE_ID",
            patterns=[Pattern("employee id", r"\b[A-Z]{1,3}-?\d{4,7}\b", 0.5)],
            context=["matricule", "agent", "id", "employee"],
            supported_language=supported_language,
            name=f"EmployeeIdPattern_{supported_language}",
        )


class EmailRecognizer(PatternRecognizer):
    """Anything around an "@" is an address, even when OCR dropped a dot or read one as a
    space ("lucy wright@gmailcom") or read the "@" as "©": the lower-case word before a single
    space is taken too (a label caught that way is trimmed by the Detector). The domain
    starts with a letter ("2 @ 3.99" is a price)."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            patterns=[
                Pattern(
                    "email",
                    r"(?:\b[a-z0-9._%+\-]+ )?\b[A-Za-z0-9._%+\-]*[A-Za-z0-9] ?(?:@|©|\(at\)|\[at\]) ?[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*",
                    0.9,
                )
            ],
            supported_language=supported_language,
            name=f"EmailRecognizer_{supported_language}",
            global_regex_flags=re.DOTALL | re.MULTILINE,
        )


class IdPatternRecognizer(EntityRecognizer):
    """A customer/contract id shape from the policy (``[detect] id_patterns``). The regex is
    tried on the text as read and on its *digit view*, where OCR look-alikes touching a digit
    are read as digits (``CT-2O24-OO1234`` -> ``CT-2024-001234``), same length so spans map
    back."""

    def __init__(self, pattern: IdPattern, supported_language: str = "en") -> None:
        self.pattern = pattern
        self.regex = re.compile(pattern.regex)
        self.label = label_regex("|".join(re.escape(fold(w)) for w in pattern.context)) if pattern.context else None
        super().__init__(
            supported_entities=[pattern.name], name=f"IdPattern_{pattern.name}_{supported_language}", supported_language=supported_language
        )

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if self.pattern.name not in entities:
            return []
        spans: dict[tuple[int, int], float] = {}
        for view in {text, ocr_digit_view(text)}:
            for m in self.regex.finditer(view):
                # a whole token: "CT-2024-0012345" holds no CT-\d{4}-\d{6}
                if m.end() > m.start() and not _alnum_at(view, m.start() - 1) and not _alnum_at(view, m.end()):
                    near = self.label is not None and self.label.search(fold(text[max(0, m.start() - 40) : m.start()])) is not None
                    spans[m.span()] = max(spans.get(m.span(), 0.0), self.pattern.score + (1 - self.pattern.score) / 2 * near)
        return [make_result(self, self.pattern.name, s, e, score) for (s, e), score in spans.items()]


class TitledNameRecognizer(EntityRecognizer):
    """A capitalised name right after a title (``Mr. Hall``, ``Ms Hall``, ``Mr: Hall`` as OCR
    reads it, ``Mme Martin``, ``M. Dupont``, ``Dr Nguyen``): a person whatever NER says.
    Only the name is reported: the title stays readable."""

    # a bare "M Dupont" is too often a menu letter: "M" only with its dot ("M. Dupont")
    TITLE = re.compile(
        r"(?<![\w])(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Mme|Mlle|MM|Me|Monsieur|Madame|Mademoiselle|Docteur)"
        r"(?:\s*[.:]\s*|\s+)|M\s*[.:]\s*)(?P<name>[A-ZÀ-Ý][a-zà-ÿ'’\-]+(?:\s+[A-ZÀ-Ý][a-zà-ÿ'’\-]+)?)")

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_entities=["PERSON"], name=f"TitledName_{supported_language}", supported_language=supported_language)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        return [make_result(self, "PERSON", m.start("name"), m.end("name"), 0.85) for m in self.TITLE.finditer(text)]


def _alnum_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalnum()


def ocr_digit_view(text: str) -> str:
    """``text`` with OCR look-alikes read as digits wherever they touch a digit or another
    such character that does, unless they also touch a letter that is no look-alike (the
    ``I`` of a ``CLI`` prefix stays); everything else unchanged, same length."""
    chars = list(text)

    def letter(j: int) -> bool:
        return 0 <= j < len(chars) and chars[j].isalpha() and chars[j] not in OCR_DIGITS

    def digit(j: int) -> bool:
        return 0 <= j < len(chars) and chars[j].isdigit()

    changed = True
    while changed:
        changed = False
        for i, c in enumerate(chars):
            if c in OCR_DIGITS and (digit(i - 1) or digit(i + 1)) and not (letter(i - 1) or letter(i + 1)):
                chars[i] = OCR_DIGITS[c]
                changed = True
    return "".join(chars)


def simple_recognizers(language: str) -> list[EntityRecognizer]:
    """Our recognizers for one language (Presidio keys recognizers by language)."""
    return [
        DateOfBirthRecognizer(language),
        EmailRecognizer(language),
        AddressRecognizer(language),
        *(cls(language) for cls in CHECKED_RECOGNIZERS),
        EmployeeIdRecognizer(language),
        TitledNameRecognizer(language),
        # Long digit runs are identifiers (accounts, contracts, cards without a valid Luhn):
        # redact them even when no specific recognizer is sure (fail closed).
        DigitRunRecognizer(language),
    ]
