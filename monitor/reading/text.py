"""Article text into sentences: the unit that is embedded, matched and judged.

Pure functions. A period ends a sentence unless it belongs to an abbreviation ("Inc.", "U.S.",
"Mr.", "Jan."), an initial, a number ("$2.1 billion") or a ticker ("1810.HK"); page furniture
("Read more", "Leave a comment", share prompts, copyright lines) is dropped. The vocabulary lives
in data/text.toml so it can grow without touching the rules.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# A candidate boundary: terminal punctuation, optional closing quotes or brackets, whitespace,
# then the first letter or digit of what follows (group 4). Whether it opens a sentence is
# decided in `_ends_sentence`: Python's re has no class for "upper-case letter" in every script,
# and "Škoda", "Ørsted" or "Émile" open sentences as surely as "Tesla". Full-width marks ("。")
# end a sentence with or without a space: Chinese and Japanese put none.
_BOUNDARY = re.compile(r"([.!?…]+|[。！？]+)([\"'”’)\]」』]*)(\s*)(?=[\"'“‘(\[「『]?([^\W_]))")
_FULL_WIDTH = frozenset("。！？")
_LAST_WORD = re.compile(r"(\S+)$")
# How far back from a period to look for the word it ends: longer than any abbreviation, and
# short enough that a paragraph with thousands of non-final periods ("Corp. Corp. ...") stays
# linear rather than rescanning everything since the last boundary at each one.
_WORD_WINDOW = 64
# The longest piece of text treated as one sentence. The model reads about 256 word pieces
# (some 1,000 characters) and real sentences stay far below that; a page without sentence
# punctuation would otherwise become one multi-megabyte "sentence" that the stance rules take
# minutes to read.
MAX_SENTENCE_CHARS = 1000
_NEXT_WORD = re.compile(r"[\"'“‘(\[「『]?([^\W\d_]+)")
_DOTTED = re.compile(r"^(?:[a-z]\.)+[a-z]$")  # u.s, e.u, a.m: letters joined by periods
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class SplitRules:
    never_final: frozenset[str]
    maybe_final: frozenset[str]
    openers: frozenset[str]
    boilerplate: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=1)
def default_rules() -> SplitRules:
    """The packaged vocabulary, parsed once per process."""
    raw = resources.files("monitor.reading").joinpath("data/text.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    abbr = data["abbreviations"]
    return SplitRules(
        never_final=frozenset(a.lower() for a in abbr["never_final"]),
        maybe_final=frozenset(a.lower() for a in abbr["maybe_final"]),
        openers=frozenset(w.lower() for w in abbr["openers"]),
        boilerplate=tuple(re.compile(p, re.IGNORECASE) for p in data["boilerplate"]["patterns"]),
    )


def is_boilerplate(sentence: str, rules: SplitRules | None = None) -> bool:
    """Whether a line or sentence is page furniture rather than news."""
    rules = rules or default_rules()
    text = sentence.strip()
    if not _LETTER.search(text):
        return True  # separators, bare numbers, emoji rows
    return any(p.search(text) for p in rules.boilerplate)


def _ends_sentence(paragraph: str, start: int, match: re.Match[str], rules: SplitRules) -> bool:
    """Whether the boundary `match` closes the sentence that began at `start`."""
    if match.group(1)[0] in _FULL_WIDTH:
        return True
    if not match.group(3) or match.group(4).islower():
        return False  # "1810.HK", "$2.1", "e.g. a premium": no space, or no sentence opening
    if match.group(1) != ".":
        return True  # "?", "!", "..." followed by a capital (or a caseless script) or a digit
    before = paragraph[max(start, match.start(1) - _WORD_WINDOW) : match.start(1)]
    found = _LAST_WORD.search(before)
    if not found:
        return True
    word = found.group(1).lstrip("\"'“‘([").lower()
    if word in rules.never_final:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "Lei J. Jun", "Plan B. is" is rare enough
    if word in rules.maybe_final or _DOTTED.match(word):
        following = _NEXT_WORD.match(paragraph, match.end())  # no copy of the rest
        return following is not None and following.group(1).lower() in rules.openers
    return True


def _split_paragraph(paragraph: str, rules: SplitRules) -> Iterator[str]:
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        if _ends_sentence(paragraph, start, match, rules):
            yield paragraph[start : match.end(2)].strip()
            start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        yield tail


def split_sentences(text: str, rules: SplitRules | None = None) -> list[str]:
    """The sentences of a text, in order, without boilerplate; lines are paragraphs."""
    return list(_sentences(text, rules or default_rules()))


def _sentences(text: str, rules: SplitRules) -> Iterator[str]:
    for line in text.splitlines():
        paragraph = _SPACES.sub(" ", line).strip()
        if not paragraph or is_boilerplate(paragraph, rules):
            continue
        for sentence in _split_paragraph(paragraph, rules):
            for piece in _pieces(sentence):
                if not is_boilerplate(piece, rules):
                    yield piece


def _pieces(sentence: str, size: int = MAX_SENTENCE_CHARS) -> Iterator[str]:
    """A sentence, or an overlong one cut at spaces into pieces of at most `size` characters."""
    start = 0  # indexes, not slices of the rest: a huge sentence is never copied whole
    while len(sentence) - start > size:
        cut = sentence.rfind(" ", start, start + size + 1)
        cut = cut if cut > start else start + size  # an unbroken run: cut it anyway
        yield sentence[start:cut].strip()
        start = cut + 1 if sentence[cut] == " " else cut
    if sentence[start:].strip():
        yield sentence[start:].strip()


def article_sentences(
    title: str, text: str | None, *, limit: int | None = None, rules: SplitRules | None = None
) -> list[str]:
    """The title (as one sentence) followed by the body's sentences, at most `limit` in all.

    A body that repeats the title as its first line does not count it twice. The body is read
    only as far as the limit, so a huge page costs no more than a long one.
    """
    rules = rules or default_rules()
    head = next(_pieces(_SPACES.sub(" ", title or "").strip()), "")
    sentences = [head] if head and not is_boilerplate(head, rules) else []
    for sentence in _sentences(text or "", rules):
        if limit is not None and len(sentences) >= limit:
            break
        if sentences and sentence == sentences[0] and len(sentences) == 1 and head:
            continue
        sentences.append(sentence)
    return sentences[:limit] if limit is not None else sentences
