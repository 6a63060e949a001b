"""Which sentences of an article speak to which tracked claims.

Pure: the caller supplies sentence vectors and an encoder for the claims. Three filters, cheapest
first:

1. the entity gate: the article (title and text) names every entity of the rumour, any "|"
   alias, whole words, any case, with or without accents; in scripts written without spaces
   between words (Chinese, Japanese, Thai...) an alias matches inside running text (see
   `tokens`);
2. one matrix product of sentence vectors against every gated claim and paraphrase, keeping the
   best per rumour, and the configured similarity threshold;
3. the claim's content: the sentence names something the claim says happens, not only its
   parties (see monitor/reading/rules/content.py): "Xiaomi was the world's third-largest smartphone
   vendor" is no evidence that Xiaomi will build a car, however close its vector (for claims
   with configured entities; with derived ones the reader judges it). A sentence that names
   every party of a claim between two or more and an act, and no other matter the lexicon
   knows, passes too ("Merrowgate inks deal for Kelvane"): a battery-supply deal between them
   does not, nor a market story ("shares jump on report; companies stay quiet");
4. the sentence anchor: the sentence itself names at least one entity of the rumour, the rest
   are named in it, the previous sentence or the title, and it does not name a party of another
   tracked rumour in place of one it lacks ("Xiaomi is in talks with Chery" is not evidence
   that Xiaomi will work with Great Wall, even in an article that mentions Great Wall). A
   sentence that names every party but also a rival (a party of a rumour that shares an entity
   and stands in for another: Chery for Great Wall) is ambiguous and not evidence either:
   "Xiaomi turns to Chery after Great Wall rebuff" supports neither deal.

A sentence that carries on from a matching one and speaks of its party only by role ("In a
filing, the company said its board had approved ...", after "Xiaomi formally announced ...") is
evidence too, with the similarity of the sentence it follows (see `_carried_on`; the tracker
counts it for less, `candidates.evidence_quality`): the formal act is often told there, in
words that neither name the party nor come close to the claim's. The reader reads it with
that sentence beside it, as it was trained to (the signal corpus holds such sentences, and its
figures count them).

Cosine similarity alone would call "Orion will build cars with Kestrel" evidence for "Nimbus
will build cars with Ferro"; filters 1 and 4 are what stop that. It would also call "Ferro will
supply batteries to Nimbus" evidence for the car deal: filter 3 stops that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.names import Alias, Grams, alias_groups, grams
from monitor.reading.rules.content import claim_terms, name_stems, other_matter, shares_content
from monitor.reading.rules.lexicon import Lexicon, load_lexicon

Vectors = npt.NDArray[np.float32]
# The lexicon's cue roles that name an act of a party.
_ACTS = ("confirm", "formalize", "deny", "debunk", "abandon")


@dataclass(frozen=True)
class ClaimSpec:
    """A tracked claim as matching needs it (built from a Rumour row or an `assess` call)."""

    rumour_id: str
    claim: str
    entities: tuple[str, ...]  # one entry per entity, "|" between aliases
    paraphrases: tuple[str, ...] = ()
    # Entities found in the claim's own words (no `entities` in the seed, `assess` without
    # --entity): a sign of relatedness, not a veto, since the news may name a party otherwise
    # ("Islamic State" for "ISIS"); configured entities must all be named.
    derived: bool = False

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.claim, *self.paraphrases)


@dataclass(frozen=True)
class Match:
    rumour_id: str
    sentence_index: int
    sentence: str
    similarity: float
    # The matching sentence this one carries on from, when it names the party only by role.
    follows: int | None = None


def _present(group: tuple[Alias, ...], seen: Grams) -> bool:
    return any(alias in seen for alias in group)


class ClaimIndex:
    """Every tracked claim and paraphrase embedded once, as one matrix, plus alias groups."""

    def __init__(
        self, specs: Sequence[ClaimSpec], vectors: Vectors, lexicon: Lexicon | None = None
    ) -> None:
        self.specs = tuple(specs)
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.names = tuple(name_stems(s.entities) for s in self.specs)
        self.terms = tuple(claim_terms(s.texts, s.entities, self.lexicon) for s in self.specs)
        self.groups = tuple(alias_groups(s.entities) for s in self.specs)
        self.derived = tuple(s.derived for s in self.specs)
        # Every look-up is of a whole alias, so an article needs only grams of the lengths the
        # aliases have. An unspaced alias counts its characters: building every length up to the
        # longest would make one long Chinese name cost each article seconds.
        self.lengths = tuple(sorted({len(a) for g in self.groups for e in g for a in e})) or (1,)
        counts = [len(s.texts) for s in self.specs]
        self.starts = np.cumsum([0, *counts[:-1]]).astype(np.intp)
        self.owner = np.repeat(np.arange(len(self.specs)), counts).astype(np.intp)
        self.vectors = vectors
        # Every alias of every rumour: naming one of these in place of a missing party of the
        # rumour at hand marks a sentence about some other deal.
        self.known: frozenset[Alias] = frozenset(a for g in self.groups for e in g for a in e)
        self._own = tuple(
            frozenset(
                a[i:j]
                for e in g
                for a in e
                for i in range(len(a))
                for j in range(i + 1, len(a) + 1)
            )
            for g in self.groups
        )
        self._rivals = _rivals(self.groups)
        self.position = {spec.rumour_id: i for i, spec in enumerate(self.specs)}

    @classmethod
    def build(
        cls,
        specs: Sequence[ClaimSpec],
        encode: Callable[[list[str]], Vectors],
        lexicon: Lexicon | None = None,
    ) -> ClaimIndex:
        texts = [t for s in specs for t in s.texts]
        vectors = encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        return cls(specs, vectors, lexicon)

    def gated(self, article_grams: Grams) -> list[int]:
        """Rumours whose every configured entity the article names (derived ones do not gate)."""
        return [
            i
            for i, groups in enumerate(self.groups)
            # no entities at all (an `assess` claim without proper nouns): nothing to gate on
            if self.derived[i] or all(_present(g, article_grams) for g in groups)
        ]

    def similarities(self, sentence_vectors: Vectors, rumours: Sequence[int]) -> Vectors:
        """sentences x rumours: the best cosine of each sentence with each rumour's texts."""
        if not rumours or len(sentence_vectors) == 0:
            return np.zeros((len(sentence_vectors), len(rumours)), dtype=np.float32)
        rows = np.concatenate(
            [np.arange(self.starts[i], self.starts[i] + len(self.specs[i].texts)) for i in rumours]
        )
        scores = sentence_vectors @ self.vectors[rows].T
        offsets = np.cumsum([0, *[len(self.specs[i].texts) for i in rumours[:-1]]])
        return np.maximum.reduceat(scores, offsets.astype(np.intp), axis=1)

    def on_content(self, rumour: int, sentence: str) -> bool:
        """The sentence names some of what the claim says happens, not only who."""
        return shares_content(sentence, self.terms[rumour], self.names[rumour], self.lexicon)

    def rivals(self, rumour: int) -> frozenset[Alias]:
        """Aliases of parties that stand in for one of this rumour's in a related rumour."""
        return self._rivals[rumour]

    def names_every_party(self, rumour: int, sentence: Grams) -> bool:
        """The sentence itself names each of two or more parties of the claim."""
        groups = self.groups[rumour]
        return len(groups) >= 2 and all(_present(g, sentence) for g in groups)

    def on_matter(self, rumour: int, sentence: str, said: Grams) -> bool:
        """Shares the claim's content, or names every party of a claim between two or more, an
        act, and no other matter the lexicon knows: "Merrowgate inks 1.9 billion euro deal for
        Kelvane" tells the takeover in words that say nothing alone ("inks", "deal"); the
        reader, which also reads the same two parties' other business, decides."""
        if self.on_content(rumour, sentence):
            return True
        if not self.names_every_party(rumour, said) or not self.names_an_act(sentence):
            return False
        return not other_matter(sentence, self.terms[rumour], self.names[rumour], self.lexicon)

    def names_an_act(self, sentence: str) -> bool:
        """The sentence names an act the lexicon knows (signed, confirmed, denied, called off):
        a market story that names both parties ("shares jump on report; companies stay quiet")
        tells nothing they did."""
        return any(self.lexicon.has_cue(role, sentence) for role in _ACTS)

    def anchored(self, rumour: int, sentence: Grams, nearby: Grams) -> bool:
        """The sentence names the rumour, and nobody else in place of a party it lacks.

        With derived entities a sentence that names no party, or not all of them, may still
        speak to the claim; naming another tracked rumour's party in their place still counts
        against it."""
        groups, derived = self.groups[rumour], self.derived[rumour]
        if not groups:
            return True
        in_sentence = [_present(g, sentence) for g in groups]
        if not any(in_sentence):
            return derived
        if all(in_sentence):
            return not any(gram in self._rivals[rumour] for gram in sentence)
        if not derived and not all(_present(g, nearby | sentence) for g in groups):
            return False
        own = self._own[rumour]
        return not any(gram in self.known and gram not in own for gram in sentence)


