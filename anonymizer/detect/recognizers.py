"""Recognizers Presidio does not ship (or ships with a network dependency), FR + EN.

Presidio's own EmailRecognizer validates TLDs with ``tldextract``, which fetches the public
suffix list over the network on first use: we use a plain pattern instead (and never load
the URL recognizer)."""

from __future__ import annotations

import datetime as _dt
import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

_MONTHS = (
    "jan|janv|janvier|january|feb|fev|fevr|fevrier|février|february|mar|mars|march|apr|avr|avril|april|"
    "may|mai|jun|juin|june|jul|juil|juillet|july|aug|aou|aout|août|august|sep|sept|septembre|september|"
    "oct|octobre|october|nov|novembre|november|dec|déc|decembre|décembre|december"
)
_STREET = (
    "rue|avenue|av|ave|boulevard|bd|blvd|chemin|allee|allée|place|pl|impasse|route|rte|quai|cours|square|"
    "street|st|road|rd|lane|ln|drive|dr|way|court|ct|close|crescent|terrace|gardens|row|mews|hill"
)

_TAIL = r"(?:,\s*[\w'’ .\-]{1,40}){0,2}"


class DateOfBirthRecognizer(PatternRecognizer):
    """Dates whose year is a plausible birth year (adult customers/employees): history and
    appointment dates of the current year are kept readable."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("dmy", r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)\d{2}\b", 0.5),
        Pattern("ymd", r"\b(?:19|20)\d{2}[/.\-]\d{1,2}[/.\-]\d{1,2}\b", 0.5),
        Pattern("d month y", rf"\b\d{{1,2}}(?:er)?\s+(?:{_MONTHS})\.?\s+(?:19|20)\d{{2}}\b", 0.5),
        Pattern("month d, y", rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["naissance", "né", "née", "birth", "born", "dob", "ddn", "anniversaire", "birthday"]

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="DATE_OF_BIRTH",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"DateOfBirthRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        years = re.findall(r"(?:19|20)\d{2}", pattern_text)
        if not years:
            return False
        year = int(years[-1] if not re.match(r"^(?:19|20)\d{2}", pattern_text) else years[0])
        return 1900 <= year <= _dt.date.today().year - 12


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
        return not self._DATE.match(pattern_text.strip())


def simple_recognizers(language: str) -> list[PatternRecognizer]:
    """Pattern recognizers for one language (Presidio keys recognizers by language)."""

    def pr(entity: str, patterns: list[Pattern], context: list[str] | None = None) -> PatternRecognizer:
        return PatternRecognizer(
            supported_entity=entity,
            patterns=patterns,
            context=context or [],
            supported_language=language,
            name=f"{entity.title().replace('_', '')}Pattern_{language}",
        )

    return [
        DateOfBirthRecognizer(language),
        # Anything around an "@" is an address, even when OCR dropped a dot or read one
        # as a space ("lucy wright@gmailcom"): the lower-case word before a single space
        # is taken too (a label caught that way is trimmed by the Detector).
        pr("EMAIL_ADDRESS", [Pattern("email", r"(?:\b[a-z0-9._%+\-]+ )?\b[A-Za-z0-9._%+\-]+ ?@ ?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*", 0.9)]),
        pr(
            "ADDRESS",
            [
                # "12 rue des Lilas, 75011 Paris" / "221 Baker Street, London NW1 6XE": the
                # street, then up to two comma-separated parts (postcode, city).
                Pattern("fr street", rf"\b\d{{1,4}}(?:\s?(?:bis|ter|[a-c]))?,?\s+(?:{_STREET})\b\.?[\w'’ .\-]{{0,40}}{_TAIL}", 0.6),
                Pattern("en street", rf"\b\d{{1,5}}\s+(?:[A-Za-zÀ-ÿ'’\-]+\s+){{1,3}}(?:{_STREET})\b\.?{_TAIL}", 0.6),
                Pattern("fr postcode city", r"\b(?:F-)?\d{5}\s+[A-Z][A-Za-zÀ-ÿ'’\- ]{1,30}", 0.5),
                Pattern("uk postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", 0.6),
                Pattern("us state zip", r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b", 0.5),
            ],
            ["adresse", "address", "domicile", "rue", "street", "ville", "city"],
        ),
        pr(
            "PHONE_NUMBER",
            [
                Pattern("fr phone", r"(?:\+33\s?\(0\)\s?|\+33\s?|\b0)[1-9](?:[\s.\-]?\d{2}){4}\b", 0.7),
                Pattern("intl phone", r"\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,5}\b", 0.6),
                Pattern("us phone", r"\(\d{3}\)\s?\d{3}[\s.\-]?\d{4}\b", 0.6),
            ],
            ["phone", "tel", "tél", "téléphone", "telephone", "mobile", "portable", "appeler"],
        ),
        pr(
            "EXTENSION",
            [Pattern("extension", r"\b(?:poste|ext|extension|x)\.?\s*:?\s*\d{3,5}\b", 0.6)],
        ),
        pr("EMPLOYEE_ID", [Pattern("employee id", r"\b[A-Z]{1,3}-?\d{4,7}\b", 0.5)], ["matricule", "agent", "id", "employee"]),
        # Long digit runs are identifiers (accounts, contracts, cards without a valid Luhn):
        # redact them even when no specific recognizer is sure (fail closed).
        DigitRunRecognizer(language),
    ]
