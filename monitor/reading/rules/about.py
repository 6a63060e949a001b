"""What a cue acts on: the claim itself, or another matter between the same parties.

"Xiaomi denied it will raise phone prices" denies nothing about a car claim; "confirmed it will
build a semiconductor plant" confirms nothing about "will build electric cars". Used by the rules
(``monitor.reading.rules.judge``) and the learned layer's features
(``monitor.reading.rules.features``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import dropwhile, takewhile

from monitor.reading.rules.content import terms
from monitor.reading.rules.lexicon import Lexicon
from monitor.reading.rules.negation import (
    content_stems,
    is_clause_mark,
    stem,
    tokenize,
    words_after,
)
from monitor.reading.rules.reading import Hit, Reading


def content_words(words: Sequence[str], lex: Lexicon) -> frozenset[str]:
    return content_stems(words, lex.stopwords) - lex.generic


def about_claim(words: Sequence[str], r: Reading, lex: Lexicon) -> bool:
    """Whether words a cue acts on are the claim: restated, or only referred to ("the report").

    "Xiaomi denied it will raise phone prices" denies nothing about an electric car claim, even
    though a word or a name may be shared.
    """
    content = {lex.concepts.get(w, w) for w in content_words(words, lex)}
    if not content:
        return True
    # Same-meaning words count as the claim's ("vehicle" for "car"), as in
    # ``monitor.reading.rules.content``.
    claim = {lex.concepts.get(w, w) for w in r.claim.stems}
    shared = len(content & claim)
    if shared >= lex.overlap_words or shared >= lex.overlap_share * len(content):
        return True
    # The claim's own object, then details it never gave: "agreed to sell its snacks division
    # to a buyout firm for $2 billion" still sells the snacks division.
    head = {lex.concepts.get(w, w) for w in content_words(_phrase(words, lex), lex)}
    return bool(head) and head <= claim


def _phrase(words: Sequence[str], lex: Lexicon) -> list[str]:
    """The first noun phrase: "a semiconductor plant in Ohio" -> semiconductor, plant."""
    return list(
        takewhile(lambda w: w not in lex.stopwords, dropwhile(lex.stopwords.__contains__, words))
    )


def _head(words: Sequence[str], lex: Lexicon) -> str | None:
    """The last word of the first noun phrase: "its electric car patents to ..." -> "patents"."""
    phrase = _phrase(words, lex)
    return phrase[-1] if phrase else None


def _object_concepts(words: Sequence[str], r: Reading, lex: Lexicon) -> set[str]:
    stems = (stem(w) for w in _phrase(words, lex))
    return {
        lex.concepts.get(s, s) for s in stems if s not in lex.generic and s not in r.claim.entities
    }


# Words after which the next word is a verb in the infinitive: "will build", "to build".
_INFINITIVE = frozenset({"will", "to", "would", "shall", "can"})


def _verbs(words: Sequence[str], lex: Lexicon, leading: bool = False) -> dict[int, str]:
    """Position -> concept of each verb that follows "will" or "to" (no tagger needed), and of
    the first word when ``leading`` (a negation's scope: "not | build a plant")."""
    return {
        i: lex.concepts.get(stem(w), stem(w))
        for i, w in enumerate(words)
        if ((i and words[i - 1] in _INFINITIVE) or (leading and i == 0)) and w not in lex.stopwords
    }


def other_object(
    words: Sequence[str], r: Reading, lex: Lexicon, *, leading_verb: bool = False
) -> bool:
    """Whether the words do the claim's own verb to something else: "will build a semiconductor
    plant in Ohio" against "will build electric cars in Ohio" shares "build" and "Ohio" yet
    speaks of another project. Only when every such shared word acts on another object."""
    claim = list(r.claim.words)
    verbs = _verbs(claim, lex)
    verdicts: list[bool] = []
    for i, key in _verbs(words, lex, leading_verb).items():
        if key not in verbs.values():
            continue
        mine = _object_concepts(words[i + 1 :], r, lex)
        at = next(j for j, k in verbs.items() if k == key)
        # All the claim says after its verb ("build and sell its own electric car"): wide on
        # purpose, so only an object the claim never mentions counts as another matter.
        theirs = {lex.concepts.get(w, w) for w in content_words(claim[at + 1 :], lex)}
        theirs -= r.claim.entities
        if mine and theirs:
            verdicts.append(bool(mine & theirs))
    return bool(verdicts) and not any(verdicts)


def _takes_claim_object(words: Sequence[str], r: Reading, lex: Lexicon) -> bool:
    """For acts with other senses ("opened its patents"): what they act on is the claim's."""
    head = _head(words, lex)
    if head is None:
        return True
    key = stem(head)
    if key in lex.generic or key in r.claim.entities:
        return True  # "opened the deal", "opened Xiaomi's ...": the rest decides
    claim = {lex.concepts.get(s, s) for s in r.claim.stems}
    return lex.concepts.get(key, key) in claim


def other_deal(words: Sequence[str], r: Reading, lex: Lexicon) -> bool:
    """Words that share only the parties' names with the claim and say something else of their
    own ("sell its camera business to Y" against a car claim): another deal, same companies."""
    own = content_words(words, lex) - r.claim.entities
    return len(own) >= lex.overlap_words and not own & r.claim.stems


# How many words after "talks ... about" name what the talks are about.
_TOPIC_WORDS = 6


def _topic_words(topic: Hit, r: Reading, lex: Lexicon) -> list[str]:
    words: list[str] = []
    for token in r.text.tokens:
        if token.start < topic.end:
            continue
        stop = any(
            token.text in words
            for words in (lex.negation.boundaries, lex.complement_stops, lex.topic_ends)
        )
        if is_clause_mark(token) or stop or len(words) >= _TOPIC_WORDS:
            break
        words.append(token.text)
    return words


def other_topics(r: Reading, lex: Lexicon, start: int = 0, end: int | None = None) -> list[Hit]:
    """Talks or deals (between ``start`` and ``end``) whose stated object names something and
    shares none of the claim's content beyond the parties' names ("talks with Y about selling
    phones" against "X will build cars with Y"): the same notion as ``content``."""
    limit = len(r.text.text) if end is None else end
    claim = terms(" ".join(sorted(r.claim.stems)), r.claim.entities, lex)
    found = []
    for topic in r.text.hits["topic"]:
        if not start <= topic.start < limit or any(is_clause_mark(t) for t in tokenize(topic.text)):
            continue
        own = terms(" ".join(_topic_words(topic, r, lex)), r.claim.entities, lex)
        if own and not own & claim:
            found.append(topic)
    return found


def _inside(hit: Hit, r: Reading) -> tuple[str, ...]:
    """The words a cue spans after its verb: "ended their ai partnership" -> their, ai,
    partnership. A cue that took its object along leaves only details after it."""
    words = [t.text for t in r.text.tokens if hit.start <= t.start < hit.end]
    # Only a cue with a gap ("ended .. partnership") took words of the sentence along; a fixed
    # phrase ("agreed to sell") would count its own verb as the claim's content.
    return tuple(words[1:]) if len(words) > 3 else ()


def on_claim(hit: Hit, r: Reading, lex: Lexicon) -> bool:
    after = words_after(r.text.tokens, hit.end, lex.complement_window, lex.complement_stops)
    if not about_claim(after, r, lex) and not about_claim(_inside(hit, r) + after, r, lex):
        return False
    if other_topics(r, lex, hit.end, hit.end + len(" ".join(after)) + 1):
        return False  # "confirmed talks with Y over a chip supply deal"
    if other_object(after, r, lex):
        return False  # "confirmed it will build a chip plant" against a car claim
    return not lex.cues["object_bound"].fullmatch(hit.text) or _takes_claim_object(after, r, lex)
