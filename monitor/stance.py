"""How one sentence stands toward one claim, and what it signals for the rumour's state.

``judge`` is a pure function of its arguments: the sentence is read against a ``Lexicon`` of cue
phrases (hedges, attribution, confirm/formalize/deny/abandon cues, negators) loaded from the
packaged ``data/stance.toml``. The decision is a fixed precedence of rules, strongest act first,
so that every judgement can name the cues that made it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.negation import (
    Span,
    Token,
    content_stems,
    negation_scopes,
    negator_before,
    stem,
    tokenize,
    words_after,
    words_before,
)
from monitor.stance_lexicon import Lexicon, lexicon_from_mapping, load_lexicon

Stance = Literal["unrelated", "reports", "supports", "denies"]
Signal = Literal["none", "confirm", "formalize", "deny", "abandon"]

__all__ = [
    "Judgement",
    "Lexicon",
    "Signal",
    "Stance",
    "judge",
    "lexicon_from_mapping",
    "load_lexicon",
]

# Cues whose phrases may contain a negator of their own ("no plans", "declined to comment").
_SELF_NEGATING = ("pseudo_negation", "no_comment", "uncertain", "deny", "abandon")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'})


@dataclass(frozen=True)
class Judgement:
    stance: Stance
    signal: Signal
    strength: float
    cues: tuple[str, ...]


@dataclass(frozen=True)
class _Hit:
    role: str
    text: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.role.replace('_', '-')}:{self.text}"


@dataclass(frozen=True)
class _Text:
    text: str
    tokens: tuple[Token, ...]
    hits: Mapping[str, tuple[_Hit, ...]]
    masked: tuple[Span, ...]


@dataclass(frozen=True)
class _Claim:
    stems: frozenset[str]
    entities: frozenset[str]
    negative: bool


def _normalise(text: str, lex: Lexicon) -> str:
    text = text.translate(_QUOTES)
    for pattern, replacement in lex.contractions:
        text = pattern.sub(replacement, text)
    return " ".join(text.split()).lower()


def _read(raw: str, lex: Lexicon) -> _Text:
    text = _normalise(raw, lex)
    hits = {
        role: tuple(_Hit(role, m.group(), m.start(), m.end()) for m in pattern.finditer(text))
        for role, pattern in lex.cues.items()
    }
    masked = tuple((h.start, h.end) for role in _SELF_NEGATING for h in hits[role])
    return _Text(text, tokenize(text), hits, masked)


def _claim_view(claim: str, lex: Lexicon) -> _Claim:
    text = _read(claim, lex)
    words = [t.text for t in text.tokens]
    # Capitalised words name the parties; the first word counts unless it is a stop word.
    capitalised = re.findall(r"\b[A-Z][\w&'-]*", claim.translate(_QUOTES))
    entities = frozenset(stem(w) for w in capitalised if w.lower() not in lex.stopwords)
    negated = bool(negation_scopes(text.tokens, lex.negation, text.masked))
    negative = negated or any(text.hits[r] for r in ("deny", "debunk", "abandon"))
    return _Claim(content_stems(words, lex.stopwords), entities, negative)


def _judgement(
    stance: Stance, signal: Signal, weight: str, lex: Lexicon, cues: Sequence[str]
) -> Judgement:
    return Judgement(stance, signal, lex.weights[weight], tuple(dict.fromkeys(cues)))


@dataclass(frozen=True)
class _Reading:
    """A sentence read against a claim: which acts are live, negated or mere reported content."""

    text: _Text
    claim: _Claim
    live: Mapping[str, tuple[_Hit, ...]]
    negated: Mapping[str, tuple[_Hit, ...]]
    scopes: tuple[tuple[Token, tuple[str, ...]], ...]


_ACTS = ("abandon", "deny", "debunk", "formalize", "confirm")
# What follows these is the content being denied or left uncommented, not an act of its own:
# "declined to comment on reports it scrapped the plan" scraps nothing.
_FRAMING = ("no_comment", "deny")


def _reported(hit: _Hit, text: _Text) -> bool:
    return any(
        frame.start < hit.start and frame is not hit and not (hit.role == "deny" == frame.role)
        for role in _FRAMING
        for frame in text.hits[role]
    )


def _negator(hit: _Hit, text: _Text, lex: Lexicon) -> Token | None:
    return negator_before(text.tokens, hit.start, lex.negation, lex.cue_window, text.masked)


def _reading(text: _Text, claim: _Claim, lex: Lexicon) -> _Reading:
    live: dict[str, tuple[_Hit, ...]] = {}
    negated: dict[str, tuple[_Hit, ...]] = {}
    cue_negators: set[int] = set()
    for role in _ACTS:
        hits = [h for h in text.hits[role] if not _reported(h, text)]
        under = {id(h): _negator(h, text, lex) for h in hits}
        live[role] = tuple(h for h in hits if under[id(h)] is None)
        negated[role] = tuple(h for h in hits if under[id(h)] is not None)
        if role != "formalize":  # "has not signed" is pending, left to the formalize rule
            cue_negators.update(t.start for t in under.values() if t is not None)
    first_frame = min((h.start for h in text.hits["no_comment"]), default=len(text.text))
    scopes = tuple(
        (s.negator, s.words)
        for s in negation_scopes(text.tokens, lex.negation, text.masked)
        if s.negator.start not in cue_negators and s.negator.start < first_frame
    )
    return _Reading(text, claim, live, negated, scopes)


def _content(words: Sequence[str], lex: Lexicon) -> frozenset[str]:
    return content_stems(words, lex.stopwords) - lex.generic


def _about_claim(words: Sequence[str], r: _Reading, lex: Lexicon) -> bool:
    """Whether words a cue acts on are the claim: restated, or only referred to ("the report").

    "Xiaomi denied it will raise phone prices" denies nothing about an electric car claim, even
    though a word or a name may be shared.
    """
    content = _content(words, lex)
    if not content:
        return True
    shared = len(content & r.claim.stems)
    return shared >= lex.overlap_words or shared >= lex.overlap_share * len(content)


def _on_claim(hit: _Hit, r: _Reading, lex: Lexicon) -> bool:
    after = words_after(r.text.tokens, hit.end, lex.complement_window, lex.complement_stops)
    return _about_claim(after, r, lex)


def _hedged(r: _Reading) -> tuple[_Hit, ...]:
    """Live source hedges: not the ones inside what an act is about ("denied claims that")."""
    acts = [h.start for role in ("deny", "confirm", "abandon") for h in r.live[role]]
    first_act = min(acts, default=len(r.text.text))
    return tuple(h for h in r.text.hits["source_hedge"] if h.start < first_act)


def _speaker(hit: _Hit, r: _Reading, lex: Lexicon) -> str:
    """Who a verb of saying belongs to: a party to the claim, a commentator, or unknown."""
    words = words_before(r.text.tokens, hit.start, 6)
    if not words:  # "..., said the company": the speaker follows the verb
        words = words_after(r.text.tokens, hit.end, 4, lex.negation.boundaries)
    phrase = " ".join(words)
    if lex.cues["party_role"].search(phrase):
        return "party"
    if lex.cues["commentator"].search(phrase):
        return "commentator"
    return "party" if any(stem(w) in r.claim.entities for w in words) else "unknown"


def _attribution(r: _Reading, lex: Lexicon) -> tuple[str, list[str]]:
    """Whether the sentence is on record ("party"), second-hand, or not attributed ("")."""
    if r.text.hits["on_record"]:
        return "party", [r.text.hits["on_record"][0].name]
    second_hand: list[str] = []
    for hit in r.text.hits["say_verb"]:
        speaker = _speaker(hit, r, lex)
        if speaker == "party":
            return "party", [f"{hit.name}(party)"]
        second_hand.append(f"{hit.name}({speaker})")
    return ("second-hand", second_hand) if second_hand else ("", [])


Rule = Callable[[_Reading, Lexicon], Judgement | None]


def _against(r: _Reading, lex: Lexicon, hit: _Hit, signal: Signal, weight: str) -> Judgement:
    """A denial-like act on the claim, softened by hedges and flipped when the claim is itself
    a denial ("X denies Y" is supported by "X denied Y")."""
    cues = [hit.name]
    if r.claim.negative:
        return _judgement("supports", "none", "assertion", lex, [*cues, "claim-is-negative"])
    hedges = _hedged(r)
    if hedges:
        return _judgement("denies", "none", "hedged_denial", lex, [*cues, hedges[0].name])
    return _judgement("denies", signal, weight, lex, cues)


def _act_rule(role: str, signal: Signal, weight: str) -> Rule:
    def rule(r: _Reading, lex: Lexicon) -> Judgement | None:
        hits = r.live[role]
        if not hits:
            return None
        on_claim = [h for h in hits if _on_claim(h, r, lex)]
        if not on_claim:
            return _judgement("unrelated", "none", "unrelated", lex, [f"{hits[0].name}(other)"])
        return _against(r, lex, on_claim[0], signal, weight)

    return rule


def _double_negation(r: _Reading, lex: Lexicon) -> Judgement | None:
    """ "did not deny", "would not rule out": a refusal to deny is no denial."""
    if not r.negated["deny"]:
        return None
    return _judgement(
        "reports", "none", "double_negation", lex, [f"not-{r.negated['deny'][0].name}"]
    )


def _debunk(r: _Reading, lex: Lexicon) -> Judgement | None:
    if r.negated["debunk"] and not r.live["debunk"]:  # "not a hoax"
        stance: Stance = "denies" if r.claim.negative else "supports"
        return _judgement(stance, "none", "debunk", lex, [f"not-{r.negated['debunk'][0].name}"])
    hits = [h for h in r.live["debunk"] if _on_claim(h, r, lex)]
    if not hits:
        return None
    party = _attribution(r, lex)[0] == "party"
    return _against(r, lex, hits[0], "deny" if party else "none", "debunk")


def _negated_content(r: _Reading, lex: Lexicon) -> Judgement | None:
    """ "X will not build cars with Y", "no plans to ...": a negator over the claim's content."""
    for negator, words in r.scopes:
        if not _about_claim(words, r, lex):
            continue  # negates something else: "will not raise phone prices"
        cue = f"negation:{negator.text} {' '.join(words[:4])}".rstrip()
        if any(lex.cues["pending"].fullmatch(w) for w in words[:3]):
            return _judgement("reports", "none", "pending", lex, [cue, "pending"])
        before = " ".join(words_before(r.text.tokens, negator.start, 2))
        modal = lex.cues["modal_hedge"].search(before)
        if modal and not lex.cues["future"].fullmatch(modal.group()):  # "may not", not "would"
            return _judgement("reports", "none", "hedged", lex, [cue, f"modal:{modal.group()}"])
        hit = _Hit("negation", f"{negator.text} {' '.join(words[:4])}".rstrip(), 0, 0)
        return _against(r, lex, hit, "deny", "deny_negation")
    return None


