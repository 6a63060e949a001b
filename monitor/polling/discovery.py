"""When a feed URL serves a web page: say so, and name the feeds the page itself names.

Configuring a site's home page instead of its feed is a common mistake. Pages name their feeds
in `<link rel="alternate" type="application/rss+xml" href="...">`, so the error can give the URL
to put in config.toml. Nothing is followed automatically: the config's `url` is the feed, and
changing it is the user's decision.

Pure: bytes, a Content-Type and the page's URL in, a message out.
"""

from __future__ import annotations

import re

import lxml.html
from lxml.etree import ParserError

from monitor.polling.extract import HTML_TYPES, decode_html
from monitor.polling.feeditems import absolute_link
from monitor.urls import is_web_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Early JSON Feeds were announced as plain application/json; so are WordPress's REST API links
# on every page, which are no feed. It counts only on a page that names no feed of the above,
# and never when it is WordPress's API (a theme may have removed the RSS links beside it).
_PLAIN_JSON = "application/json"
_WORDPRESS_API = re.compile(r"/wp-json(?:/|$)|[?&]rest_route=", re.IGNORECASE)
MAX_SHOWN = 3
_SNIFF = 4096
# What browsers take for HTML at the start of a document, after a BOM, an XML declaration
# and comments.
_HTML_START = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)


def is_html_page(body: bytes, content_type: str) -> bool:
    """Whether the body is a web page: it opens like one, or is labelled one and opens with a
    tag (so an empty body or binary junk under a text/html label is not called a page)."""
    head = body[:_SNIFF].removeprefix(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media in HTML_TYPES and head.lstrip().startswith(b"<")


def feed_links(body: bytes, content_type: str, url: str) -> list[str]:
    """The absolute http(s) URLs of the feeds a page names, in page order, each once."""
    text = decode_html(body, content_type)
    try:
        # Re-encoded with its encoding stated, so a <meta charset> cannot make lxml misread it.
        parser = lxml.html.HTMLParser(encoding="utf-8")
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (ParserError, ValueError):
        return []
    base = url
    for element in root.iter("base"):
        base = absolute_link(element.get("href"), url) or url
        break
    dedicated: list[str] = []
    plain: list[str] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = absolute_link(link.get("href"), base)
        if "alternate" not in rel or href is None:
            continue
        if not is_web_url(href):
            continue
        if kind in FEED_TYPES:
            found: list[str] | None = dedicated
        elif kind == _PLAIN_JSON and not _WORDPRESS_API.search(href):
            found = plain
        else:
            found = None
        if found is not None and href not in found:
            found.append(href)
    return dedicated or plain


def html_page_error(body: bytes, content_type: str, url: str) -> str | None:
    """The error for a feed URL that serves a web page; None when the body is no web page."""
    if not is_html_page(body, content_type):
        return None
    links = feed_links(body, content_type, url)
    if not links:
        return (
            f"{url}: an HTML page, not a feed, and it names no feed: "
            "put the site's RSS, Atom or JSON Feed URL in config.toml"
        )
    if len(links) == 1:
        return (
            f"{url}: an HTML page, not a feed; it names its feed at {links[0]}: "
            "put that URL in config.toml"
        )
    shown = ", ".join(links[:MAX_SHOWN])
    more = len(links) - MAX_SHOWN
    if more > 0:
        shown += f" (and {more} more)"
    return (
        f"{url}: an HTML page, not a feed; it names its feeds at {shown}: "
        "put one of those URLs in config.toml"
    )
