from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import FeedError
from monitor.polling.feeds import parse_feed
from tests.helpers import fixture_bytes, fixture_text

BASE = "https://news.example.org"
RSS = {"content-type": "application/rss+xml; charset=utf-8"}


def test_rss20_entries_are_typed() -> None:
    feed = parse_feed(fixture_text("feeds/rss20.xml", BASE).encode(), RSS, url=f"{BASE}/feed")
    assert feed.version == "rss20" and feed.problem is None
    assert feed.title == "Harbour Ledger: Autos"
    first, second, third = feed.entries
    assert first.guid == "hl-1001"
    assert first.link == f"{BASE}/autos/northwind-contoso?utm_source=rss&utm_medium=feed"
    assert first.published == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)
    # +0800 converted to UTC; HTML in the description becomes plain text with breaks
    assert second.published == datetime(2024, 5, 13, 7, 0, tzinfo=UTC)
    assert second.summary.splitlines() == [
        "Fabrikam Robotics appointed Ines Okafor, formerly treasurer of a regional airline, "
        "as finance chief.",
        "She starts in July.",
    ]
    assert third.published is None


def test_rss10_uses_dc_date_and_about() -> None:
    feed = parse_feed(fixture_text("feeds/rss10.rdf", BASE).encode(), {}, url=f"{BASE}/rdf")
    assert feed.version == "rss10"
    assert [e.link for e in feed.entries] == [
        f"{BASE}/chips/litware-fab",
        f"{BASE}/chips/litware-dividend",
    ]
    assert feed.entries[0].published == datetime(2024, 4, 2, 7, 15, tzinfo=UTC)
    assert feed.entries[0].guid  # no <guid> in RSS 1.0: falls back to the link


def test_atom_prefers_content_and_resolves_relative_links() -> None:
    body = fixture_text("feeds/atom.xml", BASE).encode()
    feed = parse_feed(body, {"content-type": "application/atom+xml"}, url=f"{BASE}/atom")
    assert feed.version == "atom10"
    first, second = feed.entries
    assert first.guid == "urn:uuid:0e6c2b1a-77d3-4c1e-b1f5-9d8e7a6c5b40"
    assert first.published == datetime(2024, 5, 15, 9, 0, tzinfo=UTC)
    assert "our analysts argue" in first.summary and "A joint plant" in first.summary
    assert second.link == f"{BASE}/notes/relative"
    assert second.published == datetime(2024, 5, 14, 8, 0, tzinfo=UTC)  # updated, no published


def test_malformed_feed_keeps_what_parsed_and_says_why() -> None:
    body = fixture_text("feeds/malformed.xml", BASE).encode()
    feed = parse_feed(body, RSS, url=f"{BASE}/sloppy")
    assert feed.problem is not None
    guids = [e.guid for e in feed.entries]
    assert len(guids) >= 2 and guids[0].endswith("sg-1") and guids[1].endswith("sg-2")
    assert feed.entries[0].title == "Tailspin Air pilots agree new contract"


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body><p>Not a feed, a web page.</p></body></html>", b"\x00\x01garbage"],
)
def test_nothing_parsed_is_a_feed_error_naming_the_url(body: bytes) -> None:
    with pytest.raises(FeedError, match=r"https://bad\.example/feed"):
        parse_feed(body, {"content-type": "text/html"}, url="https://bad.example/feed")


def test_empty_but_valid_feed_is_not_an_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, RSS, url=f"{BASE}/quiet")
    assert feed.entries == () and feed.title == "Quiet"


def test_windows_1252_declared_as_utf8_decodes_correctly() -> None:
    body = fixture_bytes("feeds/rss_cp1252_declared_utf8.xml", BASE)
    feed = parse_feed(body, RSS, url=f"{BASE}/cp")
    (entry,) = feed.entries
    assert entry.title == "“No plans”, says Café Lumière chief about naïve merger talk"
    assert entry.summary == "Café Lumière’s chief executive dismissed the report — again."
    assert feed.problem is not None  # the wrong declaration is reported, not hidden


@pytest.mark.parametrize("content_type", ["text/xml", "text/xml; charset=gb2312"])
def test_gbk_text_declared_as_gb2312_decodes_correctly(content_type: str) -> None:
    body = fixture_bytes("feeds/rss_gbk_declared_gb2312.xml", BASE)
    feed = parse_feed(body, {"content-type": content_type}, url=f"{BASE}/gb")
    (entry,) = feed.entries
    assert entry.title == "北风汽车与康拓电池洽谈合建电池厂 镕"
    assert entry.summary.endswith("䶮")


def test_billion_laughs_is_not_expanded() -> None:
    body = fixture_text("feeds/bomb.xml", BASE).encode()
    started = time.perf_counter()
    try:
        feed = parse_feed(body, RSS, url=f"{BASE}/bomb")
    except FeedError:
        return  # refusing the document outright is as good as not expanding it
    assert time.perf_counter() - started < 2.0
    for entry in feed.entries:
        # expanded, &lol9; would be 3,000,000 characters of "lol"
        assert len(entry.title) < 100 and len(entry.summary) < 100
        assert "lollol" not in entry.title + entry.summary


def test_external_entity_is_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENTS-4711", encoding="utf-8")
    body = fixture_text("feeds/xxe.xml", BASE, secret_path=str(secret)).encode()
    try:
        feed = parse_feed(body, RSS, url=f"{BASE}/xxe")
    except FeedError:
        return
    for entry in feed.entries:
        assert "TOP-SECRET" not in entry.title + entry.summary
    assert "TOP-SECRET" not in feed.title


def test_a_zero_date_leaves_the_entry_undated_instead_of_failing_the_feed() -> None:
    # WordPress/MySQL feeds print unset dates as 0000-00-00; feedparser turns that into year -1
    items = "".join(
        f"<item><title>{t}</title><link>{BASE}/{t}</link><pubDate>{d}</pubDate></item>"
        for t, d in [("zero", "0000-00-00 00:00:00"), ("good", "Tue, 14 May 2024 08:30:00 +0800")]
    )
    body = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    zero, good = parse_feed(body, RSS, url=f"{BASE}/feed").entries
    assert zero.published is None
    assert good.published == datetime(2024, 5, 14, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("2024年5月14日", datetime(2024, 5, 14, tzinfo=UTC)),
        ("2024年5月14日 10:30", datetime(2024, 5, 14, 10, 30, tzinfo=UTC)),
        ("2024 年 05 月 14 日 下午3时05分", datetime(2024, 5, 14, 15, 5, tzinfo=UTC)),
        ("2024년 5월 14일 오후 2:05:09", datetime(2024, 5, 14, 14, 5, 9, tzinfo=UTC)),
        ("2024年13月40日", None),  # no such day: undated rather than some other day
    ],
)
def test_cjk_dates_are_read_as_the_day_they_name(written: str, meant: datetime | None) -> None:
    # feedparser reads "2024年5月14日" as 2024-11-01; ordering transitions by it would be wrong
    items = f"<item><title>t</title><link>{BASE}/t</link><pubDate>{written}</pubDate></item>"
    body = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
    (entry,) = parse_feed(body, RSS, url=f"{BASE}/feed").entries
    assert entry.published == meant


def test_the_malformed_feed_warning_counts_one_entry_in_the_singular(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b'<rss version="2.0"><channel><item><title>a</title><link>/a</link></item><item><ti'
    with caplog.at_level("WARNING", logger="monitor.polling.feeditems"):
        feed = parse_feed(body, RSS, url=f"{BASE}/cut")
    assert len(feed.entries) == 1
    assert f"{BASE}/cut: malformed feed, kept 1 entry: " in caplog.text
