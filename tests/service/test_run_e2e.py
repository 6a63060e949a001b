"""`rumour-monitor run` as a real subprocess against local feed and webhook servers.

The feeds, article pages and the Slack webhook are served by pytest-httpserver on 127.0.0.1;
the monitor loads the real bundled model, writes a real SQLite database, and is stopped by real
signals. These tests take about a minute: the model is loaded by each `run` that has articles.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Alert, Article, Evidence, FeedEntry, Transition

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

ACME_PAGE = """<html><head><title>Acme signs deal for Widget Works</title></head><body>
<article><h1>Acme signs deal for Widget Works</h1>
<p>Acme Corp said on Monday it has signed a definitive agreement to acquire Widget Works for
2 billion dollars, ending months of speculation about the two companies.</p>
<p>The transaction still needs the approval of regulators in several countries and is expected
to close in the second half of next year, the companies said in a joint statement.</p>
<p>Widget Works makes precision parts for industrial machines and employs about 4,000 people
at plants in three countries.</p></article></body></html>"""

GLOBEX_PAGE = """<html><head><title>Globex scraps its electric truck</title></head><body>
<article><h1>Globex scraps its electric truck</h1>
<p>Globex said on Friday it has cancelled its plan to launch an electric truck in 2027,
scrapping the project after battery costs rose sharply.</p>
<p>The company will concentrate on its existing diesel range and on hydrogen research instead,
a spokesperson said, adding that the engineers on the project would move to other teams.</p>
<p>Analysts had expected the truck to compete with several rivals already on the market.</p>
</article></body></html>"""


def _rss(base: str, items: list[tuple[str, str]]) -> str:
    date = format_datetime(__import__("datetime").datetime.now(__import__("datetime").UTC))
    body = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
        f"<pubDate>{date}</pubDate><description>{title}</description></item>"
        for path, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>'
        f"<link>{base}/</link><description>test</description>{body}</channel></rss>"
    )


@dataclass
class Site:
    """The local web: feeds, pages and a webhook, with a log of what the monitor asked for."""

    server: HTTPServer
    feed_hits: dict[str, list[float]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.server.url_for("").rstrip("/")

    def feed(self, path: str, items: list[tuple[str, str]]) -> None:
        hits = self.feed_hits.setdefault(path, [])
        xml = _rss(self.base, items)

        def handler(_request: Request) -> Response:
            hits.append(time.monotonic())
            return Response(xml, content_type="application/rss+xml")

        self.server.expect_request(path).respond_with_handler(handler)

    def page(
        self,
        path: str,
        html: str,
        gate: threading.Event | None = None,
        asked: threading.Event | None = None,
    ) -> None:
        def handler(_request: Request) -> Response:
            if asked is not None:
                asked.set()
            if gate is not None:
                gate.wait(60)
            return Response(html, content_type="text/html; charset=utf-8")

        self.server.expect_request(path).respond_with_handler(handler)

    def webhook(self) -> str:
        def handler(request: Request) -> Response:
            self.posts.append(json.loads(request.get_data()))
            return Response("ok")

        self.server.expect_request("/hooks/slack", method="POST").respond_with_handler(handler)
        return f"{self.base}/hooks/slack"


@pytest.fixture
def site(httpserver: HTTPServer) -> Iterator[Site]:
    yield Site(httpserver)
    httpserver.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(write_config: Callable[..., Path], site: Site, feeds: list[str], port: int) -> Path:
    feed_tables = "".join(
        f'[[feeds]]\nname = "{path.strip("/")}"\nurl = "{site.base}{path}"\ninterval = "10s"\n'
        for path in feeds
    )
    body = f"""
[polling]
timeout = "20s"
host_delay = "0s"

[service]
tick = "1s"
listen = "127.0.0.1:{port}"

[alerts.slack]
webhook_url = "{site.webhook()}"

