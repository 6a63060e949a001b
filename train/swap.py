"""Counterfactual hard negatives: a signal sentence with the claim's other party swapped out.

"Mickleton signs deal to sell pumps arm to Grantley Partners" against a claim that Mickleton
will sell its valves business to Sallow is the same party's other deal, however formal its
verbs. The corpus writes a few such sentences per story; a reader trained on them still learns
the verbs and not the names. Each signal sentence that names the claim's last party (the buyer,
the partner, the company a person joins) gives a twin in which an invented company stands in
its place: the same act by somebody else, unrelated to the claim, with no signal. Only the
stories training reads are swapped: the dev and test stories stay as written.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from train.data import Example, VectorCache

# A run of capitalised words: a party's name in a claim ("Greenaway Grocers'", "Imara Nwosu").
_NAME = re.compile(r"[A-Z][\w&-]*(?:'s?)?(?:\s+[A-Z][\w&-]*(?:'s?)?)*")
# Invented first words for the stand-ins, from syllables no tracked name in the project uses.
_HEADS = ("Ost", "Bel", "Tor", "Wyn", "Pen", "Ash", "Fal", "Kel", "Lin", "Ren", "Sel", "Tam")
_TAILS = ("ford", "mere", "ton", "wick", "by", "dale", "holt", "stead", "brook", "ley", "worth")


def parties(claim: str) -> list[str]:
    """The claim's names in order, without a possessive ending."""
    return [re.sub(r"'s?$", "", m.group()) for m in _NAME.finditer(claim)]


def swap(text: str, party: str, stand_in: str) -> str:
    """``text`` with ``party`` (its full name, else its first word) replaced by ``stand_in``."""
    first, _, _ = party.partition(" ")
    other_first = stand_in.partition(" ")[0]
    text = re.sub(rf"\b{re.escape(party)}\b", stand_in, text)
    return re.sub(rf"\b{re.escape(first)}\b", other_first, text)


def stand_in(party: str, rng: random.Random) -> str:
    """An invented company of the same kind: a new first word, the rest of the name kept
    ("Greenaway Grocers" -> "Tamholt Grocers"), so only who it is changes."""
    rest = party.split()[1:]
    return " ".join([rng.choice(_HEADS) + rng.choice(_TAILS), *rest])


def swapped(
    examples: Sequence[Example], vectors: VectorCache, seed: int, share: float = 1.0
) -> list[Example]:
    """One twin per signal sentence that names the claim's last party, read as unrelated;
    with ``share`` below 1, only that share of them (drawn with ``seed``), so the twins teach
    whose deal it is without outnumbering the signals they copy."""
    rng = random.Random(seed)
    twins: list[tuple[Example, str, tuple[str, ...]]] = []
    for example in examples:
        names = parties(example.passage.claim)
        if example.signal in (None, "none") or len(names) < 2:
            continue
        party = names[-1]
        sentence = example.passage.sentence
        if not re.search(rf"\b{re.escape(party.partition(' ')[0])}\b", sentence):
            continue
        if share < 1 and rng.random() >= share:
            continue
        other = stand_in(party, rng)
        context = tuple(swap(c, party, other) for c in example.passage.context)
        twins.append((example, swap(sentence, party, other), context))
    vectors.get([t[1] for t in twins])
    result = []
    for example, sentence, context in twins:
        claim = vectors.get([example.passage.claim])[0]
        similarity = float(vectors.get([sentence])[0] @ claim)
        passage = replace(
            example.passage, sentence=sentence, context=context, similarity=similarity
        )
        result.append(
            replace(example, passage=passage, stance="unrelated", signal="none", hard="other-deal")
        )
    return result
