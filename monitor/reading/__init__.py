"""Reading: stored articles in, evidence, state changes and queued alerts out.

An article is split into sentences, embedded (cached), matched against every tracked claim, and
each matching sentence is judged for stance and signal; the tracker turns the evidence into a
rumour's confidence and state, and a state change writes its alert rows in the same transaction.
`assess` runs the same path on free text, without a database.
"""

from monitor.reading import tracker
from monitor.reading.assess import Assessment, Pair, PairError, assess_pairs, parse_pair
from monitor.reading.embed import Embedder, ModelError, cached_models, shared_encoder
from monitor.reading.match import (
    ClaimIndex,
    ClaimSpec,
    Match,
    match_article,
)
from monitor.reading.pipeline import (
    TransitionReport,
    build_index,
    embed_articles,
    judge_ahead,
    process_ids,
    process_pending,
)
from monitor.reading.reader import Passage, Reader, ReaderError, Verdict, shared_reader
from monitor.reading.rules import Signal
from monitor.reading.text import article_sentences

__all__ = [
    "Assessment",
    "ClaimIndex",
    "ClaimSpec",
    "Embedder",
    "Match",
    "ModelError",
    "Pair",
    "PairError",
    "Passage",
    "Reader",
    "ReaderError",
    "Signal",
    "TransitionReport",
    "Verdict",
    "article_sentences",
    "assess_pairs",
    "build_index",
    "cached_models",
    "embed_articles",
    "judge_ahead",
    "match_article",
    "parse_pair",
    "process_ids",
    "process_pending",
    "shared_encoder",
    "shared_reader",
    "tracker",
]
