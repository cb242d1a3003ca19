"""Check digits of the identifiers we look for, and the OCR digit confusions.

Plain functions over strings of digits (and letters where the format has them), no
third-party imports: the recognizers call them on a candidate span after mapping the
characters OCR confuses with digits (``O`` for ``0``, ``l`` for ``1``...)."""

from __future__ import annotations

import re

# Characters OCR reads instead of a digit. Only applied inside spans that already look
# numeric (see ``real_digit_share``), never to free text.
OCR_DIGITS = {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "i": "1", "S": "5", "B": "8", "Z": "2"}
LENIENT_DIGIT = "[0-9" + re.escape("".join(OCR_DIGITS)) + "]"


def ocr_to_digits(text: str) -> str:
    """Map every OCR look-alike to its digit; other characters are kept."""
    return "".join(OCR_DIGITS.get(c, c) for c in text)


def real_digit_share(text: str) -> float:
    """Share of real digits among the digit-like characters of a span (1.0 = no look-alike)."""
    real = sum(c.isdigit() for c in text)
    lookalike = sum(c in OCR_DIGITS for c in text)
    return real / (real + lookalike) if real + lookalike else 0.0


def compact(text: str) -> str:
    """Drop separators OCR or people put inside numbers."""
    return re.sub(r"[\s.\-/_]", "", text)


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for i, c in enumerate(reversed(number)):
        n = int(c)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# -- French social security number (NIR) -------------------------------------------------


def nir_ok(nir: str) -> bool:
    """15 characters: sex, year, month, department (2A/2B for Corsica), commune, order,
    key = 97 - (13 first digits mod 97), Corsica counted as 19/18 (2A -> 19, 2B -> 18)."""
    nir = nir.upper()
    if len(nir) != 15 or nir[0] not in "123478":
        return False
    body, key = nir[:13], nir[13:]
    if not key.isdigit():
        return False
    if body[5:7] == "2A":
        body = body[:5] + "19" + body[7:]
    elif body[5:7] == "2B":
        body = body[:5] + "18" + body[7:]
    if not body.isdigit():
        return False
    month = int(body[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(key)


# -- French bank details (RIB) ------------------------------------------------------------

# Letters of an account number count as digits: A,J -> 1; B,K,S -> 2; ... I,R,Z -> 9.
_RIB_LETTERS = {c: d for d, cs in zip("123456789", ("AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ"), strict=True) for c in cs}


def rib_ok(bank: str, branch: str, account: str, key: str) -> bool:
    """Key = 97 - ((89 * bank + 15 * branch + 3 * account) mod 97), letters of the account
    converted by the banks' table."""
    if not (len(bank) == 5 and bank.isdigit() and len(branch) == 5 and branch.isdigit() and len(key) == 2 and key.isdigit()):
        return False
    account = account.upper()
    if len(account) != 11 or not account.isalnum():
        return False
    acc = "".join(_RIB_LETTERS.get(c, c) for c in account)
    return 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acc)) % 97 == int(key)


# -- IBAN ----------------------------------------------------------------------------------

# Length per country (SWIFT IBAN registry); French overseas territories use FR.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_ok(iban: str) -> bool:
    """Country length, then the ISO 7064 mod 97-10 check (country + check digits moved to
    the end, letters as 10..35, remainder 1)."""
    iban = iban.upper()
    if len(iban) != IBAN_LENGTHS.get(iban[:2], -1) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# -- SIREN / SIRET -------------------------------------------------------------------------

LA_POSTE_SIREN = "356000000"


def siren_ok(siren: str) -> bool:
    return len(siren) == 9 and luhn_ok(siren)


def siret_ok(siret: str) -> bool:
    """Luhn over the 14 digits; La Poste's establishments (SIREN 356000000) instead have a
    digit sum that is a multiple of 5."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_SIREN + "00048":
        return sum(int(c) for c in siret) % 5 == 0
    return luhn_ok(siret)


# -- payment cards -------------------------------------------------------------------------

# (brand, IIN ranges as (low, high) on the first len(low) digits, allowed lengths)
_BRANDS: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[int, ...]], ...] = (
    ("amex", (("34", "34"), ("37", "37")), (15,)),
    ("diners", (("300", "305"), ("36", "36"), ("38", "39")), (14, 15, 16, 17, 18, 19)),
    ("jcb", (("3528", "3589"),), (16, 17, 18, 19)),
    ("visa", (("4", "4"),), (13, 16, 19)),
    ("mastercard", (("51", "55"), ("2221", "2720")), (16,)),
    ("mir", (("2200", "2204"),), (16, 17, 18, 19)),
    ("discover", (("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")), (16, 17, 18, 19)),
    ("unionpay", (("62", "62"), ("81", "81")), (16, 17, 18, 19)),
    ("maestro", (("50", "50"), ("56", "69")), tuple(range(12, 20))),
)


def card_brand(number: str) -> str | None:
    """The brand whose IIN range and length fit ``number`` (French CB cards are co-badged
    Visa or Mastercard and carry their numbers), else None."""
    if not number.isdigit():
        return None
    for brand, ranges, lengths in _BRANDS:
        if len(number) in lengths and any(low <= number[: len(low)] <= high for low, high in ranges):
            return brand
    return None


def card_ok(number: str) -> bool:
    return card_brand(number) is not None and luhn_ok(number)
