"""Screen context: the value of a labelled field is personal data, whatever it looks like.

A business application shows ``Nom  Dupont``, ``Téléphone  06 12 3`` (still being typed) or
a ``Handled by`` column: the label says what the value is even when no recognizer is sure
(a rare surname, a partial number, OCR garbage). ``context_findings`` marks the text right
of such a label on its line, or, when nothing follows it, the text below it (a form field
under its label, the cells of a table column).

The lexicon is also the list of *UI words*: text made only of them is a label, not a value
(``Customer name...`` placeholders, ``Outbound call`` in a history table), so it is neither
tagged as a name nor hidden as unsure OCR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from anonymizer.screen.layout import Line
from anonymizer.textnorm import fold, ocr_canonical
from anonymizer.types import Finding, TextBox

# Labels whose value identifies a person, FR + EN (folded: lower case, no accents).
# category: who the value belongs to when the roster does not say.
PII_LABELS: dict[str, str] = {
    **dict.fromkeys(
        """nom|name|prenom|first name|last name|surname|full name|nom complet|nom de famille|client|customer|
        titulaire|account holder|holder|contact|telephone|tel|phone|phone number|mobile|portable|gsm|fixe|
        email|e-mail|mail|courriel|adresse|address|adresse postale|street|rue|ville|city|code postal|postcode|
        zip|zip code|date de naissance|date of birth|birth date|dob|ne le|nee le|born|iban|bic|rib|card|carte|
        card number|numero de carte|n de carte|cb|carte bancaire|account|compte|account number|numero de compte|
        n client|numero client|customer id|client id|id client|contrat|contract|numero de contrat|policy number|
        search|rechercher|recherche|nir|securite sociale|social security|ssn|passport|passeport|
        cvv|cvv2|cvc|cvc2|cvn|csc|cwv|cvw|cww|ccv|cryptogramme|cryptogramme visuel|code de securite|security code|card code|
        expiry|expiry date|expiration|date d expiration|date de validite|valid thru|siren|siret|
        policy no|policy|contract no|n de contrat|no de contrat|reference client|customer ref""".split("|"),
        "customer",
    ),
    **dict.fromkeys(
        """agent|conseiller|conseillere|advisor|adviser|traite par|handled by|assigned to|assigne a|owner|
        proprietaire|logged in as|connecte en tant que|utilisateur|user|login|identifiant|matricule|
        employee id|id agent|poste|ext|extension|operateur|operator|superviseur|supervisor|manager|
        responsable|collegue|colleague|from|de la part de|transfere a|transferred to|account manager|
        gestionnaire|charge de compte|charge de clientele|conseiller attitre|referent""".split("|"),
        "colleague",
    ),
}
PII_LABELS = {" ".join(k.split()): v for k, v in PII_LABELS.items()}
# Labels whose value is a person's name (searched as a name elsewhere in the recording).
NAME_LABELS = frozenset(
    " ".join(k.split())
    for k in """nom|name|prenom|first name|last name|surname|full name|nom complet|nom de famille|client|customer|
    titulaire|account holder|holder|contact|agent|conseiller|conseillere|advisor|adviser|traite par|handled by|
    assigned to|assigne a|owner|proprietaire|logged in as|connecte en tant que|utilisateur|user|operateur|operator|
    superviseur|supervisor|manager|responsable|collegue|colleague|from|de la part de|transfere a|transferred to|
    search|rechercher|recherche|account manager|gestionnaire|charge de compte|charge de clientele|
    conseiller attitre|referent""".split("|")
)

# Other UI vocabulary of call-center applications (menus, buttons, columns, history actions,
# chat chrome) plus titles and greetings: never a name, never a value.
UI_WORDS = frozenset(
    w
    for phrase in PII_LABELS
    for w in phrase.split()
) | frozenset(
    """de du la le les des of the a an by par en to as au aux et and or ou pour for with avec sur on in dans
    date heure time jour day action actions statut status note notes historique history commentaire comment
    file fichier edit edition view affichage tools outils help aide settings parametres dashboard accueil
    customers clients tickets ticket reports rapports report save enregistrer cancel annuler ok valider
    submit envoyer send close fermer open ouvrir new nouveau nouvelle delete supprimer modifier update
    record fiche dossier details detail selected selectionne aucun no none selection crm calldesk team
    chat messagerie message messages connected connecte online en ligne offline hors ligne busy occupe
    pause away absent ready pret call appel calls appels inbound outbound entrant sortant incoming
    outgoing missed manque callback rappel rappeler transfer transfert quote devis sent envoye envoyee
    statement releve complaint reclamation payment paiement reminder relance change changement blocked
    bloquee bloque replaced remplacee opposition updated mise jour envoi card carte email adresse address
    m mme mr mrs ms mlle monsieur madame bonjour hello hi merci thanks ok oui non yes no id n no. n°
    numero number total filter filtre filtrer sort trier export exporter print imprimer refresh
    last derniere dernier order commande montant amount price prix at
    visa mastercard amex american express jcb diners club discover maestro unionpay mir cb""".split()
)


# Labels of values that are not about a person: an order, a ticket, an invoice, an amount.
# The value right of one is that reference whatever its shape ("Ticket  T-48623" is no
# employee id, a barely read "N° 199195" no garbled identifier); checksummed recognizers
# (a card typed there) still apply.
REFERENCE_LABEL = re.compile(
    r"(?<![a-z])(?:ticket|incident|case|cas|commande|order|dossier|facture|invoice|ref|reference|colis|parcel|"
    r"suivi|tracking|demande|request|score|total|montant|amount|prix|price)\W*(?:n[o°]\.?\s*)?\W*$"
)


def reference_values(texts: list[TextBox]) -> set[TextBox]:
    """The boxes right of a reference label on their row (nearest box to their left)."""
    labels = [tb.box for tb in texts if REFERENCE_LABEL.search(fold(tb.text))]
    out: set[TextBox] = set()
    for tb in texts:
        b = tb.box
        cy = b.y + b.h / 2
        if not any(lb.x1 <= b.x + b.h and abs(lb.y + lb.h / 2 - cy) <= max(b.h, lb.h) / 2 for lb in labels):
            continue  # no reference label on its row, to its left
        left: tuple[int, TextBox] | None = None
        for other in texts:
            o = other.box
            gap = b.x - o.x1
            if other is tb or abs(o.y + o.h / 2 - cy) > max(b.h, o.h) / 2 or not -b.h // 2 <= gap <= 20 * max(b.h, o.h):
                continue
            if left is None or gap < left[0]:
                left = (gap, other)
        if left is not None and REFERENCE_LABEL.search(fold(left[1].text)):
            out.add(tb)
    return out


def within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] != b[j]:
            edits += 1
            if edits > 1:
                return False
            if len(a) == len(b):
                i += 1
            j += 1
        else:
            i += 1
            j += 1
    return edits + (len(b) - j) <= 1


_LONG_UI_WORDS = tuple(ocr_canonical(w) for w in UI_WORDS if len(w) >= 7)


def _ui_word(word: str, fuzzy: bool) -> bool:
    if word in UI_WORDS:
        return True
    # A misread long UI word ("Handied", "Telephane", "Demiere"), same first letter; short
    # ones are too close to names ("Dave" ~ "date", "Carl" ~ "card", "Camille" ~ "famille").
    if not fuzzy or len(word) < 7:
        return False
    w = ocr_canonical(word)
    return any(u[0] == w[0] and within_one_edit(w, u) for u in _LONG_UI_WORDS)


def is_ui_text(text: str, *, fuzzy: bool = False) -> bool:
    """Only UI words (and punctuation/ellipses): a label, a button, a placeholder.
    ``fuzzy``: long words may be one OCR edit away from a UI word, and a word OCR split
    in two ("blo quee") is read joined."""
    # French elisions and "e-mail" are parts of UI words ("Changement d'adresse", "Mise à
    # jour e-mail"); a lone initial ("C. Zorglub") is not a UI word.
    folded = re.sub(r"\b(?:d|l|j|qu|s|c|n)['’]", "", fold(text))
    words = re.findall(r"[^\W\d_]+", re.sub(r"\be-mail", "email", folded))
    if not words or re.search(r"\d{2}", text):
        return False
    if all(_ui_word(w, fuzzy) for w in words):
        return True
    # one word split by OCR: join each non-UI word with its neighbour
    if fuzzy:
        i = 0
        while i < len(words):
            if _ui_word(words[i], True):
                i += 1
            elif i + 1 < len(words) and len(words[i] + words[i + 1]) >= 6 and _ui_word(words[i] + words[i + 1], True):
                i += 2
            else:
                return False
        return True
    return False


_LABEL_RE = re.compile(
    r"(?<![0-9a-z])(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(PII_LABELS, key=len, reverse=True)) + r")"
    r"(?![0-9a-z])\.?(?: ?[:：])?"
)


@dataclass(frozen=True)
class _Label:
    line: int
    start: int  # label start in the line's text
    end: int  # end of the label and its colon
    category: str
    names: bool  # its value is a person's name


@dataclass(frozen=True)
class FieldValue:
    """``lines[line].text[finding.start:finding.end]`` is the value of a labelled field."""

    line: int
    finding: Finding
    names: bool


def _labels(lines: list[Line]) -> list[_Label]:
    out = []
    for i, line in enumerate(lines):
        folded = fold(line.text)
        if len(folded) != len(line.text):
            continue
        # a label starts an OCR box, follows a wide gap, or follows a separator inside a
        # box that joined several fields ("Chevalier · lchevalier · Matricule E64862")
        starts = ({off for off, _tb in line.pieces} | {m.end() for m in re.finditer(r"  ", line.text)}
                  | {m.end() for m in re.finditer(r"(?<=\S) [·•|.,;\-–] ", line.text)})
        for m in _LABEL_RE.finditer(folded):
            if m.start() in starts:
                label = " ".join(m.group(1).split())
                out.append(_Label(i, m.start(), m.end(), PII_LABELS[label], label in NAME_LABELS))
    return out


# Words a name-label's value may hold ("Marie-Hélène Le Guen-Moreau" is 3): more, right of
# the label on its line, is a phrase or a menu. A longer name (5 words and up) is then left
# to the recognizers, as any text is; a label's value is positional evidence only.
MAX_NAME_WORDS = 4


def _value_from(line: Line, pos: int, label_starts: set[int]) -> tuple[int, int]:
    """The field value starting at ``pos``: up to the next wide gap or label (UI words at
    its ends, "Nom du client...", a trailing button, are cut by ``_without_ui_words``)."""
    text = line.text
    gap = text.find("  ", pos)
    end = len(text) if gap < 0 else gap
    for s in sorted(label_starts):  # the next label on the line ends the value
        if pos < s < end:
            end = s
    while end > pos and text[end - 1] in " :":
        end -= 1
    return pos, end


def _piece_at(line: Line, pos: int) -> tuple[int, TextBox] | None:
    for off, tb in line.pieces:
        if off <= pos < off + max(1, len(tb.text)):
            return off, tb
    return None


def _touching(lines: list[Line], j: int, off: int, h: int, by_line: dict[int, set[int]], category: str,
              names: bool) -> list[FieldValue]:
    """The other boxes on the row of ``lines[j]``'s box at ``off`` that overlap it or follow
    it with less than a line height between them, each as a field value."""
    piece = _piece_at(lines[j], off)
    if piece is None:
        return []
    chain = piece[1].box
    cy = chain.y + chain.h / 2
    out = []
    row = sorted(((b.x, k, o, tb) for k, other in enumerate(lines) for o, tb in other.pieces
                  for b in [tb.box] if abs(b.y + b.h / 2 - cy) <= max(chain.h, b.h) / 2 and b.x1 > chain.x),
                 key=lambda r: r[0])
    for _x, k, o, tb in row:
        b = tb.box
        if (k, o) == (j, off) or o in by_line.get(k, set()) or is_ui_text(tb.text):
            continue
        if b.x > chain.x1 + h:
            break
        chain = chain.union(b)
        out.append(FieldValue(k, Finding("FIELD", o, o + len(tb.text), 0.5, category), names))
    return out


def context_findings(lines: list[Line]) -> list[FieldValue]:
    """Every value right of / below a PII label (type ``FIELD``). Score 0.5:
    a roster or recognizer finding on the same span (exact type, category) wins.

    Right of a label: the rest of its OCR box and what follows it after single spaces, or
    else the nearest box to its right at the same height (a value column; OCR lines may
    join it with another panel's row, so geometry decides, not the line's text)."""
    labels = _labels(lines)
    by_line: dict[int, set[int]] = {}
    for lab in labels:
        by_line.setdefault(lab.line, set()).add(lab.start)
    out: list[FieldValue] = []
    for lab in labels:
        line = lines[lab.line]
        piece = _piece_at(line, lab.start)
        if piece is None:
            continue
        lab_box = piece[1].box
        h = max(1, lab_box.h)
        pos = lab.end
        while pos < len(line.text) and line.text[pos] in " :：-–|" and line.text[pos : pos + 2] != "  ":
            pos += 1
        field_end = line.text.find("  ", pos)
        rest = line.text[pos : field_end if field_end >= 0 else len(line.text)].strip()
        if rest and is_ui_text(rest, fuzzy=True) and not rest.endswith("..."):
            continue  # "Address change", "Email updated": a UI phrase starting with a label word
        if pos < len(line.text) and line.text[pos] != " " and pos not in by_line[lab.line]:
            span = (lab.line, *_value_from(line, pos, by_line[lab.line]))
        else:
            span = None
            best = None
            for j, other in enumerate(lines):
                for off, tb in other.pieces:
                    b = tb.box
                    gap = b.x - lab_box.x1
                    same_row = abs((b.y + b.h / 2) - (lab_box.y + lab_box.h / 2)) <= max(h, b.h) / 2
                    if same_row and -h // 2 <= gap <= 20 * h and (best is None or gap < best[0]):
                        best = (gap, j, off)
            if best is not None and best[2] not in by_line.get(best[1], set()):
                j, off = best[1], best[2]
                span = (j, *_value_from(lines[j], off, by_line.get(j, set())))
                # OCR may split one value into boxes that land on different lines
                # (overlapping reads of a garbled e-mail): the boxes touching it on its
                # row are the same value.
                out += _touching(lines, j, off, h, by_line, lab.category, lab.names)
        if span is not None:
            value = lines[span[0]].text[span[1] : span[2]]
            if lab.names and sum(1 for w in value.split() if re.search(r"[^\W\d_]", w)) > MAX_NAME_WORDS:
                # "Customer Desk  Home  Customers  Requests  Statistics": a title and the
                # menu after it, not a person's name; the recognizers (NER, roster,
                # registry) still judge every word of the line.
                continue
            if span[2] > span[1]:
                out.append(FieldValue(span[0], Finding("FIELD", span[1], span[2], 0.5, lab.category), lab.names))
            continue
        # Nothing on its right: a form field below its label, or a table column.
        last_bottom = lab_box.y1
        for j in range(lab.line + 1, len(lines)):
            below = lines[j]
            hit = None
            for off, tb in below.pieces:
                b = tb.box
                if b.y >= last_bottom - h // 2 and lab_box.x - 2 * h <= b.x <= lab_box.x1 and b.x1 > lab_box.x:
                    hit = (off, tb)
                    break
            if hit is None:
                if below.pieces and min(tb.box.y for _o, tb in below.pieces) > last_bottom + 3 * h:
                    break
                continue
            off, tb = hit
            if tb.box.y > last_bottom + 3 * h or is_ui_text(tb.text) or off in by_line.get(j, set()):
                break
            out.append(FieldValue(j, Finding("FIELD", off, off + len(tb.text), 0.5, lab.category), lab.names))
            last_bottom = tb.box.y1
    return [fv for fv in (_without_ui_words(lines, fv) for fv in out) if fv is not None]


def _without_ui_words(lines: list[Line], fv: FieldValue) -> FieldValue | None:
    """``fv`` less the UI words at either end ("change Wilson" -> "Wilson": a history
    action OCR joined with the name beside it); None when nothing else is left."""
    text = lines[fv.line].text
    words = list(re.finditer(r"\S+", text[fv.finding.start : fv.finding.end]))
    while words and is_ui_text(words[0].group()):
        words.pop(0)
    while words and is_ui_text(words[-1].group()):
        words.pop()
    if not words:
        return None
    start, end = fv.finding.start + words[0].start(), fv.finding.start + words[-1].end()
    if (start, end) == (fv.finding.start, fv.finding.end):
        return fv
    f = fv.finding
    return FieldValue(fv.line, Finding(f.entity_type, start, end, f.score, f.category), fv.names)

