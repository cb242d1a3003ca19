"""Check-digit functions against independent arithmetic: Presidio's own Luhn and IBAN
validators, published examples (SWIFT IBAN registry, card networks' test numbers, INSEE),
and the rules written out differently from the code under test."""

from __future__ import annotations

import random

import pytest
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer

from anonymizer.detect.checksums import (
    card_brand,
    card_ok,
    iban_ok,
    luhn_ok,
    nir_ok,
    ocr_to_digits,
    real_digit_share,
    rib_ok,
    siren_ok,
    siret_ok,
)
from anonymizer.detect.recognizers import ocr_digit_view
from tests.detect.test_recognizers_table import IBAN_POS

# SWIFT registry examples and other published IBANs (the table's valid, unlabelled-safe ones)
PUBLISHED_IBANS = [v for line, v in IBAN_POS if "O" not in v and "l" not in v and not v.endswith("188")]


def test_luhn_agrees_with_presidio() -> None:
    presidio = CreditCardRecognizer()
    rng = random.Random(7)
    numbers = ["".join(rng.choice("0123456789") for _ in range(rng.randint(12, 19))) for _ in range(3000)]
    assert sum(luhn_ok(n) for n in numbers) > 200  # both outcomes exercised
    for n in numbers:
        assert luhn_ok(n) == presidio.validate_result(n), n


@pytest.mark.parametrize("iban", PUBLISHED_IBANS)
def test_iban_published_examples(iban: str) -> None:
    compact = iban.replace(" ", "")
    assert iban_ok(compact)
    assert IbanRecognizer().validate_result(iban) is True  # the independent oracle agrees
    # any single changed digit breaks mod 97
    i = next(k for k in range(4, len(compact)) if compact[k].isdigit())
    assert not iban_ok(compact[:i] + str((int(compact[i]) + 1) % 10) + compact[i + 1 :])
    assert not iban_ok(compact + "0") and not iban_ok(compact[:-1])  # length per country


def test_iban_unknown_country_and_lower_case() -> None:
    assert not iban_ok("XX7630006000011234567890189")
    assert iban_ok("fr7630006000011234567890189")


@pytest.mark.parametrize("iban", [v for v in PUBLISHED_IBANS if v[:2] in ("FR", "MC")])
def test_rib_key_inside_french_ibans(iban: str) -> None:
    """A French IBAN is FR + check + the RIB: bank, branch, account, key (letters allowed)."""
    bban = iban.replace(" ", "")[4:]
    assert rib_ok(bban[:5], bban[5:10], bban[10:21], bban[21:])
    assert not rib_ok(bban[:5], bban[5:10], bban[10:21], f"{(int(bban[21:]) + 1) % 97:02d}")


def test_rib_letters_follow_the_banks_table() -> None:
    # A=J=1, B=K=S=2 ... I=R=Z=9: an account with letters has the key of its digit twin
    assert rib_ok("20041", "01005", "0500013M026", "06") and rib_ok("20041", "01005", "05000134026", "06")
    assert rib_ok("30002", "00550", "0000157845Z", "02") and rib_ok("30002", "00550", "00001578459", "02")
    assert not rib_ok("3000", "00001", "12345678901", "89")


def _nir_key(body13: str) -> str:
    """INSEE rule written the other way round: Corsica 2A/2B read as 20 then minus 1,000,000
    (2A -> 19) or 2,000,000 (2B -> 18)."""
    offset = {"2A": 1_000_000, "2B": 2_000_000}.get(body13[5:7], 0)
    n = int(body13[:5] + ("20" if offset else body13[5:7]) + body13[7:]) - offset
    return f"{97 - n % 97:02d}"


@pytest.mark.parametrize(
    "body", ["2690549588157", "1850578006084", "278022A004123", "186022B033087", "2920397105042", "1050533063220", "3850578006084"]
)
def test_nir_key(body: str) -> None:
    key = _nir_key(body)
    assert nir_ok(body + key)
    assert not nir_ok(body + f"{(int(key) + 1) % 100:02d}")


def test_nir_published_example_and_structure() -> None:
    assert nir_ok("269054958815780")  # INSEE's example
    assert not nir_ok("569054958815780")  # first digit is the sex / status
    assert not nir_ok("2691349588157" + _nir_key("2691349588157"))  # month 13
    assert not nir_ok("26905495881578")  # 14 characters
    assert not nir_ok("278022C00412310")


def test_siren_siret() -> None:
    assert siren_ok("552100554") and siren_ok("443061841")
    assert not siren_ok("338780525") and not siren_ok("55210055")
    assert siret_ok("55210055400013") and not siret_ok("55210055400014")
    # La Poste (SIREN 356000000): digit sum multiple of 5, not Luhn; head office is Luhn
    assert siret_ok("35600000000010") and not luhn_ok("35600000000010")
    assert not siret_ok("35600000000011")
    assert siret_ok("35600000000048") and luhn_ok("35600000000048")


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("4917610000000000003", "visa"),
        ("5555555555554444", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720999999999996", "mastercard"),
        ("378282246310005", "amex"),
        ("30569309025904", "diners"),
        ("36227206271667", "diners"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("6200000000000005", "unionpay"),
        ("6759649826438453", "maestro"),
        ("5019717010103742", "maestro"),
    ],
)
def test_card_test_numbers(number: str, brand: str) -> None:
    assert card_brand(number) == brand and card_ok(number)


def test_card_brand_edges() -> None:
    def with_luhn(prefix: str, length: int) -> str:
        body = prefix.ljust(length - 1, "0")
        return next(body + d for d in "0123456789" if luhn_ok(body + d))

    assert card_brand(with_luhn("2220", 16)) is None and card_brand(with_luhn("2721", 16)) is None
    assert card_brand(with_luhn("2221", 16)) == card_brand(with_luhn("2720", 16)) == "mastercard"
    assert card_brand(with_luhn("34", 16)) is None  # Amex is 15 digits only
    assert card_brand(with_luhn("6759", 12)) == card_brand(with_luhn("6759", 19)) == "maestro"
    assert card_brand(with_luhn("6759", 11)) is None
    assert not card_ok(with_luhn("1234", 16))  # Luhn alone is not a card
    assert not card_ok("4111111111111112")


def test_ocr_mapping() -> None:
    assert ocr_to_digits("O6 I2 3S 5B l|") == "06 12 35 58 11"
    assert real_digit_share("0612") == 1.0 and real_digit_share("O6I2") == 0.5 and real_digit_share("abc") == 0.0
    # the digit view: look-alikes touching digits, but not those inside a word
    assert ocr_digit_view("CT-2O24-OO1234") == "CT-2024-001234"
    assert ocr_digit_view("CLIOOO12345") == "CLI00012345"
    assert ocr_digit_view("SOS BOB Ilot") == "SOS BOB Ilot"
    assert len(ocr_digit_view("x2O é1l")) == len("x2O é1l")
