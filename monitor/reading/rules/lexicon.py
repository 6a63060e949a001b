"""The stance lexicon: cue phrases by role, negation vocabulary and thresholds.

Loaded from the packaged ``data/stance.toml`` (or a file given by path) and compiled once, so that
``monitor.reading.rules.judge.judge`` stays a pure function of its arguments and a lexicon value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.reading.rules.negation import NegationRules, stem

_ROLES = (
    "source_hedge",
    "modal_hedge",
    "speculation",
    "uncertain",
    "no_comment",
    "on_record",
    "say_verb",
    "party_role",
    "commentator",
    "unnamed_speaker",
    "confirm",
    "formalize",
    "object_bound",
    "deny",
    "debunk",
    "abandon",
    "pseudo_negation",
    "future",
    "pending",
)
# Roles added later: a lexicon file without them still loads, with no such cue.
_OPTIONAL_ROLES = ("retrospect", "topic", "refers_back")


@dataclass(frozen=True)
class Lexicon:
    cues: Mapping[str, re.Pattern[str]]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]  # contractions, then idioms
    weights: Mapping[str, float]
    negation: NegationRules
    stopwords: frozenset[str]
    generic: frozenset[str]
    # Stem of a word -> stem naming its group of same-meaning words ("vehicles" -> "car").
    concepts: Mapping[str, str]
    complement_stops: frozenset[str]
    overlap_words: int
    overlap_share: float
    cue_window: int
    complement_window: int
    future_window: int
    # Each word of a concept group, as written, -> the group's name: a stem may be shared with a
    # word that says nothing ("offer" and "off" stem alike).
    concept_words: Mapping[str, str] = field(default_factory=dict)
    # The groups' names: the matters the lexicon knows ("car", "battery", "acquire").
    matters: frozenset[str] = frozenset()
    # Auxiliaries before "not" that make the negated verb an act not done ("has not signed"), and
    # the verbs after which it is a state instead ("has not been").
    perfect: frozenset[str] = frozenset()
    # A neighbour this short that puts its words on record is attribution alone.
    context_attribution_words: int = 10
    perfect_negators: frozenset[str] = frozenset()
    perfect_states: frozenset[str] = frozenset()
    # Words that end the clause of a denial told as history ("had denied it, but then ...").
    history_boundaries: frozenset[str] = frozenset()
    # Capitalised words that never name a party (months).
    not_names: frozenset[str] = frozenset()
    # Articles: an object-bound act verb right after one is an adjective ("an established firm").
    articles: frozenset[str] = frozenset()
    # Verbs that end what talks or a deal are about ("talks about X were ...").
    topic_ends: frozenset[str] = frozenset()

    def has_cue(self, role: str, text: str) -> bool:
        """Whether ``text``, as written (any case, any spacing), holds a cue of ``role``."""
        return bool(self.cues[role].search(" ".join(text.lower().split())))


def _phrase_pattern(phrase: str) -> str:
    words = phrase.split()
    parts: list[str] = []
    for index, word in enumerate(words):
        if word in ("..", "..."):  # a short gap, or a longer one (a company's full name)
            parts.append(r"(?:\S+\s+){0,3}?" if word == ".." else r"(?:\S+\s+){0,6}?")
            continue
        parts.append(re.escape(word.rstrip("*")) + (r"[\w'-]*" if word.endswith("*") else ""))
        if index < len(words) - 1:
            parts.append(r"\s+")
    return "".join(parts)


def _role_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    # Longest phrases first so that "said in a statement" wins over "said".
    ordered = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(_phrase_pattern(p) for p in ordered) or r"(?!x)x"
    return re.compile(rf"(?<![\w'-])(?:{body})(?![\w-])")


def _concept_words(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Every word of every group, lower case, mapped to its group's one name."""
    return {w.lower(): stem(g[0]) for g in groups if g for w in g}


def _concepts(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Every word's stem mapped to its group's first stem: the group's one name."""
    names: dict[str, str] = {}
    for group in groups:
        stems = [stem(w) for w in group]
        names.update((s, stems[0]) for s in stems if stems)
    return names


def lexicon_from_mapping(data: Mapping[str, Any]) -> Lexicon:
    """Build a lexicon from parsed TOML; every regular expression is compiled here, once."""
    cues = data["cues"]
    missing = [role for role in _ROLES if role not in cues]
    if missing:
        raise ValueError(f"stance lexicon lacks cue roles: {', '.join(missing)}")
    scope, neg, words = data["scope"], data["negation"], data["words"]
    normalise = data["normalise"]
    return Lexicon(
        cues={role: _role_pattern(cues.get(role, [])) for role in (*_ROLES, *_OPTIONAL_ROLES)},
        rewrites=(
            *(
                (re.compile(re.escape(old), re.IGNORECASE), new)
                for old, new in normalise["contractions"]
            ),
            *(
                (re.compile(rf"\b{re.escape(old)}\b", re.IGNORECASE), new)
                for old, new in normalise.get("idioms", [])
            ),
        ),
        weights={str(k): float(v) for k, v in data["weights"].items()},
        negation=NegationRules(
            negators=frozenset(neg["negators"]),
            boundaries=frozenset(neg["boundaries"]),
            relative=frozenset(neg["relative"]),
            window=int(scope["negation_window"]),
        ),
        stopwords=frozenset(words["stopwords"]),
        generic=frozenset(stem(w) for w in words["generic_objects"]),
        concepts=_concepts(words.get("concepts", [])),
        concept_words=_concept_words(words.get("concepts", [])),
        matters=frozenset(_concepts(words.get("concepts", [])).values()),
        complement_stops=frozenset(neg["complement_boundaries"]),
        overlap_words=int(scope["overlap_words"]),
        overlap_share=float(scope["overlap_share"]),
        cue_window=int(scope["cue_negation_window"]),
        complement_window=int(scope["complement_window"]),
        future_window=int(scope["future_window"]),
        perfect=frozenset(neg.get("perfect", [])),
        context_attribution_words=int(scope.get("context_attribution_words", 10)),
        perfect_negators=frozenset(neg.get("perfect_negators", [])),
        perfect_states=frozenset(neg.get("perfect_states", [])),
        history_boundaries=frozenset(neg.get("history_boundaries", [])),
        articles=frozenset(words.get("articles", [])),
        not_names=frozenset(words.get("not_names", [])),
        topic_ends=frozenset(neg.get("topic_ends", [])),
    )


@lru_cache(maxsize=8)
def _load_cached(path: Path | None) -> Lexicon:
    if path is None:
        raw = resources.files("monitor.reading.rules").joinpath("data/stance.toml").read_bytes()
        return lexicon_from_mapping(tomllib.loads(raw.decode("utf-8")))
    with path.open("rb") as handle:
        return lexicon_from_mapping(tomllib.load(handle))


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon at ``path``, or the packaged one; parsed and compiled once per path."""
    return _load_cached(path.resolve() if path is not None else None)
