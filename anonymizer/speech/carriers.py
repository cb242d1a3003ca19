"""Carrier phrases: what a caller says right before a personal value.

Speech-to-text garbles spelled values ("charlotte davies 54 at gmail dot com" came out as
"charlatanavis54atemail .com." with tiny.en): no recognizer can match that, but "my email
address is" announces it. The words after a carrier phrase, up to the end of the sentence
or a pause, are bleeped whatever they turned into (fail closed). The noun announces the
value without its verb too ("my phone number. time, time, time" was five, five, five)."""

from __future__ import annotations

import re

from anonymizer.textnorm import fold
from anonymizer.types import Word

_CARRIERS = [
    # English
    r"\b(?:phone|mobile|cell|telephone|contact)(?: number)?(?: is\b|[.,:])",
    r"\b(?:e-?mail|mail)(?: address)?(?: is\b|[.,:])",
    r"\b(?:card|account|iban|policy|contract|customer|client|reference|membership|social security)(?: number)?(?: is\b|[.,:])",
    r"\bnumber(?: is\b|[.,:])",
    r"\bborn (?:on|in)\b",
    r"\bdate of birth is\b",
    r"\bbirthday is\b",
    r"\bname is\b",
    r"\bi live (?:at|in|on)\b",
    r"\baddress is\b",
    r"\b(?:zip|post) ?code is\b",
    r"\bspell(?:ed|s)? (?:it|that)\b",
    r"\bspeaking with\b",
    r"\bthis is\b",
    r"\bcolleague\b",
    r"\b(?:ask|asked) for\b",
    r"\btransfer you to\b",
    # French
    r"\b(?:mon |le )?(?:numero|num)(?: de (?:telephone|portable|carte|client|contrat|compte|dossier|securite sociale))?(?: (?:est|c'est)\b|[.,:])",
    r"\b(?:mon )?(?:adresse )?(?:e-?mail|mail|courriel|adresse)(?: (?:est|c'est)\b|[.,:])",
    r"\bje suis nee? le\b",
    r"\bnee? le\b",
    r"\bdate de naissance\b",
    r"\bje m'appelle\b",
    r"\bmon nom(?: de famille)? (?:est|c'est)\b",
    r"\bmon prenom (?:est|c'est)\b",
    r"\bj'habite\b",
    r"\bvous parlez (?:a|avec)\b",
    r"\ben ligne avec\b",  # "vous êtes en ligne avec Luc Roux"
    r"\bici\b",
    r"\b(?:ma|mon) collegue\b",
    r"\bde la part de\b",
    r"\bcode postal\b",
    r"\b(?:ca |cela )?s'ecrit\b",
    r"\bje (?:vous )?(?:l')?epelle\b",
    r"\bj'epelle\b",
]
_CARRIER_RE = re.compile("|".join(f"(?:{c})" for c in _CARRIERS))
SENTENCE_END = re.compile(r"[.?!]$")
MAX_WORDS = 14
MAX_SECONDS = 8.0
PAUSE_S = 1.5


def carrier_spans(words: list[Word]) -> list[tuple[int, int]]:
    """(first, last) word indices of the values announced by carrier phrases."""
    # Whisper splits French elisions into two words ("m" "'appelle", "s" "'écrit"): they
    # are joined again, or no carrier with an apostrophe would ever match.
    text = ""
    starts: list[int] = []
    for w in words:
        token = fold(w.text.strip()).replace("’", "'")
        if text and not token.startswith("'"):
            text += " "
        starts.append(len(text))
        text += token
    out = []
    for m in _CARRIER_RE.finditer(text):
        first = next((i for i, s in enumerate(starts) if s >= m.end()), None)
        if first is None:
            continue
        last = first
        while last < len(words) - 1 and last - first < MAX_WORDS:
            said = words[last].text.strip()
            going_on = re.search(r"\b(?:dot|point)\.?$", said) or (re.search(r"\d\.$", said) and re.search(r"\d", words[last + 1].text))
            if SENTENCE_END.search(said) and not going_on:
                # a sentence ended, unless the value itself is going on ("555." then "0162")
                if not (last + 1 < len(words) and re.match(r"^[.@]|^(?:com|fr|net|org|co)\b", fold(words[last + 1].text))):
                    break
            gap = words[last + 1].start_s - words[last].end_s
            if gap > PAUSE_S or words[last + 1].end_s - words[first].start_s > MAX_SECONDS:
                break
            last += 1
        out.append((first, last))
    return out
