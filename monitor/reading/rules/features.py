"""The named features the learned layer weighs (see ``monitor.reading.rules.layer``).

Every feature is a property of the rules' reading of a sentence (``monitor.reading.rules.reading``)
and of their verdict, never a word's identity.
"""

from __future__ import annotations

import math
import re

from monitor.reading.rules.about import about_claim, content_words
from monitor.reading.rules.lexicon import Lexicon
from monitor.reading.rules.negation import stem
from monitor.reading.rules.reading import Judgement, Reading, live_hedges, name_stems, speaker

_FEATURE_ROLES = ("modal_hedge", "speculation", "future")
_LIVE_ROLES = ("confirm", "formalize", "deny", "debunk", "abandon")
# A sentence naming this many names of its own, beside the claim's, is as far from it as it gets.
_MOST_NAMES = 4
# Headline sourcing by a colon: "Source: X did Y", "X did Y: analyst". Short side = the source.
_COLON_SIDE = 4


def _colon_sourcing(r: Reading) -> tuple[float, float]:
    """(sourced, topical): a short colon-separated part that names a source, or the topic."""
    text = r.text.text
    if ":" not in text:
        return 0.0, 0.0
    head, _, rest = text.partition(":")
    tail = text.rpartition(":")[2]
    side = min((head, tail), key=lambda part: len(part.split()))
    if not side.split() or len(side.split()) > _COLON_SIDE or not rest.strip():
        return 0.0, 0.0
    words = re.findall(r"[a-z0-9][\w'-]*", side)
    topical = any(stem(w) in r.claim.entities or stem(w) in r.claim.stems for w in words)
    return (0.0, 1.0) if topical else (1.0, 0.0)


def _overlap(r: Reading, lex: Lexicon) -> tuple[float, float]:
    """(coverage, novelty): the share of the claim restated, the share of the sentence that is
    not the claim's."""
    stems = content_words([t.text for t in r.text.tokens], lex)
    claim = r.claim.stems - lex.generic
    coverage = len(stems & claim) / len(claim) if claim else 0.0
    novelty = len(stems - claim) / len(stems) if stems else 0.0
    return coverage, novelty


def _speakers(r: Reading, lex: Lexicon) -> tuple[float, float]:
    kinds = [speaker(h, r, lex) for h in r.text.hits["say_verb"]]
    party = "party" in kinds or bool(r.text.hits["on_record"])
    return float(party), float(any(k != "party" for k in kinds))


def profile(r: Reading, rule: Judgement, lex: Lexicon) -> dict[str, float]:
    """The reading as named numbers: what the learned layer weighs (see stance_model)."""
    coverage, novelty = _overlap(r, lex)
    sourced, topical = _colon_sourcing(r)
    party, other = _speakers(r, lex)
    on_claim = [words for _, words in r.scopes if about_claim(words, r, lex)]
    values = {
        "bias": 1.0,
        "rule_supports": float(rule.stance == "supports"),
        "rule_denies": float(rule.stance == "denies"),
        "rule_unrelated": float(rule.stance == "unrelated"),
        "rule_signal": float(rule.signal != "none"),
        "rule_assertion": float(rule.cues == ("assertion",)),
        "source_hedge": float(bool(live_hedges(r))),
        **{role: float(bool(r.text.hits[role])) for role in _FEATURE_ROLES},
        **{role: float(bool(r.live[role])) for role in _LIVE_ROLES},
        "say_party": party,
        "say_other": other,
        "negation_on_claim": float(bool(on_claim)),
        "negation_any": float(bool(r.scopes)),
        "question": float("?" in r.text.text),
        "quotes": float('"' in r.text.text or bool(re.search(r"(?:^|\s)'\w", r.text.text))),
        "colon_source": sourced,
        "colon_topic": topical,
        "exclaim": float("!" in r.text.text),
        "coverage": coverage,
        "novelty": novelty,
        "claim_negative": float(r.claim.negative),
        "claim_falsehood": float(r.claim.about_falsehood),
        "claim_hedged": float(r.claim.hedged),
        "length": math.log1p(len(r.text.tokens)) / 4.0,
    }
    return values


def names(sentence: str, r: Reading, lex: Lexicon) -> dict[str, float]:
    """Whose deal the sentence is about, by the names it gives: the share of the claim's names
    it leaves out, and how many of its own it brings. "Mickleton signs deal to sell pumps arm
    to Grantley Partners", against a claim that Mickleton will sell its valves business to
    Sallow, is the same party's other deal however formal its verbs: a cross-encoder trained
    on a few such sentences reads the verbs and misses the names."""
    claim = r.claim.entities
    said = {stem(t.text) for t in r.text.tokens}
    own = name_stems(sentence, lex, first=False) - claim
    return {
        "party_missing": len(claim - said) / len(claim) if claim else 0.0,
        "other_names": min(len(own), _MOST_NAMES) / _MOST_NAMES,
    }
