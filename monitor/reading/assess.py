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
from monitor.reading.candidates import counted, read_matches
from monitor.reading.embed import Embedder, Vectors
from monitor.reading.match import ClaimIndex, ClaimSpec, match_article
from monitor.reading.reader import Reader
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
    results = []
    for pair, spec, sentences in zip(pairs, specs, split, strict=True):
        claim_vecs = vectors[[row[t] for t in spec.texts]]
        sent_vecs = vectors[[row[s] for s in sentences]] if sentences else claim_vecs[:0]
        results.append(_assess_one(pair, spec, sentences, sent_vecs, claim_vecs, matching, reader))
    return results


def _spec(pair: Pair) -> ClaimSpec:
    if pair.entities is not None:
        return ClaimSpec(str(pair.id), pair.claim.strip(), pair.entities)
    return ClaimSpec(str(pair.id), pair.claim.strip(), derive_entities(pair.claim), derived=True)


def _assess_one(
    pair: Pair,
    spec: ClaimSpec,
    sentences: Sequence[str],
    sent_vecs: Vectors,
    claim_vecs: Vectors,
    matching: MatchingConfig,
    reader: Reader,
) -> Assessment:
    """The sentence the text counts by, as the pipeline would count it for a new rumour, or the
    closest sentence marked unrelated."""
    index = ClaimIndex([spec], claim_vecs)
    found = match_article(index, sentences, sent_vecs, threshold=matching.similarity)
    judged = read_matches(
        reader,
        {spec.rumour_id: spec.claim},
        sentences,
        found,
        per_rumour=matching.candidates,
        threshold=matching.similarity,
        credibility=1.0,
        published_at=_EPOCH,
    ).get(spec.rumour_id, [])
    chosen = counted("unconfirmed", judged)
    if chosen is None:
        return _unrelated(pair, spec, sentences, sent_vecs, claim_vecs)
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
        spec.entities,
        v.probability,
        v.on_record,
        v.reader,
    )


def _unrelated(
    pair: Pair, spec: ClaimSpec, sentences: Sequence[str], sent_vecs: Vectors, claim_vecs: Vectors
) -> Assessment:
    """No sentence is evidence: report the closest one anyway, to show how close it came."""
    if not sentences:
        return Assessment(pair.id, False, "unrelated", 0.0, "none", None, 0.0, (), spec.entities)
    scores = (sent_vecs @ claim_vecs.T).max(axis=1)
    i = int(np.argmax(scores))
    return Assessment(
        pair.id, False, "unrelated", float(scores[i]), "none", sentences[i], 0.0, (), spec.entities
    )
