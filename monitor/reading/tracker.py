"""Confidence and state of a rumour: pure rules, no database.

Confidence is the probability that the claim is or will be true, moved in log-odds by each
article's evidence: a step per signal (data below), scaled by the stance classifier's strength,
how well the sentence matched and how credible the source is. An article counts once per
rumour: the pipeline passes only the sentence it counts by (see `decisive`).

States move only along the explicit table below and only on a signal from a party on record;
a hedged report moves confidence, never the state. Decisions:

* denied -> confirmed | formalized: a later official act overrides a denial (Xiaomi denied an
  EV project in February 2021 and announced it in March).
* abandoned -> confirmed | formalized: a plan called off can be revived, but only by a new
  on-record confirmation or act, never by a report.
* unconfirmed -> abandoned: a deal that was only ever reported is called off on record ("X said
  its talks with Y had ended", "X walked away"): the party's own word that the plan is over is
  news a desk acts on, even though it never confirmed the talks.
* A denial does not count in an article that also supports the claim: a story about the signed
  deal that recalls "X had denied the reports in March" is about the deal, and its recap cannot
  move the rumour back (see `in_article`).
* formalized -> denied is not allowed: a denial after a signed deal is noise or about something
  else; a real reversal reads as an abandonment.
* A state change also moves confidence into the band the new state implies (BANDS): after a
  signed deal the claim is very likely true, after a call-off very unlikely, however the
  earlier evidence had weighed.
* Talks confirmed on record confirm a partnership claim: "X said in a statement that the talks
  with Y were at an early stage" moves "X will build cars with Y" to confirmed. DESIGN.md
  defines confirmed as "a party to the claim confirmed it on record, not final" with "X
  confirmed it is in talks" as its example; "early stage" is exactly the "not final" that
  separates confirmed from formalized, so it weakens the signal (confirm_modal) without voiding
  it. What stays unconfirmed: talks only reported ("people familiar"), talks the party says
  have reached no decision (pending), and talks about another matter (no evidence).
* Evidence published before the rumour's last state change moves confidence but never the state,
  so a late-arriving old article cannot undo newer news. A seeded state dates from the seed's
  `since`, when it gives one (the pipeline passes the later of the two).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

TRANSITIONS: Mapping[str, frozenset[str]] = {
    "unconfirmed": frozenset({"confirmed", "formalized", "denied", "abandoned"}),
    "confirmed": frozenset({"formalized", "denied", "abandoned"}),
    "formalized": frozenset({"abandoned"}),
    "denied": frozenset({"confirmed", "formalized"}),
    "abandoned": frozenset({"confirmed", "formalized"}),
}
TARGET: Mapping[str, str] = {
    "confirm": "confirmed",
    "formalize": "formalized",
    "deny": "denied",
    "abandon": "abandoned",
}
# Log-odds moved by evidence of full strength, perfect match and full credibility.
STEP: Mapping[str, float] = {
    "confirm": 1.6,
    "formalize": 2.6,
    "deny": -1.6,
    "abandon": -2.6,
}
STANCE_STEP: Mapping[str, float] = {"reports": 0.25, "supports": 0.6, "denies": -0.8}
# Confidence a rumour has right after entering a state, at least and at most.
BANDS: Mapping[str, tuple[float, float]] = {
    "unconfirmed": (0.01, 0.99),
    "confirmed": (0.65, 0.99),
    "formalized": (0.9, 0.99),
    "denied": (0.01, 0.35),
    "abandoned": (0.01, 0.15),
}
# Least signal strength that may change a state; weaker signals only move confidence.
MIN_STRENGTH = 0.5
FLOOR, CEILING = 0.01, 0.99


@dataclass(frozen=True)
class Observation:
    """One sentence of an article about one rumour, as the tracker weighs it."""

    stance: str
    signal: str
    strength: float  # the classifier's, 0..1
    match: float  # how well the sentence matched, 0..1 (see `match_quality`)
    credibility: float  # the source's, 0..1
    published_at: datetime


@dataclass(frozen=True)
class Outcome:
    from_state: str
    to_state: str
    confidence_before: float
    confidence_after: float
    reason: str

    @property
    def changed(self) -> bool:
        return self.from_state != self.to_state


def match_quality(similarity: float, threshold: float) -> float:
    """0.5 at the threshold rising to 1.0 at a perfect match: a bare pass still counts half."""
    if threshold >= 1.0:
        return 1.0
    above = max(0.0, min(1.0, (similarity - threshold) / (1.0 - threshold)))
    return 0.5 + 0.5 * above


def weight(obs: Observation) -> float:
    """The signed log-odds step this observation moves a rumour's confidence."""
    step = STEP.get(obs.signal, STANCE_STEP.get(obs.stance, 0.0))
    return step * obs.strength * obs.match * obs.credibility


