"""The outbox: alert rows written in the same transaction as the transition they announce.

Because the rows commit or roll back with the transition, a state change can never be lost
between "decided" and "queued", and the unique key (transition, channel) makes a second alert
for the same change impossible however often a stage is re-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from monitor.config import AlertsConfig
from monitor.db.models import Alert, Transition, utcnow
from monitor.display import when
from monitor.queries import iso


def channel_names(alerts: AlertsConfig) -> tuple[str, ...]:
    """The channels that receive alerts: the configured ones, else the console.

    Every Apprise URL is a channel of its own, so each gets its own outbox row and retries.
    """
    names = [name for name, on in (("email", alerts.email), ("slack", alerts.slack)) if on]
    if alerts.apprise is not None:
        names.extend(alerts.apprise.targets())
    return tuple(names) or ("console",)


def enqueue(session: Session, transition: Transition, channels: Sequence[str]) -> list[Alert]:
    """Queue one pending alert per channel for a transition, in the caller's transaction."""
    now = utcnow()
    rows = [
        Alert(
            transition=transition, channel=name, status="pending", attempts=0, next_attempt_at=now
        )
        for name in channels
    ]
    session.add_all(rows)
    return rows


@dataclass(frozen=True)
class AlertRow:
    """One outbox row as `alerts list` shows it."""

    id: int
    channel: str
    status: str
    attempts: int
    rumour_id: str
    from_state: str
    to_state: str
    transition_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "rumour_id": self.rumour_id,
            "from": self.from_state,
            "to": self.to_state,
            "at": iso(self.transition_at),
            "next_attempt_at": iso(self.next_attempt_at) if self.status == "pending" else None,
            "sent_at": iso(self.sent_at),
            "last_error": self.last_error,
        }


def list_alerts(session: Session, *, status: str | None = None, limit: int = 100) -> list[AlertRow]:
    """The newest outbox rows first, optionally only those with one status."""
    query = (
        select(Alert, Transition)
        .join(Transition, Alert.transition_id == Transition.id)
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Alert.status == status)
    return [
        AlertRow(
            id=a.id,
            channel=a.channel,
            status=a.status,
            attempts=a.attempts,
            rumour_id=t.rumour_id,
            from_state=t.from_state,
            to_state=t.to_state,
            transition_at=t.at,
            next_attempt_at=a.next_attempt_at,
            sent_at=a.sent_at,
            last_error=a.last_error,
        )
        for a, t in session.execute(query)
    ]


def statuses(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The status of each of these alerts that exists."""
    rows = session.execute(select(Alert.id, Alert.status).where(Alert.id.in_(ids)))
    return {int(alert_id): str(status) for alert_id, status in rows}


def drop_unsent(session: Session, ids: Sequence[int] | None = None) -> int:
    """Delete alerts that were not sent (pending or failed; those ids, or every pending one
    when `ids` is None) from the outbox, so nothing sends them; the count deleted."""
    query = delete(Alert)
    if ids is None:
        query = query.where(Alert.status == "pending")
    else:
        query = query.where(Alert.id.in_(ids), Alert.status.in_(("pending", "failed")))
    result = session.execute(query.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def pending_for(session: Session, transition_ids: Sequence[int]) -> list[int]:
    """The pending alerts of these transitions, by id."""
    if not transition_ids:
        return []
    query = select(Alert.id).where(
        Alert.transition_id.in_(transition_ids), Alert.status == "pending"
    )
    return sorted(session.scalars(query))


def requeue_failed(session: Session, ids: Sequence[int] | None = None) -> int:
    """Give failed alerts (all, or those ids) a fresh set of attempts, due now; the count."""
    query = update(Alert).where(Alert.status == "failed")
    if ids is not None:
        query = query.where(Alert.id.in_(ids))
    result = session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow()).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


BACKLOG_GRACE = timedelta(minutes=15)  # a due alert not sent this long after: delivery is stuck


@dataclass(frozen=True)
class AlertBacklog:
    """Pending alerts, and those due longer than BACKLOG_GRACE ago: no delivery is running,
    or it cannot keep up (an alert waiting on its retry back-off is not overdue)."""

    pending: int
    overdue: int
    oldest_due_at: datetime | None  # of the overdue ones

    def describe(self) -> str:
        return (
            f"alert backlog: {self.overdue} of {self.pending} pending alerts due since"
            f" {when(self.oldest_due_at)} or earlier (is `run` delivering? see"
            " `rumour-monitor alerts list --status pending`)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "overdue": self.overdue,
            "oldest_due_at": iso(self.oldest_due_at),
        }


def alert_backlog(session: Session, now: datetime | None = None) -> AlertBacklog:
    cutoff = (now or utcnow()) - BACKLOG_GRACE
    pending = session.scalar(select(func.count()).where(Alert.status == "pending")) or 0
    overdue, oldest = session.execute(
        select(func.count(), func.min(Alert.next_attempt_at)).where(
            Alert.status == "pending", Alert.next_attempt_at <= cutoff
        )
    ).one()
    return AlertBacklog(pending, overdue or 0, oldest)
