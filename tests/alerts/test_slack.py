"""The Slack channel against a real local HTTP server standing in for the webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from monitor.alerts.channel import channels_from_config
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.message import make_test_message
from monitor.alerts.slack import SlackChannel, retry_after_seconds
from monitor.config import Config
from monitor.db import Database
from monitor.db.models import utcnow
from monitor.errors import DeliveryError
from tests.alerts.conftest import EVIL_TITLE_HTML, add_transition, alert_row, free_port, slack_toml

HOOK = "/services/T000/B000/SECRETTOKEN"


def _posted(httpserver: HTTPServer) -> list[dict[str, object]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def test_posts_text_and_blocks_and_marks_sent(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request(HOOK, method="POST").respond_with_data("ok")
    config = alert_config(slack_toml(httpserver.url_for(HOOK)))
    (alert_id,) = add_transition(db, ["slack"])

    report = deliver_pending(db, config, channels_from_config(config.alerts))

    assert report.sent == 1
    (payload,) = _posted(httpserver)
    assert payload["text"] == (
        "[rumour] Xiaomi will build its cars with Great Wall Motors: unconfirmed -&gt; formalized"
    )
    blocks = json.dumps(payload["blocks"], ensure_ascii=False)
    for part in ("xiaomi-gwm", "0.55 -&gt; 0.93", "“Xiaomi signed an agreement", "Example News"):
        assert part in blocks
    assert "Xiaomi signs deal with Great Wall Motors" in blocks
    assert "<https://news.example/xiaomi-gwm|open the article>" in blocks
    assert httpserver.log[0][0].headers["Content-Type"] == "application/json"
    assert alert_row(db, alert_id).status == "sent"


def test_a_500_is_retried_after_backoff_then_sent_once(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_ordered_request(HOOK).respond_with_data("internal_error", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    config = alert_config(slack_toml(httpserver.url_for(HOOK)))
    channels = channels_from_config(config.alerts)
    (alert_id,) = add_transition(db, ["slack"])
    t0 = utcnow() + timedelta(seconds=1)

    assert deliver_pending(db, config, channels, now=t0).retrying == 1
    row = alert_row(db, alert_id)
    assert "HTTP 500: internal_error" in (row.last_error or "")
    assert "SECRETTOKEN" not in (row.last_error or "")  # the webhook path is a credential
    assert row.next_attempt_at == t0 + timedelta(minutes=1)

    assert deliver_pending(db, config, channels, now=t0 + timedelta(minutes=1)).sent == 1
    assert deliver_pending(db, config, channels, now=t0 + timedelta(days=1)).outcomes == []
    assert len(httpserver.log) == 2
    httpserver.check_assertions()
    assert alert_row(db, alert_id).status == "sent"


def test_an_html_error_page_is_reported_on_one_line(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    # A proxy in front of the webhook answers with a page, not Slack's one-word error.
    page = "<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body>nginx</body>\n</html>\n"
    httpserver.expect_request(HOOK).respond_with_data(page, status=502)
    config = alert_config(slack_toml(httpserver.url_for(HOOK)))
    (alert_id,) = add_transition(db, ["slack"])

    deliver_pending(db, config, channels_from_config(config.alerts))

    error = alert_row(db, alert_id).last_error or ""
    assert "\n" not in error
    assert "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body>" in error


def test_429_retry_after_is_honoured(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_ordered_request(HOOK).respond_with_response(
        Response("rate_limited", status=429, headers={"Retry-After": "600"})
    )
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    config = alert_config(slack_toml(httpserver.url_for(HOOK)))  # backoff would be 1m
    channels = channels_from_config(config.alerts)
    (alert_id,) = add_transition(db, ["slack"])
    t0 = utcnow() + timedelta(seconds=1)

    outcome = deliver_pending(db, config, channels, now=t0).outcomes[0]
    assert outcome.status == "pending" and "429" in (outcome.error or "")
    assert alert_row(db, alert_id).next_attempt_at == t0 + timedelta(seconds=600)
    # after the backoff but before Retry-After: Slack is left alone
    assert deliver_pending(db, config, channels, now=t0 + timedelta(minutes=5)).outcomes == []
    assert len(httpserver.log) == 1
    assert deliver_pending(db, config, channels, now=t0 + timedelta(minutes=10)).sent == 1
    assert len(httpserver.log) == 2


def test_malicious_title_cannot_ping_or_link_in_slack(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request(HOOK).respond_with_data("ok")
    config = alert_config(slack_toml(httpserver.url_for(HOOK)))
    add_transition(
        db,
        ["slack"],
        title=EVIL_TITLE_HTML,
        sentence="Sources say <!everyone> should read <https://evil.example|this>.",
    )
    assert deliver_pending(db, config, channels_from_config(config.alerts)).sent == 1
    payload = json.loads(httpserver.log[0][0].get_data(as_text=True))
    assert "<!channel>" not in payload["text"] and payload["mrkdwn"] is False
    # Mentions and links have effect only in mrkdwn: the article's text arrives as plain_text,
    # and the only link in mrkdwn is ours, to the source.
    texts = [
        (o["type"], o["text"])
        for block in payload["blocks"]
        for o in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if o is not None
    ]
    mrkdwn = "".join(text for kind, text in texts if kind == "mrkdwn")
    for bad in ("<!", "<http://evil", "<https://evil", "<script>", "this>", "click here"):
        assert bad not in mrkdwn
    assert mrkdwn.count("<") == 1 and "<https://news.example/xiaomi-gwm|" in mrkdwn
    assert ("plain_text", EVIL_TITLE_HTML) in texts


def test_an_unreachable_webhook_is_a_delivery_error(alert_config: Callable[..., Config]) -> None:
    config = alert_config(slack_toml(f"http://127.0.0.1:{free_port()}{HOOK}"))
    assert config.alerts.slack is not None
    with pytest.raises(
        DeliveryError, match=r"slack webhook at 127\.0\.0\.1:\d+: ConnectError"
    ) as info:
        SlackChannel(config.alerts.slack).send(make_test_message())
    assert "SECRETTOKEN" not in str(info.value)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Wed, 01 May 2024 12:02:00 GMT", now=now) == 120.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
