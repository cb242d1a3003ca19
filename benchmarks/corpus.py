"""Synthetic CRM-like call-center screen recordings with exact ground truth.

``generate()`` writes four files into ``out_dir``:

* ``{name}.{container}`` - the screen recording (H.264 yuv420p + AAC 16 kHz mono in mp4;
  VP9 + Opus 48 kHz mono in mkv/webm);
* ``{name}.truth.json`` - per-frame PII boxes (tight pixel box of the value text only),
  per-frame LABEL boxes (non-PII UI text) and the exact time spans of spoken PII;
* ``{name}.roster.csv`` - the agent, colleagues and a few other employees;
* ``{name}.sidecar.json`` - the call metadata the anonymizer receives with a recording.

Everything is derived from ``seed`` (names, values, timeline, font family), so a call is
reproducible. Each distinct screen state is rendered once with PIL and re-used for the
following frames until something changes (typing, scrolling, chat pop-up, clock).

Truth JSON (boxes are ``[x, y, w, h]`` in pixels; ``t`` is the frame's pts in seconds as
read back from the written file)::

    {"video": "call.mp4", "width": W, "height": H, "fps": 10.0, "n_frames": N,
     "duration_s": N / fps, "lang": "en", "theme": "light", "font_px": 14, "layout": 0,
     "seed": 0, "container": "mp4",
     "audio": {"sample_rate": 16000, "channels": 1, "n_samples": S} | null,
     "frames": [{"i": 0, "t": 0.0,
                 "pii": [{"type": "PERSON", "value": "Claire Dubois", "box": [x, y, w, h],
                          "who": "agent", "partial": true?}],
                 "labels": [{"text": "Phone", "box": [x, y, w, h]}]}],
     "audio_spans": [{"type": "PHONE_NUMBER", "value": "06 12 34 56 78", "who": "customer",
                      "text": "<what espeak said>", "start_s": 12.3, "end_s": 14.1}],
     "speech": [{"start_s": 11.2, "end_s": 12.1, "who": "customer", "pii": false,
                 "text": "my number is"}]}

``speech`` lists every utterance placed in the call, personal or not (``pii``), trimmed
to its speech extent like the values: the scorer's ``speech_kept`` is measured on the
ordinary ones.

PII types: PERSON, PHONE_NUMBER, EMAIL_ADDRESS, ADDRESS, DATE_OF_BIRTH, IBAN_CODE,
CREDIT_CARD (customer), EMPLOYEE_ID, LOGIN, EXTENSION (agent); ``who`` is customer, agent or
colleague. ``partial`` is present (true) when the text is clipped by its panel or scrolled
half out of view; the box is then the visible part. Labels are only listed when the
whole label is visible. For the search box being typed, ``value`` is the typed prefix.

Audio: the dialogue is synthesised with ``espeak-ng``. Every PII value is its own
utterance, trimmed to its speech extent by an amplitude threshold, so the truth span of
each spoken value is exact to the sample (of the pre-encoding signal).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as _dt
import json
import random
import shutil
import subprocess
import tempfile
import unicodedata
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["RecordingPaths", "generate", "main"]

Box = tuple[int, int, int, int]  # x, y, w, h
Pii = tuple[str, ...]  # type, value, who[, form: full | first | last | typed]
Part = tuple[str, Pii | None, bool]  # text, PII (or None), is a decoy
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
FONT_FAMILIES = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf"),
    ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
)
VIDEO_AUDIO = {
    # container -> (video codec, video options, audio codec, audio sample rate)
    "mp4": ("libx264", {"crf": "17", "preset": "veryfast", "tune": "stillimage"}, "aac", 16000),
    "mkv": ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8",
                           "row-mt": "1"}, "libopus", 48000),
    "webm": ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8",
                            "row-mt": "1"}, "libopus", 48000),
}


@dataclass(frozen=True)
class RecordingPaths:
    video: Path
    truth: Path
    roster: Path
    sidecar: Path


# --------------------------------------------------------------------------- data pools

FR_FIRST_M = ["Jean", "Pierre", "Luc", "Nicolas", "Antoine", "François", "Mathieu", "Thomas",
              "Julien", "Sébastien", "Marc", "Olivier", "Étienne", "Benoît", "Rémi"]
FR_FIRST_F = ["Claire", "Marie", "Sophie", "Camille", "Julie", "Élodie", "Hélène", "Isabelle",
              "Nathalie", "Céline", "Aurélie", "Valérie", "Chloé", "Manon", "Léa"]
FR_LAST = ["Dubois", "Martin", "Bernard", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux",
           "Fournier", "Mercier", "Blanchard", "Garnier", "Chevalier", "Rousseau", "Faure",
           "Lambert", "Bonnet", "Dupont", "Marchand", "Perrin", "Gauthier", "Lemaire"]
EN_FIRST_M = ["James", "Oliver", "Harry", "George", "Jack", "Thomas", "William", "Daniel",
              "Samuel", "Benjamin", "Edward", "Henry", "Arthur", "Oscar", "Charlie"]
EN_FIRST_F = ["Emily", "Charlotte", "Sophie", "Amelia", "Olivia", "Grace", "Lucy", "Hannah",
              "Chloe", "Ella", "Isla", "Jessica", "Megan", "Alice", "Eleanor"]
EN_LAST = ["Smith", "Johnson", "Williams", "Brown", "Taylor", "Davies", "Wilson", "Evans",
           "Roberts", "Walker", "Wright", "Thompson", "Robinson", "Clarke", "Hughes",
           "Edwards", "Green", "Hall", "Wood", "Harris", "Turner", "Cooper"]
FR_STREETS = ["rue des Lilas", "avenue Victor Hugo", "boulevard Voltaire", "rue de la République",
              "place du Marché", "rue Pasteur", "allée des Tilleuls", "chemin des Vignes",
              "rue Jean Jaurès", "quai de la Loire", "impasse des Roses", "rue du Moulin"]
FR_CITIES = [("75011", "Paris"), ("69003", "Lyon"), ("13008", "Marseille"), ("31000", "Toulouse"),
             ("33000", "Bordeaux"), ("59000", "Lille"), ("44000", "Nantes"),
             ("67000", "Strasbourg"), ("35000", "Rennes"), ("06000", "Nice")]
EN_STREETS = ["Baker Street", "High Street", "Station Road", "Church Lane", "Victoria Road",
              "Park Avenue", "Mill Lane", "Queens Road", "King Street", "Oxford Road",
              "Elm Grove", "Manor Way"]
EN_CITIES = [("London", "NW1 6XE"), ("Manchester", "M1 4BT"), ("Bristol", "BS1 5TR"),
             ("Leeds", "LS1 4AP"), ("York", "YO1 7HH"), ("Oxford", "OX1 2JD"),
             ("Cambridge", "CB2 1TN"), ("Brighton", "BN1 1EE"), ("Bath", "BA1 1LT")]
FR_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr", "outlook.fr"]
EN_DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "example.org"]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]

UI: dict[str, dict[str, Any]] = {
    "en": {
        "menu": ["File", "Edit", "View", "Tools", "Help"],
        "app": "CallDesk CRM", "agent": "Agent:", "search": "Search",
        "placeholder": "Customer name...", "ok": "OK", "record": "Customer record",
        "empty": "No customer selected",
        "fields": ["Name", "Phone", "Email", "Address", "Date of birth", "IBAN", "Card"],
        "save": "Save", "cancel": "Cancel", "history": "History",
        "cols": ["Date", "Action", "Handled by"], "chat": "Team chat",
        "connected": "Connected", "logged": "Logged in as", "ext": "Ext.",
        "nav": ["Dashboard", "Customers", "Tickets", "Reports", "Settings"],
        "chat_msg": ("can you call", "back?"), "titles": ("Mr.", "Ms."),
        "actions": ["Inbound call", "Outbound call", "Address change", "Card blocked",
                    "Statement sent", "Complaint", "Payment reminder", "Email updated",
                    "Card replaced", "Quote sent"],
        "extra_fields": {"CUSTOMER_ID": "Customer ID", "CONTRACT_ID": "Policy no.",
                         "CVV": "CVV"},
        "decoys": ["Last order", "Amount", "Callback at", "Ticket"],
        "manager": "Account manager", "id": "ID", "hello": "Hello,",
        "chat_msg_full": ("can you ask", "to call", "back?"),
    },
    "fr": {
        "menu": ["Fichier", "Édition", "Affichage", "Outils", "Aide"],
        "app": "CallDesk CRM", "agent": "Conseiller :", "search": "Rechercher",
        "placeholder": "Nom du client...", "ok": "OK", "record": "Fiche client",
        "empty": "Aucun client sélectionné",
        "fields": ["Nom", "Téléphone", "E-mail", "Adresse", "Date de naissance", "IBAN", "Carte"],
        "save": "Enregistrer", "cancel": "Annuler", "history": "Historique",
        "cols": ["Date", "Action", "Traité par"], "chat": "Messagerie",
        "connected": "Connecté", "logged": "Connecté en tant que", "ext": "Poste",
        "nav": ["Accueil", "Clients", "Tickets", "Rapports", "Paramètres"],
        "chat_msg": ("peux-tu rappeler", "?"), "titles": ("M.", "Mme"),
        "actions": ["Appel entrant", "Appel sortant", "Changement d'adresse", "Carte bloquée",
                    "Envoi de RIB", "Réclamation", "Relance paiement", "Mise à jour e-mail",
                    "Opposition carte", "Devis envoyé"],
        "extra_fields": {"CUSTOMER_ID": "N° client", "CONTRACT_ID": "N° contrat",
                         "FR_NIR": "N° sécu", "FR_SIREN": "SIREN", "FR_SIRET": "SIRET",
                         "FR_RIB": "RIB", "CVV": "Cryptogramme"},
        "decoys": ["Dernière commande", "Montant", "Rappel à", "Ticket"],
        "manager": "Gestionnaire", "id": "Matricule", "hello": "Bonjour,",
        "chat_msg_full": ("peux-tu demander à", "de rappeler", "?"),
    },
}

THEMES: dict[str, dict[str, tuple[int, int, int]]] = {
    "light": {
        "bg": (236, 239, 243), "menu_bg": (250, 250, 250), "menu_fg": (40, 40, 40),
        "title_bg": (33, 82, 150), "title_fg": (255, 255, 255), "panel_bg": (255, 255, 255),
        "border": (200, 205, 212), "header_fg": (20, 40, 80), "label_fg": (96, 102, 112),
        "value_fg": (20, 20, 20), "field_bg": (255, 255, 255), "field_border": (150, 160, 170),
        "placeholder": (150, 150, 150), "status_bg": (225, 229, 235), "status_fg": (50, 50, 50),
        "row_alt": (244, 246, 250), "chat_bg": (255, 250, 220), "chat_border": (200, 170, 60),
        "chat_fg": (30, 30, 30), "button_bg": (33, 82, 150), "button_fg": (255, 255, 255),
        "sidebar_bg": (44, 62, 80), "sidebar_fg": (230, 230, 230), "ok": (40, 160, 70),
    },
    "dark": {
        "bg": (24, 26, 30), "menu_bg": (36, 38, 43), "menu_fg": (220, 220, 220),
        "title_bg": (18, 50, 96), "title_fg": (240, 240, 240), "panel_bg": (40, 43, 49),
        "border": (70, 75, 85), "header_fg": (170, 200, 255), "label_fg": (150, 156, 168),
        "value_fg": (232, 232, 232), "field_bg": (30, 32, 36), "field_border": (90, 96, 108),
        "placeholder": (110, 110, 110), "status_bg": (32, 34, 38), "status_fg": (200, 200, 200),
        "row_alt": (46, 50, 57), "chat_bg": (55, 60, 40), "chat_border": (150, 130, 60),
        "chat_fg": (240, 240, 240), "button_bg": (50, 100, 170), "button_fg": (255, 255, 255),
        "sidebar_bg": (30, 33, 38), "sidebar_fg": (200, 200, 200), "ok": (60, 190, 90),
    },
}


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Employee:
    first: str
    last: str
    employee_id: str
    login: str
    email: str
    extension: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    title: str
    phone: str
    phone_spoken: str
    email: str
    email_spoken: str
    address: str
    dob: str
    dob_spoken: str
    iban: str
    card: str
    card_spoken: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Decoy:
    """Non-PII text that looks like data (order numbers, prices, times): must stay readable."""

    label: str
    value: str


@dataclass(frozen=True)
class Extra:
    """What the ``full`` variant adds: every entity type of the issue, in the call's language."""

    phone: str  # overrides the basic phone (international variety)
    phone_spoken: str
    card: str  # overrides the basic card (several brands)
    card_brand: str
    card_spoken: str
    cvv: str
    customer_id: str
    contract_id: str
    nir: str | None  # FR only
    siren: str | None
    siret: str | None
    rib: str | None
    iban: str | None  # FR: the IBAN of the RIB (same bank account)
    decoys: tuple[Decoy, ...]
    handler_forms: tuple[str, ...]  # per history row: full | first | last


