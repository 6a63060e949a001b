"""How the stance rules read one sentence against one claim: cue hits, negation, attribution.

The rules themselves (``monitor.reading.rules.judge``) and the learned layer's features
(``monitor.reading.rules.features``) both work on the ``Reading`` built here: which acts are live,
which are negated or only reported content, and who is speaking. What a cue acts on is
``monitor.reading.rules.about``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.reading.rules.lexicon import Lexicon
from monitor.reading.rules.negation import (
    Scope,
    Span,
    Token,
    content_stems,
    is_clause_mark,
    negation_scopes,
    negator_before,
    stem,
    tokenize,
    words_after,
    words_before,
)

Stance = Literal["unrelated", "reports", "supports", "denies"]
Signal = Literal["none", "confirm", "formalize", "deny", "abandon"]

# Cues whose phrases may contain a negator of their own ("no plans", "declined to comment").
_SELF_NEGATING = ("pseudo_negation", "no_comment", "uncertain", "deny", "abandon")
# "said the company" is the party's attribution ("..., said the company."), unless a verb
# follows: then the company is the subject of what somebody else said ("analysts said the
# company will close the plant").
_CLAUSE_VERB = re.compile(
    r"\s+(?:will|would|is|was|has|had|have|plans|planned|could|may|might|must|should|can|"
    r"intends|intended|wants|wanted|expects|expected|did|does|needs|needed|aims|aimed)\b"
)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'})


@dataclass(frozen=True)
class Judgement:
    stance: Stance
    signal: Signal
    strength: float
    cues: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    role: str
    text: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.role.replace('_', '-')}:{self.text}"


@dataclass(frozen=True)
class Text:
    text: str
    tokens: tuple[Token, ...]
    hits: Mapping[str, tuple[Hit, ...]]
    masked: tuple[Span, ...]


@dataclass(frozen=True)
class ClaimView:
    stems: frozenset[str]
    entities: frozenset[str]
    negative: bool
    # The claim is itself about a falsehood or is itself hedged ("X claims ..."): the same cues
    # then agree with it rather than undermine it.
    about_falsehood: bool
    hedged: bool
    # The claim is about something still to happen ("X will build ..."): an act not done so far
    # ("X has not signed") leaves it pending rather than false.
    prospective: bool = False
    # The claim's words in order, to find what its verb acts on ("build" -> "electric cars").
    words: tuple[str, ...] = ()


def _normalise(text: str, lex: Lexicon) -> str:
    text = text.translate(_QUOTES)
    for pattern, replacement in lex.rewrites:
        text = pattern.sub(replacement, text)
    return " ".join(text.split()).lower()


def read_text(raw: str, lex: Lexicon) -> Text:
    text = _normalise(raw, lex)
    hits = {
        role: tuple(Hit(role, m.group(), m.start(), m.end()) for m in pattern.finditer(text))
        for role, pattern in lex.cues.items()
    }
    hits["on_record"] = tuple(h for h in hits["on_record"] if not _subject_of_saying(h, text))
    masked = tuple((h.start, h.end) for role in _SELF_NEGATING for h in hits[role])
    return Text(text, tokenize(text), hits, masked)


def _subject_of_saying(hit: Hit, text: str) -> bool:
    """An inverted attribution ("said the company") that is the subject of a reported clause."""
    return hit.text.startswith(("said the ", "says the ")) and bool(
        _CLAUSE_VERB.match(text, hit.end)
    )


def name_stems(text: str, lex: Lexicon, first: bool = True) -> frozenset[str]:
    """The stems of the capitalised words, which name the parties, but for stop words; the
    first word counts only with ``first`` (a claim starts with a name, a sentence may start
    with any word), and in a sentence words that never name a party (days, months, "Analysts")
    do not count."""
    capitalised = re.findall(r"\b[A-Z][\w&'-]*", text.translate(_QUOTES))
    if not first:
        capitalised = capitalised[1:] if text.lstrip()[:1].isupper() else capitalised
    skip = lex.stopwords if first else lex.stopwords | lex.not_names
    stems = (stem(w) for w in capitalised if w.lower() not in skip)
    return frozenset(s for s in stems if first or s not in lex.generic)


def claim_view(claim: str, lex: Lexicon) -> ClaimView:
    text = read_text(claim, lex)
    words = [t.text for t in text.tokens]
    entities = name_stems(claim, lex)
    negated = bool(negation_scopes(text.tokens, lex.negation, text.masked))
    negative = negated or any(text.hits[r] for r in ("deny", "debunk", "abandon"))
    hedged = any(text.hits[r] for r in ("source_hedge", "modal_hedge", "speculation"))
    # Bare "to" is left out: "met Musk to talk about cars" is about a meeting that happened.
    ahead = any(h.text != "to" for h in text.hits["future"]) or bool(text.hits["modal_hedge"])
    return ClaimView(
        content_stems(words, lex.stopwords),
        entities,
        negative,
        bool(text.hits["debunk"]),
        hedged,
        ahead,
        tuple(words),
    )


@dataclass(frozen=True)
class Reading:
    """A sentence read against a claim: which acts are live, negated or mere reported content."""

    text: Text
    claim: ClaimView
    live: Mapping[str, tuple[Hit, ...]]
    negated: Mapping[str, tuple[Hit, ...]]
    scopes: tuple[tuple[Token, tuple[str, ...]], ...]
    # The words no live negator reaches: what the sentence asserts outright.
    outside: tuple[str, ...]
    # Denials, call-offs and negations told as history ("after saying it had no plans"): they
    # describe an earlier statement, so they are neither live nor negated.
    remembered: tuple[Hit, ...] = ()


_ACTS = ("abandon", "deny", "debunk", "formalize", "confirm")
# Acts against the claim that may be told as history rather than done now.
_RETOLD = ("abandon", "deny", "debunk")
# What follows these is the content being denied or left uncommented, not an act of its own:
# "declined to comment on reports it scrapped the plan" scraps nothing.
_FRAMING = ("no_comment", "deny")


def _clause_end(position: int, text: Text, lex: Lexicon) -> int:
    """Where the clause running on from ``position`` ends: at a clause mark ("Xiaomi, having
    denied it would make cars, announced ...") or a word that starts the next clause ("but",
    "before", "then"). The end of the sentence otherwise."""
    for token in text.tokens:
        if token.start >= position and (
            is_clause_mark(token) or token.text in lex.history_boundaries
        ):
            return token.start
    return len(text.text)


def _frame_reach(frame: Hit, text: Text, lex: Lexicon) -> int:
    """How far a framing cue's content runs. A denial told as history frames only its own
    clause: the main clause after it says something new ("having denied it, X announced ...")."""
    if frame.role == "deny" and _remembered(frame.start, text, lex):
        return _clause_end(frame.end, text, lex)
    return len(text.text)


def _reported(hit: Hit, text: Text, lex: Lexicon) -> bool:
    return any(
        frame.start < hit.start < _frame_reach(frame, text, lex)
        and frame is not hit
        and not (hit.role == "deny" == frame.role)
        for role in _FRAMING
        for frame in text.hits[role]
    )


def _negator(hit: Hit, text: Text, lex: Lexicon) -> Token | None:
    return negator_before(text.tokens, hit.start, lex.negation, lex.cue_window, text.masked)


def _remembered(position: int, text: Text, lex: Lexicon) -> Hit | None:
    """The history frame ("after telling investors", "last month") shortly before ``position``
    and in the same clause: a clause mark right after the frame ("Last month, X said ...") does
    not end it, one later does ("After saying so, X denied it ..." is a new denial)."""
    for frame in text.hits["retrospect"]:
        between = [t for t in text.tokens if frame.end <= t.start and t.end <= position]
        if not frame.start < position or len(between) > lex.negation.window:
            continue
        if _clause_end(frame.end, text, lex) in (t.start for t in between[1:]):
            continue
        return frame
    return None


def _side_history(hit: Hit, text: Text, lex: Lexicon) -> Hit | None:
    """A history frame in the side clause holding ``hit``: "X, which agreed to buy Y last year
    before regulators blocked it, reported ..." recalls the act as background, it does not do it
    now. An act in a side clause without such a frame ("X, which signed the deal on Monday,
    ...") still counts."""
    before = [t for t in text.tokens if t.end <= hit.start]
    for i in range(len(before) - 1, 0, -1):
        if is_clause_mark(before[i]):
            return None  # the hit's clause opened without a relative word
        if before[i].text in lex.negation.relative and before[i - 1].text == ",":
            end = _clause_end(hit.end, text, lex)
            return next(
                (f for f in text.hits["retrospect"] if before[i].start < f.start < end), None
            )
    return None


def _reaching(hit: Hit, scopes: Sequence[Scope]) -> tuple[Token, ...]:
    """Negators further back whose reach covers the cue: "neither X nor Y has confirmed",
    "nobody at X has signed" negate the act itself, whoever the subject is."""
    return tuple(s.negator for s in scopes if s.negator.start < hit.start < s.end)


def read_against(text: Text, claim: ClaimView, lex: Lexicon) -> Reading:
    live: dict[str, tuple[Hit, ...]] = {}
    negated: dict[str, tuple[Hit, ...]] = {}
    cue_negators: set[int] = set()
    raw = negation_scopes(text.tokens, lex.negation, text.masked)
    remembered: list[Hit] = []
    for role in _ACTS:
        hits = [h for h in text.hits[role] if not _reported(h, text, lex)]
        if role in _RETOLD:
            remembered.extend(h for h in hits if _remembered(h.start, text, lex))
        remembered.extend(h for h in hits if h not in remembered and _side_history(h, text, lex))
        hits = [h for h in hits if h not in remembered]
        near = {id(h): _negator(h, text, lex) for h in hits}
        far = {id(h): _reaching(h, raw) for h in hits if near[id(h)] is None}
        live[role] = tuple(h for h in hits if near[id(h)] is None and not far[id(h)])
        negated[role] = tuple(h for h in hits if h not in live[role])
        if role != "formalize":  # "has not signed" is pending, left to the formalize rule
            cue_negators.update(t.start for t in near.values() if t is not None)
        # A negated subject negates the act, never the claim's content: not a denial.
        cue_negators.update(t.start for negators in far.values() for t in negators)
    first_frame = min((h.start for h in text.hits["no_comment"]), default=len(text.text))
    kept = [s for s in raw if s.negator.start not in cue_negators and s.negator.start < first_frame]
    for scope in [s for s in kept if _remembered(s.negator.start, text, lex)]:
        kept.remove(scope)  # "after telling investors it had no formal project"
        remembered.append(
            Hit("negation", f"{scope.negator.text} {' '.join(scope.words[:4])}", 0, 0)
        )
    outside = tuple(
        t.text
        for t in text.tokens
        if not any(s.negator.start <= t.start < s.end for s in kept) and not is_clause_mark(t)
    )
    scopes = tuple((s.negator, s.words) for s in kept)
    return Reading(text, claim, live, negated, scopes, outside, tuple(remembered))


def denied_call_off(r: Reading, lex: Lexicon) -> Hit | None:
    """A call-off the sentence's own live denial frames: "X denied it had walked away from the
    talks" says the deal is alive, the opposite of a denial of the claim."""
    for deny in r.live["deny"]:
        reach = _frame_reach(deny, r.text, lex)
        framed = [h for h in r.text.hits["abandon"] if deny.end <= h.start < reach]
        if framed:
            return framed[0]
    return None


def live_hedges(r: Reading) -> tuple[Hit, ...]:
    """Live source hedges: not the ones inside what an act is about ("denied claims that"), nor
    the ones an on-record phrase contains ("according to" in "according to the company")."""
    acts = [h.start for role in ("deny", "confirm", "abandon") for h in r.live[role]]
    first_act = min(acts, default=len(r.text.text))
    records = [(h.start, h.end) for h in r.text.hits["on_record"]]
    return tuple(
        h
        for h in r.text.hits["source_hedge"]
        if h.start < first_act and not any(s <= h.start < e for s, e in records)
    )


def speaker(hit: Hit, r: Reading, lex: Lexicon) -> str:
    """Who a verb of saying belongs to: a party to the claim, a commentator, or unknown."""
    words = words_before(r.text.tokens, hit.start, 10)
    if not words:  # "..., said the company": the speaker follows the verb
        words = words_after(r.text.tokens, hit.end, 4, lex.negation.boundaries)
    phrase = " ".join(words)
    named = any(stem(w) in r.claim.entities for w in words)
    if not named and lex.cues["unnamed_speaker"].search(phrase):
        return "commentator"  # "two executives at parts makers": a role, but nobody's on record
    role = lex.cues["party_role"].search(phrase)
    other = lex.cues["commentator"].search(phrase)
    if (
        role
        and other
        and other.end() <= role.start()
        and not phrase[other.end() : role.start()].strip()
    ):
        return "commentator"  # "union officials": the role belongs to the second-hand speaker
    if role:
        return "party"
    if other:
        return "commentator"
    return "party" if named else "unknown"


def attribution(r: Reading, lex: Lexicon) -> tuple[str, list[str]]:
    """Whether the sentence is on record ("party"), second-hand, or not attributed ("")."""
    if r.text.hits["on_record"]:
        return "party", [r.text.hits["on_record"][0].name]
    second_hand: list[str] = []
    for hit in r.text.hits["say_verb"]:
        who = speaker(hit, r, lex)
        if who == "party":
            return "party", [f"{hit.name}(party)"]
        second_hand.append(f"{hit.name}({who})")
    return ("second-hand", second_hand) if second_hand else ("", [])
