"""The outbox: alert rows written in the same transaction as the transition they announce.

Because the rows commit or roll back with the transition, a state change can never be lost
between "decided" and "queued", and the unique key (transition, channel) makes a second alert
for the same change impossible however often a stage is re-run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from monitor.config import AlertsConfig
from monitor.db.models import Alert, Transition, utcnow


def channel_names(alerts: AlertsConfig) -> tuple[str, ...]:
    """The channels that receive alerts: the configured ones, else the console."""
    names = [name for name, on in (("email", alerts.email), ("slack", alerts.slack)) if on]
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
