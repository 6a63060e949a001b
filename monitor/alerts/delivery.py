"""Delivering the outbox: send each due alert, mark it sent, or schedule a retry with backoff.

The guarantee is at-least-once, per alert and channel:

* An alert is claimed before it is sent: one UPDATE moves its `next_attempt_at` a lease into
  the future and counts the attempt (on PostgreSQL the row is picked with FOR UPDATE SKIP
  LOCKED). Two deliverers, threads or machines, therefore never send the same alert at once.
* It is marked sent only after the channel accepted it. If the process dies in between, the
  claim simply expires and the alert is sent again: nothing is lost, and the resend carries the
  same Message-ID (email) and alert id, so a duplicate is recognisable.
* A failure records the error and waits `backoff * 2**(attempts - 1)` (capped, and at least a
  server's Retry-After); after `alerts.max_attempts` the alert is marked failed, which `status`
  shows. One alert's failure never stops the others.

No database transaction is held open while a channel talks to the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from monitor.alerts.channel import Channel
from monitor.alerts.message import AlertMessage, from_transition
from monitor.config import Config
from monitor.db import Database, installation_id
from monitor.db.models import Alert, Article, Rumour, Transition, utcnow
from monitor.errors import DatabaseError, DeliveryError
from monitor.queries import iso

log = logging.getLogger(__name__)

MAX_DELAY = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=7)  # a server's Retry-After is honoured up to this
MIN_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class AlertOutcome:
    """What happened to one alert in one delivery run."""

    alert_id: int
    channel: str
    rumour_id: str
    status: str  # sent | pending (will retry) | failed (gave up)
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "channel": self.channel,
            "rumour_id": self.rumour_id,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "next_attempt_at": iso(self.next_attempt_at),
        }


@dataclass
class DeliveryReport:
    outcomes: list[AlertOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def retrying(self) -> int:
        return self.count("pending")

    @property
    def failed(self) -> int:
        return self.count("failed")

    def summary(self) -> str:
        return f"alerts: {self.sent} sent, {self.retrying} to retry, {self.failed} failed"

    def counts(self) -> dict[str, int]:
        """The `"alerts"` object of `poll --json` and `replay --deliver --json`."""
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def retry_delay(attempts: int, backoff: float, retry_after: float | None = None) -> timedelta:
    """Wait after the `attempts`-th failed try: doubling from `backoff`, capped at MAX_DELAY."""
    seconds = min(backoff * 2 ** max(attempts - 1, 0), MAX_DELAY.total_seconds())
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, MAX_RETRY_AFTER.total_seconds()))
    return timedelta(seconds=seconds)


def lease_for(config: Config) -> timedelta:
    """How long a claim holds: well beyond the slowest send the channel timeouts allow."""
    timeouts = config.alerts.timeouts()
    return max(MIN_LEASE, timedelta(seconds=5 * max(timeouts, default=0.0)))


def deliver_pending(
    db: Database,
    config: Config,
    channels: Mapping[str, Channel],
    *,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send every pending alert that is due, each at most once per call, and report on each.

    `now` fixes the clock (tests, replays); by default it is the current time.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    lease = lease_for(config)
    report = DeliveryReport()
    # Failed alerts already tried in this call; with a zero backoff they would be due again.
    failed_here: set[int] = set()
    try:
        while (claimed := _claim_next(db, clock(), lease, failed_here)) is not None:
            alert_id, channel_name, attempts, message = claimed
            outcome = _attempt(db, config, channels.get(channel_name), claimed, clock)
            if outcome.status != "sent":
                failed_here.add(alert_id)
            report.outcomes.append(outcome)
            log.log(
                logging.INFO if outcome.status == "sent" else logging.WARNING,
                "alert %d (%s, %s) %s after %d attempt(s)%s",
                alert_id,
                channel_name,
                message.rumour_id,
                outcome.status,
                attempts,
                f": {outcome.error}" if outcome.error else "",
                # fields, so `--log-format json` lines can be selected by rumour or channel
                extra={"alert": alert_id, "channel": channel_name, "rumour": message.rumour_id},
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"alert delivery: database {db.url!r} failed: {exc}") from exc
    return report


_Claim = tuple[int, str, int, AlertMessage]


def _claim_next(db: Database, now: datetime, lease: timedelta, skip: set[int]) -> _Claim | None:
    """Take the next due alert for this deliverer, or None when there is nothing left."""
    pick = aliased(Alert)  # an alias, so the subquery is not correlated to the UPDATE's table
    due = (
        select(pick.id)
        .where(pick.status == "pending", pick.next_attempt_at <= now, pick.id.not_in(skip))
        .order_by(pick.next_attempt_at, pick.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
    )
    # One statement claims: the WHERE is re-checked under the row lock, so of two deliverers
    # racing for the same row exactly one gets it back from RETURNING. "id = (subquery)", not
    # "id IN (subquery)": PostgreSQL runs a scalar subquery once, whereas a semi-join may
    # re-run the LIMIT 1 per row and claim several alerts in one go.
    claim = (
        update(Alert)
        .where(Alert.id == due.scalar_subquery())
        .where(Alert.status == "pending", Alert.next_attempt_at <= now)
        .values(attempts=Alert.attempts + 1, next_attempt_at=now + lease)
        .returning(Alert.id, Alert.channel, Alert.attempts)
        .execution_options(synchronize_session=False)
    )
    with db.transaction() as session:
        row = session.execute(claim).first()
        if row is None:
            return None
        alert_id, channel, attempts = row
        return alert_id, channel, attempts, _message(session, alert_id)


def _message(session: Session, alert_id: int) -> AlertMessage:
    row = session.execute(
        select(Transition, Rumour, Article)
        .join(Alert, Alert.transition_id == Transition.id)
        .join(Rumour, Rumour.id == Transition.rumour_id)
        .outerjoin(Article, Article.id == Transition.article_id)
        .where(Alert.id == alert_id)
    ).one()  # just claimed in this transaction, and transitions cascade to their alerts
    transition, rumour, article = row
    channel = select(Alert.channel).where(Alert.id == alert_id).scalar_subquery()
    first = session.execute(
        select(Alert.id, Alert.transition_id)
        .join(Transition, Transition.id == Alert.transition_id)
        .where(Transition.rumour_id == rumour.id, Alert.channel == channel)
        .order_by(Alert.id)
        .limit(1)
    ).first()
    return from_transition(
        transition,
        rumour,
        article,
        alert_id=alert_id,
        installation=installation_id(session),
        first_alert=(first[0], first[1]) if first is not None else None,
    )


def _attempt(
    db: Database,
    config: Config,
    channel: Channel | None,
    claimed: _Claim,
    clock: Callable[[], datetime],
) -> AlertOutcome:
    alert_id, channel_name, attempts, message = claimed
    try:
        if channel is None:
            raise DeliveryError(_unconfigured(channel_name), channel=channel_name)
        channel.send(message)
    except DeliveryError as exc:
        return _record_failure(db, config, claimed, str(exc), exc.retry_after, clock())
    except Exception as exc:  # a bug in one channel must not stop the other alerts
        log.exception("alert %d: unexpected error on channel %s", alert_id, channel_name)
        reason = f"{channel_name}: unexpected {type(exc).__name__}: {exc}"
        return _record_failure(db, config, claimed, reason, None, clock())
    with db.transaction() as session:
        session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(status="sent", sent_at=clock(), last_error=None)
            .execution_options(synchronize_session=False)
        )
    return AlertOutcome(alert_id, channel_name, message.rumour_id, "sent", attempts)


def _unconfigured(channel_name: str) -> str:
    table = channel_name.split(":", 1)[0]  # "apprise:json:1a2b3c4d" is one URL of [alerts.apprise]
    what = "its URL to [alerts.apprise]" if table == "apprise" else f"[alerts.{table}]"
    return f"channel {channel_name!r} is not configured any more (add {what} back to deliver it)"


def _record_failure(
    db: Database,
    config: Config,
    claimed: _Claim,
    error: str,
    retry_after: float | None,
    now: datetime,
) -> AlertOutcome:
    alert_id, channel_name, attempts, message = claimed
    gave_up = attempts >= config.alerts.max_attempts
    status = "failed" if gave_up else "pending"
    # A failed alert keeps the time it gave up in next_attempt_at (`/healthz` counts from it).
    next_at = now if gave_up else now + retry_delay(attempts, config.alerts.backoff, retry_after)
    with db.transaction() as session:
        # Only our own claim is updated: if it expired and another deliverer took the alert,
        # that deliverer's result stands.
        session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status == "pending", Alert.attempts == attempts)
            .values(status=status, last_error=error[:2000], next_attempt_at=next_at)
            .execution_options(synchronize_session=False)
        )
    return AlertOutcome(
        alert_id=alert_id,
        channel=channel_name,
        rumour_id=message.rumour_id,
        status=status,
        attempts=attempts,
        error=error,
        next_attempt_at=None if gave_up else next_at,
    )
