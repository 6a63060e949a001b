"""The demo's local news site: feeds reveal what was published, pages carry the metadata."""

from __future__ import annotations

from pathlib import Path

import feedparser
import httpx

from monitor.timeline.newssite import FeedServer
from monitor.timeline.replay import load_articles, parse_html_file
from tests.helpers import ROOT

CORPUS = ROOT / "monitor" / "timeline" / "xiaomi"


def test_feeds_list_only_published_articles_newest_first() -> None:
    articles, problems = load_articles(CORPUS)
    assert not problems
    with FeedServer(articles) as server, httpx.Client() as client:
        desk = "Hong Kong Markets Desk"
        empty = feedparser.parse(client.get(server.feed_url(desk)).text)
        assert empty.entries == []
        server.publish(articles[:12])
        feed = feedparser.parse(client.get(server.feed_url(desk)).text)
        expected = [a for a in articles[:12] if a.source == desk]
        assert [e.title for e in feed.entries] == [a.title for a in reversed(expected)]
        assert all(e.link.startswith(server.base_url) for e in feed.entries)
        assert client.get(server.base_url + "/nope").status_code == 404


def test_pages_extract_back_to_the_same_article(tmp_path: Path) -> None:
    articles, _ = load_articles(CORPUS)
    original = next(a for a in articles if "announces-ev-business" in a.path.name)
    with FeedServer(articles) as server, httpx.Client() as client:
        server.publish(articles)
        feed = feedparser.parse(client.get(server.feed_url(original.source)).text)
        link = next(e.link for e in feed.entries if e.title == original.title)
        html = client.get(link).text
    header = f"URL: {original.url}\n\n"
    page = parse_html_file(tmp_path / "page.html", header + html)
    assert page.title == original.title
    assert page.published_at == original.published_at
    assert page.source == original.source
    assert " ".join(page.text.split()) == " ".join(original.text.split())
