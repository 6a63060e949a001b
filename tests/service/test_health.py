from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.db import Database
from monitor.db.models import Alert, Article, Evidence, Feed, Rumour, Transition
from monitor.errors import ConfigError, ListenError
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.metrics import Metrics

AT = datetime(2021, 3, 30, 9, 0, tzinfo=UTC)


def _populate(db: Database, *, alert_status: str = "sent") -> None:
    with db.transaction() as s:
        s.add_all(
            [
                Feed(
                    name="ok-feed",
                    config_url="http://a/",
                    url="http://a/",
                    error_count=0,
                    last_success_at=AT,
                ),
                Feed(name="bad-feed", config_url="http://b/", url="http://b/", error_count=3),
                Feed(
                    name="off-feed",
                    config_url="http://c/",
                    url="http://c/",
                    enabled=False,
                    error_count=0,
                ),
            ]
        )
        s.add(Rumour(id="acme", claim="Acme will buy Widget Works"))
        done = Article(
            canonical_url="http://a/1",
            url="http://a/1",
            content_hash="1" * 64,
            published_at=AT,
            processed_at=AT,
            text="Acme confirmed the deal.",
        )
        waiting = Article(
            canonical_url="http://a/2",
            url="http://a/2",
            content_hash="2" * 64,
            published_at=AT,
            text="More news.",
        )
        poison = Article(
            canonical_url="http://a/3",
            url="http://a/3",
            content_hash="3" * 64,
            published_at=AT,
            process_attempts=3,  # failed every attempt: set aside, not pending
            process_error="RuntimeError: bug",
        )
        s.add_all([done, waiting, poison])
        s.flush()
        ev = Evidence(
            rumour_id="acme",
            article_id=done.id,
            sentence="Acme confirmed the deal.",
            stance="supports",
            signal="confirm",
            similarity=0.8,
            confidence_before=0.5,
            confidence_after=0.7,
            at=AT,
        )
        s.add(ev)
        s.flush()
        tr = Transition(
            rumour_id="acme",
            evidence_id=ev.id,
            article_id=done.id,
            from_state="unconfirmed",
            to_state="confirmed",
            signal="confirm",
            confidence_before=0.5,
            confidence_after=0.7,
            at=AT,
        )
        s.add(tr)
        s.flush()
        s.add(Alert(transition_id=tr.id, channel="slack", status=alert_status, attempts=1))
        s.add(Alert(transition_id=tr.id, channel="email", status="pending", attempts=0))


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_database_rows_at_scrape_time(db: Database) -> None:
    metrics = Metrics(db)
    _populate(db)
    metrics.observe_embedding(0.2, sentences=12)
    metrics.record_poll("new_entries", 2)
    samples = _samples(metrics.render())
    assert samples[("rumour_monitor_database_up", ())] == 1
    assert samples[("rumour_monitor_feeds", (("status", "ok"),))] == 1
    assert samples[("rumour_monitor_feeds", (("status", "failing"),))] == 1
    assert samples[("rumour_monitor_feeds", (("status", "disabled"),))] == 1
    assert samples[("rumour_monitor_feed_consecutive_errors", (("feed", "bad-feed"),))] == 3
    assert samples[("rumour_monitor_articles", (("status", "pending"),))] == 1
    assert samples[("rumour_monitor_articles", (("status", "processed"),))] == 1
    assert samples[("rumour_monitor_articles", (("status", "set_aside"),))] == 1
    assert samples[("rumour_monitor_evidence_total", (("signal", "confirm"),))] == 1
    assert samples[("rumour_monitor_transitions_total", (("to", "confirmed"),))] == 1
    assert samples[("rumour_monitor_alerts", (("channel", "slack"), ("status", "sent")))] == 1
    assert samples[("rumour_monitor_alerts", (("channel", "email"), ("status", "pending")))] == 1
    assert samples[("rumour_monitor_embedding_seconds_count", ())] == 1
    assert samples[("rumour_monitor_embedded_sentences_total", ())] == 12
    assert samples[("rumour_monitor_feed_polls_total", (("outcome", "new_entries"),))] == 2


def test_metrics_chart_each_rumour_and_type_cumulative_counts_as_counters(db: Database) -> None:
    _populate(db)
    with db.transaction() as s:
        s.add(Rumour(id="retired", claim="Gone Corp will buy Nothing", active=False))
        acme = s.get(Rumour, "acme")
        assert acme is not None
        acme.state, acme.confidence = "confirmed", 0.7  # as the tracker leaves it
    body = Metrics(db).render()
    samples = _samples(body)
    assert samples[("rumour_monitor_rumour_confidence", (("rumour", "acme"),))] == 0.7
    info = ("claim", "Acme will buy Widget Works"), ("rumour", "acme"), ("state", "confirmed")
    assert samples[("rumour_monitor_rumour_info", info)] == 1
    assert not [key for key in samples if ("rumour", "retired") in key[1]]  # active ones only
    families = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert families["rumour_monitor_evidence"] == "counter"
    assert families["rumour_monitor_transitions"] == "counter"
    assert families["rumour_monitor_rumours"] == "gauge"  # goes down as well as up
    assert "# TYPE rumour_monitor_evidence_total counter" in body.decode()