@dataclass(frozen=True)
class HistoryRow:
    date: str
    action: str
    handler: Employee


@dataclass(frozen=True)
class CallData:
    lang: str
    agent: Employee
    colleagues: tuple[Employee, ...]
    others: tuple[Employee, ...]
    customer: Customer
    history: tuple[HistoryRow, ...]
    clock_start_s: int
    extra: Extra | None = None  # the ``full`` variant: every entity type, decoys, name forms


def _spell_digits(groups: Sequence[str]) -> str:
    """'06', '12' -> '0 6, 1 2': espeak reads every digit."""
    return ", ".join(" ".join(ch for ch in g if ch.isdigit() or ch == "+") for g in groups)


def _iban(rng: random.Random, country: str) -> str:
    if country == "FR":
        bban = "".join(rng.choice("0123456789") for _ in range(23))
    else:  # GB: 4-letter bank code + 14 digits
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        bban += "".join(rng.choice("0123456789") for _ in range(14))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def iban_is_valid(iban: str) -> bool:
    raw = iban.replace(" ", "")
    numeric = "".join(str(int(c, 36)) for c in raw[4:] + raw[:4])
    return int(numeric) % 97 == 1


def _luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_is_valid(card: str) -> bool:
    digits = [int(c) for c in card if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "52", "53", "54", "55"])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))
    num = body + _luhn_check_digit(body)
    return " ".join(num[i:i + 4] for i in range(0, 16, 4))


def _make_data(rng: random.Random, lang: str, full: bool = False) -> CallData:
    if lang == "fr":
        first_m, first_f, lasts = FR_FIRST_M, FR_FIRST_F, FR_LAST
        company = "acme-assurances.fr"
    else:
        first_m, first_f, lasts = EN_FIRST_M, EN_FIRST_F, EN_LAST
        company = "acme-insurance.co.uk"
    last_names = rng.sample(lasts, 9)
    used_ids: set[str] = set()

    def person(last: str) -> tuple[str, bool]:
        female = rng.random() < 0.5
        return rng.choice(first_f if female else first_m), female

    def employee(last: str) -> Employee:
        first, _ = person(last)
        while True:
            eid = f"E{rng.randint(10000, 99999)}"
            if eid not in used_ids:
                used_ids.add(eid)
                break
        login = (_ascii(first)[0] + _ascii(last)).lower().replace(" ", "")
        email = f"{_ascii(first).lower()}.{_ascii(last).lower()}@{company}"
        return Employee(first, last, eid, login, email, str(rng.randint(2000, 8999)))

    agent = employee(last_names[0])
    colleagues = tuple(employee(ln) for ln in last_names[1:5])
    others = tuple(employee(ln) for ln in last_names[5:8])

    c_last = last_names[8]
    c_first, female = person(c_last)
    title = UI[lang]["titles"][1 if female else 0]
    a, b = _ascii(c_first).lower(), _ascii(c_last).lower()
    domain = rng.choice(FR_DOMAINS if lang == "fr" else EN_DOMAINS)
    local = rng.choice([f"{a}.{b}", f"{a}{b}{rng.randint(10, 99)}", f"{a[0]}.{b}"])
    email = f"{local}@{domain}"
    dot, at = ("point", "arobase") if lang == "fr" else ("dot", "at")
    email_spoken = (email.replace(".", f" {dot} ").replace("@", f" {at} "))
    email_spoken = "".join(f" {ch} " if ch.isdigit() else ch for ch in email_spoken)
    email_spoken = " ".join(email_spoken.split())

    dob_d = _dt.date(1950, 1, 1) + _dt.timedelta(days=rng.randint(0, 52 * 365))
    if lang == "fr":
        mobile = rng.choice("67") + "".join(rng.choice("0123456789") for _ in range(8))
        if rng.random() < 0.5:
            groups = ["0" + mobile[0]] + [mobile[i:i + 2] for i in range(1, 9, 2)]
            phone = " ".join(groups)
        else:
            groups = ["+33", mobile[0]] + [mobile[i:i + 2] for i in range(1, 9, 2)]
            phone = " ".join(groups)
        phone_spoken = ", ".join(groups)
        num = rng.randint(1, 120)
        cp, city = rng.choice(FR_CITIES)
        address = f"{num} {rng.choice(FR_STREETS)}, {cp} {city}"
        dob = dob_d.strftime("%d/%m/%Y")
        dob_spoken = f"{dob_d.day} {FR_MONTHS[dob_d.month - 1]} {dob_d.year}"
        iban = _iban(rng, "FR")
    else:
        if rng.random() < 0.5:
            groups = ["+44", "20", "7946", f"{rng.randint(0, 999):04d}"]
            phone = " ".join(groups)
        else:
            groups = ["555", f"01{rng.randint(0, 9)}", f"{rng.randint(0, 9999):04d}"]
            phone = f"({groups[0]}) {groups[1]}-{groups[2]}"
        phone_spoken = _spell_digits(groups)
        if phone.startswith("+"):
            phone_spoken = "plus " + phone_spoken.replace("+", "", 1).lstrip()
        num = rng.randint(1, 250)
        city, pc = rng.choice(EN_CITIES)
        address = f"{num} {rng.choice(EN_STREETS)}, {city} {pc}"
        long_form = f"{EN_MONTHS[dob_d.month - 1]} {dob_d.day}, {dob_d.year}"
        dob = long_form if rng.random() < 0.5 else dob_d.strftime("%d/%m/%Y")
        dob_spoken = long_form
        iban = _iban(rng, "GB")
    card = _card(rng)
    customer = Customer(
        first=c_first, last=c_last, title=title, phone=phone, phone_spoken=phone_spoken,
        email=email, email_spoken=email_spoken, address=address, dob=dob,
        dob_spoken=dob_spoken, iban=iban, card=card, card_spoken=_spell_digits(card.split()),
    )

    handlers = (agent, *colleagues)
    n_rows = 60
    start = _dt.date(2023, 1, 1)
    days = sorted(rng.sample(range(1400), n_rows), reverse=True)
    rows = []
    for d in days:
        day = start + _dt.timedelta(days=d)
        date = day.strftime("%d/%m/%Y") if lang == "fr" else day.isoformat()
        rows.append(HistoryRow(date, rng.choice(UI[lang]["actions"]), rng.choice(handlers)))
    clock = rng.randint(9 * 3600, 17 * 3600)
    data = CallData(lang, agent, colleagues, others, customer, tuple(rows), clock)
    if not full:
        return data
    extra = _make_extra(random.Random(rng.random()), data, female, dob_d)
    customer = dataclasses.replace(customer, phone=extra.phone, phone_spoken=extra.phone_spoken,
                                   card=extra.card, card_spoken=extra.card_spoken,
                                   iban=extra.iban or customer.iban)
    return dataclasses.replace(data, customer=customer, extra=extra)


