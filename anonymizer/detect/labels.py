"""Labels and UI words: the vocabulary of the screen's text, as text rules alone.

A business application shows ``Nom  Dupont``, ``Téléphone  06 12 3`` (still being typed) or
a ``Handled by`` column: the label says what the value is even when no recognizer is sure
(a rare surname, a partial number, OCR garbage). ``PII_LABELS`` and ``LABEL_RE`` are those
labels; where their values are on screen is for the screen package to say (its ``context``).

The lexicon is also the list of *UI words*: text made only of them is a label, not a value
(``Customer name...`` placeholders, ``Outbound call`` in a history table), so it is neither
tagged as a name nor hidden as unsure OCR.
"""

from __future__ import annotations

import re

from anonymizer.textnorm import fold, ocr_canonical

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
) | frozenset(
    # The generic vocabulary of CRM, helpdesk and softphone screens, FR + EN: navigation
    # (tabs, menus, section titles), softphone buttons and states, queue and team panels,
    # the records a customer file holds. Words of the trade, not of one application.
    """synthese resume apercu vue ensemble tableau bord accueil contrats contrat demandes
    statistiques stats indicateurs rapport recherche resultats resultat liste listes fiches
    interactions interaction activite activites taches tache agenda calendrier rendez vous
    documents document pieces jointes piece jointe factures facture facturation produits produit
    services service offres offre abonnements abonnement options option sinistres sinistre
    equipements equipement commandes livraisons livraison retours retour garanties garantie
    consentements consentement preferences fidelite segment profil parametres deconnexion connexion
    appelant appele appelante raccrocher decrocher repondre attente reprendre muet micro clavier
    composer numeroter transferer conference enregistrement enregistrer file d'attente files
    equipe equipes disponible indisponible occupee apres-appel post-appel traitement traitee traite
    en cours termine terminee cloture cloturee ouvert ouverte resolu resolue escalade priorite
    urgente motif canal source type categorie sous-categorie etape suivante
    precedente suivant precedent retour valider confirmer appliquer reinitialiser
    summary overview home contracts requests statistics indicators search results result list
    lists records activity activities tasks task calendar appointment appointments documents
    attachments attachment invoices invoice billing products product services offers offer
    subscriptions subscription options claims claim equipment orders deliveries delivery returns
    warranty warranties consents consent preferences loyalty profile logout logon login
    caller callee hang hangup answer hold unhold resume mute unmute keypad dial conference
    recording queue queues team teams available unavailable wrap-up wrapup after-call handling
    handled open opened closed resolved escalated priority urgent reason channel
    type category subcategory step next previous confirm apply reset""".split()
)


# Labels of values that are not about a person: an order, a ticket, an invoice, an amount.
# The value right of one is that reference whatever its shape ("Ticket  T-48623" is no
# employee id, a barely read "N° 199195" no garbled identifier); checksummed recognizers
# (a card typed there) still apply.
REFERENCE_LABEL = re.compile(
    r"(?<![a-z])(?:ticket|incident|case|cas|commande|order|dossier|facture|invoice|ref|reference|colis|parcel|"
    r"suivi|tracking|demande|request|score|total|montant|amount|prix|price)\W*(?:n[o°]\.?\s*)?\W*$"
)


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
    # An English plural or past form of a UI word ("Changes saved", "Calls", "Tickets
    # closed"); short words are left alone ("Ted", "Bes").
    if len(word) >= 5 and word[-1] in "sd" and word[:-1] in UI_WORDS:
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


# A PII label in folded text (group 1: the label, its words as written), with its colon.
LABEL_RE = re.compile(
    r"(?<![0-9a-z])(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(PII_LABELS, key=len, reverse=True)) + r")"
    r"(?![0-9a-z])\.?(?: ?[:：])?"
)
