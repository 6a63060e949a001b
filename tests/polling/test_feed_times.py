"""Feed dates that do not say enough: items sharing one date, zones by abbreviation.

The order articles are matched in decides which state changes happen, so it must follow the
news as closely as the feed lets us tell.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.polling.articles import ArticleDraft
from monitor.polling.feeds import parse_feed
from monitor.polling.poller import oldest_first

SEEDS = """
[[rumour]]
id = "acme-widgets"
claim = "Acme Corp will buy Widget Works"
entities = ["Acme|Acme Corp", "Widget Works"]
"""

# What is under test here is the order news is read in, not the reading: the rules read these
# sentences as the tests mean them. The trained reader takes "said it has signed a definitive
# agreement" for a confirmation, not a formal act (issue 14; the sentence is in our labelled set).
RULES = '[model]\nreader = "rules"'


def _item(n: int, base: str, title: str, date: str) -> str:
    return (
        f"<item><title>{title}</title><link>{base}/a/{n}</link><guid>a{n}</guid>"
        f"<pubDate>{date}</pubDate><description>{title}</description></item>"
    )


def _invoke(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_items_sharing_one_date_are_matched_oldest_first_by_their_place_in_the_feed(
    write_config: Callable[..., Path], db_url: str, threaded_server: HTTPServer
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    same = "Mon, 06 May 2024 00:00:00 GMT"  # a feed that stamps every item with its build date
    items = [  # newest first, as feeds list them
        _item(2, base, "Acme Corp said it has terminated its agreement to buy Widget Works.", same),
        _item(
            1,
            base,
            "Acme Corp confirmed that it has agreed to buy Widget Works, "
            "the company said in a statement.",
            same,
        ),
    ]
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{"".join(items)}'
    threaded_server.expect_request("/feed").respond_with_data(
        rss + "</channel></rss>", content_type="application/rss+xml"
    )
    threaded_server.no_handler_status_code = 404  # pages missing: the items' own text is used
    body = f"""
{RULES}
[polling]
host_delay = "0s"
allow_private_networks = true

[[feeds]]
name = "Wire"
url = "{base}/feed"
"""
    config = write_config(body, seeds=SEEDS, db_url=db_url)
    _invoke(config, "init")
    _invoke(config, "poll")
    history = json.loads(_invoke(config, "history", "acme-widgets", "--json"))
    moves = [(t["from"], t["to"]) for t in history["transitions"]]
    assert moves == [("unconfirmed", "formalized"), ("formalized", "abandoned")]
    assert history["state"] == "abandoned"


def _draft(guid: str, published: datetime) -> ArticleDraft:
    return ArticleDraft(
        guid=guid,
        link_key=guid,
        canonical=guid,
        url=guid,
        title=guid,
        text=guid,
        author=None,
        site=None,
        extraction="summary",
        retry_page=False,
        published_at=published,
        fetched_at=published,
    )


def test_ties_follow_the_direction_the_feed_lists_its_dated_items_in() -> None:
    day = datetime(2024, 5, 6, tzinfo=UTC)
    later = day + timedelta(hours=3)
    newest_on_top = [_draft("c", later), _draft("b", day), _draft("a", day)]
    assert [d.guid for d in oldest_first(newest_on_top)] == ["a", "b", "c"]
    oldest_on_top = [_draft("a", day), _draft("b", day), _draft("c", later)]
    assert [d.guid for d in oldest_first(oldest_on_top)] == ["a", "b", "c"]
    assert oldest_first([]) == []


def _published(date: str) -> datetime | None:
    item = f"<item><title>t</title><link>http://x.test/1</link><pubDate>{date}</pubDate></item>"
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{item}</channel></rss>'
    )
    return parse_feed(body.encode(), {}, url="http://x.test/feed").entries[0].published


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("Sun, 31 Mar 2024 02:30:00 CEST", "2024-03-31T00:30"),  # the night Europe's DST began
        ("Sun, 31 Mar 2024 01:30:00 CET", "2024-03-31T00:30"),
        ("Mon, 01 Apr 2024 09:00:00 BST", "2024-04-01T08:00"),
        ("Mon, 01 Apr 2024 09:00:00 HKT", "2024-04-01T01:00"),
        ("Mon, 01 Apr 2024 09:00:00 JST", "2024-04-01T00:00"),
        ("Mon, 01 Apr 2024 09:00:00 AEDT", "2024-03-31T22:00"),
        ("Mon, 01 Apr 2024 09:00:00 UTC+8", "2024-04-01T01:00"),
        ("Mon, 01 Apr 2024 09:00 (UTC-03:30)", "2024-04-01T12:30"),
        ("2024-04-01T09:00:00 CEST", "2024-04-01T07:00"),
        ("2024年4月1日 09:00 +0800", "2024-04-01T01:00"),
        ("2024年4月1日 上午9:00 (HKT)", "2024-04-01T01:00"),
        # already right before: numeric offsets and the zones feedparser knows
        ("Mon, 01 Apr 2024 09:00:00 +0800", "2024-04-01T01:00"),
        ("Mon, 01 Apr 2024 09:00:00 EDT", "2024-04-01T13:00"),
        ("Mon, 01 Apr 2024 09:00:00 GMT", "2024-04-01T09:00"),
        ("2024年4月1日 09:00", "2024-04-01T09:00"),  # no zone at all: UTC, as documented
    ],
)
def test_zones_written_as_abbreviations_or_utc_offsets_are_applied(written: str, utc: str) -> None:
    assert _published(written) == datetime.fromisoformat(utc).replace(tzinfo=UTC)


def _feed(*items: str) -> str:
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{"".join(items)}</channel></rss>'


def test_a_date_slightly_ahead_of_the_clock_cannot_block_later_news(
    write_config: Callable[..., Path], db_url: str, threaded_server: HTTPServer
) -> None:
    """A feed that writes its local time as GMT dates its stories up to an hour ahead. Such a
    story was published by the time it was fetched; stored an hour ahead, it would make the
    next real news look older than the state change it caused, and count for nothing."""
    base = threaded_server.url_for("").rstrip("/")
    ahead = format_datetime(datetime.now(UTC) + timedelta(minutes=50), usegmt=True)
    confirm = "Acme Corp confirmed that it is in talks to buy Widget Works, a spokesman said."
    threaded_server.expect_request("/ahead").respond_with_data(
        _feed(_item(1, base, confirm, ahead)), content_type="application/rss+xml"
    )
    threaded_server.no_handler_status_code = 404
    body = f"""
{RULES}
[polling]
host_delay = "0s"
allow_private_networks = true

[[feeds]]
name = "Ahead"
url = "{base}/ahead"

[[feeds]]
name = "Wire"
url = "{base}/wire"
"""
    config = write_config(body, seeds=SEEDS, db_url=db_url)
    _invoke(config, "init")
    _invoke(config, "poll")
    time.sleep(1.1)  # the wire's story comes a moment later (feed dates have whole seconds)
    signed = "Acme Corp said it has signed a definitive agreement to buy Widget Works."
    threaded_server.expect_request("/wire").respond_with_data(
        _feed(_item(2, base, signed, format_datetime(datetime.now(UTC), usegmt=True))),
        content_type="application/rss+xml",
    )
    _invoke(config, "poll")
    history = json.loads(_invoke(config, "history", "acme-widgets", "--json"))
    moves = [(t["from"], t["to"]) for t in history["transitions"]]
    assert moves == [("unconfirmed", "confirmed"), ("confirmed", "formalized")]
