"""Stored articles into evidence, state changes and queued alerts.

Each article is processed in ONE transaction: claim it (processed_at), split, embed (cached),
match against every active rumour, judge the matching sentences, write one Evidence row per
rumour, move the rumour through the tracker, write Transition rows and queue their alerts. A
crash rolls the whole article back; a second run, or a second worker, finds it claimed or its
evidence already written and changes nothing. An article whose text changed (its page fetched
after its feed summary was matched) is matched again and its new reading replaces the old one,
unless the old one already moved the rumour's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from monitor.alerts import channel_names, enqueue
from monitor.config import Config
from monitor.db import Database
from monitor.db.models import Article, Evidence, Rumour, Transition, utcnow
from monitor.errors import MonitorError
from monitor.queries import MAX_ATTEMPTS, is_pending, iso
from monitor.reading import tracker
from monitor.reading.candidates import Judged, counted, read_matches
from monitor.reading.embed import Embedder
from monitor.reading.match import ClaimIndex, ClaimSpec, match_article
from monitor.reading.reader import Reader, shared_reader
from monitor.reading.text import article_sentences

log = logging.getLogger(__name__)
PREFETCH = 128  # articles whose sentences are embedded together: full, length-sorted batches


@dataclass(frozen=True)
class TransitionReport:
    rumour_id: str
    from_state: str
    to_state: str
    sentence: str
    url: str
    at: datetime
    signal: str
    confidence: float
    transition_id: int | None = None  # the row written, when there is one

    def line(self) -> str:
        return (
            f"{self.rumour_id}: {self.from_state} -> {self.to_state} "
            f"({self.signal}, confidence {self.confidence:.2f}) {self.url}\n"
            f'    "{self.sentence}"'
        )

    def log_fields(self) -> dict[str, str]:
        """The fields a log line about this change carries."""
        return {
            "rumour": self.rumour_id,
            "from": self.from_state,
            "to": self.to_state,
            "signal": self.signal,
            "url": self.url,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rumour_id,
            "from": self.from_state,
            "to": self.to_state,
            "at": iso(self.at),
            "signal": self.signal,
            "confidence": round(self.confidence, 4),
            "sentence": self.sentence,
            "url": self.url,
        }


@dataclass
class _Run:
    """What every article of one run shares: the claim index and the reader."""

    config: Config
    embedder: Embedder
    index: ClaimIndex
    reader: Reader
    channels: tuple[str, ...]


def claim_specs(session: Session) -> list[ClaimSpec]:
    rows = session.scalars(select(Rumour).where(Rumour.active).order_by(Rumour.id))
    return [
        ClaimSpec(r.id, r.claim, tuple(r.entities), tuple(r.paraphrases), r.entities_derived)
        for r in rows
    ]


def build_index(session: Session, embedder: Embedder) -> ClaimIndex:
    """Every active claim and paraphrase embedded (through the cache) into one matrix."""
    return ClaimIndex.build(claim_specs(session), lambda texts: embedder.embed(session, texts))


def _start(db: Database, config: Config, embedder: Embedder, reader: Reader | None = None) -> _Run:
    with db.transaction() as session:
        index = build_index(session, embedder)
    reader = reader if reader is not None else shared_reader(config.model.reader)
    return _Run(config, embedder, index, reader, channel_names(config.alerts))


def process_pending(
    db: Database,
    config: Config,
    embedder: Embedder,
    *,
    limit: int | None = None,
    on_article: Callable[[int], None] | None = None,
    failed: set[int] | None = None,
) -> list[TransitionReport]:
    """Process unprocessed articles oldest-published first; return the state changes made.

    `on_article` hears each article id once it is done (for progress on long runs). `failed`
    lets a caller that calls in batches carry failures over: the ids in it are left out, and
    the ids that fail now are added, so one pass counts one attempt per article.
    """
    with db.sessions() as session:
        query = select(Article.id).where(is_pending())
        if failed:
            query = query.where(Article.id.not_in(failed))
        query = query.order_by(Article.published_at, Article.id).limit(limit)
        ids = list(session.scalars(query))
    return process_ids(db, config, embedder, ids, on_article=on_article, failed=failed)


def process_ids(
    db: Database,
    config: Config,
    embedder: Embedder,
    ids: Sequence[int],
    *,
    on_article: Callable[[int], None] | None = None,
    failed: set[int] | None = None,
    stop: Callable[[], bool] | None = None,
    reader: Reader | None = None,
) -> list[TransitionReport]:
    """Process these articles in this order (see process_pending); already processed ones
    are left as they are. `stop` is asked before each article: True leaves the rest.
    `reader` replaces the configured one (distributed mode: one that finds stored verdicts)."""
    if not ids:
        return []
    run = _start(db, config, embedder, reader)
    reports: list[TransitionReport] = []
    for start in range(0, len(ids), PREFETCH):
        chunk = ids[start : start + PREFETCH]
        _prefetch(db, run, chunk)
        for article_id in chunk:
            if stop is not None and stop():
                return reports
            try:
                with db.transaction() as session:
                    reports.extend(_process(session, run, article_id))
            except Exception as exc:  # one bad article must cost itself, not the ones behind it
                _record_failure(db, article_id, exc)
                if failed is not None:
                    failed.add(article_id)
            if on_article is not None:
                on_article(article_id)
    return reports


def _record_failure(db: Database, article_id: int, exc: Exception) -> None:
    """Count a failed attempt; the article is retried on the next run until MAX_ATTEMPTS."""
    if isinstance(exc, MonitorError):
        log.error("article %s not processed: %s", article_id, exc)
    else:
        log.exception("article %s not processed: unexpected failure", article_id)
    with db.transaction() as session:
        article = session.get(Article, article_id)
        if article is None:
            return
        article.process_attempts += 1
        article.process_error = f"{type(exc).__name__}: {exc}"[:2000]
        if article.process_attempts >= MAX_ATTEMPTS:
            log.error(
                "article %s set aside after %d failed attempts (%s): %s",
                article_id,
                article.process_attempts,
                article.url,
                article.process_error,
            )


def process_article(
    db: Database, config: Config, embedder: Embedder, article_id: int
) -> list[TransitionReport]:
    """Process one stored article (no-op if it is already processed)."""
    run = _start(db, config, embedder)
    with db.transaction() as session:
        return _process(session, run, article_id)


def _prefetch(db: Database, run: _Run, article_ids: Sequence[int]) -> None:
    embed_articles(db, run.config, run.embedder, article_ids)


def embed_articles(
    db: Database, config: Config, embedder: Embedder, article_ids: Sequence[int]
) -> int:
    """Embed the sentences of several articles in one go so the model sees full batches;
    the number of sentences.

    Only the cache is written here, so it may commit apart from the articles' own transactions
    (and run on another worker ahead of them).
    """
    limit = config.matching.max_sentences
    with db.transaction() as session:
        rows = session.execute(
            select(Article.title, Article.text).where(Article.id.in_(article_ids))
        )
        sentences = [s for title, text in rows for s in article_sentences(title, text, limit=limit)]
        embedder.embed(session, sentences)
    return len(sentences)


def _process(session: Session, run: _Run, article_id: int) -> list[TransitionReport]:
    # Claim the article first: a concurrent worker blocks here, then finds nothing to do.
    claimed = session.execute(
        update(Article)
        .where(Article.id == article_id, Article.processed_at.is_(None))
        .values(processed_at=utcnow())
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        return []
    article = session.get_one(Article, article_id)
    judged = _judge(session, run, article)
    reports = []
    for rumour_id, found in sorted(judged.items()):
        report = _record(session, article, rumour_id, found, run.channels)
        if report is not None:
            reports.append(report)
    return reports


def judge_ahead(
    db: Database, config: Config, embedder: Embedder, article_ids: Sequence[int], reader: Reader
) -> int:
    """Match and read these articles without recording anything: for distributed mode, where
    ``reader`` stores its verdicts for the ordered reading job (monitor.reading.verdicts).
    Returns how many articles were judged (those not processed yet)."""
    run = _start(db, config, embedder, reader)
    with db.sessions() as session:
        query = select(Article).where(Article.id.in_(article_ids), Article.processed_at.is_(None))
        articles = list(session.scalars(query.order_by(Article.id)))
        for article in articles:
            _judge(session, run, article)
    return len(articles)


def _judge(session: Session, run: _Run, article: Article) -> dict[str, list[Judged]]:
    """The article's candidate sentences per rumour, read: what `_record` weighs."""
    sentences = article_sentences(
        article.title, article.text, limit=run.config.matching.max_sentences
    )
    vectors = run.embedder.embed(session, sentences)
    matches = match_article(
        run.index,
        sentences,
        vectors,
        threshold=run.config.matching.similarity,
        article_text=f"{article.title}\n{article.text or ''}",
        title=article.title,
    )
    claims = {spec.rumour_id: spec.claim for spec in run.index.specs}
    return read_matches(
        run.reader,
        claims,
        sentences,
        matches,
        per_rumour=run.config.matching.candidates,
        threshold=run.config.matching.similarity,
        credibility=article.credibility,
        published_at=article.published_at,
    )


