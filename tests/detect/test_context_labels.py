"""Label context: the value right of or below a label ("Nom", "Téléphone", "Handled by",
"Conseiller"...) is personal data even when no recognizer fires, partial values included;
UI text (labels, buttons, placeholders, history actions) is not."""

from __future__ import annotations

import pytest

from anonymizer.config import Config
from anonymizer.detect import Detector
from anonymizer.detect.labels import is_ui_text
from anonymizer.screen.context import context_findings
from anonymizer.screen.findings import screen_boxes, unsure_candidates
from anonymizer.screen.layout import build_lines
from anonymizer.types import Box, TextBox

H = 14  # text height in px


def tb(x: int, y: int, text: str, w: int | None = None) -> TextBox:
    return TextBox(Box(x, y, w if w is not None else 8 * len(text), H), text, 0.9, 0.0)


def values(texts: list[TextBox]) -> set[str]:
    lines = build_lines(texts)
    return {lines[fv.line].text[fv.finding.start : fv.finding.end] for fv in context_findings(lines)}


# (screen boxes, values that must be flagged, text that must not be)
CASES = [
    ([tb(10, 10, "Nom"), tb(200, 10, "Xqzw")], {"Xqzw"}, set()),  # label column | value column
    ([tb(10, 10, "Téléphone : 06 12 3")], {"06 12 3"}, set()),  # partial value being typed
    ([tb(10, 10, "Phone"), tb(200, 10, "06")], {"06"}, set()),
    ([tb(10, 10, "IBAN"), tb(200, 10, "FR76 30")], {"FR76 30"}, set()),
    ([tb(10, 10, "Agent:"), tb(70, 10, "Kwame Oyelaran-Smith")], {"Kwame Oyelaran-Smith"}, set()),
    ([tb(10, 10, "Nom : Marie-Hélène de La Tour")], {"Marie-Hélène de La Tour"}, set()),  # 4 words: a name
    ([tb(10, 10, "Conseiller : Bérangère Q.")], {"Bérangère Q."}, set()),
    ([tb(10, 10, "traité par jdoe42")], {"jdoe42"}, set()),
    ([tb(10, 10, "Search"), tb(80, 10, "Dup"), tb(200, 10, "OK")], {"Dup"}, {"OK"}),
    ([tb(10, 10, "Search Dup OK")], {"Dup"}, {"OK"}),
    # one OCR box over fields joined by separators: each label still starts a field
    ([tb(10, 10, "Gestionnaire"), tb(120, 10, "Xqzw . xqzw1 . Poste 2335 . Matricule E6+862", 332)],
     {"Xqzw . xqzw1 .", "2335 .", "E6+862"}, set()),
    # a form field under its label
    ([tb(10, 10, "Date of birth"), tb(10, 30, "1O/O3/19")], {"1O/O3/19"}, set()),
    # a table column: every cell under "Handled by", not the other columns
    ([tb(10, 10, "Date"), tb(150, 10, "Action"), tb(400, 10, "Handled by"),
      tb(10, 30, "02/11/2026"), tb(150, 30, "Outbound call"), tb(400, 30, "C. Zorglub"),
      tb(10, 50, "03/11/2026"), tb(150, 50, "Quote sent"), tb(400, 50, "T. Nguyen")],
     {"C. Zorglub", "T. Nguyen"}, {"Outbound call", "Quote sent", "02/11/2026", "Date", "Action"}),
    # a form's value column beside a history table whose rows OCR joined with the labels
    ([tb(20, 297, "IBAN"), tb(675, 289, "24/01/2026"), tb(790, 288, "Réclamation"), tb(1000, 289, "Olivier Bernard"),
      tb(192, 297, "FR06 4003 1049")], {"FR06 4003 1049"}, {"24/01/2026", "Réclamation"}),
    # a card's security code and an account manager, in the value column far right of the label
    ([tb(107, 330, "CVV"), tb(247, 330, "303")], {"303"}, set()),
    ([tb(107, 330, "cWV"), tb(247, 330, "387")], {"387"}, set()),  # as EasyOCR reads it
    ([tb(10, 10, "Cryptogramme visuel"), tb(250, 10, "8I2")], {"8I2"}, set()),
    ([tb(107, 352, "Account manager"), tb(247, 352, "Robinson")], {"Robinson"}, set()),
    ([tb(10, 10, "Policy no."), tb(200, 10, "CN2026-87897")], {"CN2026-87897"}, set()),
    # a history action OCR joined with the name beside it: the name only
    ([tb(683, 540, "2025-11-27"), tb(790, 540, "Address change Wilson")], {"Wilson"}, {"change"}),
    # labels in a row: each one's value is below it, labels are never values
    ([tb(10, 10, "Nom"), tb(200, 10, "Prénom"), tb(10, 30, "Zorglub"), tb(200, 30, "Xavière")],
     {"Zorglub", "Xavière"}, {"Prénom", "Nom"}),
    # a narrow column wrapped the label and the value (a reader that boxes word by word):
    # each part of the label has its part of the value on its right
    ([tb(241, 306, "No"), tb(270, 306, "securite"), tb(426, 306, "1"), tb(444, 306, "57"), tb(473, 306, "09"),
      tb(241, 324, "sociale"), tb(425, 324, "758"), tb(463, 324, "02"),
      tb(241, 350, "No"), tb(270, 350, "client"), tb(426, 350, "CU-204804")],
     {"1 57 09", "758 02", "CU-204804"}, {"sociale", "client"}),
    # a wrapped value runs on under its first line until a text stands in the label column
    ([tb(637, 306, "Adresse"), tb(822, 306, "89"), tb(851, 306, "impasse"), tb(927, 306, "des"),
      tb(822, 324, "Roses,"), tb(889, 324, "06000"), tb(947, 324, "Nice"),
      tb(637, 342, "Montant mensuel"), tb(822, 342, "159,98 €")],
     {"89 impasse", "Roses, 06000 Nice"}, {"159,98 €", "Montant mensuel"}),
    # a label boxed word by word: its value is the nearest box right of the whole label
    ([tb(241, 278, "Date"), tb(289, 278, "de"), tb(318, 278, "naissance"), tb(500, 278, "18/09/1957")],
     {"18/09/1957"}, {"de naissance", "naissance"}),
]
NOTHING = [
    # history actions that start with a label word are UI phrases, and so is the column below them
    [tb(90, 10, "Address change"), tb(90, 30, "Email updated"), tb(90, 50, "Card replaced"), tb(90, 70, "Inbound call")],
    [tb(10, 10, "Card"), tb(250, 10, "Mastercard")],  # a card brand is not the card
    [tb(10, 10, "Search"), tb(80, 10, "Customer name...", 120)],  # a placeholder
    [tb(10, 10, "Nom du client...")],
    [tb(10, 10, "Customer record")],
    [tb(10, 10, "File"), tb(60, 10, "Edit"), tb(110, 10, "View")],
    [tb(10, 10, "The customer asked for a new card")],  # a label word inside free text
    [tb(10, 10, "Name"), tb(10, 30, "Phone"), tb(10, 50, "Email")],  # empty form: labels only
    # a web app's title starting with a name label, then its menu: not a name (5 words)
    [tb(10, 10, "Customer Desk"), tb(120, 10, "Home"), tb(165, 10, "Customers"), tb(245, 10, "Requests"),
     tb(315, 10, "Statistics")],
]


