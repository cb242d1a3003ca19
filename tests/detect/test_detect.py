"""Detection tables: (line as OCR'd, expected (type, value) findings that must be present,
values that must NOT be flagged). Real Presidio + spaCy EN/FR models."""

from __future__ import annotations

import pytest

from anonymizer.config import DetectConfig
from anonymizer.detect import Detector
from anonymizer.detect.roster import Employee
from anonymizer.textnorm import ocr_canonical


@pytest.fixture(scope="module")
def detector() -> Detector:
    roster = [
        Employee("E10234", "Claire", "Dubois", "cdubois", "claire.dubois@acme.fr", "4127"),
        Employee("E20011", "Marc", "Lefèvre", "mlefevre", "marc.lefevre@acme.fr", "4133"),
    ]
    return Detector(DetectConfig(), roster=roster, agent_id="E10234")


def _found(det: Detector, text: str) -> set[tuple[str, str]]:
    return {(f.entity_type, text[f.start : f.end]) for f in det.find(text)}


POSITIVE = [
    ("Telephone 06 12 34 56 78", ("PHONE_NUMBER", "06 12 34 56 78")),
    ("Tél. +33 6 12 34 56 78", ("PHONE_NUMBER", "+33 6 12 34 56 78")),
    ("Phone +44 20 7946 0958", ("PHONE_NUMBER", "+44 20 7946 0958")),
    ("Phone (555) 010-1234", ("PHONE_NUMBER", "(555) 010-1234")),
    ("Email jean.martin@gmail.com", ("EMAIL_ADDRESS", "jean.martin@gmail.com")),
    ("IBAN FR76 3000 6000 0112 3456 7890 189", ("IBAN_CODE", "FR76 3000 6000 0112 3456 7890 189")),
    ("Card 4970 1012 3456 7899", ("CREDIT_CARD", "4970 1012 3456 7899")),  # Luhn fails, but labelled
    ("Carte 4111 1111 1111 1111", ("CREDIT_CARD", "4111 1111 1111 1111")),
    ("Date de naissance 04/03/1985", ("DATE_OF_BIRTH", "04/03/1985")),
    ("Date of birth September 17, 1987", ("DATE_OF_BIRTH", "September 17, 1987")),
    ("Adresse 12 rue des Lilas, 75011 Paris", ("ADDRESS", "12 rue des Lilas, 75011 Paris")),
    ("Address 221 Baker Street, London NW1 6XE", ("ADDRESS", "221 Baker Street, London NW1 6XE")),
    ("Nom Jean Martin", ("PERSON", "Jean Martin")),
    ("Agent: Claire Dubois (E10234)", ("EMPLOYEE_ID", "E10234")),
    ("Agent: Claire Dubois (E10234)", ("PERSON", "Claire Dubois")),
    ("traité par Marc Lefevre", ("PERSON", "Marc Lefevre")),
    ("Logged in as cdubois", ("LOGIN", "cdubois")),
    ("poste 4133", ("EXTENSION", "4133")),
    ("Conseiller: Dubois", ("PERSON", "Dubois")),
    ("Handled by Lefebvre", ("PERSON", "Lefebvre")),  # one OCR edit away from the roster
]


@pytest.mark.parametrize(("line", "expected"), POSITIVE)
def test_positive(detector: Detector, line: str, expected: tuple[str, str]) -> None:
    assert expected in _found(detector, line)


NEGATIVE = ["File Edit View", "Date  Action  Handled by", "History 02/11/2026 Call back", "Save", "Name", "Customer record", "2026-09-18"]


@pytest.mark.parametrize("line", NEGATIVE)
def test_negative(detector: Detector, line: str) -> None:
    assert _found(detector, line) == set()


def test_roster_category(detector: Detector) -> None:
    cats = {(line[f.start : f.end], f.category) for line in ["Agent: Claire Dubois", "Marc Lefèvre"] for f in detector.find(line)}
    assert ("Claire Dubois", "agent") in cats and ("Marc Lefèvre", "colleague") in cats


def test_registry_finds_values_seen_elsewhere(detector: Detector) -> None:
    line = "voir zorglub ref 98-76"
    misread = "code E7Z9Q1 ok"  # found by the fuzzy id tables once E7Z8Q1 is known
    assert _found(detector, line) == set() and _found(detector, misread) == set()
    detector.add_known("PERSON", "Amélie Zorglub")
    detector.add_known("NUMBER", "44 98-76")
    detector.add_known("EMPLOYEE_ID", "E7Z8Q1", "colleague")
    found = _found(detector, line)
    assert ("PERSON", "zorglub") in found
    assert ("EMPLOYEE_ID", "E7Z9Q1") in _found(detector, misread)  # searched again with the new registry
    assert ("NUMBER", "98-76") not in found  # only the whole known digit string counts
    assert ("NUMBER", "4498-76") not in found


@pytest.mark.parametrize(("line", "found"), [
    ("poste 41 27", True), ("ext 41-27.", True), ("4127", True),
    ("Card  4309 2462 7072 8081 Visa  2026-08-15", False),  # "81 Visa 2026" holds no "8120"
    ("2026-04-12", False), ("14127", False), ("06 12 41 27 88", True),
])
def test_short_known_numbers_match_whole(detector: Detector, line: str, found: bool) -> None:
    """An extension (a short registry number) is found as a whole number, never made of
    digits from a card, a word and a date."""
    for known in ("4127", "8120", "0412"):
        detector.add_known("EXTENSION", known, "colleague")
    assert any(f.entity_type == "EXTENSION" for f in detector.find(line)) is found, detector.find(line)


def test_misread_labels_and_codes_are_not_names(detector: Detector) -> None:
    """NER on OCR lines calls "Demiere" (Dernière) or "T74420" a name: neither joins the
    registry as one, so neither is hidden wherever it appears."""
    detector.add_known("PERSON", "Demiere commande")
    detector.add_known("FIELD", "blo quee")
    for f in detector.find("Demiere commande  N' 199195  Carte bloquee  Ticket T74420"):
        assert f.entity_type != "PERSON" and f.entity_type != "FIELD", f


def test_roster_ids_with_one_misread_character_are_found(detector: Detector) -> None:
    """OCR read the colleague's id "E10234" as "E1O2+4" (two) or "E10Z34" (one): one
    substitution is the same id (recall); it never proves a leak (verification)."""
    assert ("EMPLOYEE_ID", "E10Z34") in _found(detector, "Matricule E10Z34")
    assert any(v == "cdubols" for _t, v in _found(detector, "login cdubols"))
    assert not any(t == "EMPLOYEE_ID" for t, _ in _found(detector, "Matricule E1O2+4"))
    assert detector.find_known("Matricule E10Z34") == []


def test_ocr_canonical() -> None:
    assert ocr_canonical("Tumer") == ocr_canonical("Turner")
    assert ocr_canonical("5MlTH") == ocr_canonical("smith")


def test_verification_matches_only_strong_values_exactly(detector: Detector) -> None:
    detector.add_known("PERSON", "Qlulu")  # a single word NER called a name: maybe OCR garbage
    detector.add_known("PERSON", "Edmond Turnbull")
    assert ("PERSON", "Qlulu") in _found(detector, "voir Qlulu")
    assert detector.find_known("voir Qlulu") == []
    assert [("PERSON", "Edmond Turnbull")] == [(f.entity_type, "Edmond Turnbull") for f in detector.find_known("x Edmond Turnbull")]
    assert detector.find_known("Turnbul") == []  # fuzzy serves recall, not proof
    assert detector.find_known("handled by cdubois")  # the roster is always proof