def _record(
    session: Session,
    article: Article,
    rumour_id: str,
    found: Sequence[Judged],
    channels: tuple[str, ...],
) -> TransitionReport | None:
    """The article's evidence for one rumour, the tracker's verdict, and any state change."""
    rumour = session.get(Rumour, rumour_id, with_for_update=True)
    earlier = session.scalar(
        select(Evidence).where(Evidence.rumour_id == rumour_id, Evidence.article_id == article.id)
    )
    if rumour is None or (earlier is not None and _moved_state(session, earlier)):
        return None
    last_change = _last_change(session, rumour)
    best = counted(rumour.state, found, last_change_at=last_change)
    if best is None:
        return None
    match, verdict = best.match, best.verdict
    if earlier is not None:
        if (earlier.sentence, earlier.signal) == (match.sentence, best.observation.signal):
            return None  # read again unchanged (a re-run): already counted
        _withdraw(session, rumour, earlier)
    outcome = tracker.assess(
        rumour.state, rumour.confidence, best.observation, last_change_at=last_change
    )
    evidence = _add_evidence(session, rumour, article, best, outcome)
    log.info(
        "%s: evidence (%s, signal %s) from %s, confidence %.2f -> %.2f: %s",
        rumour_id,
        verdict.stance,
        best.observation.signal,
        article.url,
        outcome.confidence_before,
        outcome.confidence_after,
        outcome.reason,
        extra={"rumour": rumour_id, "signal": best.observation.signal},
    )
    if not outcome.changed:
        return None
    transition = _add_transition(session, channels, rumour, evidence, outcome)
    return TransitionReport(
        rumour_id,
        outcome.from_state,
        outcome.to_state,
        match.sentence,
        article.url,
        article.published_at,
        best.observation.signal,
        outcome.confidence_after,
        transition.id,
    )