@pytest.mark.parametrize(("texts", "flagged", "kept"), CASES)
def test_values_beside_or_below_labels(texts: list[TextBox], flagged: set[str], kept: set[str]) -> None:
    found = values(texts)
    assert flagged <= found
    assert not any(k in v for k in kept for v in found), found


@pytest.mark.parametrize("texts", NOTHING)
def test_ui_text_is_not_a_value(texts: list[TextBox]) -> None:
    assert values(texts) == set()


@pytest.mark.parametrize(("text", "ui"), [
    ("Outbound call", True), ("Appel sortant", True), ("Quote sent", True), ("Customer name...", True),
    ("Date de naissance", True), ("Handled by", True), ("Mme", True),
    ("Changement d'adresse", True), ("Mise à jour e-mail", True), ("Jean d'Ormesson", False),
    ("Claire Dubois", False), ("Dupont", False), ("06 12", False), ("Poste 4127", False),
    ("Changes saved", True), ("Tickets closed", True),  # plural and past forms of UI words
    ("Jones", False), ("Evans", False), ("Reed", False), ("Ward", False),
])
def test_ui_text(text: str, ui: bool) -> None:
    assert is_ui_text(text) is ui


def test_unsure_ocr_hides_values_but_not_known_labels(detector: Detector) -> None:
    """Fail closed on barely readable values; a barely readable *label* (exact or one OCR edit
    from a long UI word) is not hidden: it caused most destroyed labels."""
    texts = [
        TextBox(Box(10, 10, 90, 14), "Handied by", 0.2, 0.0),
        TextBox(Box(10, 40, 110, 14), "Outbound call", 0.3, 0.0),
        TextBox(Box(10, 70, 60, 14), "Dubwa", 0.2, 0.0),
        TextBox(Box(10, 100, 60, 14), "Camille", 0.2, 0.0),  # one edit from "famille": still a name
        TextBox(Box(10, 130, 90, 14), "Poste 41Z7", 0.5, 0.0),  # digits raise the bar
    ]
    boxes = screen_boxes(texts, detector, Config(), hasher=lambda v: v)
    hidden_rows = {b.box.y + b.box.h // 2 for b in boxes}  # as unsure, or by what a recognizer found there
    assert hidden_rows == {77, 107, 137}
    assert 77 in {b.box.y + b.box.h // 2 for b in boxes if b.type == "UNSURE"}  # "Dubwa": nothing else knows it


@pytest.mark.parametrize(("text", "ui"), [
    ("Handied by", True), ("Telephane", True), ("Camille", False), ("Dave", False),
    ("Demiere commande", True),  # "rn" read as "m"
    ("Carte blo quee", True), ("Carte blo", False),  # a word split in two is read joined
    ("Montant", True), ("Last order", True), ("Marc Lefevre", False),
])
def test_fuzzy_ui_text(text: str, ui: bool) -> None:
    assert is_ui_text(text, fuzzy=True) is ui


# Lines as rebuilt from OCR boxes ("  " = a wide gap between fields): nothing of the
# label or of the neighbouring panel is flagged.
JOINED = [
    ("221 Baker Street, London NW1 6XE  2026-08-21 Outbound call", "2026-08-21 Outbound call"),
    ("Connecté en tant que jdupont Poste 5872  12:43:06", "12:43:06"),
    ("Ext. 4127", "Ext."),
    ("2026-01-28 Inbound call  Marc Lefevre", "2026-01-28 Inbound call"),
]


@pytest.mark.parametrize(("line", "readable"), JOINED)
def test_findings_stop_at_field_gaps(detector: Detector, line: str, readable: str) -> None:
    start = line.index(readable)
    flagged = [f for f in detector.find(line) if f.start < start + len(readable) and start < f.end]
    assert flagged == [], [(f.entity_type, line[f.start : f.end]) for f in flagged]


@pytest.mark.parametrize(
    ("text", "left"),
    [("Ext. 4127", "4127"), ("Mme Dubwa", "Dubwa"), ("10:28:44", None), ("Handled by", None),
     ("1985-04-03", "1985-04-03"), ("06 12 34", "06 12 34"), ("Dubwa Smith", "Dubwa Smith"),
     ("12.24.57", None),  # the clock as OCR often reads it
     ("06.12", "06.12"), ("26.12.34", "26.12.34"),  # no seconds, or no time: maybe a phone
     ("£156.58", None), ("313,08 €", None), ("156.58", "156.58"),  # amounts need their currency
     ("Ticket T-87248", None)],
)
def test_unsure_candidates_keep_labels_clocks_and_recent_dates_readable(text: str, left: str | None) -> None:
    box = TextBox(Box(100, 10, 90, 14), text, 0.1, 0.0)
    got = unsure_candidates([box])
    assert [tb.text for tb in got] == ([] if left is None else [left])
    if got and left != text:  # cut to the value, which stays inside the hidden part
        assert got[0].box.x1 == box.box.x1 and got[0].box.x <= 100 + 90 * text.index(left) // len(text)


def test_recent_history_dates_but_not_birth_dates_are_readable() -> None:
    import time

    year = time.gmtime().tm_year
    texts = [TextBox(Box(10, 10, 80, 14), f"{year}-03-02", 0.1, 0.0), TextBox(Box(10, 30, 80, 14), "02/03/1971", 0.1, 0.0),
             TextBox(Box(10, 50, 80, 14), f"29/10/{year - 8}", 0.1, 0.0), TextBox(Box(10, 70, 80, 14), f"21/06/{year + 1}", 0.1, 0.0),
             TextBox(Box(10, 90, 80, 14), f"14/05/{year - 11}", 0.1, 0.0)]
    assert [tb.text for tb in unsure_candidates(texts)] == ["02/03/1971", f"14/05/{year - 11}"]


def test_a_value_split_over_two_lines_is_flagged_whole() -> None:
    """EasyOCR read "s.wright@btinternet.com" as overlapping boxes ("Ihto" over "wrig",
    then "btinternet com") and the line builder put "Ihto" on the history table's line:
    every box touching the value on its row is the field's value."""
    from anonymizer.screen.layout import Line

    ihto, upd = tb(232, 160, "Ihto", 66), tb(420, 157, "Email updated")
    email, wrig, bt = tb(101, 160, "Email"), tb(232, 160, "wrig", 40), tb(272, 160, "btinternet com", 124)
    lines = [Line("Ihto  Email updated", ((0, ihto), (6, upd))),
             Line("Email  wrig btinternet com", ((0, email), (7, wrig), (12, bt)))]
    found = {lines[fv.line].text[fv.finding.start : fv.finding.end] for fv in context_findings(lines)}
    flagged = " ".join(found)
    assert all(w in flagged for w in ("Ihto", "wrig", "btinternet com")) and "updated" not in flagged


def test_unsure_boxes_are_split_at_wide_gaps() -> None:
    """One barely read box over a status bar: each field is judged alone, the labels
    between the values stay readable and the values' glyphs stay inside the hidden parts."""
    text = "Connecte en tant que mlambert   Poste 3930  12.43.06"
    box = TextBox(Box(100, 10, 8 * len(text), 14), text, 0.6, 0.0)
    got = unsure_candidates([box])
    assert [t.text for t in got] == ["mlambert", "3930"]
    poste = text.index("Poste")
    for part in got:
        start = text.index(part.text)
        assert part.box.x <= 100 + 8 * start and 100 + 8 * (start + len(part.text)) <= part.box.x1
    assert not any(p.box.x <= 100 + 8 * poste + 4 < p.box.x1 for p in got)  # "Poste" is not covered


def test_reference_values_are_not_identifiers(detector: Detector) -> None:
    """A ticket, order or amount beside its label is that reference, however garbled or
    shaped like an employee id; a card number typed there is still a card."""
    texts = [tb(10, 10, "Ticket"), TextBox(Box(120, 10, 56, H), "T-87248", 0.39, 0.0),
             tb(10, 40, "Dernière commande"), TextBox(Box(160, 40, 60, H), "N' 199195", 0.4, 0.0),
             tb(10, 70, "Montant"), TextBox(Box(120, 70, 60, H), "E156.58", 0.6, 0.0),
             tb(10, 100, "Ticket"), tb(120, 100, "4111 1111 1111 1111")]
    boxes = screen_boxes(texts, detector, Config(), hasher=lambda v: v)
    assert {(b.box.y + b.box.h // 2, b.type) for b in boxes} == {(107, "CREDIT_CARD")}
    # the same values without a reference label are hidden
    bare = [t for t in texts if t.box.y < 100 and t.box.x > 100]
    hidden = {b.box.y + b.box.h // 2 for b in screen_boxes(bare, detector, Config(), hasher=lambda v: v)}
    assert hidden == {17, 47, 77}


def test_a_ticking_clock_is_the_same_line_to_the_detector(detector: Detector) -> None:
    """A status bar whose clock ticks is analysed once, not once a second (the calm 10-min
    benchmark spent 45 s in detection), and what it holds is still found."""
    from anonymizer.screen.findings import screen_findings

    for sec in range(3):
        found = screen_findings([tb(10, 10, "Logged in as cdubois  Ext. 4127"), tb(400, 10, f"12:24:5{sec}")], detector, Config())
        assert {line.text[f.start : f.end] for line, f in found} >= {"cdubois", "4127"}
    assert len(detector._cache) == 1


def test_a_barely_read_box_whose_values_are_found_leaves_its_labels_readable(detector: Detector) -> None:
    """A header read at 0.6 (its digits make that unsure): the agent's name, extension and
    id are found and hidden by their own boxes; the rest is UI words and punctuation, so
    "Conseiller" and "Poste" stay readable. A part with characters left that no finding
    covers is still hidden whole."""
    text = "Conseiller Claire Dubois . Poste 4127 . E10234"
    header = TextBox(Box(100, 10, 8 * len(text), H), text, 0.6, 0.0)
    boxes = screen_boxes([header], detector, Config(), hasher=lambda v: v)
    assert "UNSURE" not in {b.type for b in boxes}
    for word in ("Conseiller", "Poste"):
        x = 100 + 8 * text.index(word) + 4
        assert not any(b.box.x <= x < b.box.x1 for b in boxes), word
    assert {"PERSON", "EXTENSION", "EMPLOYEE_ID"} <= {b.type for b in boxes}
    name, ext, eid = (text.index(v) for v in ("Claire Dubois", "4127", "E10234"))
    all_found = {id(header): [(name, name + 13), (ext, ext + 4), (eid, eid + 6)]}
    assert unsure_candidates([header], all_found) == []
    id_missed = {id(header): [(name, name + 13), (ext, ext + 4)]}
    assert [t.text for t in unsure_candidates([header], id_missed)] == [text]


@pytest.mark.parametrize("word", ["Appelant", "Raccrocher", "Attente", "Synthèse", "Contrats", "Statistiques", "Caller", "Mute"])
def test_softphone_and_crm_words_are_not_names(detector: Detector, word: str) -> None:
    """spaCy's French model tags a lone capitalised word as a person ("Appelant",
    "Raccrocher" on softphone buttons, "Synthèse" and "Contrats" on tabs): the trade's
    vocabulary is UI text, never a name, and stays readable."""
    assert is_ui_text(word)
    assert [f for f in detector.find(word) if f.entity_type == "PERSON"] == []
