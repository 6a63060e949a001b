"""The state database: feeds, articles, embeddings, rumours, evidence, transitions, alerts.

Every stage of the pipeline is keyed by rows here (unique constraints, not in-memory sets), so a
crash or a re-run can never double an article, an evidence row or an alert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from monitor.controls import strip_controls

# Deterministic constraint names so Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATES = ("unconfirmed", "confirmed", "formalized", "denied", "abandoned")
ALERT_STATUSES = ("pending", "sent", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always hands back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} would be ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # views and raw SQL on SQLite hand back text
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class CleanText(TypeDecorator[str]):
    """Text from the web (titles, article text, feed errors, sentences): control characters and
    terminal escape sequences are dropped on the way in (monitor.controls), once, so no reader
    of the database (an alert, a page, `poll` on a terminal, `sqlite3`) ever gets them.
    `CleanText(200)` stands for a VARCHAR(200) column, `CleanText()` for a TEXT one."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return strip_controls(value) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanText(200), unique=True)
    config_url: Mapped[str] = mapped_column(Text)  # as written in config.toml
    # where it is fetched now (after permanent redirects)
    url: Mapped[str] = mapped_column(CleanText())
    credibility: Mapped[float] = mapped_column(Float, default=0.6)
    interval_seconds: Mapped[float] = mapped_column(Float, default=900.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(CleanText())
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(CleanText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedEntry(Base):
    """An entry as one feed lists it; re-polling the feed finds it here and skips it."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "guid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_content_hash", "content_hash"),
        Index("ix_articles_published_at", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(CleanText())
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(CleanText(200), default="")
    credibility: Mapped[float] = mapped_column(Float, default=0.6)
    title: Mapped[str] = mapped_column(CleanText(), default="")
    text: Mapped[str | None] = mapped_column(CleanText())  # None once retention has pruned it
    author: Mapped[str | None] = mapped_column(CleanText())
    site: Mapped[str | None] = mapped_column(CleanText())
    content_hash: Mapped[str] = mapped_column(String(64))
    extraction: Mapped[str] = mapped_column(String(20), default="page")  # page | summary | replay
    retry_page: Mapped[bool] = mapped_column(Boolean, default=False)  # 5xx page: fetch again
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failures while matching it: after a few, the article is set aside so it cannot block the
    # articles behind it (the pipeline always takes the oldest pending first).
    process_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    process_error: Mapped[str | None] = mapped_column(CleanText())


class StoredVerdict(Base):
    """A reader's verdict on one passage, judged ahead by a model worker (distributed mode), so
    that the one ordered reading job finds it instead of running the model again. Keyed by a
    hash of the reader's version and all it read (monitor.reading.verdicts)."""

    __tablename__ = "verdicts"
    __table_args__ = (Index("ix_verdicts_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(Text)  # JSON: the Verdict's fields
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SentenceEmbedding(Base):
    """Embedding cache: a sentence is never encoded twice by the same model.

    `last_used_at` is refreshed at most once a day per row (see monitor.reading.embed), which is
    enough for maintenance to drop vectors nothing has needed for weeks.
    """

    __tablename__ = "sentence_embeddings"
    __table_args__ = (Index("ix_sentence_embeddings_last_used_at", "last_used_at"),)

    sentence_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Nullable only because SQLite cannot add a NOT NULL column in place (migration 0004);
    # every row has one: backfilled from created_at, written on insert.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


class Rumour(Base):
    __tablename__ = "rumours"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    claim: Mapped[str] = mapped_column(Text)
    entities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Found in the claim (no `entities` in the seed): a sign of relatedness, not a gate.
    entities_derived: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    paraphrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="unconfirmed")
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # false once gone from the seeds
    seed_file: Mapped[str | None] = mapped_column(Text)
    # The seed's `since`: its state holds since then, so evidence published earlier may move
    # confidence but never the state (as for a transition the tracker recorded itself).
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evidence: Mapped[list[Evidence]] = relationship(back_populates="rumour")
    transitions: Mapped[list[Transition]] = relationship(back_populates="rumour")


class Evidence(Base):
    """What one article said about one rumour: counted once per article."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("rumour_id", "article_id"),
        Index("ix_evidence_article_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rumour_id: Mapped[str] = mapped_column(ForeignKey("rumours.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    sentence: Mapped[str] = mapped_column(CleanText())
    stance: Mapped[str] = mapped_column(String(20))
    signal: Mapped[str] = mapped_column(String(20))
    similarity: Mapped[float] = mapped_column(Float)
    strength: Mapped[float] = mapped_column(Float, default=0.0)
    credibility: Mapped[float] = mapped_column(Float, default=0.6)
    confidence_before: Mapped[float] = mapped_column(Float)
    confidence_after: Mapped[float] = mapped_column(Float)
    cues: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Which reader judged it (its version), how sure it was, and who spoke on record; empty
    # on rows written before the trained reader (migration 0009).
    probability: Mapped[float | None] = mapped_column(Float)
    on_record: Mapped[str | None] = mapped_column(Text)
    reader: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the article's published time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rumour: Mapped[Rumour] = relationship(back_populates="evidence")
    article: Mapped[Article] = relationship()


class Transition(Base):
    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_rumour_id_at", "rumour_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rumour_id: Mapped[str] = mapped_column(ForeignKey("rumours.id", ondelete="CASCADE"))
    evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence.id", ondelete="SET NULL"), unique=True
    )
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    signal: Mapped[str] = mapped_column(String(20))
    sentence: Mapped[str] = mapped_column(CleanText(), default="")
    confidence_before: Mapped[float] = mapped_column(Float)
    confidence_after: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the article's published time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rumour: Mapped[Rumour] = relationship(back_populates="transitions")
    article: Mapped[Article | None] = relationship()
    evidence: Mapped[Evidence | None] = relationship()
    alerts: Mapped[list[Alert]] = relationship(back_populates="transition")


class Alert(Base):
    """The outbox: one row per transition and channel, written with the transition."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("transition_id", "channel"),
        Index("ix_alerts_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transition_id: Mapped[int] = mapped_column(ForeignKey("transitions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(CleanText())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    transition: Mapped[Transition] = relationship(back_populates="alerts")


class Installation(Base):
    """One row, made by the migration that created the table: this database's random id.

    Message-IDs carry it, so two installations (or a database restored beside its copy) never
    send mail with the same Message-ID for different alerts."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
