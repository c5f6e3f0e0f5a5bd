"""A seeded English -> German-like corpus that needs model capacity to translate.

Sentences are drawn from a small grammar and rendered in both languages. The target
side differs from the source in the ways that make translation hard for a small
Transformer:

* **reordering** — verb-second main clauses after a fronted adverb, the perfect's
  participle at the end of the clause, ``nicht`` after the object, and verb-final
  subordinate clauses (``weil der hund das buch kauft``);
* **agreement** — articles and adjective endings depend on the head noun's gender,
  number and case (nominative subject, accusative object, dative indirect object
  and after prepositions); verbs agree with the subject's number;
* **compounding** — English ``school bus`` is one German word ``schulbus`` whose
  gender is the head's.

Everything is lower-case and space-tokenised; punctuation is a token of its own.
The same seed and sizes give the same corpus on every machine (no download).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# (english singular, english plural, german singular, german plural, gender)
NOUNS = [
    ("dog", "dogs", "hund", "hunde", "m"),
    ("cat", "cats", "katze", "katzen", "f"),
    ("house", "houses", "haus", "haeuser", "n"),
    ("man", "men", "mann", "maenner", "m"),
    ("woman", "women", "frau", "frauen", "f"),
    ("child", "children", "kind", "kinder", "n"),
    ("book", "books", "buch", "buecher", "n"),
    ("table", "tables", "tisch", "tische", "m"),
    ("door", "doors", "tuer", "tueren", "f"),
    ("car", "cars", "wagen", "wagen", "m"),
    ("teacher", "teachers", "lehrer", "lehrer", "m"),
    ("city", "cities", "stadt", "staedte", "f"),
    ("garden", "gardens", "garten", "gaerten", "m"),
    ("letter", "letters", "brief", "briefe", "m"),
    ("bird", "birds", "vogel", "voegel", "m"),
    ("flower", "flowers", "blume", "blumen", "f"),
    ("window", "windows", "fenster", "fenster", "n"),
    ("friend", "friends", "freund", "freunde", "m"),
    ("bag", "bags", "tasche", "taschen", "f"),
    ("horse", "horses", "pferd", "pferde", "n"),
    ("key", "keys", "schluessel", "schluessel", "m"),
    ("lamp", "lamps", "lampe", "lampen", "f"),
    ("boat", "boats", "boot", "boote", "n"),
    ("student", "students", "schueler", "schueler", "m"),
    ("farmer", "farmers", "bauer", "bauern", "m"),
    ("picture", "pictures", "bild", "bilder", "n"),
    ("street", "streets", "strasse", "strassen", "f"),
    ("chair", "chairs", "stuhl", "stuehle", "m"),
]
ANIMATE = {
    "dog",
    "cat",
    "man",
    "woman",
    "child",
    "teacher",
    "bird",
    "friend",
    "horse",
    "student",
    "farmer",
}
# Compound modifiers: English noun used attributively -> German first part.
MODIFIERS = [
    ("school", "schul"),
    ("water", "wasser"),
    ("city", "stadt"),
    ("apple", "apfel"),
    ("kitchen", "kuechen"),
    ("winter", "winter"),
    ("night", "nacht"),
    ("house", "haus"),
    ("garden", "garten"),
    ("book", "buch"),
    ("sea", "see"),
    ("mountain", "berg"),
]
ADJECTIVES = [
    ("big", "gross"),
    ("small", "klein"),
    ("old", "alt"),
    ("new", "neu"),
    ("red", "rot"),
    ("green", "gruen"),
    ("quiet", "leis"),
    ("fast", "schnell"),
    ("young", "jung"),
    ("beautiful", "schoen"),
    ("dark", "dunkl"),
    ("warm", "warm"),
    ("strange", "seltsam"),
]
# (english base, english 3sg, english participle, german stem, valency)
VERBS = [
    ("buy", "buys", "bought", "kauf", 2),
    ("see", "sees", "seen", "seh", 2),
    ("need", "needs", "needed", "brauch", 2),
    ("fetch", "fetches", "fetched", "hol", 2),
    ("search", "searches", "searched", "such", 2),
    ("build", "builds", "built", "bau", 2),
    ("paint", "paints", "painted", "mal", 2),
    ("know", "knows", "known", "kenn", 2),
    ("visit", "visits", "visited", "besuch", 2),
    ("clean", "cleans", "cleaned", "putz", 2),
    ("laugh", "laughs", "laughed", "lach", 1),
    ("work", "works", "worked", "arbeit", 1),
    ("play", "plays", "played", "spiel", 1),
    ("wait", "waits", "waited", "wart", 1),
    ("dream", "dreams", "dreamed", "traeum", 1),
    ("live", "lives", "lived", "wohn", 1),
    ("show", "shows", "shown", "zeig", 3),
    ("send", "sends", "sent", "schick", 3),
    ("give", "gives", "given", "schenk", 3),
    ("bring", "brings", "brought", "bring", 3),
]
PREPOSITIONS = [("with", "mit"), ("near", "bei"), ("from", "von"), ("after", "nach")]
ADVERBS = [
    ("today", "heute"),
    ("yesterday", "gestern"),
    ("often", "oft"),
    ("now", "jetzt"),
    ("later", "spaeter"),
    ("here", "hier"),
]
CONJUNCTIONS = [
    ("because", "weil"),
    ("although", "obwohl"),
    ("when", "wenn"),
    ("that", "dass"),
    ("while", "waehrend"),
]

DEFINITE = {
    "nom": {"m": "der", "f": "die", "n": "das", "p": "die"},
    "acc": {"m": "den", "f": "die", "n": "das", "p": "die"},
    "dat": {"m": "dem", "f": "der", "n": "dem", "p": "den"},
}
INDEFINITE = {
    "nom": {"m": "ein", "f": "eine", "n": "ein"},
    "acc": {"m": "einen", "f": "eine", "n": "ein"},
    "dat": {"m": "einem", "f": "einer", "n": "einem"},
}


def _adjective_ending(article: str, case: str, gender: str) -> str:
    """German adjective inflection after a definite, indefinite or no article."""
    if case == "dat" or gender == "p" and article != "none":
        return "en"
    if article == "def":
        return "en" if (case == "acc" and gender == "m") else "e"
    if article == "indef":
        if gender == "m":
            return "er" if case == "nom" else "en"
        return "es" if gender == "n" else "e"
    return "e"  # plural without article, nominative/accusative


@dataclass(frozen=True)
class Phrase:
    """A rendered phrase in both languages plus the agreement facts of its head."""

    en: list[str]
    de: list[str]
    plural: bool = False


class SyntheticGrammar:
    """Draws sentence pairs; all randomness comes from the given generator."""

    def __init__(self, rng: np.random.Generator, *, max_adjectives: int = 2, max_pps: int = 2):
        self.rng = rng
        self.max_adjectives = max_adjectives
        self.max_pps = max_pps

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def noun_phrase(self, case: str, animate: bool = False) -> Phrase:
        pool = [n for n in NOUNS if n[0] in ANIMATE] if animate else NOUNS
        en_sg, en_pl, de_sg, de_pl, gender = self._pick(pool)
        plural = self._chance(0.3)
        en_noun, de_noun = (en_pl, de_pl) if plural else (en_sg, de_sg)
        if not animate and self._chance(0.3):  # compound: modifier + head, head's gender
            mod_en, mod_de = self._pick(MODIFIERS)
            en_noun, de_noun = f"{mod_en} {en_noun}", mod_de + de_noun
        agree = "p" if plural else gender
        article = "indef" if not plural and self._chance(0.35) else "def"
        if plural and self._chance(0.3):
            article = "none"
        en = {"def": ["the"], "indef": ["a"], "none": []}[article]
        de = {"def": [DEFINITE[case][agree]], "none": []}.get(article)
        if de is None:
            de = [INDEFINITE[case][agree]]
        for _ in range(int(self.rng.integers(self.max_adjectives + 1))):
            adj_en, adj_de = self._pick(ADJECTIVES)
            en.append(adj_en)
            de.append(adj_de + _adjective_ending(article, case, agree))
        dative_plural = case == "dat" and plural and not de_noun.endswith(("n", "s"))
        de_noun = de_noun + "n" if dative_plural else de_noun
        en += en_noun.split()
        if article == "indef" and en[1][0] in "aeiou":
            en[0] = "an"
        return Phrase(en, de + [de_noun], plural)

    def prepositional_phrase(self) -> Phrase:
        prep_en, prep_de = self._pick(PREPOSITIONS)
        np_ = self.noun_phrase("dat")
        return Phrase([prep_en, *np_.en], [prep_de, *np_.de])

    def clause(self) -> dict:
        """The parts of one clause; rendered as a main or a subordinate clause."""
        verb = self._pick(VERBS)
        subject = self.noun_phrase("nom", animate=True)
        objects_en: list[str] = []
        objects_de: list[str] = []
        if verb[4] == 3:
            indirect = self.noun_phrase("dat", animate=True)
            direct = self.noun_phrase("acc")
            objects_en, objects_de = direct.en + ["to"] + indirect.en, indirect.de + direct.de
        elif verb[4] == 2:
            direct = self.noun_phrase("acc")
            objects_en, objects_de = direct.en, direct.de
        pps = [self.prepositional_phrase() for _ in range(int(self.rng.integers(self.max_pps + 1)))]
        return {
            "verb": verb,
            "subject": subject,
            "obj_en": objects_en,
            "obj_de": objects_de,
            "pp_en": [w for p in pps for w in p.en],
            "pp_de": [w for p in pps for w in p.de],
            "perfect": self._chance(0.35),
            "negated": self._chance(0.2),
        }

    @staticmethod
    def _finite_de(stem: str, plural: bool) -> str:
        if plural:
            return stem + "en"
        return stem + ("et" if stem.endswith(("t", "d")) else "t")

    @staticmethod
    def _participle_de(stem: str) -> str:
        prefix = "" if stem.startswith("be") else "ge"
        return prefix + stem + ("et" if stem.endswith(("t", "d")) else "t")

    def _english(self, c: dict) -> list[str]:
        en_base, en_3sg, en_part, _, _ = c["verb"]
        plural = c["subject"].plural
        if c["perfect"]:
            verb = ["have" if plural else "has"] + (["not"] if c["negated"] else []) + [en_part]
        elif c["negated"]:
            verb = ["do" if plural else "does", "not", en_base]
        else:
            verb = [en_base if plural else en_3sg]
        return c["subject"].en + verb + c["obj_en"] + c["pp_en"]

    def _german_parts(self, c: dict) -> tuple[str, list[str], list[str]]:
        """(finite verb, middle field, clause-final verbs) of a clause."""
        stem, plural = c["verb"][3], c["subject"].plural
        middle = c["obj_de"] + (["nicht"] if c["negated"] else []) + c["pp_de"]
        if c["perfect"]:
            return ("haben" if plural else "hat"), middle, [self._participle_de(stem)]
        return self._finite_de(stem, plural), middle, []

    def sentence(self) -> tuple[list[str], list[str]]:
        """One pair: an optional fronted adverb, a main clause, an optional subordinate one."""
        main = self.clause()
        finite, middle, final = self._german_parts(main)
        subject_de = main["subject"].de
        en = self._english(main)
        if self._chance(0.3):  # fronted adverb: German inverts subject and verb (V2)
            adv_en, adv_de = self._pick(ADVERBS)
            en = [adv_en, *en]
            de = [adv_de, finite, *subject_de, *middle, *final]
        else:
            de = [*subject_de, finite, *middle, *final]
        if self._chance(0.45):  # subordinate clause: German verb goes last
            conj_en, conj_de = self._pick(CONJUNCTIONS)
            sub = self.clause()
            sub_finite, sub_middle, sub_final = self._german_parts(sub)
            en += [",", conj_en, *self._english(sub)]
            de += [",", conj_de, *sub["subject"].de, *sub_middle, *sub_final, sub_finite]
        return en + ["."], de + ["."]


def _digest(text: str) -> int:
    # Eight bytes of a stable hash stand in for the sentence in the duplicate set: a
    # few million training sentences cost ~70 bytes each instead of ~150, and unlike
    # hash() the result is the same in every process (no PYTHONHASHSEED salt).
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _generate(
    n: int, seed: int, *, min_len: int, max_len: int, seen: set[int]
) -> Iterator[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    grammar = SyntheticGrammar(rng)
    made = 0
    while made < n:
        en, de = grammar.sentence()
        if not (min_len <= len(en) <= max_len and min_len <= len(de) <= max_len):
            continue
        src = " ".join(en)
        key = _digest(src)
        if key in seen:
            continue
        seen.add(key)
        made += 1
        yield src, " ".join(de)


def generate_pairs(
    n: int, seed: int, *, min_len: int = 5, max_len: int = 40, exclude: set[str] | None = None
) -> Iterator[tuple[str, str]]:
    """``n`` distinct sentence pairs whose source has ``min_len``..``max_len`` tokens."""
    seen = {_digest(text) for text in exclude or ()}
    yield from _generate(n, seed, min_len=min_len, max_len=max_len, seen=seen)


def synthetic_split_iters(
    sizes: dict[str, int], seed: int, *, min_len: int = 5, max_len: int = 40
) -> Iterator[tuple[str, Iterator[tuple[str, str]]]]:
    """``(split, pair stream)`` of disjoint train/valid/test splits, consumed in order.

    Each split has its own derived seed; valid and test skip every source sentence
    an earlier split produced, which is why the streams must be read in order.
    """
    seen: set[int] = set()
    for offset, split in enumerate(("train", "valid", "test")):
        yield (
            split,
            _generate(
                sizes[split], seed * 1000 + offset, min_len=min_len, max_len=max_len, seen=seen
            ),
        )


def synthetic_splits(
    sizes: dict[str, int], seed: int, *, min_len: int = 5, max_len: int = 40
) -> dict[str, list[tuple[str, str]]]:
    """Disjoint train/valid/test splits as lists (small corpora and tests)."""
    return {
        split: list(pairs)
        for split, pairs in synthetic_split_iters(sizes, seed, min_len=min_len, max_len=max_len)
    }
