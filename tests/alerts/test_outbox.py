from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor.alerts.outbox import channel_names, enqueue
from monitor.config import AlertsConfig, SlackConfig
from monitor.db import Database
from monitor.db.models import Alert, Rumour, Transition


def _alerts(slack: bool) -> AlertsConfig:
    hook = SlackConfig(webhook_url="https://hooks.example/x", timeout=5) if slack else None
    return AlertsConfig(email=None, slack=hook, max_attempts=3, backoff=1.0)


def test_console_is_the_channel_when_none_is_configured() -> None:
    assert channel_names(_alerts(slack=False)) == ("console",)
    assert channel_names(_alerts(slack=True)) == ("slack",)


def _transition() -> Transition:
    return Transition(
        rumour_id="r",
        from_state="unconfirmed",
        to_state="denied",
        signal="deny",
        sentence="Acme said it has no plans to buy Widget Works.",
        confidence_before=0.5,
        confidence_after=0.2,
        at=datetime(2021, 2, 19, tzinfo=UTC),
    )


def test_alerts_commit_with_their_transition_and_never_twice(db: Database) -> None:
    with db.transaction() as s:
        s.add(Rumour(id="r", claim="Acme will buy Widget Works", entities=["Acme"], paraphrases=[]))
        t = _transition()
        s.add(t)
        enqueue(s, t, ["email", "slack"])
    with db.sessions() as s:
        rows = s.scalars(select(Alert).order_by(Alert.channel)).all()
        assert [(a.channel, a.status, a.attempts) for a in rows] == [
            ("email", "pending", 0),
            ("slack", "pending", 0),
        ]
        tid = rows[0].transition_id
    with pytest.raises(IntegrityError), db.transaction() as s:
        t = s.get(Transition, tid)
        assert t is not None
        enqueue(s, t, ["email"])


def test_a_rolled_back_transition_leaves_no_alert(db: Database) -> None:
    with db.transaction() as s:
        s.add(Rumour(id="r", claim="Acme will buy Widget Works", entities=["Acme"], paraphrases=[]))
    with pytest.raises(RuntimeError), db.transaction() as s:
        t = _transition()
        s.add(t)
        enqueue(s, t, ["console"])
        s.flush()
        raise RuntimeError("crash before commit")
    with db.sessions() as s:
        assert s.scalars(select(Alert)).all() == []
