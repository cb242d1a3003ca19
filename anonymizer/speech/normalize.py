"""Spoken forms -> written forms, keeping each output token's source word index.

"zero six twelve thirty four" -> "0 6 12 34"; "john dot smith at example dot com" ->
"john.smith@example.com"; French too ("zéro six douze", "arobase", "point"). Detection then
runs on the written form and every finding maps back to word times."""

from __future__ import annotations

import re
from dataclasses import dataclass

from anonymizer.textnorm import fold

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "zero.": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "quatre-vingt": 80, "quatre-vingts": 80,
}  # fmt: skip
_AT = {"at", "arobase", "arrobase", "@"}
_DOT = {"dot", "point", "."}


@dataclass(frozen=True)
class Token:
    text: str
    first_word: int
    last_word: int


def _number(parts: list[str]) -> int | None:
    """Value of a hyphenated/compound number word like 'thirty-four', 'soixante-dix-sept'."""
    total = 0
    i = 0
    while i < len(parts):
        p = parts[i]
        if i + 1 < len(parts) and f"{p}-{parts[i + 1]}" in _TENS:
            total += _TENS[f"{p}-{parts[i + 1]}"]
            i += 2
            continue
        if p in _TENS:
            total += _TENS[p]
        elif p in _UNITS:
            total += _UNITS[p]
        elif p in ("et", "and"):
            pass
        else:
            return None
        i += 1
    return total


def normalize(words: list[str]) -> list[Token]:
    """Written-form tokens from ASR words (each word already stripped of spaces)."""
    raw: list[Token] = []
    for i, w in enumerate(words):
        clean = re.sub(r"^-+(?=[a-z])", "", fold(w).strip(" ,;:!?\"'()"))  # Whisper's "-Zero" continues a word
        if not clean:
            continue
        value = _number(clean.replace("_", "-").split("-")) if re.fullmatch(r"[a-z\-]+", clean) else None
        if value is not None:
            raw.append(Token(str(value), i, i))
        elif clean in _AT:
            raw.append(Token("@", i, i))
        elif clean in _DOT:
            raw.append(Token(".", i, i))
        else:
            raw.append(Token(w.strip(" ,;:!?\"()"), i, i))
    # "thirty" "four" -> 34 ; "double" "six" -> 66
    merged: list[Token] = []
    for tok in raw:
        prev = merged[-1] if merged else None
        if prev and prev.text.isdigit() and tok.text.isdigit() and len(prev.text) == 2 and prev.text.endswith("0") and len(tok.text) == 1 and tok.text != "0" and prev.text != "10" and fold(words[prev.last_word]).strip(" ,.") in _TENS:
            merged[-1] = Token(str(int(prev.text) + int(tok.text)), prev.first_word, tok.last_word)
        elif prev and fold(prev.text) in ("double", "triple") and tok.text.isdigit() and len(tok.text) == 1:
            n = 2 if fold(prev.text) == "double" else 3
            merged[-1] = Token(tok.text * n, prev.first_word, tok.last_word)
        else:
            merged.append(tok)
    return _join_spelled(merged, words)


SPELLED_WORD = re.compile(r"^[A-Za-z](?:[.\-][A-Za-z])+\.?$")  # "D-U-P-O-N-T", "C.D."


def _join_spelled(tokens: list[Token], words: list[str]) -> list[Token]:
    """Spelled names and logins: "D U P O N T" (3+ single letters) or "D-U-P-O-N-T" ->
    "DUPONT", so a roster or on-screen value matches what was spelled aloud ("o" is a
    letter there, not zero)."""
    out: list[Token] = []
    run: list[tuple[Token, str]] = []  # (token, the letter said)

    def flush() -> None:
        if len(run) >= 3:
            out.append(Token("".join(letter for _t, letter in run), run[0][0].first_word, run[-1][0].last_word))
        else:
            out.extend(t for t, _letter in run)
        run.clear()

    for tok in tokens:
        said = words[tok.first_word].strip(" ,;:!?\"'().-") if tok.first_word == tok.last_word else ""
        if SPELLED_WORD.match(tok.text):
            tok = Token(re.sub(r"[.\-]", "", tok.text), tok.first_word, tok.last_word)
        elif len(said) == 1 and said.isalpha():
            run.append((tok, said))
            continue
        flush()
        out.append(tok)
    flush()
    return out


def render(tokens: list[Token]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens into text; '@' and '.' glue to their neighbours when an '@' is near
    (spelled-out emails). Returns the text and, per character, nothing: instead a list of
    (char_start, token_index) for each token, sorted."""
    glue = set()
    at_positions = [i for i, t in enumerate(tokens) if t.text == "@"]
    for i, t in enumerate(tokens):
        if t.text in ("@", ".") and any(abs(i - a) <= 8 for a in at_positions):
            glue.add(i)
    out = []
    starts: list[tuple[int, int]] = []
    pos = 0
    for i, t in enumerate(tokens):
        sep = "" if i == 0 or i in glue or (i - 1) in glue else " "
        out.append(sep)
        pos += len(sep)
        starts.append((pos, i))
        out.append(t.text)
        pos += len(t.text)
    return "".join(out), starts
