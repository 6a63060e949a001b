"""An article's matching sentences, read: the one path `poll`, `replay` and `assess` share.

For each rumour, its matching sentences (past the entity gate, the threshold, the anchor) are
ranked by similarity and the closest few go to the reader together, with the sentence that
carries each on by role, if any, and each with the headline and the sentence before it: the
neighbours are where attribution ("the company said") and hedges ("people familiar with the
matter said") often live. The tracker then takes the one the article
counts by (`tracker.decisive`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.reading import tracker
from monitor.reading.match import Match
from monitor.reading.reader import Passage, Reader, Verdict


@dataclass(frozen=True)
class Judged:
    """One matching sentence with the reader's verdict and what the tracker would weigh."""

    match: Match
    verdict: Verdict
    observation: tracker.Observation


def context(sentences: Sequence[str], i: int) -> tuple[str, ...]:
    """The headline (sentence 0) and the sentence before sentence ``i``."""
    return tuple(sentences[j] for j in sorted({0, i - 1} - {i}) if 0 <= j < len(sentences))


def closest(found: Sequence[Match], count: int) -> list[Match]:
    """The ``count`` closest matching sentences, each with the sentence that carries it on by
    role when there is one (`match._carried_on`): that one tells what the closest one began."""
    own = [m for m in found if m.follows is None]
    picked = sorted(own, key=lambda m: (-m.similarity, m.sentence_index))[:count]
    starts = {m.sentence_index for m in picked}
    return picked + [m for m in found if m.follows in starts]


def evidence_quality(m: Match, threshold: float) -> float:
    """How well a sentence matched, for the tracker. One that carries a match on names nobody:
    it counts halfway between a bare pass and the sentence it follows, so when both tell the
    same act the one naming the party is the one the article counts by, and explains."""
    full = tracker.match_quality(m.similarity, threshold)
    if m.follows is None:
        return full
    return (tracker.match_quality(threshold, threshold) + full) / 2


def read_matches(
    reader: Reader,
    claims: Mapping[str, str],
    sentences: Sequence[str],
    matches: Sequence[Match],
    *,
    per_rumour: int,
    threshold: float,
    credibility: float,
    published_at: datetime,
) -> dict[str, list[Judged]]:
    """Per rumour, its closest ``per_rumour`` matching sentences judged, in one batch for the
    whole article; sentences judged unrelated are left out."""
    picked = candidates(claims, sentences, matches, per_rumour)
    verdicts = reader.read([p for _, p in picked])
    return weigh(
        picked, verdicts, threshold=threshold, credibility=credibility, published_at=published_at
    )


def candidates(
    claims: Mapping[str, str], sentences: Sequence[str], matches: Sequence[Match], per_rumour: int
) -> list[tuple[Match, Passage]]:
    """What the reader reads for an article: per rumour its closest matching sentences, each
    with its neighbours. Apart from `weigh` so that `assess --pairs` reads many texts' at once."""
    by_rumour: dict[str, list[Match]] = defaultdict(list)
    for m in matches:
        by_rumour[m.rumour_id].append(m)
    chosen = [m for found in by_rumour.values() for m in closest(found, per_rumour)]
    return [
        (
            m,
            Passage(
                claims[m.rumour_id], m.sentence, context(sentences, m.sentence_index), m.similarity
            ),
        )
        for m in chosen
    ]


def weigh(
    picked: Sequence[tuple[Match, Passage]],
    verdicts: Sequence[Verdict],
    *,
    threshold: float,
    credibility: float,
    published_at: datetime,
) -> dict[str, list[Judged]]:
    """The `candidates` of one article with their verdicts, per rumour, as the tracker weighs
    them; sentences judged unrelated are left out."""
    judged: dict[str, list[Judged]] = {}
    for (m, _), verdict in zip(picked, verdicts, strict=True):
        if verdict.stance == "unrelated":
            continue
        obs = tracker.Observation(
            stance=verdict.stance,
            signal=verdict.signal,
            strength=verdict.strength,
            match=evidence_quality(m, threshold),
            credibility=credibility,
            published_at=published_at,
        )
        judged.setdefault(m.rumour_id, []).append(Judged(m, verdict, obs))
    for found in judged.values():
        weighed = tracker.in_article([j.observation for j in found])
        found[:] = sorted(
            (Judged(j.match, j.verdict, o) for j, o in zip(found, weighed, strict=True)),
            key=lambda j: j.match.sentence_index,
        )
    return judged


def counted(
    state: str, judged: Sequence[Judged], *, last_change_at: datetime | None = None
) -> Judged | None:
    """The sentence the article counts by for a rumour in ``state`` (see `tracker.decisive`)."""
    chosen = tracker.decisive(state, [j.observation for j in judged], last_change_at=last_change_at)
    return next((j for j in judged if j.observation is chosen), None)