def _rivals(groups: Sequence[tuple[tuple[Alias, ...], ...]]) -> tuple[frozenset[Alias], ...]:
    """Per rumour, the aliases of parties that stand in for one of its own in a rumour that
    shares another party with it (Chery in "Xiaomi with Chery" against "Xiaomi with Great Wall")."""
    owners: dict[Alias, set[int]] = {}
    for i, rumour in enumerate(groups):
        for entity in rumour:
            for alias in entity:
                owners.setdefault(alias, set()).add(i)
    result = []
    for i, rumour in enumerate(groups):
        mine = {alias for entity in rumour for alias in entity}
        related = {j for alias in mine for j in owners[alias]} - {i}
        rivals: set[Alias] = set()
        for j in related:
            theirs = [e for e in groups[j] if not mine.intersection(e)]
            lacking = any(not set(e).intersection(a for x in groups[j] for a in x) for e in rumour)
            if theirs and lacking:
                rivals.update(a for e in theirs for a in e)
        result.append(frozenset(rivals))
    return tuple(result)


def match_article(
    index: ClaimIndex,
    sentences: Sequence[str],
    vectors: Vectors,
    *,
    threshold: float,
    article_text: str | None = None,
    title: str = "",
) -> list[Match]:
    """Every (sentence, rumour) pair that passes the gate, the threshold, the claim's content
    and the anchor.

    `article_text` is what the entity gate reads (default: the sentences joined); `title` and the
    previous sentence may name the parties a sentence refers to only by role.
    """
    whole = article_text if article_text is not None else "\n".join(sentences)
    rumours = index.gated(grams(f"{title}\n{whole}", index.lengths))
    if not rumours or not sentences:
        return []
    scores = index.similarities(vectors, rumours)
    hits = np.argwhere(scores >= threshold)
    cache: dict[int, Grams] = {}

    def gram_of(i: int) -> Grams:
        if i not in cache:
            cache[i] = grams(sentences[i], index.lengths) if i >= 0 else frozenset()
        return cache[i]

    title_grams = grams(title, index.lengths)
    found: list[Match] = []
    for s, r in hits.tolist():
        rumour = rumours[r]
        # The content check is tuned for deal news and its named parties; for a claim whose
        # names were only derived (any topic, any wording) the reader judges relatedness.
        if not index.derived[rumour] and not index.on_matter(rumour, sentences[s], gram_of(s)):
            continue
        if index.anchored(rumour, gram_of(s), gram_of(s - 1) | title_grams):
            found.append(Match(index.specs[rumour].rumour_id, s, sentences[s], float(scores[s, r])))
    return found + _carried_on(index, sentences, found, gram_of)


def _carried_on(
    index: ClaimIndex,
    sentences: Sequence[str],
    found: Sequence[Match],
    gram_of: Callable[[int], Grams],
) -> list[Match]:
    """The sentence after each match, when it goes on about the same party by role alone.

    It must leave out a party of the rumour (naming them all, it is judged on its own), name
    no rival standing in for one, and refer back by role: "the company", "the companies", "its
    board" (the stance lexicon's ``refers_back``). One step only, and only for configured
    entities: with derived ones a sentence naming nobody may match on its own."""
    taken = {(m.rumour_id, m.sentence_index) for m in found}
    extra: list[Match] = []
    for m in found:
        rumour, s = index.position[m.rumour_id], m.sentence_index + 1
        if index.derived[rumour] or s >= len(sentences) or (m.rumour_id, s) in taken:
            continue
        said = gram_of(s)
        if all(_present(g, said) for g in index.groups[rumour]) or said & index.rivals(rumour):
            continue
        if index.lexicon.has_cue("refers_back", sentences[s]):
            extra.append(Match(m.rumour_id, s, sentences[s], m.similarity, m.sentence_index))
            taken.add((m.rumour_id, s))
    return extra
