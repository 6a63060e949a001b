"""Tokens, light stemming and negation scope for the stance classifier.

Pure functions over plain data. The vocabulary (negators, clause boundaries) comes in through a
``NegationRules`` value built from the packaged lexicon, never from module-level configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# Words keep inner hyphens and apostrophes ("co-founder", "xiaomi's"); every other mark is a
# token of its own so that punctuation can end a negator's reach.
_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[^\sa-z0-9]")
# Marks that close a clause. Quotes and hyphens do not: negation reaches into a quotation.
_CLAUSE_MARKS = frozenset(",;:.!?()[]—–|")
# Longest first, so that "ations" wins over "s". Stems are then cut to a fixed length, which
# also joins "acquire" and "acquisition"; crude, but cheap and good enough for overlap checks.
_SUFFIXES = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ings",
    "ing",
    "ies",
    "ied",
    "ers",
    "er",
    "ed",
    "es",
    "ly",
    "s",
)
_STEM_LENGTH = 5


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class NegationRules:
    negators: frozenset[str]
    boundaries: frozenset[str]
    relative: frozenset[str]
    window: int


@dataclass(frozen=True)
class Scope:
    """A negator and the words it reaches."""

    negator: Token
    words: tuple[str, ...]
    end: int  # character offset where the reach ends: what starts before it is negated


Span = tuple[int, int]


def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens of already lower-cased text, with character offsets."""
    return tuple(Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text))


def stem(word: str) -> str:
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:_STEM_LENGTH]


def content_parts(words: Iterable[str], stopwords: frozenset[str]) -> Iterator[str]:
    """The words that carry content (letters, not a stop word), unstemmed."""
    # Hyphenated words count by their parts, so "spin-off" meets "spin off".
    parts = (part for w in words for part in w.split("-"))
    return (p for p in parts if p not in stopwords and any(ch.isalpha() for ch in p))


def content_stems(words: Iterable[str], stopwords: frozenset[str]) -> frozenset[str]:
    """Stems of the words that carry content (`content_parts`)."""
    return frozenset(stem(p) for p in content_parts(words, stopwords))


def is_clause_mark(token: Token) -> bool:
    return token.text in _CLAUSE_MARKS


def _inside(span_start: int, masked: Sequence[Span]) -> bool:
    return any(start <= span_start < end for start, end in masked)


def _in_side_clause(tokens: Sequence[Token], index: int, rules: NegationRules) -> bool:
    # Walk back to the start of the clause: a relative word there means the negation belongs to
    # a side remark about the subject, not to the main statement.
    for token in reversed(tokens[:index]):
        if is_clause_mark(token):
            return False
        if token.text in rules.relative:
            return True
    return False


def _reach(tokens: Sequence[Token], index: int, rules: NegationRules) -> tuple[list[str], int]:
    words: list[str] = []
    end = tokens[index].end
    for token in tokens[index + 1 : index + 1 + rules.window]:
        if is_clause_mark(token) or token.text in rules.boundaries:
            break
        words.append(token.text)
        end = token.end
    return words, end


def negation_scopes(
    tokens: Sequence[Token], rules: NegationRules, masked: Sequence[Span] = ()
) -> tuple[Scope, ...]:
    """Each live negator with the words it reaches, up to the end of its clause.

    Negators inside ``masked`` spans ("not only", "declined to comment", "no plans") are left to
    the cue that covers them, and negators in side clauses do not negate the main statement.
    """
    scopes: list[Scope] = []
    for index, token in enumerate(tokens):
        if token.text not in rules.negators or _inside(token.start, masked):
            continue
        if _in_side_clause(tokens, index, rules):
            continue
        words, end = _reach(tokens, index, rules)
        scopes.append(Scope(token, tuple(words), end))
    return tuple(scopes)


def negator_before(
    tokens: Sequence[Token],
    position: int,
    rules: NegationRules,
    window: int,
    masked: Sequence[Span] = (),
) -> Token | None:
    """The negator, if any, within ``window`` words before ``position`` in the same clause.

    This is what makes "did not deny" or "has not yet signed" different from "denied" and
    "signed".
    """
    before = [t for t in tokens if t.end <= position]
    for token in reversed(before[-window:]):
        if is_clause_mark(token):
            return None
        if token.text in rules.negators and not _inside(token.start, masked):
            return token
    return None


def words_after(
    tokens: Sequence[Token], position: int, limit: int, stop: frozenset[str]
) -> tuple[str, ...]:
    """Up to ``limit`` words after ``position``, stopping at the end of the sentence part.

    Commas do not stop it: "denied reports, published on Monday, that it would ..." still
    names what was denied.
    """
    words: list[str] = []
    for token in tokens:
        if token.start < position:
            continue
        if token.text in ".;!?|" or token.text in stop or len(words) >= limit:
            break
        if not is_clause_mark(token):
            words.append(token.text)
    return tuple(words)


def words_before(tokens: Sequence[Token], position: int, limit: int) -> tuple[str, ...]:
    """Up to ``limit`` words before ``position`` in the same clause, nearest last."""
    words: list[str] = []
    for token in reversed([t for t in tokens if t.end <= position]):
        if is_clause_mark(token) or len(words) >= limit:
            break
        words.append(token.text)
    return tuple(reversed(words))
