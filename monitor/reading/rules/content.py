"""Whether a sentence shares a tracked claim's own content, beyond the names of its parties.

Embedding similarity rewards shared names: with a one-company claim ("Xiaomi will build and sell
its own electric car"), any sentence about that company ("Xiaomi was the world's third-largest
smartphone vendor") scores close to the threshold, and a sentence about another deal between the
same two companies ("Ferro Motors will supply batteries to Nimbus Mobile") can score well above
it. So evidence must also name some of what the claim says happens: a content word of the claim
or of a paraphrase (light stemming, stop words and generic words such as "deal" or "business" left
out, the parties' names left out), or a word of the same concept group ("vehicle" for "car").
A sentence that shares only what the claim says is done ("launch") while it names another thing
the lexicon knows and none of the claim's ("phone" against "car") is about that other thing.
The vocabulary is the stance lexicon's (``data/stance.toml``, ``[words]``).
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.reading.rules.lexicon import Lexicon
from monitor.reading.rules.negation import content_parts, content_stems, stem, tokenize


def _words(text: str) -> list[str]:
    return [t.text for t in tokenize(text.lower())]


def name_stems(entities: Iterable[str]) -> frozenset[str]:
    """Stems of every word of every alias ("Great Wall Motors|GWM" -> great, wall, motor, gwm)."""
    aliases = (alias for entity in entities for alias in entity.split("|"))
    return frozenset(s for alias in aliases for s in content_stems(_words(alias), frozenset()))


def terms(text: str, names: frozenset[str], lex: Lexicon) -> frozenset[str]:
    """The concepts a text names, apart from the parties' names and words that say nothing.

    A word of a concept group counts as written before it is stemmed: "offer" names a takeover
    though its stem is that of "off", which says nothing."""
    found: set[str] = set()
    for part in content_parts(_words(text), lex.stopwords):
        stemmed = stem(part)
        if stemmed in names:
            continue
        if part in lex.concept_words:
            found.add(lex.concept_words[part])
        elif stemmed not in lex.generic:
            found.add(lex.concepts.get(stemmed, stemmed))
    return frozenset(found)


def claim_terms(texts: Iterable[str], entities: Iterable[str], lex: Lexicon) -> frozenset[str]:
    """Everything the claim and its paraphrases say happens: what evidence must share."""
    names = name_stems(entities)
    return frozenset(t for text in texts for t in terms(text, names, lex))


def shares_content(
    sentence: str, claim: frozenset[str], names: frozenset[str], lex: Lexicon
) -> bool:
    """Whether ``sentence`` names at least one of the claim's terms (``claim_terms``).

    A claim that is nothing but names (no terms at all) leaves similarity to decide alone.
    """
    if not claim:
        return True
    said = terms(sentence, names, lex)
    shared = said & claim
    return bool(shared) and not _elsewhere(said, shared, claim, lex)


def _elsewhere(
    said: frozenset[str], shared: frozenset[str], claim: frozenset[str], lex: Lexicon
) -> bool:
    """The sentence names another thing the lexicon knows and none of the claim's own: the
    shared word is only what is done to it. "Xiaomi launched its flagship phone abroad" shares
    "launch" with "Xiaomi will launch its own electric car", but it launched a phone."""
    own = claim & lex.matters
    return bool(own) and not (shared & lex.matters) and bool(_matters_beyond(said, claim, lex))


def other_matter(sentence: str, claim: frozenset[str], names: frozenset[str], lex: Lexicon) -> bool:
    """Whether ``sentence`` names a matter the lexicon knows (a concept group) that the claim
    does not: "Ferro Motors will supply batteries to Nimbus Mobile" against a car-factory claim."""
    return bool(_matters_beyond(terms(sentence, names, lex), claim, lex))


def _matters_beyond(said: frozenset[str], claim: frozenset[str], lex: Lexicon) -> frozenset[str]:
    """The matters (concept groups) among ``said`` that the claim does not name."""
    return (said & lex.matters) - claim
