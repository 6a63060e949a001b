from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.cli import cli
from monitor.cli.polling import _poll_line
from monitor.db import Database
from monitor.polling import FeedReport
from tests.helpers import fixture_text


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config(write_config: Callable[..., Path], db_url: str, threaded_server: HTTPServer) -> Path:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/rdf").respond_with_data(
        fixture_text("feeds/rss10.rdf", base),
        content_type="application/rdf+xml",
        headers={"ETag": '"r1"'},
    )
    threaded_server.expect_request("/broken").respond_with_data("", status=500)
    threaded_server.no_handler_status_code = 404
    body = f"""
[polling]
host_delay = "0s"
timeout = "2s"

[[feeds]]
name = "Litware"
url = "{base}/rdf"

[[feeds]]
name = "Broken"
url = "{base}/broken"
"""
    path = write_config(body, db_url=db_url)
    assert _run(path, "init")[0] == 0
    return path


def test_poll_reports_each_feed_and_exits_0_despite_a_failure(config: Path) -> None:
    code, out, _ = _run(config, "poll")
    assert code == 0
    assert "Litware: 2 new of 2 entries" in out
    assert "Broken: error:" in out and "HTTP 500" in out
    assert "polled 2 feeds: 2 new articles, 1 failed" in out
    code, out, _ = _run(config, "poll", "--json")
    assert code == 0
    reports = {r["feed"]: r for r in json.loads(out)["feeds"]}
    assert reports["Litware"]["outcome"] == "new" and reports["Litware"]["new_articles"] == 0
    assert reports["Broken"]["outcome"] == "error" and "HTTP 500" in reports["Broken"]["error"]
    assert reports["Broken"]["next_check_at"].endswith("+00:00")


