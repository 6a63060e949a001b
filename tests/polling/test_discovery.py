from __future__ import annotations

import pytest

from monitor.errors import FeedError
from monitor.polling.discovery import feed_links, html_page_error, is_html_page
from monitor.polling.feeds import parse_feed

PAGE = "https://site.example/"
HTML = "text/html; charset=utf-8"


def _page(head: str, body: str = "<p>Welcome to the site.</p>") -> bytes:
    page = f"<!DOCTYPE html><html><head><title>Site</title>{head}</head><body>{body}</body></html>"
    return page.encode()


def _alternate(kind: str, href: str, rel: str = "alternate") -> str:
    return f'<link rel="{rel}" type="{kind}" href="{href}">'


def test_a_home_page_naming_its_feed_says_which_url_to_configure() -> None:
    body = _page(_alternate("application/rss+xml", "/feed.xml"))
    with pytest.raises(FeedError) as caught:
        parse_feed(body, {"content-type": HTML}, url=PAGE)
    assert str(caught.value) == (
        "https://site.example/: an HTML page, not a feed; it names its feed at "
        "https://site.example/feed.xml: put that URL in config.toml"
    )


def test_several_feeds_are_all_named_at_most_three() -> None:
    head = "".join(
        [
            _alternate("application/rss+xml", "feed.xml"),
            _alternate("application/atom+xml; charset=utf-8", "https://cdn.example/atom"),
            _alternate("application/rss+xml", "feed.xml"),  # named twice: shown once
            _alternate("application/feed+json", "feed.json", rel="Alternate feed"),
            _alternate("application/rss+xml", "comments/feed.xml"),
        ]
    )
    message = html_page_error(_page(head), HTML, "https://site.example/blog/")
    assert message == (
        "https://site.example/blog/: an HTML page, not a feed; it names its feeds at "
        "https://site.example/blog/feed.xml, https://cdn.example/atom, "
        "https://site.example/blog/feed.json (and 1 more): put one of those URLs in config.toml"
    )


def test_links_that_are_no_feed_are_not_offered() -> None:
    head = "".join(
        [
            _alternate("application/rss+xml", "/styles.rss", rel="stylesheet"),
            _alternate("text/html", "/fr/"),  # a translation of the page
            '<link rel="alternate" type="application/json+oembed" href="/oembed">',
            _alternate("application/rss+xml", "javascript:alert(1)"),
            _alternate("application/rss+xml", ""),
            '<link rel="alternate" href="/no-type.xml">',
        ]
    )
    assert feed_links(_page(head), HTML, PAGE) == []
    assert html_page_error(_page(head), HTML, PAGE) == (
        "https://site.example/: an HTML page, not a feed, and it names no feed: "
        "put the site's RSS, Atom or JSON Feed URL in config.toml"
    )


def test_plain_json_counts_only_on_a_page_naming_no_other_feed() -> None:
    # WordPress names its REST API as application/json on every page beside the real feeds
    wordpress = _alternate("application/rss+xml", "/feed/") + _alternate(
        "application/json", "/wp-json/wp/v2/pages/2"
    )
    assert feed_links(_page(wordpress), HTML, PAGE) == ["https://site.example/feed/"]
    early_json_feed = _alternate("application/json", "/feed.json")
    assert feed_links(_page(early_json_feed), HTML, PAGE) == ["https://site.example/feed.json"]


@pytest.mark.parametrize(
    "href", ["/wp-json/wp/v2/pages/2", "/WP-JSON/", "/?rest_route=/wp/v2/posts/7", "/wp-json"]
)
def test_wordpress_api_links_are_no_feed_even_alone(href: str) -> None:
    # a theme that removed WordPress's RSS links still names its REST API on every page
    head = _alternate("application/json", href)
    assert feed_links(_page(head), HTML, PAGE) == []
    assert "it names no feed" in (html_page_error(_page(head), HTML, PAGE) or "")


def test_relative_hrefs_follow_the_pages_base_and_keep_their_characters() -> None:
    head = '<base href="/新闻/">' + _alternate("application/atom+xml", "订阅.xml")
    # UTF-8 without a <meta charset>: read as UTF-8, not as Latin-1
    assert feed_links(_page(head), "text/html", "https://site.example/index.html") == [
        "https://site.example/新闻/订阅.xml"
    ]


def test_a_page_behind_a_feed_label_is_still_recognised() -> None:
    body = b"\xef\xbb\xbf\n<!-- cached -->\n" + _page(_alternate("application/rss+xml", "/rss"))
    with pytest.raises(FeedError, match=r"it names its feed at https://site\.example/rss:"):
        parse_feed(body, {"content-type": "application/rss+xml"}, url=PAGE)


@pytest.mark.parametrize(
    ("body", "content_type", "page"),
    [
        (b"<html><body><p>Not a feed.</p></body></html>", "", True),
        (b"<p>A fragment</p>", HTML, True),
        (b'<?xml version="1.0"?>\n<!DOCTYPE html>\n<html xmlns="x"></html>', "", True),
        (b"", HTML, False),
        (b"\x00\x01garbage", HTML, False),
        (b"<p>A fragment</p>", "text/plain", False),
        (b'<?xml version="1.0"?><catalog><book/></catalog>', "application/xml", False),
    ],
)
def test_what_counts_as_a_web_page(body: bytes, content_type: str, page: bool) -> None:
    assert is_html_page(body, content_type) is page


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", HTML), (b'<?xml version="1.0"?><catalog><book/></catalog>', "application/xml")],
)
def test_a_body_that_is_no_page_keeps_the_feed_error(body: bytes, content_type: str) -> None:
    with pytest.raises(FeedError, match=r"^https://site\.example/: not a readable feed: "):
        parse_feed(body, {"content-type": content_type}, url=PAGE)