def test_metrics_report_an_unreachable_database_instead_of_failing() -> None:
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    samples = _samples(Metrics(dead).render())
    assert samples[("rumour_monitor_database_up", ())] == 0
    dead.dispose()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_status_server_answers_healthz_and_metrics(sqlite_db: Database) -> None:
    running = {"yes": True}
    health = HealthCheck(sqlite_db, scheduler_running=lambda: running["yes"])
    server = StatusServer("127.0.0.1:0", health, Metrics(sqlite_db)).start()
    base = f"http://{server.address}"
    try:
        assert _get(f"{base}/healthz") == (200, "ok\n")
        status, body = _get(f"{base}/metrics")
        assert status == 200 and "rumour_monitor_database_up 1.0" in body
        assert _get(f"{base}/nope")[0] == 404
        running["yes"] = False
        status, body = _get(f"{base}/healthz")
        assert status == 503 and "scheduler stopped" in body
    finally:
        server.stop()


def test_healthz_names_failing_alerts(db: Database) -> None:
    _populate(db, alert_status="failed")
    reasons = HealthCheck(db, scheduler_running=lambda: True).reasons()
    assert len(reasons) == 1 and reasons[0].startswith("alerts failing: 1 failed")


def test_old_failures_no_longer_make_the_service_unhealthy(db: Database) -> None:
    _populate(db, alert_status="failed")
    with db.transaction() as s:
        for alert in s.query(Alert):
            alert.created_at = datetime.now(UTC) - timedelta(days=4)
            alert.next_attempt_at = datetime.now(UTC) - timedelta(days=3)  # when it gave up
    assert HealthCheck(db, scheduler_running=lambda: True).reasons() == []


def test_an_old_alert_that_gave_up_just_now_makes_the_service_unhealthy(db: Database) -> None:
    # With backoff = "1h" the eighth attempt comes 31 h after the change; an alert queued
    # two days ago that failed an hour ago (or one retried by hand) is a fresh failure.
    _populate(db, alert_status="failed")
    with db.transaction() as s:
        for alert in s.query(Alert):
            alert.created_at = datetime.now(UTC) - timedelta(days=2)
            alert.next_attempt_at = datetime.now(UTC) - timedelta(hours=1)  # when it gave up
    reasons = HealthCheck(db, scheduler_running=lambda: True).reasons()
    assert len(reasons) == 1 and reasons[0].startswith("alerts failing: 1 failed")


def test_healthz_names_an_unreachable_database_and_a_lost_lock() -> None:
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    reasons = HealthCheck(dead, scheduler_running=lambda: True, lock_alive=lambda: False).reasons()
    assert reasons[0].startswith("scheduler lock lost")
    assert reasons[1].startswith("database unreachable")
    dead.dispose()


def test_listen_address_in_use_is_a_runtime_error_systemd_restarts(sqlite_db: Database) -> None:
    health = HealthCheck(sqlite_db, scheduler_running=lambda: True)
    first = StatusServer("127.0.0.1:0", health, Metrics()).start()
    try:
        with pytest.raises(ListenError, match=r"service\.listen: .* is in use") as info:
            StatusServer(first.address, health, Metrics())
        assert info.value.exit_code == 1  # not 2: RestartPreventExitStatus=2 would stop retries
    finally:
        first.stop()


def test_a_listen_address_not_on_this_host_is_a_config_error(sqlite_db: Database) -> None:
    health = HealthCheck(sqlite_db, scheduler_running=lambda: True)
    with pytest.raises(ConfigError, match=r"service\.listen: cannot listen on 192\.0\.2\.1"):
        StatusServer("192.0.2.1:9464", health, Metrics())  # TEST-NET-1: never a local address


def test_rumour_gauge_counts_active_rumours_only(db: Database) -> None:
    # A rumour removed from the seeds is retired, not deleted: it is no longer tracked.
    with db.transaction() as s:
        s.add(Rumour(id="live", claim="Acme will buy Widget Works", state="confirmed"))
        s.add(Rumour(id="gone", claim="Acme will buy Gadget Co", state="denied", active=False))
    samples = _samples(Metrics(db).render())
    assert samples[("rumour_monitor_rumours", (("state", "confirmed"),))] == 1
    assert samples[("rumour_monitor_rumours", (("state", "denied"),))] == 0  # retired: not counted


