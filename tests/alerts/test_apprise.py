"""The Apprise channel against a real local server: Apprise's json:// URL posting to it."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.alerts.apprise import AppriseChannel
from monitor.alerts.channel import channels_from_config
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.message import email_subject, make_test_message, render_text
from monitor.alerts.outbox import channel_names
from monitor.config import Config, apprise_channel, load_config
from monitor.db import Database
from monitor.db.models import utcnow
from monitor.errors import ConfigError, DeliveryError
from tests.alerts.conftest import EVIL_TITLE_HTML, add_transition, alert_row, free_port

HOOK = "/notify"


def apprise_toml(*urls: str, timeout: str = "5s") -> str:
    listed = ", ".join(f'"{url}"' for url in urls)
    return f"""
[alerts]
max_attempts = 3
backoff = "1m"

[alerts.apprise]
urls = [{listed}]
timeout = "{timeout}"
"""


def json_url(httpserver: HTTPServer, path: str = HOOK) -> str:
    return f"json://127.0.0.1:{httpserver.port}{path}"


def _posted(httpserver: HTTPServer) -> list[dict[str, object]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def test_posts_subject_as_title_and_plain_text_as_body(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request(HOOK, method="POST").respond_with_data("ok")
    url = json_url(httpserver)
    config = alert_config(apprise_toml(url))
    (name,) = channel_names(config.alerts)
    assert re.fullmatch(r"apprise:json:[0-9a-f]{8}", name) and name == apprise_channel(url)
    (alert_id,) = add_transition(db, [name])

    report = deliver_pending(db, config, channels_from_config(config.alerts))

    assert report.sent == 1
    (payload,) = _posted(httpserver)
    assert payload["title"] == (
        "[rumour] Xiaomi will build its cars with Great Wall Motors: unconfirmed -> formalized"
    )
    body = str(payload["message"])
    for part in ("xiaomi-gwm", "0.55 -> 0.93 (formalize)", "https://news.example/xiaomi-gwm"):
        assert part in body
    assert alert_row(db, alert_id).status == "sent"


def test_a_500_is_retried_by_the_outbox_then_delivered_once(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_ordered_request(HOOK).respond_with_data("boom", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    config = alert_config(apprise_toml(json_url(httpserver)))
    channels = channels_from_config(config.alerts)
    (alert_id,) = add_transition(db, list(channels))
    t0 = utcnow() + timedelta(seconds=1)

    assert deliver_pending(db, config, channels, now=t0).retrying == 1
    row = alert_row(db, alert_id)
    assert "apprise json://127.0.0.1" in (row.last_error or "")
    assert "error=500" in (row.last_error or "")
    assert row.next_attempt_at == t0 + timedelta(minutes=1)

    assert deliver_pending(db, config, channels, now=t0 + timedelta(minutes=1)).sent == 1
    assert deliver_pending(db, config, channels, now=t0 + timedelta(days=1)).outcomes == []
    assert len(httpserver.log) == 2
    httpserver.check_assertions()
    assert alert_row(db, alert_id).status == "sent"


def test_each_url_is_its_own_channel_so_a_retry_skips_the_urls_that_took_it(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request("/good").respond_with_data("ok")
    # a one-shot answer wins over the permanent one, so /flaky fails once, then works
    httpserver.expect_oneshot_request("/flaky").respond_with_data("down", status=503)
    httpserver.expect_request("/flaky").respond_with_data("ok")
    good, flaky = json_url(httpserver, "/good"), json_url(httpserver, "/flaky")
    config = alert_config(apprise_toml(good, flaky))
    channels = channels_from_config(config.alerts)
    assert list(channels) == [apprise_channel(good), apprise_channel(flaky)]
    add_transition(db, list(channel_names(config.alerts)))
    t0 = utcnow() + timedelta(seconds=1)

    first = deliver_pending(db, config, channels, now=t0)
    assert (first.sent, first.retrying) == (1, 1)
    assert deliver_pending(db, config, channels, now=t0 + timedelta(minutes=1)).sent == 1
    paths = [request.path for request, _ in httpserver.log]
    assert sorted(paths) == ["/flaky", "/flaky", "/good"]


def test_a_malicious_title_stays_plain_text_in_the_payload(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request(HOOK).respond_with_data("ok")
    config = alert_config(apprise_toml(json_url(httpserver)))
    channels = channels_from_config(config.alerts)
    sentence = "Sources say <b>Xiaomi</b> & **GWM** [click](javascript:alert(1)) signed."
    add_transition(db, list(channels), title=EVIL_TITLE_HTML, sentence=sentence)
    assert deliver_pending(db, config, channels).sent == 1
    # the claim, which becomes the title, is untrusted too
    evil = replace(make_test_message(), claim=f"Acme {EVIL_TITLE_HTML}")
    next(iter(channels.values())).send(evil)

    alert, direct = _posted(httpserver)
    assert EVIL_TITLE_HTML in str(alert["message"])  # as written: not escaped, not rendered
    assert sentence in str(alert["message"])
    assert direct["title"] == email_subject(evil) and EVIL_TITLE_HTML in str(direct["title"])
    assert direct["message"] == render_text(evil).rstrip("\n")  # Apprise trims the end
    for payload in (alert, direct):
        assert "&lt;" not in json.dumps(payload) and "&amp;" not in json.dumps(payload)


def test_an_unreachable_url_is_a_delivery_error_naming_the_channel() -> None:
    name = "apprise:json:00000000"
    channel = AppriseChannel(name, f"json://127.0.0.1:{free_port()}{HOOK}", timeout=2)
    with pytest.raises(DeliveryError, match=r"apprise json://127\.0\.0\.1:\d+/notify: ") as info:
        channel.send(make_test_message())
    assert info.value.channel == name


def test_the_channel_timeout_bounds_a_slow_server(httpserver: HTTPServer) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(3.0)
        return Response("late")

    httpserver.expect_request(HOOK).respond_with_handler(slow)
    channel = AppriseChannel("apprise:json:x", json_url(httpserver), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"apprise json://127\.0\.0\.1"):
        channel.send(make_test_message())
    # Well under the 3 s answer, with room for a loaded machine.
    assert time.monotonic() - started < 2.5


def test_secret_urls_come_from_the_environment_and_stay_out_of_repr(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "RM_APPRISE",
        " json://u:hunter2@127.0.0.1:9/a,\n  form://127.0.0.1:9/b json://127.0.0.1:9/c",
    )
    alerts = load_config(write_config("[alerts.apprise]\nurls_env = 'RM_APPRISE'\n")).alerts
    assert alerts.apprise is not None
    assert alerts.apprise.urls == (
        "json://u:hunter2@127.0.0.1:9/a",
        "form://127.0.0.1:9/b",
        "json://127.0.0.1:9/c",
    )
    assert alerts.apprise.timeout == 20.0
    assert "hunter2" not in repr(alerts)
    assert len(channel_names(alerts)) == 3
    assert alerts.timeouts() == [20.0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[alerts.apprise]\n", r"alerts\.apprise\.urls: is required \(or urls_env"),
        ("[alerts.apprise]\nurls = []\n", r"alerts\.apprise\.urls: must list at least one"),
        ("[alerts.apprise]\nurls = 'json://h/x'\n", r"alerts\.apprise\.urls: must be a list"),
        (
            "[alerts.apprise]\nurls = ['json://h/x']\nurls_env = 'X'\n",
            r"alerts\.apprise\.urls: give either urls or urls_env",
        ),
        (
            "[alerts.apprise]\nurls_env = 'RM_TEST_UNSET_VAR'\n",
            r"alerts\.apprise\.urls_env: environment variable RM_TEST_UNSET_VAR is not set",
        ),
        (
            "[alerts.apprise]\nurls = ['json://h/x', 'nosuch://tok3n@h']\n",
            r"alerts\.apprise\.urls: URL 2 \(nosuch://\.\.\.\) is not one Apprise can use",
        ),
        (
            "[alerts.apprise]\nurls = ['json://h/x', 'json://h/x']\n",
            r"alerts\.apprise\.urls: URL 2 \(json://\.\.\.\) is listed twice",
        ),
        (
            "[alerts.apprise]\nurls = ['json://h/x']\nwebhook = 'x'\n",
            r"alerts\.apprise\.webhook: unknown key",
        ),
    ],
)
def test_config_errors_name_the_key(
    write_config: Callable[..., Path], body: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write_config(body))
    assert "tok3n" not in str(info.value)  # URLs are secrets: never echoed


def test_a_missing_apprise_package_is_a_config_error_saying_how_to_install(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # makes `import apprise` fail
    path = write_config("[alerts.apprise]\nurls = ['json://127.0.0.1:9/x']\n")
    with pytest.raises(
        ConfigError, match=r"alerts\.apprise: .*pip install 'rumour-monitor\[apprise\]'"
    ):
        load_config(path)
    # without the table the package is never needed
    assert load_config(write_config("")).alerts.apprise is None


def test_an_alert_for_a_removed_url_says_where_to_put_it_back(
    db: Database, httpserver: HTTPServer, alert_config: Callable[..., Config]
) -> None:
    httpserver.expect_request(HOOK).respond_with_data("ok")
    config = alert_config(apprise_toml(json_url(httpserver)))
    (alert_id,) = add_transition(db, ["apprise:json:0badc0de"])  # a URL since removed
    assert deliver_pending(db, config, channels_from_config(config.alerts)).retrying == 1
    error = alert_row(db, alert_id).last_error or ""
    assert "'apprise:json:0badc0de' is not configured any more" in error
    assert "add its URL to [alerts.apprise] back" in error
    assert httpserver.log == []
