"""Phonetic keys for names misheard by speech-to-text, French and English.

Whisper writes what it hears: "Nguyen" becomes "Win", "Dupont" "Du Pont", "Laurent"
"Lorrain" or "Loran", "Schmitt" "Schmidt". Exact and one-edit matching miss these, so a
roster or on-screen name is also compared by *sound*: a consonant skeleton after FR+EN
spelling rules (``ph``→f, ``ch``/``sch``→s, ``qu``→k, soft ``c``/``g``, silent ``h``,
doubled letters...). A French name whose spelling ends silently (``-ent``, ``-ois``,
``-aux``, ``-ault``...) also has a key without that consonant ("Laurent" sounds "Loran").

No library: jellyfish/metaphone implement English rules only (Double Metaphone keeps the
final T of "Laurent") and the rules needed here fit in a table. A skeleton of two
consonants matches many words ("Win" ~ "when", "one"), so callers accept a match on a
common word only with more evidence (see ``Detector``): ``is_common`` is that list.
"""

from __future__ import annotations

import re
from functools import lru_cache

from anonymizer.textnorm import fold

# Ordered spelling -> sound rewrites (lower-case ASCII after folding).
_RULES: tuple[tuple[str, str], ...] = (
    (r"^ngu?", "w"),  # Vietnamese Ng- is said "W"/"N" in both languages: Nguyen ~ Win
    (r"^mac|^mc", "mk"),
    (r"sch|sh|ch", "s"),
    (r"ph", "f"),
    (r"th", "t"),
    (r"ck|qu|q|cc", "k"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"gn", "n"),
    (r"g(?=[eiy])", "j"),
    (r"gh", "g"),
    (r"x", "ks"),
    (r"z", "s"),
    (r"dt|tt", "t"),
    (r"bv", "v"),  # Lefebvre ~ Lefèvre
    (r"mps", "ms"),  # Thompson ~ Tomson
    (r"(?<=.)h", ""),  # silent h (initial h is dropped below with the vowels)
    (r"^h", ""),
    (r"(?<=.)w", ""),  # a w after the first letter is a vowel glide (Dubois ~ "Dubwa")
    (r"y", "i"),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _RULES)
# French spellings whose final consonant(s) are not pronounced.
_SILENT_END = re.compile(r"(?:(?<=[aeiou])(?:nt|nd|nds|nts|t|ts|d|ds|s|x|z|p|lt|ult)|(?<=[aeiou]r)(?:t|d|s)|(?<=ie)r|(?<=e)z)$")
_VOWELS = re.compile(r"[aeiou]+")


def _letters(word: str) -> str:
    return re.sub(r"[^a-z]", "", fold(word.replace("ç", "s").replace("Ç", "s")))


def _skeleton(w: str) -> str:
    if not w:
        return ""
    for pat, rep in _COMPILED:
        w = pat.sub(rep, w)
    head = "a" if w[:1] in "aeiou" else ""
    body = _VOWELS.sub("", w)
    return re.sub(r"(.)\1+", r"\1", head + body)


@lru_cache(maxsize=65536)
def phonetic_keys(word: str) -> frozenset[str]:
    """Every key ``word`` may sound like; two words match when their key sets meet.

    A French silent ending adds a key without it, and a nasal ``-ent``/``-ant`` ending a
    key with the nasal (``Laurent`` -> ``lrnt``, ``lrn``). Empty for names too short to
    match by sound (one consonant)."""
    w = _letters(word)
    if not w:
        return frozenset()
    keys = {_skeleton(w)}
    m = _SILENT_END.search(w)
    if m and m.start() >= 2:
        stem = w[: m.start()]
        if m.group().startswith("n"):  # -ent/-and: the nasal vowel stays audible as n
            stem += "n"
        keys.add(_skeleton(stem))
    # A key of one consonant ("Hannah" -> "an") is shared by too many words to mean anything.
    return frozenset(k for k in keys if len(k.removeprefix("a")) >= 2)


def primary_key(word: str) -> str:
    """The key of the word as written (without dropping a silent ending)."""
    return _skeleton(_letters(word))


def sounds_like(a: str, b: str) -> bool:
    return bool(phonetic_keys(a) & phonetic_keys(b))


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Frequent FR+EN words (spaCy's stop-word lists plus spoken-call fillers): a name that
    sounds like one of them is only accepted with more evidence."""
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    extra = """win want one won when wine wane well will yes yeah okay ok right sure thanks thank
    hello hi bye goodbye please sorry call called calling back phone number email address card
    account help need just like know think good great fine day today time moment minute wait
    name first last line hold transfer speak speaking colleague customer client bank order
    oui non merci bonjour bonsoir au revoir allo allô appel appeler rappeler numéro nom prénom
    adresse carte compte client conseiller collègue moment minute instant attendez attendre
    bien bon bonne voilà alors donc parfait d'accord accord madame monsieur""".split()
    return frozenset(fold(w) for w in (*EN, *FR, *extra))


def is_common(word: str) -> bool:
    return fold(word).strip(".,;:!?'’\"") in common_words()