def _last_change(session: Session, rumour: Rumour) -> datetime | None:
    """Since when the rumour's state holds: its last transition, or the seed's `since` when
    that is later (a seeded state has no transition of its own to date it)."""
    last = session.scalar(select(func.max(Transition.at)).where(Transition.rumour_id == rumour.id))
    known = [t for t in (last, rumour.state_since) if t is not None]
    return max(known, default=None)


def _moved_state(session: Session, evidence: Evidence) -> bool:
    """Whether this evidence caused a transition: its alerts are out, so it stands as it is."""
    found = session.scalar(select(Transition.id).where(Transition.evidence_id == evidence.id))
    return found is not None


def _withdraw(session: Session, rumour: Rumour, evidence: Evidence) -> None:
    """Take back an article's earlier reading of a rumour, which it now reads differently (its
    page was fetched after its feed summary had been matched): the article counts once, by what
    it says now."""
    rumour.confidence = tracker.withdraw(
        rumour.confidence, evidence.confidence_before, evidence.confidence_after
    )
    session.delete(evidence)
    session.flush()  # one evidence row per article and rumour: the old one goes first


def _add_evidence(
    session: Session, rumour: Rumour, article: Article, best: Judged, outcome: tracker.Outcome
) -> Evidence:
    """Write the evidence row and move the rumour's confidence."""
    match, verdict = best.match, best.verdict
    evidence = Evidence(
        rumour_id=rumour.id,
        article_id=article.id,
        sentence=match.sentence,
        stance=verdict.stance,
        signal=best.observation.signal,
        similarity=match.similarity,
        strength=verdict.strength,
        credibility=article.credibility,
        confidence_before=outcome.confidence_before,
        confidence_after=outcome.confidence_after,
        cues=list(verdict.cues),
        probability=verdict.probability,
        on_record=verdict.on_record,
        reader=verdict.reader,
        at=article.published_at,
    )
    session.add(evidence)
    rumour.confidence = outcome.confidence_after
    rumour.updated_at = utcnow()
    return evidence


def _add_transition(
    session: Session,
    channels: tuple[str, ...],
    rumour: Rumour,
    evidence: Evidence,
    outcome: tracker.Outcome,
) -> Transition:
    """Move the rumour's state, write the transition row and queue its alerts."""
    rumour.state = outcome.to_state
    session.flush()  # the transition points at the evidence row's id
    transition = Transition(
        rumour_id=rumour.id,
        evidence_id=evidence.id,
        article_id=evidence.article_id,
        from_state=outcome.from_state,
        to_state=outcome.to_state,
        signal=evidence.signal,
        sentence=evidence.sentence,
        confidence_before=outcome.confidence_before,
        confidence_after=outcome.confidence_after,
        at=evidence.at,
    )
    session.add(transition)
    enqueue(session, transition, channels)
    session.flush()  # its id, for the report: which alerts this change queued
    return transition
