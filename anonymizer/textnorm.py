"""Text normalisation shared by screen and speech matching (no third-party imports)."""

from __future__ import annotations

import re
import unicodedata


def strip_accents(text: str) -> str:
    """'Lefèvre' -> 'Lefevre' (the English OCR model reads no accents)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case- and accent-insensitive form, same length as the input for ASCII-compatible text."""
    return strip_accents(text).lower()


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def alnum(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(text))


_OCR_CONFUSIONS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("|", "l"), ("i", "l"), ("5", "s"), ("8", "b"))


def ocr_canonical(word: str) -> str:
    """Folded, with the characters OCR confuses on one representative ("Tumer" ~ "Turner",
    "Demiere" ~ "Derniere")."""
    w = fold(word)
    for a, b in _OCR_CONFUSIONS:
        w = w.replace(a, b)
    return w