CARD_BRANDS = (
    # brand, prefixes, length, display groups, cvv digits
    ("Visa", ("4",), 16, (4, 4, 4, 4), 3),
    ("Mastercard", ("51", "52", "53", "54", "55"), 16, (4, 4, 4, 4), 3),
    ("Mastercard", ("2221", "2300", "2500", "2700", "2720"), 16, (4, 4, 4, 4), 3),
    ("Amex", ("34", "37"), 15, (4, 6, 5), 4),
    ("Discover", ("6011", "65"), 16, (4, 4, 4, 4), 3),
    ("JCB", ("3528", "3589"), 16, (4, 4, 4, 4), 3),
    ("Diners", ("36", "38"), 14, (4, 6, 4), 3),
)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _group(s: str, sizes: Sequence[int]) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    return " ".join(out)


def _card_of(rng: random.Random, brand: int) -> tuple[str, str, str]:
    """(display number, brand name, cvv) with a valid Luhn check digit."""
    name, prefixes, length, groups, cvv_len = CARD_BRANDS[brand]
    body = rng.choice(prefixes)
    body += _digits(rng, length - 1 - len(body))
    return _group(body + _luhn_check_digit(body), groups), name, _digits(rng, cvv_len)


def nir_key(nir13: str) -> str:
    """French social security number key: 97 - (the 13 digits mod 97)."""
    return f"{97 - int(nir13) % 97:02d}"


def nir_is_valid(nir: str) -> bool:
    raw = nir.replace(" ", "")
    return len(raw) == 15 and raw.isdigit() and nir_key(raw[:13]) == raw[13:]


def _nir(rng: random.Random, female: bool, born: _dt.date) -> str:
    dept = f"{rng.choice([d for d in range(1, 96) if d != 20]):02d}"
    raw = (("2" if female else "1") + f"{born.year % 100:02d}{born.month:02d}" + dept
           + f"{rng.randint(1, 990):03d}" + f"{rng.randint(1, 999):03d}")
    raw += nir_key(raw)
    return _group(raw, (1, 2, 2, 2, 3, 3, 2))


def _siren_siret(rng: random.Random) -> tuple[str, str]:
    """A SIREN (9 digits, Luhn) and one of its SIRETs (SIREN + 5-digit NIC, Luhn)."""
    body = str(rng.randint(1, 9)) + _digits(rng, 7)
    siren = body + _luhn_check_digit(body)
    nic = "0" + _digits(rng, 3)
    siret = siren + nic + _luhn_check_digit(siren + nic)
    return _group(siren, (3, 3, 3)), _group(siret, (3, 3, 3, 5))


def rib_key(bank: str, branch: str, account: str) -> str:
    """French RIB key: 97 - (89 x bank + 15 x branch + 3 x account) mod 97 (letters as digits)."""
    table = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")
    acc = int(account.upper().translate(table))
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * acc) % 97:02d}"


def rib_is_valid(rib: str) -> bool:
    parts = rib.split()
    return len(parts) == 4 and rib_key(*parts[:3]) == parts[3]


def _rib(rng: random.Random) -> tuple[str, str]:
    """A RIB and the FR IBAN of the same account."""
    bank = rng.choice(["30004", "30003", "10278", "20041", "30002", "17515", "11315"])
    branch, account = _digits(rng, 5), _digits(rng, 11)
    key = rib_key(bank, branch, account)
    bban = bank + branch + account + key
    numeric = "".join(str(int(c, 36)) for c in bban + "FR00")
    raw = f"FR{98 - int(numeric) % 97:02d}{bban}"
    return f"{bank} {branch} {account} {key}", " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _say(s: str) -> str:
    """Letters and digits one by one, groups separated by commas: 'CLI-0482' -> 'C L I, 0 4 8 2'."""
    groups = [g for g in "".join(ch if ch.isalnum() else " " for ch in s).split() if g]
    return ", ".join(" ".join(g) for g in groups)


def _say_fr_pairs(groups: Sequence[str]) -> str:
    """French style: digits read in pairs ('06, 12' is said 'zéro six, douze')."""
    return ", ".join(groups)


def _intl_phone(rng: random.Random, lang: str) -> tuple[str, str]:
    """(display, spoken) for a national or international number."""
    if lang == "fr":
        kind = rng.choice(["national", "fr+33", "be", "ch", "de", "uk"])
    else:
        kind = rng.choice(["uk", "us", "us+1", "fr+33", "ie", "de"])
    if kind == "national":
        g = ["0" + rng.choice("67")] + [_digits(rng, 2) for _ in range(4)]
        return " ".join(g), _say_fr_pairs(g)
    if kind == "fr+33":
        g = ["+33", rng.choice("67")] + [_digits(rng, 2) for _ in range(4)]
    elif kind == "be":
        g = ["+32", "4" + _digits(rng, 2)] + [_digits(rng, 2) for _ in range(3)]
    elif kind == "ch":
        g = ["+41", "7" + rng.choice("6789"), _digits(rng, 3), _digits(rng, 2), _digits(rng, 2)]
    elif kind == "de":
        g = ["+49", "15" + _digits(rng, 1), _digits(rng, 8)]
    elif kind == "uk":
        g = ["+44", "7" + _digits(rng, 3), _digits(rng, 6)]
    elif kind == "ie":
        g = ["+353", "8" + rng.choice("3567"), _digits(rng, 3), _digits(rng, 4)]
    elif kind == "us+1":
        g = ["+1", "212", "555", "01" + _digits(rng, 2)]
    else:  # us
        g = ["555", "01" + _digits(rng, 1), _digits(rng, 4)]
        return f"({g[0]}) {g[1]}-{g[2]}", _spell_digits(g)
    display = " ".join(g)
    if lang == "fr":
        return display, "plus " + _say_fr_pairs([g[0][1:], *g[1:]])
    return display, "plus " + _spell_digits([g[0][1:], *g[1:]])


def _make_extra(rng: random.Random, data: CallData, female: bool, born: _dt.date) -> Extra:
    lang = data.lang
    phone, phone_spoken = _intl_phone(rng, lang)
    card, brand, cvv = _card_of(rng, rng.randrange(len(CARD_BRANDS)))
    fr = lang == "fr"
    nir = _nir(rng, female, born) if fr else None
    siren, siret = _siren_siret(rng) if fr else (None, None)
    rib, iban = _rib(rng) if fr else (None, None)
    cid = rng.choice(["CLI-", "C", "CU-"]) + _digits(rng, 6) if fr else rng.choice(["CUS-", "C", "AC"]) + _digits(rng, 6)
    contract = (rng.choice(["CTR-", "CT"]) if fr else rng.choice(["POL-", "CN"])) + f"{rng.randint(2019, 2026)}-{_digits(rng, 5)}"
    order = rng.choice(["#", "N° " if fr else "No. "]) + _digits(rng, 6)
    amount = f"{rng.randint(5, 900)},{_digits(rng, 2)} €" if fr else f"£{rng.randint(5, 900)}.{_digits(rng, 2)}"
    time = f"{rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}"
    ticket = f"T-{_digits(rng, 5)}"
    names = UI[lang]["decoys"]
    decoys = (Decoy(names[0], order), Decoy(names[1], amount), Decoy(names[2], time),
              Decoy(names[3], ticket))
    forms = tuple(rng.choice(["full", "full", "first", "last"]) for _ in data.history)
    return Extra(phone=phone, phone_spoken=phone_spoken, card=card, card_brand=brand,
                 card_spoken=_spell_digits(card.split()), cvv=cvv, customer_id=cid,
                 contract_id=contract, nir=nir, siren=siren, siret=siret, rib=rib, iban=iban,
                 decoys=decoys, handler_forms=forms)


# --------------------------------------------------------------------------- rendering


def _find_font(name: str) -> Path | None:
    for d in FONT_DIRS:
        p = d / name
        if p.exists():
            return p
    return None


def _load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = _find_font(name) or _find_font("DejaVuSans.ttf")
    if path is None:
        raise FileNotFoundError(
            "DejaVu fonts not found (looked in " + ", ".join(map(str, FONT_DIRS)) + "); "
            "install fonts-dejavu-core")
    return ImageFont.truetype(str(path), size)


