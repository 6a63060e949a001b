"""What the rules find in a sentence, for the trained reader: its features and its explanation.

The trained model decides the stance and the signal; the rules still say why a person should
believe it: the cues they found (a hedge, a denial and its scope, "declined to comment") and who
is on record. Their reading also goes into the model as named numbers, so a learned weight, not
a fixed precedence, decides how much a hedge or an on-record party counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.reading.rules.features import names, profile
from monitor.reading.rules.judge import by_rules
from monitor.reading.rules.lexicon import Lexicon, load_lexicon
from monitor.reading.rules.negation import stem, words_after, words_before
from monitor.reading.rules.reading import (
    Hit,
    Judgement,
    Reading,
    claim_view,
    live_hedges,
    read_against,
    read_text,
    speaker,
)

# Who is on record, when nobody to the claim is: the words alerts and history show.
REPORTED = "reported, not on record"
STATED = "stated as fact"
_SIGNALS = ("confirm", "formalize", "deny", "abandon")
_ACTS = ("confirm", "formalize", "deny", "debunk", "abandon")


@dataclass(frozen=True)
class Findings:
    """The rules' reading of one sentence against one claim."""

    judgement: Judgement  # the rules' own verdict and the cues that made it
    features: Mapping[str, float]  # named numbers for the model (see `profile`)
    on_record: str  # the party's words ("Arventa said in a statement"), REPORTED or STATED


def find(
    sentence: str, claim: str, context: Sequence[str] = (), lexicon: Lexicon | None = None
) -> Findings:
    lex = lexicon if lexicon is not None else load_lexicon()
    reading = read_against(read_text(sentence, lex), claim_view(claim, lex), lex)
    rule = by_rules(reading, list(context), lex)
    values = {**profile(reading, rule, lex), **names(sentence, reading, lex)}
    for signal in _SIGNALS:
        values[f"rule_{signal}"] = float(rule.signal == signal)
    return Findings(rule, values, on_record(reading, lex, sentence))


def on_record(r: Reading, lex: Lexicon, original: str) -> str:
    """Who speaks for the sentence: a party to the claim on record, a second-hand source, or
    nobody (the writer states it)."""
    if live_hedges(r):
        return REPORTED
    records = r.text.hits["on_record"]
    says = r.text.hits["say_verb"]
    party = [h for h in says if speaker(h, r, lex) == "party"]
    acting = [h for role in _ACTS for h in r.text.hits[role] if _by_party(h, r)]
    if records or party or acting:
        hit = (party or acting or records)[0]
        return _in_original(_speaker_phrase(hit, r, lex), original)
    if says:
        return REPORTED
    return STATED


def _by_party(hit: Hit, r: Reading) -> bool:
    """A party to the claim is the subject of the act: "Arventa dismissed the reports"."""
    return any(stem(w) in r.claim.entities for w in words_before(r.text.tokens, hit.start, 4))


def _speaker_phrase(hit: Hit, r: Reading, lex: Lexicon) -> str:
    """The verb of saying with who says it: "the company said", "said xiaomi's spokesman"."""
    before = words_before(r.text.tokens, hit.start, 4)
    if before:
        return " ".join([*before, hit.text])
    after = words_after(r.text.tokens, hit.end, 3, lex.negation.boundaries)
    return " ".join([hit.text, *after])


def _in_original(phrase: str, original: str) -> str:
    """The phrase as the sentence writes it (the rules read a lower-cased copy)."""
    words = [re.escape(w) for w in phrase.split()]
    found = re.search(r"\W+".join(words), original, flags=re.IGNORECASE) if words else None
    return found.group() if found else phrase
