"""Similarity of the corpus's sentence/rumour pairs, by how far each gets towards evidence.

    python bench/matching.py [--corpus DIR] [--rumours FILE] [--threshold X]

Reads the dated articles of a replay folder (default: the packaged Xiaomi timeline) with
`monitor.timeline.replay.load_articles` and the tracked rumours of a seed file (default: its
rumours.toml), splits and embeds the sentences with the bundled model, and takes every pair of a
sentence and a rumour whose entities the article names (the entity gate). It prints the cosine
similarity of those pairs (count, min, median, max) in groups:

  content filter fails      the sentence shares none of the claim's own content
  content filter passes, then, at the similarity threshold:
    below threshold         would need a lower threshold to count
    not anchored            passes the threshold but names no party, or a rival in its place
    judged unrelated        the stance classifier found it is about another matter
    outweighed              a match, but another sentence of the article counted instead
    evidence                the sentence the pipeline would store as the article's evidence

So a threshold change can be judged: how many content-passing pairs sit just below it, and how
close to it the sentences that end as evidence are. No database and no network.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import default_config
from monitor.names import grams
from monitor.reading import tracker
from monitor.reading.embed import Embedder, shared_encoder
from monitor.reading.match import ClaimIndex, ClaimSpec, Match, match_article
from monitor.reading.rules.judge import Lexicon, judge, load_lexicon
from monitor.reading.text import article_sentences
from monitor.seeds import load_seeds
from monitor.timeline.demo import RUMOURS, TIMELINE
from monitor.timeline.replay import ReplayArticle, load_articles

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # publication times do not matter here
GROUPS = (
    "content filter fails",
    "below threshold",
    "not anchored",
    "judged unrelated",
    "outweighed",
    "evidence",
)


@dataclass(frozen=True)
class Pair:
    rumour_id: str
    similarity: float
    group: str


def _neighbours(sentences: Sequence[str], i: int) -> list[str]:
    """The title (sentence 0) and the sentences either side: the pipeline's context."""
    return [sentences[j] for j in sorted({0, i - 1, i + 1} - {i}) if 0 <= j < len(sentences)]


def _judged(
    found: Sequence[Match], sentences: Sequence[str], index: ClaimIndex, lex: Lexicon, t: float
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(unrelated, evidence): the matches the stance classifier drops, and per rumour the one
    the pipeline keeps (the largest tracker weight; credibility is the article's, a constant)."""
    claims = {s.rumour_id: s.claim for s in index.specs}
    unrelated: set[tuple[str, int]] = set()
    best: dict[str, tuple[float, int]] = {}
    for m in found:
        context = _neighbours(sentences, m.sentence_index)
        verdict = judge(m.sentence, claims[m.rumour_id], context=context, lexicon=lex)
        if verdict.stance == "unrelated":
            unrelated.add((m.rumour_id, m.sentence_index))
            continue
        obs = tracker.Observation(
            verdict.stance,
            verdict.signal,
            verdict.strength,
            tracker.match_quality(m.similarity, t),
            1.0,
            EPOCH,
        )
        score = abs(tracker.weight(obs))
        if m.rumour_id not in best or score > best[m.rumour_id][0]:
            best[m.rumour_id] = (score, m.sentence_index)
    return unrelated, {(rid, i) for rid, (_, i) in best.items()}


def article_pairs(
    article: ReplayArticle, index: ClaimIndex, embedder: Embedder, lex: Lexicon, t: float
) -> list[Pair]:
    sentences = article_sentences(article.title, article.text, limit=400)
    whole = f"{article.title}\n{article.text}"
    gated = index.gated(grams(f"{article.title}\n{whole}", index.lengths))
    if not gated or not sentences:
        return []
    vectors = embedder.encode(sentences)
    scores = index.similarities(vectors, gated)
    found = match_article(
        index, sentences, vectors, threshold=t, article_text=whole, title=article.title
    )
    matched = {(m.rumour_id, m.sentence_index) for m in found}
    unrelated, evidence = _judged(found, sentences, index, lex, t)
    pairs = []
    for s, sentence in enumerate(sentences):
        for r, rumour in enumerate(gated):
            rid, sim = index.specs[rumour].rumour_id, float(scores[s, r])
            key = (rid, s)
            if not index.on_content(rumour, sentence):
                group = "content filter fails"
            elif sim < t:
                group = "below threshold"
            elif key not in matched:
                group = "not anchored"
            elif key in unrelated:
                group = "judged unrelated"
            else:
                group = "evidence" if key in evidence else "outweighed"
            pairs.append(Pair(rid, sim, group))
    return pairs


def _row(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"  {name:<22} {0:>6}"
    return (
        f"  {name:<22} {len(values):>6} {min(values):>7.3f} "
        f"{statistics.median(values):>7.3f} {max(values):>7.3f}"
    )


def report(pairs: Sequence[Pair], threshold: float, by_rumour: bool) -> None:
    print(f"similarity threshold {threshold:.3f}; {len(pairs)} gated sentence/rumour pairs\n")
    sections: dict[str, list[Pair]] = {"all rumours": list(pairs)}
    if by_rumour:
        for p in pairs:
            sections.setdefault(p.rumour_id, []).append(p)
    for title, section in sections.items():
        grouped: dict[str, list[float]] = defaultdict(list)
        for p in section:
            grouped[p.group].append(p.similarity)
        print(f"{title}")
        print(f"  {'group':<22} {'pairs':>6} {'min':>7} {'median':>7} {'max':>7}")
        for name in GROUPS:
            print(_row(name, grouped[name]))
        passing = [p.similarity for p in section if p.group != "content filter fails"]
        print(_row("content filter passes", passing))
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=TIMELINE, help="folder of dated articles")
    parser.add_argument("--rumours", type=Path, default=RUMOURS, help="seed file of rumours")
    parser.add_argument(
        "--threshold",
        type=float,
        default=default_config("config.toml").matching.similarity,
        help="similarity threshold (default: the product's, matching.similarity)",
    )
    parser.add_argument("--model", default="bundled", help="sentence-transformers model")
    parser.add_argument("--by-rumour", action="store_true", help="also one table per rumour")
    args = parser.parse_args(argv)
    articles, problems = load_articles(args.corpus)
    for problem in problems:
        print(f"skipped: {problem.message}", file=sys.stderr)
    specs = [
        ClaimSpec(r.id, r.claim, r.entities, r.paraphrases) for r in load_seeds([args.rumours])
    ]
    embedder = Embedder(shared_encoder(args.model), args.model)
    lex = load_lexicon()
    index = ClaimIndex.build(specs, embedder.encode, lex)
    pairs = [p for a in articles for p in article_pairs(a, index, embedder, lex, args.threshold)]
    print(f"{len(articles)} articles, {len(specs)} rumours")
    report(pairs, args.threshold, args.by_rumour)
    return 0


if __name__ == "__main__":
    sys.exit(main())