def test_feeds_shows_health(config: Path) -> None:
    _run(config, "poll")
    _run(config, "poll")
    code, out, _ = _run(config, "feeds")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["FEED", "ENABLED"]
    broken = next(line for line in lines if line.startswith("Broken"))
    assert " 2 " in broken and "HTTP 500" in broken
    code, out, _ = _run(config, "feeds", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["Broken"]["error_count"] == 2 and rows["Broken"]["last_success_at"] is None
    assert rows["Litware"]["error_count"] == 0 and rows["Litware"]["last_success_at"]
    assert rows["Litware"]["entries"] == 2 and rows["Litware"]["enabled"] is True


def test_a_home_page_for_a_feed_shows_the_feed_it_names_in_poll_and_feeds(
    write_config: Callable[..., Path], sqlite_db: Database, threaded_server: HTTPServer
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    home = '<html><head><link rel="alternate" type="application/atom+xml" href="atom"></head>'
    threaded_server.expect_request("/news/").respond_with_data(home, content_type="text/html")
    body = f'[polling]\nhost_delay = "0s"\n\n[[feeds]]\nname = "Home"\nurl = "{base}/news/"\n'
    path = write_config(body, db_url=sqlite_db.url)
    assert _run(path, "init")[0] == 0
    named = f"it names its feed at {base}/news/atom: put that URL in config.toml"
    code, out, _ = _run(path, "poll")
    assert code == 0 and f"Home: error: {base}/news/: an HTML page, not a feed; {named}" in out
    code, out, _ = _run(path, "feeds", "--json")
    (row,) = json.loads(out)
    assert row["last_error"].endswith(named)


def test_poll_before_init_says_what_to_do(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config(db_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    code, _, err = _run(path, "poll")
    assert code == 1 and "rumour-monitor init" in err


def test_help_explains_backoff() -> None:
    result = CliRunner().invoke(cli, ["feeds", "--help"])
    assert result.exit_code == 0 and "24 h" in result.output and "410" in result.output


def test_poll_due_leaves_out_feeds_whose_next_check_has_not_come(config: Path) -> None:
    code, out, _ = _run(config, "poll", "--due")  # first time: every feed is due
    assert code == 0 and "polled 2 feeds" in out
    # Now Litware waits for its interval and Broken for its backoff: nothing is fetched.
    code, out, _ = _run(config, "poll", "--due", "--json")
    assert code == 0
    assert json.loads(out)["feeds"] == []
    code, out, _ = _run(config, "poll")  # without --due: every feed, now
    assert "polled 2 feeds" in out


def test_a_disabled_feed_is_not_promised_a_next_try() -> None:
    gone = FeedReport(
        feed="Gone",
        outcome="error",
        new_articles=0,
        article_ids=(),
        error="https://a.example/feed: HTTP 410",
        next_check_at=None,
        warning="feed disabled: give it a new url in the config, then run init",
    )
    line = _poll_line(gone)
    assert "next try" not in line and "feed disabled" in line and "HTTP 410" in line


def test_poll_text_reads_feeds_then_state_changes_then_the_alerts_sent(
    write_config: Callable[..., Path], db_url: str, threaded_server: HTTPServer
) -> None:
    # The console channel prints each alert while delivering it; the feed lines used to come
    # after the alerts, so the output read backwards. Each feed's changes and alerts follow
    # its own line, as soon as it is stored; the counts come last.
    base = threaded_server.url_for("").rstrip("/")
    item = (
        f"<item><title>Acme Corp signs deal</title><link>{base}/a/1</link><guid>a1</guid>"
        "<pubDate>Mon, 06 May 2024 08:00:00 GMT</pubDate><description>Acme Corp signed a "
        "definitive agreement to buy Widget Works, the companies said in a joint statement."
        "</description></item>"
    )
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{item}</channel></rss>'
    threaded_server.expect_request("/feed").respond_with_data(
        rss, content_type="application/rss+xml"
    )
    threaded_server.no_handler_status_code = 404  # no page: the item's own text is used
    body = f'[polling]\nhost_delay = "0s"\n\n[[feeds]]\nname = "Wire"\nurl = "{base}/feed"\n'
    config = write_config(body, db_url=db_url)
    assert _run(config, "init")[0] == 0
    code, out, _ = _run(config, "poll")
    assert code == 0, out
    lines = out.splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    feed, polled = first("Wire: 1 new of 1 entry"), first("polled 1 feed:")
    change = first("acme-widgets: unconfirmed -> formalized (formalize")
    alert = first("[rumour] acme-widgets: unconfirmed -> formalized")
    assert feed < change < alert < polled
    assert lines[-1] == "1 state change; alerts: 1 sent, 0 to retry, 0 failed"


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def _times(data: object, key: str = "") -> list[tuple[str, str]]:
    """Every (key, value) of a JSON document whose key names a time."""
    if isinstance(data, dict):
        return [pair for k, v in data.items() for pair in _times(v, k)]
    if isinstance(data, list):
        return [pair for item in data for pair in _times(item, key)]
    timed = key == "at" or key.endswith("_at") or key == "state_since"
    return [(key, data)] if timed and isinstance(data, str) else []


def test_every_json_names_feeds_alike_and_writes_times_in_one_form(config: Path) -> None:
    # poll --json named a feed "feed" where feeds --json says "name", and times came as
    # "...T12:00:00.123456+00:00" here and "...T12:00:00+00:00" there.
    code, out, _ = _run(config, "poll", "--json")
    assert code == 0
    polled = json.loads(out)
    assert {(f["name"], f["feed"]) for f in polled["feeds"]} == {
        ("Litware", "Litware"),
        ("Broken", "Broken"),
    }
    documents = [polled]
    for args in (["feeds"], ["status"], ["history", "acme-widgets"], ["alerts", "list"]):
        code, out, _ = _run(config, *args, "--json")
        assert code == 0, args
        documents.append(json.loads(out))
    times = [pair for document in documents for pair in _times(document)]
    assert len(times) >= 6
    assert [pair for pair in times if not ISO.match(pair[1])] == []


def test_init_json_says_what_it_did(write_config: Callable[..., Path], db_url: str) -> None:
    path = write_config('[[feeds]]\nname = "A"\nurl = "https://a.example/feed"\n', db_url=db_url)
    code, out, _ = _run(path, "init", "--json")
    assert code == 0
    first = json.loads(out)
    assert first["schema"]["before"] is None and first["schema"]["after"]
    assert first["rumours"] == {
        "tracked": 2,
        "added": ["acme-widgets", "globex-ev"],
        "updated": [],
        "retired": [],
    }
    assert first["feeds"] == {"configured": 1, "added": ["A"], "updated": [], "disabled": []}
    assert first["warnings"] == [] and "password" not in first["database"]
    code, out, _ = _run(path, "init", "--json")
    again = json.loads(out)
    assert again["schema"]["before"] == again["schema"]["after"]
    assert again["rumours"]["added"] == [] and again["feeds"]["added"] == []


def test_a_slow_feed_does_not_hold_back_another_feeds_alert(
    write_config: Callable[..., Path], sqlite_db: Database, threaded_server: HTTPServer
) -> None:
    # The case scaled down: a feed whose pages never answer held back every other
    # feed's state changes and alerts until each of its pages had timed out, one by one.
    base = threaded_server.url_for("").rstrip("/")
    # Another host name for the slow site: one host's limits are shared by all its feeds.
    slow_site = f"http://localhost:{threaded_server.port}"
    slow_items = "".join(
        f"<item><title>Slow {n}</title><link>{slow_site}/slow/{n}</link><guid>s{n}</guid></item>"
        for n in range(6)
    )
    wire_item = (
        f"<item><title>Acme Corp signs deal</title><link>{base}/a/1</link><guid>a1</guid>"
        "<description>Acme Corp signed a definitive agreement to buy Widget Works, the "
        "companies said in a joint statement.</description></item>"
    )
    for path, items in (("/slow.xml", slow_items), ("/wire.xml", wire_item)):
        threaded_server.expect_request(path).respond_with_data(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>",
            content_type="application/rss+xml",
        )
    asked: list[float] = []

    def never_answers(_request: Request) -> Response:
        asked.append(time.monotonic())
        time.sleep(1.5)  # past the 1 s timeout
        return Response("late", content_type="text/html")

    for n in range(6):
        threaded_server.expect_request(f"/slow/{n}").respond_with_handler(never_answers)
    threaded_server.no_handler_status_code = 404  # the wire's page: its summary is used
    body = (
        '[polling]\nhost_delay = "0s"\ntimeout = "1s"\nhost_concurrency = 2\n\n'
        f'[[feeds]]\nname = "Slow"\nurl = "{slow_site}/slow.xml"\n\n'
        f'[[feeds]]\nname = "Wire"\nurl = "{base}/wire.xml"\n'
    )
    config = write_config(body, db_url=sqlite_db.url)
    assert _run(config, "init")[0] == 0
    code, out, _ = _run(config, "poll")
    assert code == 0, out
    alert = out.index("[rumour] acme-widgets: unconfirmed -> formalized")
    assert out.index("Wire: 1 new of 1 entry") < alert < out.index("Slow: 6 new of 6 entries")
    # The slow feed's pages go two at a time (host_concurrency), a timeout apart.
    first, second, third = sorted(asked)[:3]
    assert second - first < 0.5 and third - first > 0.9


def test_poll_prints_a_feed_error_once_and_does_not_log_it_too(config: Path) -> None:
    code, out, err = _run(config, "poll")
    assert code == 0
    assert out.count("HTTP 500") == 1 and "Broken: error:" in out
    assert "HTTP 500" not in err and "Broken" not in err
