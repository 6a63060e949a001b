"""`assess`: judge claims against free texts, without a database, many pairs per model load.

The pipeline's own path (split, embed, match, read the closest candidates, count by the decisive
one) with the claim's entities given or derived from its proper nouns (a sign, not a veto).
Sentences and claims of a whole chunk of pairs are encoded in one batched call, so thousands of
pairs cost one model load and full batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from monitor.config import MatchingConfig
from monitor.controls import strip_controls
from monitor.names import names_something, overlapping_alias
from monitor.reading.candidates import candidates, counted, weigh
from monitor.reading.embed import Embedder, Vectors
from monitor.reading.match import ClaimIndex, ClaimSpec, Match, match_article
from monitor.reading.reader import Passage, Reader, Verdict
from monitor.reading.text import article_sentences
from monitor.seeds import derive_entities

CHUNK = 256  # pairs encoded together: big batches, bounded memory
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # no publication time outside the pipeline


class PairError(ValueError):
    """One input line of `assess --pairs` is not a usable pair."""


@dataclass(frozen=True)
class Pair:
    id: Any
    claim: str
    text: str
    entities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Assessment:
    id: Any
    related: bool
    stance: str
    similarity: float
    signal: str
    sentence: str | None
    strength: float
    cues: tuple[str, ...]
    entities: tuple[str, ...]
    probability: float = 0.0  # the reader's probability of its stance (of the signal, if any)
    on_record: str = ""  # who speaks for the sentence (see `reader.Verdict`)
    reader: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["similarity"] = round(self.similarity, 4)
        data["probability"] = round(self.probability, 4)
        data["cues"] = list(self.cues)
        data["entities"] = list(self.entities)
        return data


def parse_pair(line: str, number: int) -> Pair:
    """One JSON line {"id", "claim", "text"} (optional "entities"); PairError names the line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PairError(f"line {number}: not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise PairError(f"line {number}: must be a JSON object")
    for key in ("claim", "text"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PairError(f"line {number}: {key!r} must be a non-empty string")
    entities = data.get("entities")
    if entities is not None and not (
        isinstance(entities, list)
        and all(isinstance(e, str) and names_something(e) for e in entities)
    ):
        raise PairError(f"line {number}: 'entities' must be a list of names ('|' between aliases)")
    if entities and (overlap := overlapping_alias(entities)):
        raise PairError(f"line {number}: {overlap}")
    return Pair(data.get("id", number), data["claim"], data["text"], _tuple(entities))


def _tuple(entities: list[str] | None) -> tuple[str, ...] | None:
    return tuple(entities) if entities else None


def assess_pairs(
    pairs: Iterable[Pair], embedder: Embedder, matching: MatchingConfig, reader: Reader
) -> Iterator[Assessment]:
    """Assessments in input order, encoding a chunk of pairs at a time."""
    chunk: list[Pair] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == CHUNK:
            yield from _assess_chunk(chunk, embedder, matching, reader)
            chunk = []
    if chunk:
        yield from _assess_chunk(chunk, embedder, matching, reader)


def _assess_chunk(
    pairs: Sequence[Pair], embedder: Embedder, matching: MatchingConfig, reader: Reader
) -> list[Assessment]:
    # Cleaned as the poller's text is on its way into the database: besides reaching the
    # terminal, a control character glued to a word ("Works\x07") hides it from matching.
    split = [
        article_sentences("", strip_controls(p.text), limit=matching.max_sentences) for p in pairs
    ]
    specs = [_spec(p) for p in pairs]
    texts = [t for s in specs for t in s.texts] + [s for sents in split for s in sents]
    row = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    vectors = embedder.encode(list(row))
    texts_of = []
    for spec, sentences in zip(specs, split, strict=True):
        claim_vecs = vectors[[row[t] for t in spec.texts]]
        sent_vecs = vectors[[row[s] for s in sentences]] if sentences else claim_vecs[:0]
        texts_of.append(_Text(spec, sentences, sent_vecs, claim_vecs))
    picked = [_candidates(t, matching) for t in texts_of]
    # Every pair's candidates in one call: the reader batches them (a sentence reads the same
    # among others as alone, see `network.predict`).
    verdicts = iter(reader.read([p for picks in picked for _, p in picks]))
    return [
        _assess_one(pair, text, picks, [next(verdicts) for _ in picks], matching)
        for pair, text, picks in zip(pairs, texts_of, picked, strict=True)
    ]


@dataclass(frozen=True)
class _Text:
    """One pair's text as matching sees it."""

    spec: ClaimSpec
    sentences: Sequence[str]
    sent_vecs: Vectors
    claim_vecs: Vectors


def _spec(pair: Pair) -> ClaimSpec:
    if pair.entities is not None:
        return ClaimSpec(str(pair.id), pair.claim.strip(), pair.entities)
    return ClaimSpec(str(pair.id), pair.claim.strip(), derive_entities(pair.claim), derived=True)


def _candidates(text: _Text, matching: MatchingConfig) -> list[tuple[Match, Passage]]:
    index = ClaimIndex([text.spec], text.claim_vecs)
    found = match_article(index, text.sentences, text.sent_vecs, threshold=matching.similarity)
    claims = {text.spec.rumour_id: text.spec.claim}
    return candidates(claims, text.sentences, found, matching.candidates)


def _assess_one(
    pair: Pair,
    text: _Text,
    picked: Sequence[tuple[Match, Passage]],
    verdicts: Sequence[Verdict],
    matching: MatchingConfig,
) -> Assessment:
    """The sentence the text counts by, as the pipeline would count it for a new rumour, or the
    closest sentence marked unrelated."""
    judged = weigh(
        picked, verdicts, threshold=matching.similarity, credibility=1.0, published_at=_EPOCH
    ).get(text.spec.rumour_id, [])
    chosen = counted("unconfirmed", judged)
    if chosen is None:
        return _unrelated(pair, text)
    v = chosen.verdict
    return Assessment(
        pair.id,
        True,
        v.stance,
        chosen.match.similarity,
        chosen.observation.signal,
        chosen.match.sentence,
        v.strength,
        v.cues,
        text.spec.entities,
        v.probability,
        v.on_record,
        v.reader,
    )


def _unrelated(pair: Pair, text: _Text) -> Assessment:
    """No sentence is evidence: report the closest one anyway, to show how close it came."""
    entities = text.spec.entities
    if not text.sentences:
        return Assessment(pair.id, False, "unrelated", 0.0, "none", None, 0.0, (), entities)
    scores = (text.sent_vecs @ text.claim_vecs.T).max(axis=1)
    i = int(np.argmax(scores))
    return Assessment(
        pair.id, False, "unrelated", float(scores[i]), "none", text.sentences[i], 0.0, (), entities
    )
