"""Prometheus metrics: counters the service updates as it works, gauges read from the database.

The registry is our own, not prometheus-client's global one, so tests and several monitors in
one process never share numbers. Database gauges are counted at scrape time: they are right
whoever wrote the rows (the service, a `poll` from cron, a `replay`), and survive restarts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.db.models import STATES, Alert, Article, Evidence, Feed, Rumour, Transition
from monitor.queries import pending_count
from monitor.reading import Signal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "rumour_monitor"
# Embedding a batch takes milliseconds on a warm model and seconds on a cold CPU.
_EMBED_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900)


class Metrics:
    """The service's metrics; pass one instance to whatever records into it."""

    def __init__(
        self, database: Database | None = None, *, queue_stall_timeout: float | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.embedding_seconds = Histogram(
            f"{PREFIX}_embedding_seconds",
            "Time spent encoding one batch of sentences",
            buckets=_EMBED_BUCKETS,
            registry=r,
        )
        self.embedded_sentences = Counter(
            f"{PREFIX}_embedded_sentences", "Sentences encoded by the model", registry=r
        )
        self.feed_polls = Counter(
            f"{PREFIX}_feed_polls", "Feed checks by this process", ["outcome"], registry=r
        )
        self.job_runs = Counter(
            f"{PREFIX}_job_runs", "Scheduled job runs by outcome", ["job", "outcome"], registry=r
        )
        self.job_seconds = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "Wall time of scheduled job runs",
            ["job"],
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.job_last_success = Gauge(
            f"{PREFIX}_job_last_success_timestamp_seconds",
            "Unix time the job last finished without error",
            ["job"],
            registry=r,
        )
        if database is not None:
            r.register(DatabaseCollector(database, queue_stall_timeout))

    def observe_embedding(self, seconds: float, sentences: int = 0) -> None:
        """Record one encoding batch; the engine (or a wrapper around it) calls this."""
        self.embedding_seconds.observe(seconds)
        if sentences:
            self.embedded_sentences.inc(sentences)

    @contextmanager
    def time_embedding(self, sentences: int = 0) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe_embedding(time.perf_counter() - start, sentences)

    def record_poll(self, outcome: str, count: int = 1) -> None:
        self.feed_polls.labels(outcome=outcome).inc(count)

    def record_job(self, job: str, seconds: float, *, ok: bool) -> None:
        self.job_runs.labels(job=job, outcome="ok" if ok else "error").inc()
        self.job_seconds.labels(job=job).observe(seconds)
        if ok:
            self.job_last_success.labels(job=job).set(time.time())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Counts rows at scrape time; a database that does not answer shows as database_up 0."""

    def __init__(self, database: Database, queue_stall_timeout: float | None = None) -> None:
        self.database = database
        self.queue_stall_timeout = queue_stall_timeout  # set in distributed mode

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the database answered the scrape")
        try:
            with self.database.sessions() as session:
                families = list(_database_families(session))
                if self.queue_stall_timeout is not None:
                    families += _queue_families(session, self.queue_stall_timeout)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _grouped(
    session: Session,
    name: str,
    doc: str,
    labels: list[str],
    *columns: object,
    where: ColumnElement[bool] | None = None,
    known: Sequence[str] = (),
    cumulative: bool = False,
) -> GaugeMetricFamily | CounterMetricFamily:
    """Row counts grouped by ``columns``; each ``known`` value of a one-label family is reported
    even at 0, so a fresh install's scrape (and an alert rule on it) sees the series. Rows that
    are only ever added (evidence, transitions) are `cumulative`: a counter, named ``_total``,
    so `rate()` and `increase()` work on it."""
    kind = CounterMetricFamily if cumulative else GaugeMetricFamily
    family = kind(f"{PREFIX}_{name}", doc, labels=labels)
    statement = select(*columns, func.count()).group_by(*columns)  # type: ignore[call-overload]
    if where is not None:
        statement = statement.where(where)
    counts = {tuple(str(k) for k in keys): count for *keys, count in session.execute(statement)}
    for value in known:
        counts.setdefault((value,), 0)
    for keys, count in counts.items():
        family.add_metric(list(keys), count)
    return family


def _database_families(session: Session) -> Iterator[Metric]:
    yield _feed_family(session)
    yield from _per_feed_families(session)
    articles = GaugeMetricFamily(f"{PREFIX}_articles", "Articles by status", labels=["status"])
    pending = pending_count(session)
    processed = session.scalar(select(func.count()).where(Article.processed_at.is_not(None))) or 0
    total = session.scalar(select(func.count()).select_from(Article)) or 0
    articles.add_metric(["pending"], pending)
    articles.add_metric(["processed"], processed)
    # failed MAX_ATTEMPTS times: waits for a person (see articles.process_error)
    articles.add_metric(["set_aside"], total - pending - processed)
    yield articles
    yield _grouped(
        session,
        "evidence",
        "Evidence rows by signal",
        ["signal"],
        Evidence.signal,
        known=get_args(Signal),
        cumulative=True,
    )
    yield _grouped(
        session,
        "transitions",
        "State changes by new state",
        ["to"],
        Transition.to_state,
        known=STATES[1:],  # nothing ever changes back to unconfirmed
        cumulative=True,
    )
    # Retired rumours (removed from the seeds) are kept for history but no longer tracked.
    yield _grouped(
        session,
        "rumours",
        "Active rumours by state",
        ["state"],
        Rumour.state,
        where=Rumour.active.is_(True),
        known=STATES,
    )
    yield from _per_rumour_families(session)
    yield _grouped(
        session,
        "alerts",
        "Alerts by status and channel",
        ["status", "channel"],
        Alert.status,
        Alert.channel,
    )


def _per_rumour_families(session: Session) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
    """One series per active rumour, so a dashboard can chart each one's confidence and show
    its state (the info series carries it as a label, with the claim for the legend)."""
    confidence = GaugeMetricFamily(
        f"{PREFIX}_rumour_confidence",
        "Probability that the rumour's claim is or will be true",
        labels=["rumour"],
    )
    info = InfoMetricFamily(
        f"{PREFIX}_rumour", "Each active rumour's state and claim", labels=["rumour"]
    )
    rows = session.execute(
        select(Rumour.id, Rumour.confidence, Rumour.state, Rumour.claim)
        .where(Rumour.active.is_(True))
        .order_by(Rumour.id)
    )
    for rumour_id, value, state, claim in rows:
        confidence.add_metric([rumour_id], value)
        info.add_metric([rumour_id], {"state": state, "claim": claim})
    yield confidence
    yield info


def _queue_families(session: Session, stall_timeout: float) -> list[GaugeMetricFamily]:
    from monitor.queue import QUEUES, queue_stats

    stats = queue_stats(session, stall_timeout)
    jobs = GaugeMetricFamily(
        f"{PREFIX}_queue_jobs", "Jobs in the queue by queue and status", labels=["queue", "status"]
    )
    for queue in QUEUES:
        for status, counts in (
            ("todo", stats.todo),
            ("doing", stats.doing),
            ("failed", stats.failed),
        ):
            jobs.add_metric([queue, status], counts[queue])
    failed = GaugeMetricFamily(f"{PREFIX}_queue_jobs_failed_24h", "Jobs failed in the last 24h")
    failed.add_metric([], stats.failed_recent)
    workers = GaugeMetricFamily(
        f"{PREFIX}_queue_workers", "Workers registered, by heartbeat", labels=["status"]
    )
    workers.add_metric(["alive"], stats.workers)
    workers.add_metric(["silent"], stats.workers_silent)
    wait = GaugeMetricFamily(
        f"{PREFIX}_queue_oldest_wait_seconds", "How long the longest-waiting due job has waited"
    )
    wait.add_metric([], stats.oldest_todo_seconds)
    return [jobs, failed, workers, wait]


def _feed_family(session: Session) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{PREFIX}_feeds",
        "Feeds by health: ok, failing (errors since last success), disabled",
        labels=["status"],
    )
    counts = {"ok": 0, "failing": 0, "disabled": 0}
    for enabled, errors in session.execute(select(Feed.enabled, Feed.error_count)):
        counts["disabled" if not enabled else "failing" if errors else "ok"] += 1
    for status, count in counts.items():
        family.add_metric([status], count)
    return family


def _per_feed_families(session: Session) -> Iterator[GaugeMetricFamily]:
    errors = GaugeMetricFamily(
        f"{PREFIX}_feed_consecutive_errors", "Failed checks since the last success", labels=["feed"]
    )
    success = GaugeMetricFamily(
        f"{PREFIX}_feed_last_success_timestamp_seconds",
        "Unix time of the last good check",
        labels=["feed"],
    )
    rows = session.execute(
        select(Feed.name, Feed.error_count, Feed.last_success_at).where(Feed.enabled.is_(True))
    )
    for name, count, last in rows:
        errors.add_metric([name], count or 0)
        if last is not None:
            success.add_metric([name], last.timestamp())
    yield errors
    yield success


class _Encoder(Protocol):
    @property
    def dimension(self) -> int: ...

    def encode(self, sentences: Sequence[str], batch_size: int) -> Any: ...


class TimedEncoder:
    """Wraps the engine's sentence encoder so every batch it encodes is timed into Metrics."""

    def __init__(self, encoder: _Encoder, metrics: Metrics) -> None:
        self.encoder = encoder
        self.metrics = metrics

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, sentences: Sequence[str], batch_size: int) -> Any:
        with self.metrics.time_embedding(len(sentences)):
            return self.encoder.encode(sentences, batch_size)
