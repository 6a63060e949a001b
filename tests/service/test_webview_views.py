"""What a desk editor sees beyond the tables: the chart, the overview's filters, the banner for
failing feeds, the Atom feeds of changes and the CSV timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import select

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Feed, Rumour
from monitor.polling import feed_failures
from monitor.queries import evidence_csv
from monitor.service import webview
from tests.service.test_webview import (
    EVIL_CLAIM,
    EVIL_SENTENCE,
    EVIL_URL,
    serve,
    site,
)

__all__ = ["site"]  # the fixture, shared with test_webview

ATOM_NS = "{http://www.w3.org/2005/Atom}"


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr><td class="id"><a href="/rumours/([^"]+)">', page)


def test_the_chart_has_a_marker_per_evidence_titled_and_linked_to_its_row(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    page = client.get("/rumours/acme-widgets").text
    tree = lxml_html.fromstring(page)
    (svg,) = tree.xpath("//svg[contains(@class, 'confidence')]")
    marks = svg.xpath(".//a[@class='evidence-mark']")
    assert len(marks) == 2  # the hedged report and the signed deal
    titles = [m.findtext("title") for m in marks]
    assert "Acme is said to be in talks." in titles[0] and "Rumour Mill" in titles[0]
    assert "Acme signed a deal to buy Widget Works." in titles[1]
    for mark in marks:  # each marker links to its evidence row on the same page
        assert tree.xpath(f"//tr[@id='{mark.get('href')[1:]}']")
    (change,) = svg.xpath(".//a[@class='change-mark']")
    assert "unconfirmed → formalized" in change.findtext("title")
    assert tree.xpath(f"//tr[@id='{change.get('href')[1:]}']//text()[contains(., 'signed')]")
    assert [b.get("class") for b in svg.xpath(".//rect[contains(@class, 'band')]")] == [
        "band b-unconfirmed",
        "band b-formalized",
    ]


def test_chart_titles_from_the_web_are_escaped(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    page = client.get("/rumours/evil").text
    assert "<script" not in page.lower()
    (mark,) = lxml_html.fromstring(page).xpath("//a[@class='evidence-mark']")
    assert EVIL_SENTENCE in mark.findtext("title")  # shown as text, intact


def test_overview_filters_by_state_and_searches_id_and_claim(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    assert _ids(client.get("/", params={"state": "formalized"}).text) == ["acme-widgets"]
    assert _ids(client.get("/", params={"state": "confirmed"}).text) == ["evil", "globex-ev"]
    assert _ids(client.get("/", params={"q": "TRUCK"}).text) == ["globex-ev"]  # in the claim
    assert _ids(client.get("/", params={"q": "acme-w"}).text) == ["acme-widgets"]  # in the id
    nothing = client.get("/", params={"q": "no such words"}).text
    assert _ids(nothing) == [] and "No rumour matches" in nothing
    everything = client.get("/", params={"state": "denied", "all": "1"}).text
    assert _ids(everything) == ["gone"]


def test_overview_sorts_by_any_column_both_ways_with_shareable_links(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    by_conf = client.get("/", params={"sort": "confidence", "order": "desc"}).text
    assert _ids(by_conf) == ["evil", "globex-ev", "acme-widgets"]  # 0.7 ties go by id
    by_conf = client.get("/", params={"sort": "confidence"}).text
    assert _ids(by_conf) == ["acme-widgets", "evil", "globex-ev"]
    by_evidence = client.get("/", params={"sort": "evidence"}).text
    assert _ids(by_evidence) == ["globex-ev", "evil", "acme-widgets"]
    for column, _ in webview.COLUMNS:
        response = client.get("/", params={"sort": column, "order": "desc"})
        assert response.status_code == 200, column
        assert sorted(_ids(response.text)) == ["acme-widgets", "evil", "globex-ev"]
    # the header of the sorted column reverses it; the others sort ascending, filters kept
    page = client.get("/", params={"state": "confirmed", "sort": "claim"}).text
    assert 'href="/?state=confirmed&amp;sort=claim&amp;order=desc"' in page
    assert 'href="/?state=confirmed&amp;sort=evidence&amp;order=asc"' in page


def test_overview_rejects_unknown_parameters_by_name(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    for params, named in (
        ({"state": "formalised"}, "state=&#39;formalised&#39; is not a state"),
        ({"sort": "colour"}, "sort=&#39;colour&#39; is not a column"),
        ({"order": "up"}, "order=&#39;up&#39;"),
    ):
        response = client.get("/", params=params)
        assert response.status_code == 400 and named in response.text, params


def test_overview_draws_a_sparkline_per_rumour_with_evidence(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    tree = lxml_html.fromstring(client.get("/").text)
    rows = {row.xpath("string(td[1]/a)"): row for row in tree.xpath("//tbody/tr")}
    (spark,) = rows["acme-widgets"].xpath(".//svg[@class='spark']")
    assert spark.findtext("title") == "confidence 0.50 → 0.90 over 2 evidence"
    assert not rows["globex-ev"].xpath(".//svg")  # no evidence yet: no line


def _feeds(db: Database, *, failing: int, healthy: int, last_good: datetime) -> None:
    with db.transaction() as s:
        for n in range(failing + healthy):
            s.add(
                Feed(
                    name=f"feed-{n}",
                    config_url=f"https://f{n}.example/rss",
                    url=f"https://f{n}.example/rss",
                    error_count=3 if n < failing else 0,
                    last_error="Name or service not known" if n < failing else None,
                    last_checked_at=last_good + timedelta(hours=1),
                    # healthy: good at last_good; failing: feed-0 never, the others before
                    last_success_at=None
                    if n == 0 and failing
                    else last_good - timedelta(hours=n if n < failing else 0),
                    created_at=last_good - timedelta(days=2),
                )
            )


def test_failing_feeds_put_a_banner_on_the_pages(sqlite_db: Database) -> None:
    now = datetime.now(UTC)
    with sqlite_db.transaction() as s:
        s.add(Rumour(id="acme", claim="Acme will buy Globex"))
    _feeds(sqlite_db, failing=7, healthy=0, last_good=now - timedelta(hours=5))
    with sqlite_db.sessions() as s:
        failures = feed_failures(s)
    # feed-0 never had a good check: its failing dates from when it was added
    assert (failures.enabled, len(failures.failing)) == (7, 7)
    assert failures.since == now - timedelta(hours=5, days=2)
    with serve(sqlite_db) as client:
        for path in ("/", "/rumours/acme"):
            page = client.get(path).text
            (banner,) = lxml_html.fromstring(page).xpath("//p[@class='banner']")
            text = banner.text_content()
            assert "7 of 7 feeds failing" in text and "2 days ago" in text, path
            assert "nothing new is coming in" in text
            assert banner.xpath(".//a[@href='/feeds']")


def test_the_overview_says_when_the_last_good_poll_was_and_if_it_is_stale(
    sqlite_db: Database,
) -> None:
    with sqlite_db.transaction() as s:
        s.add(Rumour(id="acme", claim="Acme will buy Globex"))
    _feeds(sqlite_db, failing=0, healthy=2, last_good=datetime.now(UTC) - timedelta(minutes=3))
    with serve(sqlite_db) as client:
        fresh = client.get("/").text
        assert "Last good poll" in fresh and "3 min ago" in fresh and 'class="banner' not in fresh
    with sqlite_db.transaction() as s:
        for feed in s.scalars(select(Feed)):
            feed.last_success_at = datetime.now(UTC) - timedelta(days=3)
    with serve(sqlite_db) as client:
        stale = client.get("/").text
    assert '<p class="banner stale">Last good poll' in stale and "3 days ago" in stale


def test_the_csv_is_the_evidence_timeline_as_history_csv_prints_it(
    site: tuple[httpx.Client, Path],
) -> None:
    client, config = site
    response = client.get("/rumours/acme-widgets.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    printed = CliRunner().invoke(cli, ["--config", str(config), "history", "acme-widgets", "--csv"])
    assert response.content == printed.stdout_bytes  # byte for byte, CRLF line ends included
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["signal"] for r in rows] == ["none", "formalize"]  # oldest first
    assert rows[1]["url"] == "https://news.example/acme" and rows[1]["source"] == "Example News"
    assert rows[1]["confidence_after"] == "0.9"


def test_csv_cells_that_look_like_formulas_are_defused() -> None:
    data = {"evidence": [{"at": "2021-03-30T09:00:00+00:00", "stance": "reports",
                         "signal": "none", "similarity": 0.8, "confidence_before": 0.5,
                         "confidence_after": 0.5, "source": "Wire", "title": "=HYPERLINK(1)",
                         "url": None, "sentence": "-2% on the day"}]}  # fmt: skip
    (row,) = list(csv.DictReader(io.StringIO(evidence_csv(data))))
    assert row["title"] == "'=HYPERLINK(1)" and row["sentence"] == "'-2% on the day"
    assert row["url"] == ""


def test_changes_atom_is_valid_with_one_entry_per_transition(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    response = client.get("/changes.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    (entry,) = parsed.entries
    assert entry.title == "acme-widgets: unconfirmed → formalized"
    assert entry.id.startswith("urn:uuid:")
    assert "Acme signed a deal to buy Widget Works." in entry.summary
    assert "Example News" in entry.summary and "Acme Corp will buy Widget Works" in entry.summary
    assert entry.published_parsed[:3] == (2021, 3, 30)
    links = {link.rel: link.href for link in entry.links}
    assert links["related"] == "https://news.example/acme"
    assert links["alternate"].endswith("/rumours/acme-widgets")
    # RFC 4287: a feed has an id, a title, an updated time and an author
    feed = etree.fromstring(response.content)
    for name in ("id", "title", "updated", "author"):
        assert feed.find(ATOM_NS + name) is not None, name
    assert client.get("/changes.atom").text == response.text  # stable ids and times


def test_a_rumours_atom_feed_holds_its_changes_only(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    acme = feedparser.parse(client.get("/rumours/acme-widgets.atom").content)
    assert not acme.bozo and len(acme.entries) == 1
    quiet = client.get("/rumours/globex-ev.atom")
    parsed = feedparser.parse(quiet.content)
    assert quiet.status_code == 200 and not parsed.bozo and parsed.entries == []
    assert parsed.feed.title == "rumour-monitor: globex-ev"
    assert client.get("/rumours/nope.atom").status_code == 404
    assert client.get("/rumours/nope.csv").status_code == 404


def test_atom_from_hostile_news_stays_well_formed() -> None:
    change = {
        "rumour": "evil",
        "claim": EVIL_CLAIM,
        "from": "unconfirmed",
        "to": "confirmed",
        "at": "2021-03-30T09:00:00+00:00",
        "recorded_at": "2021-03-30T09:05:00+00:00",
        "url": EVIL_URL,
        "title": '<img src=x onerror="alert(1)"> & ]]>',
        "source": "Hostile <b>Feed</b>",
        "sentence": EVIL_SENTENCE,
        "signal": "confirm",
        "confidence_before": 0.5,
        "confidence_after": 0.7,
    }
    text = webview.changes_feed([change], now=datetime.now(UTC))
    parsed = feedparser.parse(text)
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert EVIL_SENTENCE in entry.summary and "<script" not in text
    assert not [link for link in entry.links if link.rel == "related"]  # javascript: no link