def test_a_fresh_database_reports_every_state_and_signal_at_zero(db: Database) -> None:
    # Alert rules on rumour_monitor_rumours{state="denied"} need the series before any denial.
    samples = _samples(Metrics(db).render())
    for state in ("unconfirmed", "confirmed", "formalized", "denied", "abandoned"):
        assert samples[("rumour_monitor_rumours", (("state", state),))] == 0
    assert samples[("rumour_monitor_transitions_total", (("to", "denied"),))] == 0
    assert samples[("rumour_monitor_evidence_total", (("signal", "formalize"),))] == 0
    assert ("rumour_monitor_transitions_total", (("to", "unconfirmed"),)) not in samples


def _feeds(db: Database, *error_counts: int, last_success: datetime | None = AT) -> None:
    with db.transaction() as s:
        for n, errors in enumerate(error_counts):
            url = f"http://feed{n}.example/"
            s.add(
                Feed(
                    name=f"feed{n}",
                    config_url=url,
                    url=url,
                    error_count=errors,
                    last_error="HTTP 503" if errors else None,
                    last_success_at=last_success,
                )
            )


def _answers(db: Database) -> dict[str, tuple[int, str]]:
    health = HealthCheck(db, scheduler_running=lambda: True)
    server = StatusServer("127.0.0.1:0", health, Metrics()).start()
    try:
        return {
            p: _get(f"http://{server.address}{p}") for p in ("/healthz", "/readyz", "/healthz.json")
        }
    finally:
        server.stop()


def test_every_feed_failing_is_alive_but_not_ready(db: Database) -> None:
    # /healthz said "200 ok" while every feed was failing: it still does (the process is
    # fine, a restart would not help), but /readyz and /healthz.json say what is wrong.
    _feeds(db, 4, 2)
    answers = _answers(db)
    assert answers["/healthz"] == (200, "ok\n")
    code, body = answers["/readyz"]
    assert code == 503
    assert body == (
        "every feed failing: 2 of 2 feeds failing (no success since 2021-03-30 09:00Z):"
        " feed0, feed1\n"
    )
    code, body = answers["/healthz.json"]
    report = json.loads(body)
    assert code == 200 and report["status"] == "degraded"
    assert (report["live"], report["ready"]) == (True, False)
    assert report["feeds"] == {
        "enabled": 2,
        "failing": 2,
        "failing_feeds": ["feed0", "feed1"],
        "failing_since": "2021-03-30T09:00:00+00:00",
    }


def test_some_feeds_failing_is_ready_and_degraded(db: Database) -> None:
    _feeds(db, 0, 3, 0)
    answers = _answers(db)
    code, body = answers["/readyz"]
    assert code == 200
    assert body.startswith("ready (degraded: 1 of 3 feeds failing (no success since")
    report = json.loads(answers["/healthz.json"][1])
    assert (report["status"], report["ready"]) == ("degraded", True)
    assert report["feeds"]["failing_feeds"] == ["feed1"]


def test_a_healthy_service_is_ok_everywhere(db: Database) -> None:
    _feeds(db, 0, 0)
    answers = _answers(db)
    assert answers["/readyz"] == (200, "ready\n")
    report = json.loads(answers["/healthz.json"][1])
    assert report["status"] == "ok" and report["reasons"] == []
    assert report["alerts"] == {"pending": 0, "overdue": 0, "oldest_due_at": None}


def test_an_alert_backlog_makes_the_service_not_ready(db: Database) -> None:
    _populate(db)  # one email alert pending, due now
    assert _answers(db)["/readyz"][0] == 200  # just queued: delivery has its time
    with db.transaction() as s:
        for alert in s.query(Alert).filter(Alert.status == "pending"):
            alert.next_attempt_at = datetime.now(UTC) - timedelta(hours=2)
    answers = _answers(db)
    code, body = answers["/readyz"]
    assert code == 503 and body.startswith("alert backlog: 1 of 1 pending alerts due since")
    report = json.loads(answers["/healthz.json"][1])
    assert report["alerts"]["overdue"] == 1 and report["status"] == "degraded"


def test_a_broken_service_fails_every_probe(sqlite_db: Database) -> None:
    health = HealthCheck(sqlite_db, scheduler_running=lambda: False)
    server = StatusServer("127.0.0.1:0", health, Metrics()).start()
    try:
        for path in ("/healthz", "/readyz", "/healthz.json"):
            code, body = _get(f"http://{server.address}{path}")
            assert code == 503 and "scheduler stopped" in body
    finally:
        server.stop()