def _intersect(box: Rect, clip: Rect) -> Rect | None:
    x0, y0 = max(box[0], clip[0]), max(box[1], clip[1])
    x1, y1 = min(box[2], clip[2]), min(box[3], clip[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def _minus(box: Rect, occ: Rect) -> Rect | None:
    """Bounding box of ``box`` minus the occluding rectangle ``occ``."""
    if _intersect(box, occ) is None:
        return box
    x0, y0, x1, y1 = box
    covers_x = occ[0] <= x0 and occ[2] >= x1
    covers_y = occ[1] <= y0 and occ[3] >= y1
    if covers_x and covers_y:
        return None
    if covers_x:  # remaining parts above and/or below
        top = (x0, y0, x1, occ[1]) if occ[1] > y0 else None
        bot = (x0, occ[3], x1, y1) if occ[3] < y1 else None
        if top and bot:
            return box
        return top or bot
    if covers_y:
        left = (x0, y0, occ[0], y1) if occ[0] > x0 else None
        right = (occ[2], y0, x1, y1) if occ[2] < x1 else None
        if left and right:
            return box
        return left or right
    return box  # an L-shaped remainder: its bounding box is the whole box


def _to_box(r: Rect) -> list[int]:
    return [int(r[0]), int(r[1]), int(r[2] - r[0]), int(r[3] - r[1])]


class _Painter:
    """Draws text onto a frame (optionally clipped) and records PII / label boxes."""

    def __init__(self, img: Image.Image) -> None:
        self.img = img
        self.draw = ImageDraw.Draw(img)
        self.frame: Rect = (0, 0, img.width, img.height)
        self.pii: list[dict[str, Any]] = []
        self.labels: list[dict[str, Any]] = []

    def width(self, s: str, font: ImageFont.FreeTypeFont) -> int:
        return round(self.draw.textlength(s, font=font))

    def rect(self, r: Rect, fill: tuple[int, int, int], clip: Rect | None = None,
             outline: tuple[int, int, int] | None = None) -> None:
        rr = _intersect(r, clip or self.frame)
        if rr is not None:
            self.draw.rectangle((rr[0], rr[1], rr[2] - 1, rr[3] - 1), fill=fill, outline=outline)

    def text(self, x: int, y: int, s: str, font: ImageFont.FreeTypeFont,
             fill: tuple[int, int, int], *, clip: Rect | None = None,
             pii: Pii | None = None, label: bool = False, decoy: bool = False) -> int:
        """Draw ``s`` with its top-left ascender at (x, y); return the advance width."""
        adv = self.width(s, font)
        if not s.strip():
            return adv
        l, t, r, b = (int(v) for v in self.draw.textbbox((x, y), s, font=font))
        ink: Rect = (l, t, r, b)
        clip = _intersect(clip, self.frame) if clip is not None else self.frame
        vis = _intersect(ink, clip) if clip is not None else None
        if vis is None:
            return adv
        if vis == ink:
            self.draw.text((x, y), s, font=font, fill=fill)
        else:  # render into a mask and paste only the visible part
            mask = Image.new("L", (r - l, b - t), 0)
            ImageDraw.Draw(mask).text((x - l, y - t), s, font=font, fill=255)
            part = mask.crop((vis[0] - l, vis[1] - t, vis[2] - l, vis[3] - t))
            self.img.paste(fill, (vis[0], vis[1], vis[2], vis[3]), part)
        if pii is not None:
            typ, value, who, *form = pii
            item: dict[str, Any] = {"type": typ, "value": value, "box": _to_box(vis), "who": who}
            if form:
                item["form"] = form[0]
            if vis != ink:
                item["partial"] = True  # clipped by a panel / scrolled out of view
            self.pii.append(item)
        elif (label or decoy) and vis == ink:
            lab: dict[str, Any] = {"text": s, "box": _to_box(vis)}
            if decoy:
                lab["decoy"] = True
            self.labels.append(lab)
        return adv

    def occlude(self, occ: Rect) -> None:
        kept = []
        for p in self.pii:
            x, y, w, h = p["box"]
            rem = _minus((x, y, x + w, y + h), occ)
            if rem is not None:
                kept.append({**p, "box": _to_box(rem)})
        self.pii = kept
        self.labels = [lb for lb in self.labels
                       if _intersect((lb["box"][0], lb["box"][1], lb["box"][0] + lb["box"][2],
                                      lb["box"][1] + lb["box"][3]), occ) is None]


@dataclass(frozen=True)
class _State:
    typed: int
    record: bool
    scroll: int
    chat: bool
    clock: int


class _Scene:
    def __init__(self, data: CallData, width: int, height: int, theme: str, font_px: int,
                 layout: int, family: int) -> None:
        self.d = data
        self.ui = UI[data.lang]
        self.c = THEMES[theme]
        self.W, self.H = width, height
        self.layout = layout
        fp = font_px
        reg, bold = FONT_FAMILIES[family % len(FONT_FAMILIES)]
        self.f = _load_font(reg, fp)
        self.fb = _load_font(bold, fp)
        self.ft = _load_font(bold, fp + 1)
        self.fs = _load_font(reg, max(9, fp - 1))
        self.fp = fp
        self.lh = round(fp * 1.55)
        self.pad = max(4, round(fp * 0.6))
        self.m = max(4, round(fp * 0.5))
        self._measure = _Painter(Image.new("RGB", (8, 8)))
        self._layout()

    # geometry ---------------------------------------------------------------
    def _w(self, s: str, font: ImageFont.FreeTypeFont | None = None) -> int:
        return self._measure.width(s, font or self.f)

    def _layout(self) -> None:
        fp, pad, m, lh, W, H = self.fp, self.pad, self.m, self.lh, self.W, self.H
        ui, cu = self.ui, self.d.customer
        self.h_menu = fp + 10
        self.h_title = fp + 14
        self.h_status = fp + 10
        self.y_c = self.h_menu + self.h_title
        self.y_b = H - self.h_status
        self.sidebar_w = 0
        if self.layout == 2:
            self.sidebar_w = max(self._w(s) for s in ui["nav"]) + 2 * pad
        cx0, cx1 = self.sidebar_w, W
        self.search_rect: Rect = (cx0 + m, self.y_c + m, cx1 - m, self.y_c + m + fp + 16)
        py0, py1 = self.search_rect[3] + m, self.y_b - m
        px0, px1 = cx0 + m, cx1 - m

        self.rows = self._rows()
        self.label_col = max(self._w(lab) for lab, _ in self.rows)
        self.gap = 2 * pad
        rec_w = 2 * pad + self.label_col + self.gap + max(sum(self._w(t) for t, _, _ in parts)
                                                          for _, parts in self.rows)
        rec_h = 2 * pad + lh + len(self.rows) * lh + lh + pad
        self.col_w = [
            max(self._w(ui["cols"][0], self.fb), *(self._w(r.date) for r in self.d.history)),
            max(self._w(ui["cols"][1], self.fb), *(self._w(r.action) for r in self.d.history)),
            max(self._w(ui["cols"][2], self.fb), *(self._w(r.handler.name) for r in self.d.history)),
        ]
        hist_w = 2 * pad + sum(self.col_w) + 2 * self.gap
        act_min = max(self._w(ui["cols"][1], self.fb), self._w("Inbound..."))
        hist_min_w = hist_w - self.col_w[1] + act_min
        avail_w, avail_h = px1 - px0, py1 - py0
        hist_min_h = 2 * pad + 2 * lh + 3 * lh
        if rec_w + m + hist_min_w <= avail_w:
            extra = avail_w - m - rec_w - hist_w
            rw = rec_w + max(0, extra) // 2
            hw = avail_w - m - rw
            self.col_w[1] = min(self.col_w[1], hw - (hist_w - self.col_w[1]))
            if self.layout == 1:
                self.hist_rect: Rect = (px0, py0, px0 + hw, py1)
                self.rec_rect: Rect = (px1 - rw, py0, px1, py1)
            else:
                self.rec_rect = (px0, py0, px0 + rw, py1)
                self.hist_rect = (px1 - hw, py0, px1, py1)
        else:
            rh = max(min(rec_h, avail_h - m - hist_min_h), min(rec_h, avail_h // 2))
            self.col_w[1] = min(self.col_w[1], avail_w - (hist_w - self.col_w[1]))
            if self.layout == 1:
                self.hist_rect = (px0, py0, px1, py1 - rh - m)
                self.rec_rect = (px0, py1 - rh, px1, py1)
            else:
                self.rec_rect = (px0, py0, px1, py0 + rh)
                self.hist_rect = (px0, py0 + rh + m, px1, py1)
        self.actions = {a: self._fit(a, self.col_w[1]) for a in ui["actions"]}
        hx0, hy0, hx1, hy1 = self.hist_rect
        self.hist_view: Rect = (hx0 + 1, hy0 + pad + 2 * lh, hx1 - 1, max(hy0 + pad + 2 * lh, hy1 - pad))
        view_h = self.hist_view[3] - self.hist_view[1]
        self.history = self.d.history[: min(len(self.d.history), view_h // lh + 12)]
        self.max_scroll = max(0, len(self.history) * lh - view_h)

        # chat pop-up
        col = self.d.colleagues[0]
        self.chat_line: list[tuple[str, Pii | None, ImageFont.FreeTypeFont]]
        if self.d.extra is None:
            pre, post = ui["chat_msg"]
            self.chat_line = [(col.name, ("PERSON", col.name, "colleague", "full"), self.fb),
                              (": ", None, self.f), (pre + " " + cu.title + " ", None, self.f),
                              (cu.last, ("PERSON", cu.last, "customer", "last"), self.f),
                              (" " + post, None, self.f)]
        else:  # a colleague by first name only, the customer by last name only
            pre, mid, post = ui["chat_msg_full"]
            other = self.d.colleagues[1]
            self.chat_line = [(col.name, ("PERSON", col.name, "colleague", "full"), self.fb),
                              (": ", None, self.f), (pre + " ", None, self.f),
                              (other.first, ("PERSON", other.first, "colleague", "first"), self.f),
                              (" " + mid + " " + cu.title + " ", None, self.f),
                              (cu.last, ("PERSON", cu.last, "customer", "last"), self.f),
                              (" " + post, None, self.f)]
        one_line = sum(self._w(s, fnt) for s, _, fnt in self.chat_line)
        self.chat_two_lines = one_line + 2 * pad > int(W * 0.6)
        if self.chat_two_lines:
            cw = max(self._w(col.name + ":", self.fb),
                     sum(self._w(s, fnt) for s, _, fnt in self.chat_line[2:]))
            ch = 2 * pad + 3 * lh
        else:
            cw = one_line
            ch = 2 * pad + 2 * lh
        cw = min(cw + 2 * pad, W - 2 * m)
        cy = max(self.y_c, self.y_b - m - ch)
        cx = m if self.layout == 1 else W - m - cw
        self.chat_rect: Rect = (cx, cy, cx + cw, cy + ch)

    def _rows(self) -> list[tuple[str, list[Part]]]:
        """The customer record: (label, value parts) per row."""
        ui, cu, ex = self.ui, self.d.customer, self.d.extra
        types = ["PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "ADDRESS", "DATE_OF_BIRTH",
                 "IBAN_CODE", "CREDIT_CARD"]
        values = [cu.name, cu.phone, cu.email, cu.address, cu.dob, cu.iban, cu.card]
        rows: list[tuple[str, list[Part]]] = []
        for lab, val, typ in zip(ui["fields"], values, types, strict=True):
            pii: Pii = (typ, val, "customer", "full") if typ == "PERSON" else (typ, val, "customer")
            rows.append((lab, [(val, pii, False)]))
        if ex is None:
            return rows
        names = ui["extra_fields"]

        def row(typ: str, val: str | None) -> list[tuple[str, list[Part]]]:
            return [] if val is None else [(names[typ], [(val, (typ, val, "customer"), False)])]

        card_row = rows[6]
        rows = (rows[:5] + row("CUSTOMER_ID", ex.customer_id) + row("CONTRACT_ID", ex.contract_id)
                + row("FR_NIR", ex.nir) + row("FR_SIREN", ex.siren) + row("FR_SIRET", ex.siret)
                + [rows[5]] + row("FR_RIB", ex.rib)
                + [(card_row[0], card_row[1] + [("  ", None, False), (ex.card_brand, None, True)])]
                + row("CVV", ex.cvv))
        m = self.d.colleagues[2]
        rows.append((ui["manager"], [
            (m.last, ("PERSON", m.last, "colleague", "last"), False), (" · ", None, False),
            (m.login, ("LOGIN", m.login, "colleague"), False), (" · " + ui["ext"] + " ", None, False),
            (m.extension, ("EXTENSION", m.extension, "colleague"), False),
            (" · " + ui["id"] + " ", None, False),
            (m.employee_id, ("EMPLOYEE_ID", m.employee_id, "colleague"), False)]))
        rows += [(d.label, [(d.value, None, True)]) for d in ex.decoys]
        return rows

    def _fit(self, s: str, width: int) -> str:
        """Truncate ``s`` with '...' so that it fits in ``width`` pixels."""
        if self._w(s) <= width:
            return s
        while len(s) > 1 and self._w(s + "...") > width:
            s = s[:-1].rstrip()
        return s + "..."

    def _ty(self, row_y: int, h: int | None = None) -> int:
        """Top y to draw text so that it is vertically centred in a row of height h."""
        h = self.lh if h is None else h
        return row_y + max(0, (h - int(self.fp * 1.2)) // 2)

    # drawing ------------------------------------------------------------------
    def render(self, st: _State) -> tuple[np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]:
        c, ui, pad, lh, fp = self.c, self.ui, self.pad, self.lh, self.fp
        img = Image.new("RGB", (self.W, self.H), c["bg"])
        p = _Painter(img)
        ag = self.d.agent

        # menu bar
        p.rect((0, 0, self.W, self.h_menu), c["menu_bg"])
        x = pad
        for item in ui["menu"]:
            x += p.text(x, self._ty(0, self.h_menu), item, self.f, c["menu_fg"], label=True)
            x += int(fp * 1.3)
        if self.d.extra is not None:  # the agent greeted by first name only
            hello = ui["hello"] + " "
            x = self.W - pad - self._w(hello + ag.first)
            x += p.text(x, self._ty(0, self.h_menu), hello, self.f, c["menu_fg"], label=True)
            p.text(x, self._ty(0, self.h_menu), ag.first, self.f, c["menu_fg"],
                   pii=("PERSON", ag.first, "agent", "first"))
        # title bar
        y0 = self.h_menu
        p.rect((0, y0, self.W, y0 + self.h_title), c["title_bg"])
        ty = self._ty(y0, self.h_title)
        p.text(pad, ty, ui["app"], self.ft, c["title_fg"], label=True)
        parts: list[tuple[str, Pii | None, bool]] = [
            (ui["agent"], None, True), (" ", None, False),
            (ag.name, ("PERSON", ag.name, "agent", "full"), False), (" (", None, False),
            (ag.employee_id, ("EMPLOYEE_ID", ag.employee_id, "agent"), False), (")", None, False)]
        total = sum(self._w(s, self.ft) for s, _, _ in parts)
        if self.layout == 1:
            x = pad + self._w(ui["app"], self.ft) + 3 * pad
        else:
            x = self.W - pad - total
        for s, pii, lab in parts:
            x += p.text(x, ty, s, self.ft, c["title_fg"], pii=pii, label=lab)
        # status bar
        sy = self.y_b
        p.rect((0, sy, self.W, self.H), c["status_bg"])
        ty = self._ty(sy, self.h_status)
        dot = max(4, fp // 2)
        p.draw.ellipse((pad, sy + (self.h_status - dot) // 2, pad + dot,
                        sy + (self.h_status - dot) // 2 + dot), fill=c["ok"])
        x = pad + dot + pad // 2
        x += p.text(x, ty, ui["connected"], self.fs, c["status_fg"], label=True) + 2 * pad
        x += p.text(x, ty, ui["logged"], self.fs, c["status_fg"], label=True)
        x += p.text(x, ty, " ", self.fs, c["status_fg"])
        x += p.text(x, ty, ag.login, self.fs, c["status_fg"], pii=("LOGIN", ag.login, "agent"))
        x += 2 * pad
        x += p.text(x, ty, ui["ext"], self.fs, c["status_fg"], label=True)
        x += p.text(x, ty, " ", self.fs, c["status_fg"])
        p.text(x, ty, ag.extension, self.fs, c["status_fg"], pii=("EXTENSION", ag.extension, "agent"))
        clock = f"{st.clock // 3600 % 24:02d}:{st.clock // 60 % 60:02d}:{st.clock % 60:02d}"
        p.text(self.W - pad - self._w(clock, self.fs), ty, clock, self.fs, c["status_fg"], label=True)
        # sidebar
        if self.sidebar_w:
            p.rect((0, self.y_c, self.sidebar_w, self.y_b), c["sidebar_bg"])
            for k, item in enumerate(ui["nav"]):
                p.text(pad, self.y_c + pad + k * int(lh * 1.4), item, self.f, c["sidebar_fg"],
                       label=True)
        self._search(p, st)
        self._record(p, st)
        self._history(p, st)
        if st.chat:
            self._chat(p)
        return np.asarray(img), p.pii, p.labels

    def _search(self, p: _Painter, st: _State) -> None:
        c, ui, pad = self.c, self.ui, self.pad
        x0, y0, x1, y1 = self.search_rect
        h = y1 - y0
        ty = self._ty(y0, h)
        x = x0 + p.text(x0, ty, ui["search"], self.fb, c["label_fg"], label=True) + pad
        bw = self._w(ui["ok"], self.fb) + 2 * pad
        field: Rect = (x, y0, x1 - bw - pad, y1)
        p.rect(field, c["field_bg"], outline=c["field_border"])
        p.rect((x1 - bw, y0, x1, y1), c["button_bg"])
        p.text(x1 - bw + pad, ty, ui["ok"], self.fb, c["button_fg"], label=True)
        inner: Rect = (field[0] + 2, field[1] + 2, field[2] - 2, field[3] - 2)
        name = self.d.customer.name
        typed = name[:st.typed].rstrip()
        tx = field[0] + pad
        if typed:
            adv = p.text(tx, ty, typed, self.f, c["value_fg"], clip=inner,
                         pii=("PERSON", typed, "customer", "typed"))
            if st.typed < len(name) or not st.record:
                cx = tx + self._w(name[:st.typed]) + 1 if st.typed else tx + adv + 1
                p.draw.line((cx, y0 + 5, cx, y1 - 6), fill=c["value_fg"], width=1)
        else:
            p.text(tx, ty, ui["placeholder"], self.f, c["placeholder"], clip=inner, label=True)
            p.draw.line((tx - 2, y0 + 5, tx - 2, y1 - 6), fill=c["value_fg"], width=1)

    def _panel(self, p: _Painter, r: Rect, title: str) -> Rect:
        c, pad, lh = self.c, self.pad, self.lh
        p.rect(r, c["panel_bg"], outline=c["border"])
        inner: Rect = (r[0] + 1, r[1] + 1, r[2] - 1, r[3] - 1)
        p.text(r[0] + pad, self._ty(r[1] + pad // 2), title, self.fb, c["header_fg"], clip=inner,
               label=True)
        yl = r[1] + pad // 2 + lh
        p.rect((r[0] + pad, yl, r[2] - pad, yl + 1), c["border"], clip=inner)
        return inner

    def _record(self, p: _Painter, st: _State) -> None:
        c, ui, pad, lh = self.c, self.ui, self.pad, self.lh
        r = self.rec_rect
        inner = self._panel(p, r, ui["record"])
        y = r[1] + pad + lh
        if not st.record:
            p.text(r[0] + pad, self._ty(y + lh // 2), ui["empty"], self.f, c["placeholder"],
                   clip=inner, label=True)
            return
        vx = r[0] + pad + self.label_col + self.gap
        for lab, parts in self.rows:
            ty = self._ty(y)
            p.text(r[0] + pad, ty, lab, self.f, c["label_fg"], clip=inner, label=True)
            x = vx
            for text, pii, decoy in parts:
                x += p.text(x, ty, text, self.f, c["value_fg"], clip=inner, pii=pii, decoy=decoy)
            y += lh
        y += pad // 2
        if y + lh <= r[3] - pad // 2:
            x = r[0] + pad
            for s in (ui["save"], ui["cancel"]):
                bw = self._w(s, self.fb) + 2 * pad
                p.rect((x, y, x + bw, y + lh), c["button_bg"], clip=inner)
                p.text(x + pad, self._ty(y), s, self.fb, c["button_fg"], clip=inner, label=True)
                x += bw + pad

    def _history(self, p: _Painter, st: _State) -> None:
        c, ui, pad, lh = self.c, self.ui, self.pad, self.lh
        r = self.hist_rect
        inner = self._panel(p, r, ui["history"])
        xs = [r[0] + pad]
        for w in self.col_w[:-1]:
            xs.append(xs[-1] + w + self.gap)
        hy = self._ty(r[1] + pad + lh)
        for x, s in zip(xs, ui["cols"], strict=True):
            p.text(x, hy, s, self.fb, c["label_fg"], clip=inner, label=True)
        if not st.record:
            return
        view = _intersect(self.hist_view, inner)
        if view is None:
            return
        ag = self.d.agent
        for k, row in enumerate(self.history):
            ry = self.hist_view[1] + k * lh - st.scroll
            if ry + lh <= view[1] or ry >= view[3]:
                continue
            if k % 2:
                p.rect((r[0] + 1, ry, r[2] - 1, ry + lh), c["row_alt"], clip=view)
            ty = self._ty(ry)
            p.text(xs[0], ty, row.date, self.f, c["value_fg"], clip=view, label=True)
            p.text(xs[1], ty, self.actions[row.action], self.f, c["value_fg"], clip=view, label=True)
            who = "agent" if row.handler == ag else "colleague"
            form = self.d.extra.handler_forms[k] if self.d.extra is not None else "full"
            name = {"full": row.handler.name, "first": row.handler.first,
                    "last": row.handler.last}[form]
            p.text(xs[2], ty, name, self.f, c["value_fg"], clip=view,
                   pii=("PERSON", name, who, form))

    def _chat(self, p: _Painter) -> None:
        c, ui, pad, lh = self.c, self.ui, self.pad, self.lh
        r = self.chat_rect
        p.occlude(r)
        p.rect(r, c["chat_bg"], outline=c["chat_border"])
        inner: Rect = (r[0] + 1, r[1] + 1, r[2] - 1, r[3] - 1)
        y = r[1] + pad
        p.text(r[0] + pad, self._ty(y), ui["chat"], self.fb, c["label_fg"], clip=inner, label=True)
        y += lh
        x = r[0] + pad
        for k, (s, pii, fnt) in enumerate(self.chat_line):
            if self.chat_two_lines and k == 2:
                y += lh
                x = r[0] + pad
            if self.chat_two_lines and k == 1:
                s = ":"
            x += p.text(x, self._ty(y), s, fnt, c["chat_fg"], clip=inner, pii=pii)


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class _Timeline:
    n_frames: int
    type_start: int
    chars_per_frame: float
    name_len: int
    record_at: int
    scroll_start: int
    scroll_frames: int
    scroll_speed: int
    chat_start: int
    chat_frames: int

    def state(self, i: int, fps: float, clock0: int, max_scroll: int) -> _State:
        typed = 0
        if i >= self.type_start:
            typed = min(self.name_len, int((i - self.type_start + 1) * self.chars_per_frame))
        record = i >= self.record_at
        scroll = 0
        if i >= self.scroll_start:
            steps = min(i - self.scroll_start + 1, self.scroll_frames)
            scroll = min(max_scroll, steps * self.scroll_speed)
        chat = self.chat_start <= i < self.chat_start + self.chat_frames
        return _State(typed, record, scroll, chat, clock0 + int(i / fps))


def _timeline(n: int, fps: float, name_len: int, lh: int) -> _Timeline:
    dur = n / fps
    type_start = round(min(1.0, 0.1 * dur) * fps)
    cpf = 0.5  # one character every two frames
    if name_len / cpf > 0.3 * n:
        cpf = name_len / max(1.0, 0.3 * n)
    typing_frames = int(np.ceil(name_len / cpf))
    record_at = type_start + typing_frames + max(1, round(min(0.5, 0.05 * dur) * fps))
    scroll_start = record_at + max(1, round(min(1.0, 0.1 * dur) * fps))
    scroll_frames = max(1, min(round(3.0 * fps), round(0.2 * n)))
    scroll_speed = max(1, round(lh / 7))
    chat_frames = max(1, min(round(fps), n // 4))
    chat_start = max(0, min(round(0.72 * n), n - chat_frames - 1))
    return _Timeline(n, type_start, cpf, name_len, record_at, scroll_start, scroll_frames,
                     scroll_speed, chat_start, chat_frames)


# --------------------------------------------------------------------------- audio


@dataclass(frozen=True)
class _Part:
    text: str
    role: str  # "carrier" | "value" | "trail"
    pii: Pii | None = None  # type, value, who[, form]


def _dialogue(data: CallData, rng: random.Random | None = None, start: int | None = None
              ) -> list[tuple[str, list[_Part]]]:
    if data.extra is not None:
        return _dialogue_full(data, rng or random.Random(0), start)
    cu, ag, col = data.customer, data.agent, data.colleagues[0]
    if data.lang == "fr":
        t = ["Bonjour, vous êtes en ligne avec", "que puis-je faire pour vous ?",
             "Bonjour, mon numéro de téléphone est le", "Je m'appelle",
             "Mon adresse e-mail est", "Je suis né le", "Mon numéro de carte est",
             "Je vais demander à mon collègue", "de vous rappeler.", "Merci, bonne journée."]
    else:
        t = ["Hello, you're speaking with", "how can I help you?",
             "Hi, my phone number is", "My name is", "My email address is", "I was born on",
             "My card number is", "I'll ask my colleague", "to call you back.",
             "Thank you, goodbye."]
    return [
        ("agent", [_Part(t[0], "carrier"),
                   _Part(ag.name, "value", ("PERSON", ag.name, "agent", "full")),
                   _Part(t[1], "trail")]),
        ("customer", [_Part(t[2], "carrier"),
                      _Part(cu.phone_spoken, "value", ("PHONE_NUMBER", cu.phone, "customer"))]),
        ("customer", [_Part(t[3], "carrier"),
                      _Part(cu.name, "value", ("PERSON", cu.name, "customer", "full"))]),
        ("customer", [_Part(t[4], "carrier"),
                      _Part(cu.email_spoken, "value", ("EMAIL_ADDRESS", cu.email, "customer"))]),
        ("customer", [_Part(t[5], "carrier"),
                      _Part(cu.dob_spoken, "value", ("DATE_OF_BIRTH", cu.dob, "customer"))]),
        ("customer", [_Part(t[6], "carrier"),
                      _Part(cu.card_spoken, "value", ("CREDIT_CARD", cu.card, "customer"))]),
        ("agent", [_Part(t[7], "carrier"),
                   _Part(col.name, "value", ("PERSON", col.name, "colleague", "full")),
                   _Part(t[8], "trail")]),
        ("agent", [_Part(t[9], "trail")]),
    ]


DIALOGUE_FULL = {
    # key: (speaker, carrier before the value, trail after it or "")
    "en": {
        "hello": ("agent", "Hello, you're speaking with", "how can I help you?"),
        "PHONE_NUMBER": ("customer", "Hi, my phone number is", ""),
        "PERSON": ("customer", "My name is", ""),
        "EMAIL_ADDRESS": ("customer", "My email address is", ""),
        "DATE_OF_BIRTH": ("customer", "I was born on", ""),
        "CREDIT_CARD": ("customer", "My card number is", ""),
        "CVV": ("customer", "The security code is", ""),
        "ADDRESS": ("customer", "I live at", ""),
        "CUSTOMER_ID": ("customer", "My customer number is", ""),
        "CONTRACT_ID": ("customer", "My policy number is", ""),
        "IBAN_CODE": ("customer", "My IBAN is", ""),
        "EXTENSION": ("agent", "You can reach me on extension", ""),
        "EMPLOYEE_ID": ("agent", "My agent number is", ""),
        "col_first": ("agent", "I'll ask", "to call you back."),
        "col_last": ("agent", "Your file is handled by Mr.", ""),
        "col_full": ("agent", "I'll ask my colleague", "to call you back."),
        "bye": ("agent", "", "Thank you, goodbye."),
    },
    "fr": {
        "hello": ("agent", "Bonjour, vous êtes en ligne avec", "que puis-je faire pour vous ?"),
        "PHONE_NUMBER": ("customer", "Bonjour, mon numéro de téléphone est le", ""),
        "PERSON": ("customer", "Je m'appelle", ""),
        "EMAIL_ADDRESS": ("customer", "Mon adresse e-mail est", ""),
        "DATE_OF_BIRTH": ("customer", "Je suis né le", ""),
        "CREDIT_CARD": ("customer", "Mon numéro de carte est le", ""),
        "CVV": ("customer", "Le cryptogramme est", ""),
        "ADDRESS": ("customer", "J'habite au", ""),
        "CUSTOMER_ID": ("customer", "Mon numéro client est le", ""),
        "CONTRACT_ID": ("customer", "Mon numéro de contrat est le", ""),
        "IBAN_CODE": ("customer", "Mon IBAN est", ""),
        "FR_NIR": ("customer", "Mon numéro de sécurité sociale est le", ""),
        "FR_SIRET": ("customer", "Le SIRET de ma société est le", ""),
        "FR_SIREN": ("customer", "Le SIREN de ma société est le", ""),
        "FR_RIB": ("customer", "Mon RIB est le", ""),
        "EXTENSION": ("agent", "Vous pouvez me joindre au poste", ""),
        "EMPLOYEE_ID": ("agent", "Mon matricule est le", ""),
        "col_first": ("agent", "Je vais demander à", "de vous rappeler."),
        "col_last": ("agent", "Votre dossier est suivi par monsieur", ""),
        "col_full": ("agent", "Je vais demander à mon collègue", "de vous rappeler."),
        "bye": ("agent", "", "Merci, bonne journée."),
    },
}


def _dialogue_full(data: CallData, rng: random.Random, start: int | None
                   ) -> list[tuple[str, list[_Part]]]:
    """Greeting, then every value once, then goodbye. A short call keeps the first values
    that fit: the order is seeded, or (``start``) a fixed order rotated to begin at that
    value, so that a set of calls can speak all of them."""
    ex = data.extra
    assert ex is not None
    cu, ag, cols = data.customer, data.agent, data.colleagues
    fr = data.lang == "fr"
    lines = DIALOGUE_FULL[data.lang]

    def groups(v: str) -> str:  # digits read in their display groups (French pairs)
        return ", ".join(v.split()) if fr else _say(v)

    values: dict[str, tuple[str, Pii]] = {
        "PHONE_NUMBER": (cu.phone_spoken, ("PHONE_NUMBER", cu.phone, "customer")),
        "PERSON": (cu.name, ("PERSON", cu.name, "customer", "full")),
        "EMAIL_ADDRESS": (cu.email_spoken, ("EMAIL_ADDRESS", cu.email, "customer")),
        "DATE_OF_BIRTH": (cu.dob_spoken, ("DATE_OF_BIRTH", cu.dob, "customer")),
        "CREDIT_CARD": (cu.card_spoken, ("CREDIT_CARD", cu.card, "customer")),
        "CVV": (_say(ex.cvv), ("CVV", ex.cvv, "customer")),
        "ADDRESS": (cu.address, ("ADDRESS", cu.address, "customer")),
        "CUSTOMER_ID": (_say(ex.customer_id), ("CUSTOMER_ID", ex.customer_id, "customer")),
        "CONTRACT_ID": (_say(ex.contract_id), ("CONTRACT_ID", ex.contract_id, "customer")),
        "IBAN_CODE": (_say(cu.iban), ("IBAN_CODE", cu.iban, "customer")),
        "EXTENSION": (_spell_digits([ag.extension]), ("EXTENSION", ag.extension, "agent")),
        "EMPLOYEE_ID": (_say(ag.employee_id), ("EMPLOYEE_ID", ag.employee_id, "agent")),
        "col_first": (cols[1].first, ("PERSON", cols[1].first, "colleague", "first")),
        "col_last": (cols[2].last, ("PERSON", cols[2].last, "colleague", "last")),
        "col_full": (cols[0].name, ("PERSON", cols[0].name, "colleague", "full")),
    }
    for key, val in (("FR_NIR", ex.nir), ("FR_SIRET", ex.siret), ("FR_SIREN", ex.siren),
                     ("FR_RIB", ex.rib)):
        if val is not None:
            values[key] = (groups(val), (key, val, "customer"))

    def turn(key: str, text: str | None, pii: Pii | None) -> tuple[str, list[_Part]]:
        who, carrier, trail = lines[key]
        parts = [_Part(carrier, "carrier")] if carrier else []
        if text is not None:
            parts.append(_Part(text, "value", pii))
        if trail:
            parts.append(_Part(trail, "trail"))
        return who, parts

    order = list(values)
    if start is None:
        rng.shuffle(order)
    else:
        order = order[start % len(order):] + order[:start % len(order)]
    return ([turn("hello", ag.name, ("PERSON", ag.name, "agent", "full"))]
            + [turn(k, *values[k]) for k in order] + [turn("bye", None, None)])


def _lowpass_resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out or len(x) == 0:
        return x.astype(np.float32)
    if sr_out < sr_in:
        cutoff = 0.45 * sr_out / sr_in
        taps = 63
        n = np.arange(taps) - (taps - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
        x = np.convolve(x, h / h.sum(), mode="same")
    n_out = round(len(x) * sr_out / sr_in)
    t = np.arange(n_out) * (sr_in / sr_out)
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


class _Tts:
    """espeak-ng front end with a cache; utterances are trimmed to their speech extent."""

    def __init__(self, sr: int, workdir: Path) -> None:
        if shutil.which("espeak-ng") is None:
            raise FileNotFoundError("espeak-ng is required for audio=True (apt-get install espeak-ng)")
        self.sr = sr
        self.dir = workdir
        self.cache: dict[tuple[str, str, int], np.ndarray] = {}

    def synth(self, items: Sequence[tuple[str, str, int]]) -> None:
        todo = [it for it in dict.fromkeys(items) if it not in self.cache]
        procs = []
        for k, (text, voice, rate) in enumerate(todo):
            path = self.dir / f"u{len(self.cache)}_{k}.wav"
            cmd = ["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text]
            procs.append((path, subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.PIPE)))
        for (text, voice, rate), (path, proc) in zip(todo, procs, strict=True):
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"espeak-ng failed ({voice}): {err.decode(errors='replace')}")
            with wave.open(str(path), "rb") as w:
                raw = w.readframes(w.getnframes())
                sr_in, ch = w.getframerate(), w.getnchannels()
            x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
            if ch > 1:
                x = x.reshape(-1, ch).mean(axis=1)
            x = _lowpass_resample(x, sr_in, self.sr)
            peak = float(np.abs(x).max()) if len(x) else 0.0
            if peak > 0:
                idx = np.nonzero(np.abs(x) > 0.01 * peak)[0]  # -40 dB: the speech extent
                x = x[idx[0]: idx[-1] + 1].copy()
                fade = min(len(x) // 4, self.sr // 200)  # 5 ms ramps: no clicks at the cuts
                if fade > 0:
                    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
                    x[:fade] *= ramp
                    x[-fade:] *= ramp[::-1]
            self.cache[(text, voice, rate)] = x

    def get(self, text: str, voice: str, rate: int) -> np.ndarray:
        return self.cache[(text, voice, rate)]


def _plan_audio(data: CallData, sr: int, n_samples: int, workdir: Path,
                rng: random.Random | None = None, start: int | None = None
                ) -> tuple[np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]:
    """The call's audio, its PII spans and every utterance placed (``speech``)."""
    voices = {"fr": {"agent": "fr+f2", "customer": "fr+m3"},
              "en": {"agent": "en-us+f2", "customer": "en-gb+m3"}}[data.lang]
    tts = _Tts(sr, workdir)
    turns = _dialogue(data, rng, start)
    who_of = {id(pt): who for who, parts in turns for pt in parts}
    dur = n_samples / sr
    lead = min(0.5, 0.05 * dur)
    end_limit = dur - min(0.3, 0.05 * dur)
    part_gap, turn_gap = 0.15, 0.35

    def select(level: str) -> list[tuple[str, list[_Part]]]:
        keep = {"full": {"carrier", "value", "trail"}, "carrier": {"carrier", "value"},
                "bare": {"value"}}[level]
        out = []
        for who, parts in turns:
            ps = [pt for pt in parts if pt.role in keep]
            if ps:
                out.append((who, ps))
        return out

    def layout(sel: list[tuple[str, list[_Part]]], rate: int, n_mandatory: int,
               turn_gap: float = turn_gap) -> list[tuple[float, np.ndarray, _Part]] | None:
        tts.synth([(pt.text, voices[who], rate) for who, ps in sel for pt in ps])
        t = lead
        placed: list[tuple[float, np.ndarray, _Part]] = []
        n_value_turns = 0
        for who, ps in sel:
            clips = [tts.get(pt.text, voices[who], rate) for pt in ps]
            length = sum(len(x) for x in clips) / sr + part_gap * (len(clips) - 1)
            has_value = any(pt.pii for pt in ps)
            if t + length > end_limit:
                if has_value and n_value_turns < n_mandatory:
                    return None
                continue
            tt = t
            for pt, x in zip(ps, clips, strict=True):
                placed.append((tt, x, pt))
                tt += len(x) / sr + part_gap
            t += length + turn_gap
            n_value_turns += int(has_value)
        return placed

    plan = None
    # the full variant has many more values than a short call can hold: speak them briskly,
    # without the trailing phrases, so that more of them fit
    levels = ("carrier", "full", "bare") if data.extra is not None else ("full", "carrier", "bare")
    rates = (200, 240, 280, 320, 400) if data.extra is not None else (165, 210, 260, 320, 400)
    for n_mandatory in (2, 1, 0):
        for level in levels:
            for rate in rates:
                plan = layout(select(level), rate, n_mandatory)
                if plan is not None:
                    break
            if plan is not None:
                break
        if plan is not None:
            break
    assert plan is not None  # n_mandatory == 0 always succeeds
    n_turns = len({id(pt) for _, _, pt in plan}) and len(select(level))
    if plan and len(plan) == sum(len(ps) for _, ps in select(level)) and n_turns > 1:
        # everything fits: spread the turns over the call (pauses of up to ~3 s)
        t_end = max(t0 + len(x) / sr for t0, x, _ in plan)
        slack = end_limit - t_end
        if slack > 0:
            spread = layout(select(level), rate, 0, turn_gap + min(3.0, slack / n_turns))
            if spread is not None and len(spread) == len(plan):
                plan = spread

    buf = np.zeros(n_samples, dtype=np.float32)
    spans: list[dict[str, Any]] = []
    speech: list[dict[str, Any]] = []
    for t0, x, pt in plan:
        s0 = round(t0 * sr)
        s1 = min(n_samples, s0 + len(x))
        buf[s0:s1] += x[: s1 - s0]
        speech.append({"start_s": round(s0 / sr, 6), "end_s": round(s1 / sr, 6), "who": who_of[id(pt)],
                       "pii": pt.pii is not None, "text": pt.text})
        if pt.pii is not None:
            typ, value, who, *form = pt.pii
            span: dict[str, Any] = {"type": typ, "value": value, "who": who, "text": pt.text,
                                    "start_s": round(s0 / sr, 6), "end_s": round(s1 / sr, 6)}
            if form:
                span["form"] = form[0]
            spans.append(span)
    peak = float(np.abs(buf).max())
    if peak > 0:
        buf *= 0.7 / peak
    return buf, spans, speech


# --------------------------------------------------------------------------- writing


def _write_roster(path: Path, data: CallData) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["employee_id", "first_name", "last_name", "login", "email", "extension"])
        for e in (data.agent, *data.colleagues, *data.others):
            w.writerow([e.employee_id, e.first, e.last, e.login, e.email, e.extension])


def _encode(path: Path, container: str, width: int, height: int, fps: float,
            frames: Any, n_frames: int, audio: np.ndarray | None, sr: int,
            vopts: dict[str, str] | None = None) -> list[float]:
    """Encode frames (an iterator of (index, yuv VideoFrame)) + mono audio; return frame times.
    ``vopts`` replaces the container's video encoder options."""
    vcodec, default_vopts, acodec, _ = VIDEO_AUDIO[container]
    vopts = default_vopts if vopts is None else vopts
    rate = Fraction(fps).limit_denominator(1001)
    out = av.open(str(path), mode="w")
    try:
        vs = out.add_stream(vcodec, rate=rate)
        assert isinstance(vs, av.VideoStream)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.time_base = 1 / rate
        vs.codec_context.options = dict(vopts)
        astream: av.AudioStream | None = None
        if audio is not None:
            ast = out.add_stream(acodec, rate=sr, layout="mono")
            assert isinstance(ast, av.AudioStream)
            ast.codec_context.bit_rate = 64000
            astream = ast
        a_pos = 0
        for i, vf in frames:
            if astream is not None and audio is not None:
                a_end = min(len(audio), round((i + 1) * sr / fps))
                if i == n_frames - 1:
                    a_end = len(audio)
                if a_end > a_pos:
                    af = av.AudioFrame.from_ndarray(audio[None, a_pos:a_end], format="fltp",
                                                    layout="mono")
                    af.sample_rate = sr
                    af.pts = a_pos
                    af.time_base = Fraction(1, sr)
                    for pkt in astream.encode(af):
                        out.mux(pkt)
                    a_pos = a_end
            vf.pts = i
            vf.time_base = 1 / rate
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        if astream is not None:
            for pkt in astream.encode(None):
                out.mux(pkt)
    finally:
        out.close()
    # read back the actual presentation times of the video packets (no decoding)
    with av.open(str(path)) as inp:
        st = inp.streams.video[0]
        pts = sorted(float(p.pts * (p.time_base or st.time_base or 1))
                     for p in inp.demux(st) if p.pts is not None)
    if len(pts) != n_frames:
        raise RuntimeError(f"{path}: wrote {n_frames} frames but found {len(pts)} packets")
    return pts


def generate(out_dir: Path, *, name: str = "call", width: int = 1280, height: int = 720,
             fps: float = 10.0, duration_s: float = 60.0, lang: str = "en", theme: str = "light",
             font_px: int = 14, layout: int = 0, seed: int = 0, audio: bool = True,
             container: str = "mp4", full: bool = False,
             dialogue_start: int | None = None) -> RecordingPaths:
    """Generate one synthetic recording and its ground truth in ``out_dir``.

    ``full``: the benchmark variant - every entity type (NIR, SIREN/SIRET, RIB, CVV, customer
    and contract ids, international phones, several card brands), roster names full /
    first-only / last-only, a colleague's login, extension and id, non-PII decoys, and a
    dialogue that speaks them in a seeded order (or from value number ``dialogue_start`` of a
    fixed order, to spread the values over a set of short calls)."""
    if lang not in UI:
        raise ValueError(f"lang must be one of {sorted(UI)}")
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {sorted(THEMES)}")
    if container not in VIDEO_AUDIO:
        raise ValueError(f"container must be one of {sorted(VIDEO_AUDIO)}")
    if layout not in (0, 1, 2):
        raise ValueError("layout must be 0, 1 or 2")
    if width % 2 or height % 2 or width < 320 or height < 180:
        raise ValueError("width/height must be even and at least 320x180")
    if not 8 <= font_px <= 32:
        raise ValueError("font_px must be in 8..32")
    if fps <= 0 or duration_s <= 0:
        raise ValueError("fps and duration_s must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"anonymizer-corpus/{seed}/{lang}")
    data = _make_data(rng, lang, full)
    scene = _Scene(data, width, height, theme, font_px, layout, family=seed)
    n = max(1, round(duration_s * fps))
    dur = n / fps
    tl = _timeline(n, fps, len(data.customer.name), scene.lh)

    sr = VIDEO_AUDIO[container][3]
    pcm: np.ndarray | None = None
    spans: list[dict[str, Any]] = []
    speech: list[dict[str, Any]] = []
    n_samples = round(dur * sr)
    if audio:
        with tempfile.TemporaryDirectory(prefix="corpus-tts-") as tmp:
            pcm, spans, speech = _plan_audio(data, sr, n_samples, Path(tmp),
                                     random.Random(f"anonymizer-corpus/{seed}/{lang}/dialogue"),
                                     dialogue_start)

    truth_frames: list[dict[str, Any]] = []

    def frames() -> Any:
        last: _State | None = None
        vf: av.VideoFrame | None = None
        pii: list[dict[str, Any]] = []
        labels: list[dict[str, Any]] = []
        for i in range(n):
            st = tl.state(i, fps, data.clock_start_s, scene.max_scroll)
            if st != last or vf is None:
                arr, pii, labels = scene.render(st)
                vf = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")
                last = st
            truth_frames.append({"i": i, "pii": pii, "labels": labels})
            yield i, vf

    video = out_dir / f"{name}.{container}"
    times = _encode(video, container, width, height, fps, frames(), n, pcm, sr)
    for fr, t in zip(truth_frames, times, strict=True):
        fr["t"] = round(t, 6)
    truth = {
        "video": video.name, "width": width, "height": height, "fps": fps, "n_frames": n,
        "duration_s": dur, "lang": lang, "theme": theme, "font_px": font_px, "layout": layout,
        "seed": seed, "container": container, "variant": "full" if full else "basic",
        "audio": ({"sample_rate": sr, "channels": 1, "n_samples": n_samples} if audio else None),
        "frames": [{"i": f["i"], "t": f["t"], "pii": f["pii"], "labels": f["labels"]}
                   for f in truth_frames],
        "audio_spans": spans,
        "speech": speech,
    }
    truth_path = out_dir / f"{name}.truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, separators=(",", ":")),
                          encoding="utf-8")
    roster = out_dir / f"{name}.roster.csv"
    _write_roster(roster, data)
    sidecar = out_dir / f"{name}.sidecar.json"
    sidecar.write_text(json.dumps({
        "call_id": f"{name}-{seed:06d}", "agent_employee_id": data.agent.employee_id,
        "purpose": "training", "line": "+33 1 23 45 67 89" if lang == "fr" else "+44 20 7946 0000",
        "off_hook_s": 0.0, "on_hook_s": dur,
        "windows": [{"x": 0, "y": 0, "w": width, "h": height, "start_s": 0.0, "end_s": None}],
    }, indent=2, ensure_ascii=False), encoding="utf-8")
    return RecordingPaths(video=video, truth=truth_path, roster=roster, sidecar=sidecar)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.corpus",
                                 description="Generate synthetic CRM screen recordings + truth.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--name", default="call")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--lang", choices=sorted(UI), default="en")
    ap.add_argument("--theme", choices=sorted(THEMES), default="light")
    ap.add_argument("--font-px", type=int, default=14)
    ap.add_argument("--layout", type=int, choices=(0, 1, 2), default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-audio", action="store_true")
    ap.add_argument("--container", choices=sorted(VIDEO_AUDIO), default="mp4")
    ap.add_argument("--full", action="store_true",
                    help="the benchmark variant: every entity type, name forms, decoys")
    ap.add_argument("--set", type=int, default=0, metavar="N",
                    help="generate N varied recordings (lang/theme/font/layout/seed vary)")
    a = ap.parse_args(argv)
    jobs: list[dict[str, Any]] = []
    if a.set:
        fonts = [11, 14, 17, 20, 12, 16]
        for k in range(a.set):
            jobs.append({"name": f"{a.name}{k:03d}", "lang": ("fr", "en")[k % 2],
                         "theme": ("light", "dark")[(k // 2) % 2], "font_px": fonts[k % len(fonts)],
                         "layout": k % 3, "seed": a.seed + k})
    else:
        jobs.append({"name": a.name, "lang": a.lang, "theme": a.theme, "font_px": a.font_px,
                     "layout": a.layout, "seed": a.seed})
    for job in jobs:
        paths = generate(a.out_dir, width=a.width, height=a.height, fps=a.fps,
                         duration_s=a.duration, audio=not a.no_audio, container=a.container,
                         full=a.full, **job)
        print(paths.video)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
