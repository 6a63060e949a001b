"""The feeds the monitor follows: config.toml is the source of truth, the database keeps state.

A feed is matched to its row by name. Polling state (ETag, backoff, errors) survives restarts
and config edits; a permanent redirect changes the URL we fetch but not the one in config, so a
later edit of the config URL wins again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import FeedConfig
from monitor.db.models import Feed, FeedEntry
from monitor.display import when
from monitor.queries import iso


@dataclass(frozen=True)
class FeedSync:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


def sync_feeds(session: Session, feeds: Sequence[FeedConfig]) -> FeedSync:
    """Bring the feeds table in line with the config; feeds no longer configured are disabled."""
    rows = {f.name: f for f in session.scalars(select(Feed))}
    added: list[str] = []
    updated: list[str] = []
    for cfg in feeds:
        row = rows.pop(cfg.name, None)
        if row is None:
            session.add(
                Feed(
                    name=cfg.name,
                    config_url=cfg.url,
                    url=cfg.url,
                    credibility=cfg.credibility,
                    interval_seconds=cfg.interval,
                    enabled=cfg.enabled,
                    error_count=0,
                )
            )
            added.append(cfg.name)
        elif _apply(row, cfg):
            updated.append(cfg.name)
    removed = [name for name, row in rows.items() if row.enabled or row.disabled_reason is None]
    for name in removed:
        rows[name].enabled = False
        rows[name].disabled_reason = "removed from config"
    return FeedSync(tuple(added), tuple(updated), tuple(removed))


def _apply(row: Feed, cfg: FeedConfig) -> bool:
    changed = False
    new_url = row.config_url != cfg.url
    if new_url:
        # A new URL in the config starts afresh: old validators and backoff belong to the old one.
        row.config_url = row.url = cfg.url
        row.etag = row.last_modified = None
        row.error_count = 0
        row.next_check_at = None
        row.last_error = None
        # A feed disabled by its server (410 Gone at the old URL) starts again at the new one.
        if row.disabled_reason is not None:
            row.disabled_reason = None
            row.enabled = cfg.enabled
        changed = True
    if row.disabled_reason == "removed from config" or (
        cfg.enabled and not row.enabled and row.disabled_reason is None
    ):
        row.enabled, row.disabled_reason, changed = cfg.enabled, None, True
    elif not cfg.enabled and row.enabled:
        row.enabled, changed = False, True
    if row.interval_seconds != cfg.interval:
        row.interval_seconds, changed = cfg.interval, True
        # The next check follows the new interval at once, not after one more old one
        # (a feed in backoff keeps its backoff; the next success applies the interval). A new
        # URL stays due now: its last check was of another address.
        if not new_url and not row.error_count and row.last_checked_at is not None:
            row.next_check_at = row.last_checked_at + timedelta(seconds=cfg.interval)
    if row.credibility != cfg.credibility:
        row.credibility, changed = cfg.credibility, True
    return changed


@dataclass(frozen=True)
class FeedHealth:
    name: str
    url: str
    enabled: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    last_checked_at: datetime | None
    error_count: int
    last_error: str | None
    next_check_at: datetime | None
    entries: int  # entries recorded for this feed (each links to one article)
    credibility: float
    interval_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "last_success_at": iso(self.last_success_at),
            "last_checked_at": iso(self.last_checked_at),
            "error_count": self.error_count,
            "last_error": self.last_error,
            "next_check_at": iso(self.next_check_at),
            "entries": self.entries,
            "credibility": round(self.credibility, 4),
            "interval_seconds": self.interval_seconds,
        }


def feed_health(session: Session) -> list[FeedHealth]:
    """Each feed's polling health, by name: what `rumour-monitor feeds` shows."""
    query = select(FeedEntry.feed_id, func.count(FeedEntry.id)).group_by(FeedEntry.feed_id)
    counts: dict[int, int] = {feed_id: n for feed_id, n in session.execute(query)}
    return [
        FeedHealth(
            name=f.name,
            url=f.url,
            enabled=f.enabled,
            disabled_reason=f.disabled_reason,
            last_success_at=f.last_success_at,
            last_checked_at=f.last_checked_at,
            error_count=f.error_count or 0,
            last_error=f.last_error,
            next_check_at=f.next_check_at,
            entries=counts.get(f.id, 0),
            credibility=f.credibility,
            interval_seconds=f.interval_seconds,
        )
        for f in session.scalars(select(Feed).order_by(Feed.name))
    ]


@dataclass(frozen=True)
class FeedFailures:
    """How many enabled feeds failed their last attempt, and since when: the one answer
    `/readyz`, `/healthz.json`, `check` and the web view's banner give."""

    enabled: int  # feeds being polled
    failing: tuple[str, ...]  # names of those whose last attempt failed
    # The earliest "last success" among the failing feeds (their addition, for one that never
    # worked): every one of them has failed each attempt since at least then.
    since: datetime | None
    last_success_at: datetime | None = None  # the latest good check of any enabled feed
    longest_interval_seconds: float = 0.0  # of the enabled feeds: how often news should come

    @property
    def every_feed_failing(self) -> bool:
        return self.enabled > 0 and len(self.failing) == self.enabled

    def describe(self) -> str:
        """For people: "3 of 7 feeds failing (no success since 2024-05-14 09:35Z): A, B, C"."""
        if not self.failing:
            return f"{self.enabled} of {self.enabled} feeds answering"
        shown = ", ".join(self.failing[:5]) + (", ..." if len(self.failing) > 5 else "")
        return (
            f"{len(self.failing)} of {self.enabled} feeds failing"
            f" (no success since {when(self.since)}): {shown}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "failing": len(self.failing),
            "failing_feeds": list(self.failing),
            "failing_since": iso(self.since),
        }


def feed_failures(session: Session) -> FeedFailures:
    """The enabled feeds whose last attempt failed (their error count is not 0), and since when."""
    rows = session.execute(
        select(
            Feed.name,
            Feed.error_count,
            Feed.last_success_at,
            Feed.created_at,
            Feed.interval_seconds,
        )
        .where(Feed.enabled.is_(True))
        .order_by(Feed.name)
    ).all()
    failing = [row for row in rows if row.error_count]
    since = min((row.last_success_at or row.created_at for row in failing), default=None)
    return FeedFailures(
        len(rows),
        tuple(row.name for row in failing),
        since,
        max((r.last_success_at for r in rows if r.last_success_at), default=None),
        max((float(r.interval_seconds) for r in rows), default=0.0),
    )