def _no_comment(r: _Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["no_comment"]
    if not hits:
        return None
    return _judgement("reports", "none", "no_comment", lex, [hits[0].name])


def _undecided(r: _Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["uncertain"]
    if not hits:
        return None
    return _judgement("reports", "none", "pending", lex, [hits[0].name])


def _question(r: _Reading, lex: Lexicon) -> Judgement | None:
    if "?" not in r.text.text:
        return None
    return _judgement("reports", "none", "question", lex, ["question"])


def _source_hedge(r: _Reading, lex: Lexicon) -> Judgement | None:
    hedges = _hedged(r)
    if not hedges:
        return None
    return _judgement("reports", "none", "hedged", lex, [h.name for h in hedges])


def _planned(hit: _Hit, r: _Reading, lex: Lexicon) -> bool:
    """ "will be launched", "could sign": an act still to come is a plan, not a done deal."""
    before = " ".join(words_before(r.text.tokens, hit.start, lex.future_window))
    return bool(lex.cues["future"].search(before) or lex.cues["modal_hedge"].search(before))


def _official_act(role: str, signal: Signal, weight: str) -> Rule:
    def rule(r: _Reading, lex: Lexicon) -> Judgement | None:
        if r.negated[role] and not r.live[role]:  # "has not yet signed", "did not confirm"
            return _judgement("reports", "none", "pending", lex, [f"not-{r.negated[role][0].name}"])
        done = [h for h in r.live[role] if not _planned(h, r, lex)]
        if not done:
            return None
        on_claim = [h for h in done if _on_claim(h, r, lex)]
        if not on_claim:
            return _judgement("unrelated", "none", "unrelated", lex, [f"{done[0].name}(other)"])
        return _judgement("supports", signal, weight, lex, [on_claim[0].name])

    return rule


def _on_record(r: _Reading, lex: Lexicon) -> Judgement | None:
    kind, cues = _attribution(r, lex)
    if kind == "second-hand":
        return _judgement("reports", "none", "speculation", lex, cues)
    if kind != "party":
        return None
    modal = r.text.hits["modal_hedge"]
    if modal:
        return _judgement("supports", "confirm", "confirm_modal", lex, [*cues, modal[0].name])
    return _judgement("supports", "confirm", "confirm", lex, cues)


def _speculative(r: _Reading, lex: Lexicon) -> Judgement | None:
    hits = r.text.hits["modal_hedge"] + r.text.hits["speculation"] + r.text.hits["uncertain"]
    if not hits:
        return None
    return _judgement("reports", "none", "speculation", lex, [h.name for h in hits])


def _plan(r: _Reading, lex: Lexicon) -> Judgement | None:
    planned = [h for h in r.live["formalize"] if _on_claim(h, r, lex)]
    if not planned:
        return None
    return _judgement("supports", "none", "future_plan", lex, [f"plan:{planned[0].text}"])


_RULES: tuple[Rule, ...] = (
    _act_rule("abandon", "abandon", "abandon"),
    _act_rule("deny", "deny", "deny"),
    _double_negation,
    _debunk,
    _negated_content,
    _no_comment,
    _question,
    _undecided,
    _source_hedge,
    _official_act("formalize", "formalize", "formalize"),
    _official_act("confirm", "confirm", "confirm"),
    _on_record,
    _speculative,
    _plan,
)


_CONTEXT_SOURCING: tuple[tuple[str, Stance, Signal, str], ...] = (
    ("source_hedge", "reports", "none", "hedged"),
    ("no_comment", "reports", "none", "no_comment"),
    ("on_record", "supports", "confirm", "confirm_context"),
)


def _from_context(context: _Text, lex: Lexicon) -> Judgement | None:
    """A bare statement takes its sourcing from its neighbours: "..., people familiar said",
    "the company said in a statement", "X declined to comment"."""
    for role, stance, signal, weight in _CONTEXT_SOURCING:
        hits = context.hits[role]
        if hits:
            return _judgement(stance, signal, weight, lex, [f"context:{hits[0].name}"])
    return None


def judge(
    sentence: str, claim: str, *, context: str = "", lexicon: Lexicon | None = None
) -> Judgement:
    """How ``sentence`` (already known to be about ``claim``) stands toward the claim.

    ``context`` holds neighbouring sentences or the headline; it only sources a sentence that has
    no cue of its own.
    """
    lex = lexicon if lexicon is not None else load_lexicon()
    reading = _reading(_read(sentence, lex), _claim_view(claim, lex), lex)
    for rule in _RULES:
        found = rule(reading, lex)
        if found is not None:
            return found
    if context.strip():
        found = _from_context(_read(context, lex), lex)
        if found is not None:
            return found
    return _judgement("supports", "none", "assertion", lex, ["assertion"])
