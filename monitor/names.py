"""Entity names as the monitor finds them in text: case-, accent- and script-aware tokens.

Shared by seed validation and the matching gate, so that a seed's alias means the same thing
in both: "Nestlé" is "NESTLE", and "長城汽車" is found inside "小米與長城汽車合作".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import permutations, product

Alias = tuple[str, ...]
Grams = frozenset[Alias]


# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Han (with the
# iteration marks 々〆〇) and kana (not the middle dot ・, which is punctuation).
_UNSPACED = (
    "\u0e01-\u0e3a\u0e40-\u0e4e"
    "\u0e81-\u0ece"
    "\u1000-\u103f\u1050-\u109f"
    "\u1780-\u17d3"
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003ffff"
    "\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
)
# One token per character of those scripts, words of the rest, plus the symbols that make
# "$10 billion", "AT&T" or "5%" different names.
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+|[$€£¥%&+]")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, split off by NFKD


def tokens(text: str) -> tuple[str, ...]:
    """Case- and accent-blind words: "Nestlé" and "NESTLE", "Škoda" and "Skoda" are one name,
    as English copy often drops the accents a seed file keeps (and the other way round).

    A script written without spaces (Chinese, Japanese, Thai...) gives one token per character:
    there is no word boundary to find, so an alias in it ("長城汽車") is a run of tokens found
    anywhere in running text ("小米與長城汽車合作"), while Latin words stay whole ("Xiaomi" is not
    in "Xiaomiland", but is in "小米Xiaomi汽車"). A mixed alias ("Xiaomi 小米") needs both parts,
    in its order, with or without space or punctuation between them.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Only Latin-style accents go; the rest is recomposed, so "ガ" or "한" stay one letter.
    plain = unicodedata.normalize("NFC", _MARKS.sub("", decomposed))
    return tuple(_TOKEN.findall(plain))


def grams(text: str, lengths: Iterable[int]) -> Grams:
    """Every run of consecutive tokens of the given lengths: alias lookups become set
    membership. Only the lengths some alias has are worth building (`ClaimIndex.lengths`)."""
    toks = tokens(text)
    return frozenset(toks[i : i + n] for n in lengths for i in range(len(toks) - n + 1))


def alias_groups(entities: Iterable[str]) -> tuple[tuple[Alias, ...], ...]:
    """Each entity's aliases as token tuples; empty aliases are dropped."""
    groups = []
    for entity in entities:
        aliases = tuple(dict.fromkeys(t for a in entity.split("|") if (t := tokens(a))))
        if aliases:
            groups.append(aliases)
    return tuple(groups)


def names_something(entity: str) -> bool:
    """Whether an entity has an alias with a letter or digit in it ("|" or "--" has none).

    `alias_groups` drops an entity without one, and the gate would then pass articles that
    name nobody in its place: callers refuse such an entity instead.
    """
    return any(tokens(alias) for alias in entity.split("|"))


def _inside(short: Alias, long: Alias) -> bool:
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def overlapping_alias(entities: Iterable[str]) -> str | None:
    """Why two entities of one claim cannot be told apart, or None.

    The gate looks for each entity's aliases as runs of words, so an alias that is also
    another entity's ("Doror" for both "Doror Tech" and "Doror Labs"), or part of one ("Samsung"
    inside "Samsung SDI"), makes a text that names one party seem to name both: a deal between
    Samsung SDI and a third company would pass as news of "Samsung buys Samsung SDI".
    """
    named = [(e, [(a.strip(), t) for a in e.split("|") if (t := tokens(a))]) for e in entities]
    for (entity, aliases), (other, theirs) in permutations(named, 2):
        for (alias, short), (whole, long) in product(aliases, theirs):
            if _inside(short, long):
                return (
                    f"the alias {alias!r} of {entity!r} is also in {other!r} ({whole!r}): a "
                    "text naming one would seem to name both; give each entity names of its own"
                )
    return None
