"""The scheduler's poll job: what it logs for the service, and its one-feed step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from monitor.config import load_config
from monitor.db import Database
from monitor.db.models import Feed
from monitor.polling import sync_feeds
from monitor.service.metrics import Metrics
from monitor.service.scheduler import Runtime


def _runtime(write_config: Callable[..., Path], db: Database, feeds: dict[str, str]) -> Runtime:
    body = '[polling]\nhost_delay = "0s"\ntimeout = "2s"\n'
    for name, url in feeds.items():
        body += f'\n[[feeds]]\nname = "{name}"\nurl = "{url}"\n'
    config = load_config(write_config(body, db_url=db.url))
    with db.transaction() as session:
        sync_feeds(session, config.feeds)
    return Runtime(config, db, Metrics())


def test_the_service_logs_a_failing_feed_as_a_warning_with_the_feed_as_a_field(
    write_config: Callable[..., Path],
    sqlite_db: Database,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `poll` prints the failure in its report; the service has only its log to say it, and
    # `--log-format json` users select one feed's lines with jq: `select(.feed == "...")`.
    from jobs import poll as poll_job

    httpserver.expect_request("/flaky").respond_with_data("", status=500)
    runtime = _runtime(write_config, sqlite_db, {"Flaky": httpserver.url_for("/flaky")})
    try:
        with caplog.at_level(logging.WARNING):
            summary = poll_job.run(runtime)
    finally:
        runtime.close()
    assert summary["feeds"] == 1 and summary["failing"] == 1
    (record,) = [r for r in caplog.records if "Flaky" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.name == "jobs.poll"
    assert record.feed == "Flaky"  # type: ignore[attr-defined]
    assert "failed (1 in a row)" in record.getMessage() and "HTTP 500" in record.getMessage()


def test_poll_one_polls_a_single_feed_and_counts_it(
    write_config: Callable[..., Path], sqlite_db: Database, httpserver: HTTPServer
) -> None:
    from jobs import poll as poll_job

    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    httpserver.expect_request("/a").respond_with_data(rss, content_type="application/rss+xml")
    httpserver.expect_request("/b").respond_with_data("", status=500)
    feeds = {"A": httpserver.url_for("/a"), "B": httpserver.url_for("/b")}
    runtime = _runtime(write_config, sqlite_db, feeds)
    with sqlite_db.sessions() as session:
        ids = {name: id_ for name, id_ in session.execute(select(Feed.name, Feed.id))}
    try:
        report = poll_job.poll_one(runtime, ids["A"])
    finally:
        runtime.close()
    assert report.feed == "A" and report.outcome == "new"
    assert [r.path for r, _ in httpserver.log] == ["/a"]  # B was not touched