{feed_tables}
"""
    path = write_config(body)
    code = CliRunner().invoke(cli, ["--config", str(path), "init"]).exit_code
    assert code == 0
    return path


class Monitor:
    """One `rumour-monitor run` subprocess, its stderr kept in a file."""

    def __init__(self, config: Path, name: str) -> None:
        self.log = config.parent / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        env.pop("NOTIFY_SOCKET", None)
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "monitor",
                    "--config",
                    str(config),
                    "--log-level",
                    "info",
                    "--log-format",
                    "json",
                    "run",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                cwd=config.parent,
            )

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _wait(predicate: Callable[[], bool], what: str, monitor: Monitor, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if monitor.proc.poll() is not None:
            pytest.fail(
                f"monitor exited ({monitor.proc.returncode}) before {what}:\n"
                + monitor.log.read_text()[-3000:]
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n" + monitor.log.read_text()[-3000:])
        time.sleep(0.1)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


def _counts(config: Path) -> dict[str, int]:
    db = Database(f"sqlite:///{config.parent / 'state' / 'rumours.db'}")
    try:
        with db.sessions() as s:
            dup_evidence = s.execute(
                select(Evidence.rumour_id, Evidence.article_id)
                .group_by(Evidence.rumour_id, Evidence.article_id)
                .having(func.count() > 1)
            ).all()
            return {
                "articles": s.scalar(select(func.count()).select_from(Article)) or 0,
                "unprocessed": s.scalar(select(func.count()).where(Article.processed_at.is_(None)))
                or 0,
                "entries": s.scalar(select(func.count()).select_from(FeedEntry)) or 0,
                "evidence": s.scalar(select(func.count()).select_from(Evidence)) or 0,
                "duplicate_evidence": len(dup_evidence),
                "transitions": s.scalar(select(func.count()).select_from(Transition)) or 0,
                "alerts_sent": s.scalar(select(func.count()).where(Alert.status == "sent")) or 0,
                "alerts": s.scalar(select(func.count()).select_from(Alert)) or 0,
            }
    finally:
        db.dispose()


def test_run_polls_on_schedule_alerts_once_answers_health_and_stops_on_sigterm(
    write_config: Callable[..., Path], site: Site
) -> None:
    port = _free_port()
    site.feed("/acme.xml", [("/news/acme-deal", "Acme signs deal for Widget Works")])
    site.page("/news/acme-deal", ACME_PAGE)
    config = _config(write_config, site, ["/acme.xml"], port)
    status_url = f"http://127.0.0.1:{port}"

    first = Monitor(config, "first")
    try:
        _wait(lambda: len(site.posts) >= 1, "the Slack alert", first)
        status, body = _get(f"{status_url}/healthz")
        assert (status, body) == (200, "ok\n")
        status, metrics = _get(f"{status_url}/metrics")
        assert status == 200
        assert 'rumour_monitor_alerts{channel="slack",status="sent"} 1.0' in metrics
        assert 'rumour_monitor_feeds{status="ok"} 1.0' in metrics
        assert 'rumour_monitor_articles{status="processed"} 1.0' in metrics
        assert "rumour_monitor_evidence_total{" in metrics
        assert "rumour_monitor_embedding_seconds_count" in metrics
        assert 'rumour_monitor_feed_polls_total{outcome="new"}' in metrics

        # A second scheduler on the same database is refused, and says why.
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert second.returncode == 1
        assert "already schedules" in second.stderr and f"pid {first.proc.pid}" in second.stderr

        # The feed is due every 10 s while the scheduler ticks every second: only due polls.
        _wait(lambda: len(site.feed_hits["/acme.xml"]) >= 2, "the second poll", first, 60)
        hits = site.feed_hits["/acme.xml"]
        assert hits[1] - hits[0] >= 9
        elapsed = time.monotonic() - hits[0]
        assert len(hits) <= elapsed / 10 + 1

        code, took = first.stop(signal.SIGTERM)
        assert code == 0 and took < 10
    finally:
        first.kill()

    assert len(site.posts) == 1  # one transition, one channel, one alert
    assert "acme-widgets" in json.dumps(site.posts[0])
    events = first.events()
    assert any(
        e["message"] == "rumour changed state" and e.get("rumour") == "acme-widgets" for e in events
    )
    assert any(e["message"] == "job done" and e.get("job") == "poll" for e in events)
    assert events[-1]["message"] == "scheduler stopped" and events[-1]["exit_code"] == 0

    # A restart finds the alert already sent and sends nothing again.
    again = Monitor(config, "again")
    try:
        _wait(lambda: _get(f"{status_url}/healthz")[0] == 200, "the restarted service", again, 60)
        time.sleep(3)  # several ticks of poll and deliver
        code, took = again.stop(signal.SIGINT)
        assert code == 0 and took < 10
    finally:
        again.kill()
    assert len(site.posts) == 1
    counts = _counts(config)
    assert counts["alerts_sent"] == counts["alerts"] == counts["transitions"] == 1


def test_kill_9_mid_poll_then_restart_loses_nothing_and_repeats_nothing(
    write_config: Callable[..., Path], site: Site
) -> None:
    port = _free_port()
    gate, asked = threading.Event(), threading.Event()
    site.feed("/acme.xml", [("/news/acme-deal", "Acme signs deal for Widget Works")])
    site.feed("/globex.xml", [("/news/globex-truck", "Globex scraps its electric truck")])
    site.page("/news/acme-deal", ACME_PAGE)
    site.page("/news/globex-truck", GLOBEX_PAGE, gate=gate, asked=asked)
    config = _config(write_config, site, ["/acme.xml", "/globex.xml"], port)

    crashed = Monitor(config, "crashed")
    try:
        _wait(asked.is_set, "the slow page request", crashed, 60)
        crashed.proc.send_signal(signal.SIGKILL)  # mid-poll: a page request is in flight
        crashed.proc.wait(timeout=10)
    finally:
        crashed.kill()
    gate.set()
    # Acme's feed is read and alerted while Globex's page hangs, so its alert may be out
    # already (the model's loading makes that rare); Globex's cannot be.
    assert len(site.posts) <= 1

    restarted = Monitor(config, "restarted")
    try:
        _wait(lambda: len(site.posts) >= 2, "both alerts", restarted)
        counts = _counts(config)
        # the crash left nothing half-done that would block or double the work
        assert counts["articles"] == counts["entries"] == 2 and counts["unprocessed"] == 0
        restarted.proc.send_signal(signal.SIGKILL)  # and once more, after delivering
        restarted.proc.wait(timeout=10)
    finally:
        restarted.kill()

    after = Monitor(config, "after")
    try:
        status_url = f"http://127.0.0.1:{port}/healthz"
        _wait(lambda: _get(status_url)[0] == 200, "the third start", after, 60)
        time.sleep(3)
        code, _ = after.stop(signal.SIGTERM)
        assert code == 0
    finally:
        after.kill()

    counts = _counts(config)
    assert counts["evidence"] == 2 and counts["duplicate_evidence"] == 0
    assert counts["transitions"] == 2
    assert counts["alerts"] == counts["alerts_sent"] == 2
    assert len(site.posts) == 2  # one per transition, none repeated across three starts
    rumours = sorted(json.dumps(p) for p in site.posts)
    assert "acme-widgets" in rumours[0] + rumours[1] and "globex-ev" in rumours[0] + rumours[1]


def test_poll_command_for_timers_processes_and_alerts_once(
    write_config: Callable[..., Path], site: Site
) -> None:
    site.feed("/acme.xml", [("/news/acme-deal", "Acme signs deal for Widget Works")])
    site.page("/news/acme-deal", ACME_PAGE)
    config = _config(write_config, site, ["/acme.xml"], _free_port())
    first = CliRunner().invoke(cli, ["--config", str(config), "poll"])
    assert first.exit_code == 0, first.output
    assert "1 state change; alerts: 1 sent" in first.stdout
    assert "acme-widgets: unconfirmed -> " in first.stdout  # each change is printed, with why
    assert '"Acme' in first.stdout
    second = CliRunner().invoke(cli, ["--config", str(config), "poll"])
    assert second.exit_code == 0 and "0 state changes; alerts: 0 sent" in second.stdout
    assert len(site.posts) == 1
    counts = _counts(config)
    assert counts["evidence"] == 1 and counts["alerts_sent"] == 1


def test_sigterm_while_a_fetch_hangs_still_exits_0_within_seconds(
    write_config: Callable[..., Path], site: Site
) -> None:
    gate, asked = threading.Event(), threading.Event()
    site.feed("/acme.xml", [("/news/acme-deal", "Acme signs deal for Widget Works")])
    site.page("/news/acme-deal", ACME_PAGE, gate=gate, asked=asked)
    config = _config(write_config, site, ["/acme.xml"], _free_port())
    monitor = Monitor(config, "hung")
    try:
        _wait(asked.is_set, "the page request", monitor, 60)
        code, took = monitor.stop(signal.SIGTERM)
    finally:
        monitor.kill()
        gate.set()
    assert code == 0 and took < 10
    stopping = [e for e in monitor.events() if e["message"].startswith("jobs still running")]
    assert stopping and stopping[0]["jobs"] == "poll"
    counts = _counts(config)
    assert counts["articles"] == 0 and counts["entries"] == 0  # nothing half-written