def strongest(observations: Iterable[Observation]) -> Observation | None:
    """The largest move, whichever direction."""
    return max(observations, key=lambda o: abs(weight(o)), default=None)


def decisive(
    state: str, observations: Sequence[Observation], *, last_change_at: datetime | None = None
) -> Observation | None:
    """The observation an article counts by: the strongest of those that may change the state,
    else the strongest of all.

    A story that recaps an old denial beside today's confirmation ("X said in March it had no
    plans ...; on Tuesday X confirmed the talks") must count by the confirmation, even when the
    recap matches the claim more closely: the recap cannot move the rumour, the news can.
    """
    movers = [o for o in observations if _why_not(state, o, last_change_at) is None]
    return strongest(movers) or strongest(observations)


def in_article(observations: Sequence[Observation]) -> list[Observation]:
    """An article's observations of one rumour, each weighed with the others: a denial in an
    article that also supports the claim is a recap ("X had denied the reports in March", in
    the story of the signed deal) and counts for confidence only, as a stance without signal."""
    if not any(o.stance == "supports" for o in observations):
        return list(observations)
    return [replace(o, signal="none") if o.signal == "deny" else o for o in observations]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def update_confidence(confidence: float, obs: Observation) -> float:
    p = min(CEILING, max(FLOOR, confidence))
    moved = 1.0 / (1.0 + math.exp(-(_logit(p) + weight(obs))))
    return min(CEILING, max(FLOOR, moved))


def withdraw(confidence: float, before: float, after: float) -> float:
    """Confidence without one earlier move from `before` to `after` (an article read anew).

    Moves add in log-odds, so taking one back is exact whatever came after it, up to the
    clamping at FLOOR and CEILING.
    """
    p = min(CEILING, max(FLOOR, confidence))
    moved = _logit(min(CEILING, max(FLOOR, after))) - _logit(min(CEILING, max(FLOOR, before)))
    return min(CEILING, max(FLOOR, 1.0 / (1.0 + math.exp(-(_logit(p) - moved)))))


def _why_not(state: str, obs: Observation, last_change_at: datetime | None) -> str | None:
    """Why this observation may not change the state, or None when it may."""
    target = TARGET.get(obs.signal)
    if target is None:
        return f"{obs.stance} without a signal moves confidence only"
    if target == state:
        return f"already {state}"
    if target not in TRANSITIONS[state]:
        return f"{state} -> {target} is not an allowed transition"
    if obs.strength < MIN_STRENGTH:
        return f"signal strength {obs.strength:.2f} below {MIN_STRENGTH:.2f}"
    if last_change_at is not None and obs.published_at < last_change_at:
        return "published before the last state change"
    return None


def assess(
    state: str, confidence: float, obs: Observation, *, last_change_at: datetime | None = None
) -> Outcome:
    """What one article's evidence does to a rumour in `state` with `confidence`."""
    after = update_confidence(confidence, obs)
    blocked = _why_not(state, obs, last_change_at)
    if blocked is not None:
        return Outcome(state, state, confidence, after, blocked)
    target = TARGET[obs.signal]
    low, high = BANDS[target]
    after = min(high, max(low, after))
    return Outcome(state, target, confidence, after, f"{obs.signal} signal: {state} -> {target}")
