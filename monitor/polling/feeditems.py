"""The typed entries every feed format is read into, and the text and link rules they share.

RSS and Atom (monitor.polling.feeds) and JSON Feed (monitor.polling.jsonfeed) both produce these
values, so the
poller cannot tell one format from another and an item reads the same whichever it came in.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ParserError

from monitor.display import counted

log = logging.getLogger(__name__)

_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# Their text is code or markup, never the story: feedparser drops them from RSS and Atom, and
# JSON Feed HTML comes to us unsanitised.
_HIDDEN = ("script", "style", "template", "noscript")


@dataclass(frozen=True)
class FeedItem:
    guid: str  # the entry's id, else its link, else a hash of its title and text
    link: str | None  # absolute
    title: str
    summary: str  # plain text: the longer of the entry's content and summary
    published: datetime | None  # aware UTC


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    version: str  # the format: rss20, rss10, atom10, ... (feedparser's names), json1, json11
    entries: tuple[FeedItem, ...]
    encoding: str
    problem: str | None  # why the document is malformed, when it is but still gave entries


def item_guid(given: str | None, link: str | None, title: str, summary: str) -> str | None:
    """The entry's own id, else its link, else a hash of what it says; None for an empty entry."""
    guid = (given or "").strip() or link
    if guid:
        return guid
    if not (title or summary):
        return None  # nothing to identify or read
    return "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()


def absolute_link(link: str | None, base: str) -> str | None:
    """The entry's link made absolute; None when it is no URL at all, so that a typo in one
    entry ("http://[host/", port 99999) costs that entry rather than failing the whole feed."""
    if not link:
        return None
    try:
        joined = urljoin(base, link.strip())
        _ = urlsplit(joined).port  # raises on a malformed host or port
    except ValueError as exc:
        log.info("%s: entry link %r is not a URL (%s), ignored", base, link, exc)
        return None
    return joined


def plain_text(value: str) -> str:
    """Text of an HTML fragment with paragraph breaks kept as newlines."""
    if "<" in value:
        try:
            root = lxml.html.fragment_fromstring(value, create_parent="div")
        except (ParserError, ValueError):
            root = None
        if root is not None:
            for hidden in list(root.iter(*_HIDDEN)):
                hidden.drop_tree()
            for element in root.iter(*_BLOCKS):
                element.tail = "\n" + (element.tail or "")
            value = root.text_content()
    elif "&" in value:
        # HTML with no tag still escapes its text ("Tom &amp; Jerry"), which lxml would have
        # decoded had there been one. Only complete references: "AT&T" and "&copy" stay.
        value = _ENTITY.sub(lambda found: html.unescape(found.group()), value)
    return tidy_lines(value)


def tidy_lines(value: str) -> str:
    """Plain text with runs of spaces collapsed and blank lines dropped."""
    lines = (_SPACE.sub(" ", line).strip() for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def warn_malformed(url: str, kept: int, problem: str) -> None:
    """One log line for a feed read in part: what was kept and why the rest was not."""
    log.warning("%s: malformed feed, kept %s: %s", url, counted(kept, "entry", "entries"), problem)
