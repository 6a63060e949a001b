"""`assess`: judge claims against free texts, without a database, many pairs per model load.

The same stages as the pipeline (split, embed, match, stance) with the claim's entities given or
derived from its proper nouns. Sentences and claims of a whole chunk of pairs are encoded in one
batched call, so thousands of pairs cost one model load and full batches.
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
from monitor.names import names_something
from monitor.reading import tracker
from monitor.reading.embed import Embedder, Vectors
from monitor.reading.match import ClaimIndex, ClaimSpec, Match, match_article
from monitor.reading.rules.judge import Lexicon, judge, load_lexicon
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["similarity"] = round(self.similarity, 4)
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
    return Pair(data.get("id", number), data["claim"], data["text"], _tuple(entities))


def _tuple(entities: list[str] | None) -> tuple[str, ...] | None:
    return tuple(entities) if entities else None


def assess_pairs(
    pairs: Iterable[Pair], embedder: Embedder, matching: MatchingConfig
) -> Iterator[Assessment]:
    """Assessments in input order, encoding a chunk of pairs at a time."""
    lexicon = load_lexicon()
    chunk: list[Pair] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == CHUNK:
            yield from _assess_chunk(chunk, embedder, matching, lexicon)
            chunk = []
    if chunk:
        yield from _assess_chunk(chunk, embedder, matching, lexicon)


def _assess_chunk(
    pairs: Sequence[Pair], embedder: Embedder, matching: MatchingConfig, lexicon: Lexicon
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
        results.append(_assess_one(pair, spec, sentences, sent_vecs, claim_vecs, matching, lexicon))
    return results


def _spec(pair: Pair) -> ClaimSpec:
    entities = pair.entities if pair.entities is not None else derive_entities(pair.claim)
    return ClaimSpec(str(pair.id), pair.claim.strip(), tuple(entities))


def _assess_one(
    pair: Pair,
    spec: ClaimSpec,
    sentences: Sequence[str],
    sent_vecs: Vectors,
    claim_vecs: Vectors,
    matching: MatchingConfig,
    lexicon: Lexicon,
) -> Assessment:
    """The pair's strongest matching sentence judged, or the closest one marked unrelated."""
    index = ClaimIndex([spec], claim_vecs)
    found = match_article(index, sentences, sent_vecs, threshold=matching.similarity)
    best: tuple[float, Assessment] | None = None
    for m in found:
        judged = _judge_match(pair, spec, sentences, m, matching, lexicon)
        if judged is not None and (best is None or judged[0] > best[0]):
            best = judged
    if best is not None:
        return best[1]
    return _unrelated(pair, spec, sentences, sent_vecs, claim_vecs)


def _neighbours(sentences: Sequence[str], i: int) -> list[str]:
    """The sentences either side of sentence ``i``: where its attribution often lives."""
    return [sentences[j] for j in (i - 1, i + 1) if 0 <= j < len(sentences)]


def _judge_match(
    pair: Pair,
    spec: ClaimSpec,
    sentences: Sequence[str],
    m: Match,
    matching: MatchingConfig,
    lexicon: Lexicon,
) -> tuple[float, Assessment] | None:
    """One matching sentence judged, with the weight it would move the rumour by; None when it
    is about something else."""
    context = _neighbours(sentences, m.sentence_index)
    verdict = judge(m.sentence, spec.claim, context=context, lexicon=lexicon)
    if verdict.stance == "unrelated":
        return None
    obs = tracker.Observation(
        verdict.stance,
        verdict.signal,
        verdict.strength,
        tracker.match_quality(m.similarity, matching.similarity),
        1.0,
        _EPOCH,
    )
    assessment = Assessment(
        pair.id,
        True,
        verdict.stance,
        m.similarity,
        verdict.signal,
        m.sentence,
        verdict.strength,
        verdict.cues,
        spec.entities,
    )
    return abs(tracker.weight(obs)), assessment


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
