"""Feed documents to typed entries: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed
through monitor.polling.jsonfeed.

Pure: bytes and response headers in, `ParsedFeed` out. feedparser picks the charset from the
headers, the XML declaration and the bytes themselves (a wrong declaration is overridden and
reported), and never expands entities declared in the document or fetches external ones.
"""

from __future__ import annotations

import calendar
import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from monitor.errors import FeedError
from monitor.polling.discovery import html_page_error
from monitor.polling.feeditems import (
    FeedItem,
    ParsedFeed,
    absolute_link,
    item_guid,
    plain_text,
    warn_malformed,
)
from monitor.polling.jsonfeed import is_json_feed, parse_json_feed


def parse_feed(body: bytes, headers: Mapping[str, str], *, url: str) -> ParsedFeed:
    """Entries of a feed document; FeedError naming the URL when nothing could be parsed.

    A malformed feed keeps every entry parsed before the fault and says why in `problem`.
    """
    response_headers = {k.lower(): v for k, v in headers.items()}
    content_type = response_headers.get("content-type", "")
    if is_json_feed(body, content_type):
        return parse_json_feed(body, content_type, url=url)
    # No content-location: feedparser would then "resolve" relative GUIDs ("item-7") into
    # URLs, and a GUID must not change when the feed moves. Links are joined in _item.
    response_headers.pop("content-location", None)
    parsed: Any = feedparser.parse(
        body, response_headers=response_headers, resolve_relative_uris=True
    )
    problem = _problem(parsed)
    entries = tuple(item for raw in parsed.entries if (item := _item(raw, url)) is not None)
    if not entries and (problem or not parsed.get("version")):
        reason = problem or "no RSS, Atom or JSON Feed found"
        page = html_page_error(body, content_type, url)  # a home page configured by mistake
        raise FeedError(page or f"{url}: not a readable feed: {reason}")
    if problem:
        warn_malformed(url, len(entries), problem)
    return ParsedFeed(
        title=plain_text(parsed.feed.get("title", "")),
        version=parsed.get("version") or "",
        entries=entries,
        encoding=parsed.get("encoding", "") or "",
        problem=problem,
    )


def _problem(parsed: Any) -> str | None:
    if not parsed.bozo:
        return None
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc is not None else "malformed"


def _item(raw: Any, base: str) -> FeedItem | None:
    link = absolute_link(raw.get("link"), base)
    title = plain_text(raw.get("title", ""))
    summary = _best_text(raw)
    guid = item_guid(raw.get("id"), link, title, summary)
    if guid is None:
        return None
    return FeedItem(guid=guid, link=link, title=title, summary=summary, published=_date(raw))


def _best_text(raw: Any) -> str:
    candidates = [c.get("value", "") for c in raw.get("content", []) or []]
    candidates.append(raw.get("summary", ""))
    texts = [plain_text(c) for c in candidates if c]
    return max(texts, key=len, default="")


# "2024年5月14日 下午3:05" (Chinese, Japanese) and "2024년 5월 14일" (Korean): feedparser reads
# these as some other day entirely, so they are read here instead. No zone given: taken as UTC,
# as feedparser takes every zone-less date; a zone at the end ("+0800", "HKT") is applied.
_CJK_DATE = re.compile(
    r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?"
    r"(?:\s*(上午|下午|午前|午後|오전|오후)?\s*(\d{1,2})\s*[:：時时시]\s*(\d{1,2})"
    r"(?:\s*[:：分분]\s*(\d{1,2}))?)?"
)
_AFTERNOON = {"下午", "午後", "오후"}


def cjk_date(text: str) -> datetime | None:
    """A date written with year, month and day characters; None when it names no real day."""
    found = _CJK_DATE.search(text)
    if not found:
        return None
    year, month, day, half, hour, minute, second = found.groups()
    hours = int(hour or 0) + (12 if half in _AFTERNOON and int(hour or 0) < 12 else 0)
    try:
        moment = datetime(
            int(year), int(month), int(day), hours, int(minute or 0), int(second or 0), tzinfo=UTC
        )
    except ValueError:  # 2024年13月40日
        return None
    rest = text[found.end() :]
    zone = _NAMED_ZONE.search(rest) or _NUMERIC_ZONE.search(rest)
    return moment - _offset(zone) if zone else moment


# Zone abbreviations feedparser does not know (it knows GMT, UT, Z and the US ones) and so
# reads as UTC, hours off; common in the European and Asian business press. Ambiguous ones
# (IST: India, Ireland or Israel; CST: US Central or China) are left to feedparser.
_ZONE_MINUTES = {
    "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "GST": 240, "PKT": 300, "ICT": 420, "WIB": 420, "HKT": 480, "SGT": 480,
    "AWST": 480, "PHT": 480, "JST": 540, "KST": 540, "ACST": 570, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
}  # fmt: skip
_NAMED_ZONE = re.compile(
    r"\s*\(?\s*(?:(?P<abbr>" + "|".join(_ZONE_MINUTES) + r")"
    r"|(?:UTC|GMT)\s*(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)\s*\)?\s*$"
)
_NUMERIC_ZONE = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})\s*$")


def _offset(zone: re.Match[str]) -> timedelta:
    if abbreviation := zone.groupdict().get("abbr"):
        return timedelta(minutes=_ZONE_MINUTES[abbreviation])
    minutes = int(zone["hours"]) * 60 + int(zone["minutes"] or 0)
    return timedelta(minutes=-minutes if zone["sign"] == "-" else minutes)


def named_zone_date(text: str) -> datetime | None:
    """A date whose zone is an abbreviation or "UTC+8" that feedparser would read as UTC."""
    zone = _NAMED_ZONE.search(text)
    if zone is None:
        return None
    head = text[: zone.start()].strip()
    try:
        moment = email.utils.parsedate_to_datetime(head + " +0000")  # RFC 822, as RSS writes
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(head)  # Atom and the rest
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return None  # a numeric offset already; feedparser reads those right
        moment = moment.replace(tzinfo=UTC)
    return (moment - _offset(zone)).astimezone(UTC)


def _date(raw: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        text = raw.get(key)
        if isinstance(text, str) and _CJK_DATE.search(text):
            return cjk_date(text)
        if isinstance(text, str) and (named := named_zone_date(text)) is not None:
            return named
        value = raw.get(f"{key}_parsed")
        if value:
            # feedparser has already converted the entry's zone to UTC
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (ValueError, OverflowError, OSError):
                continue  # "0000-00-00 00:00:00" parses to year -1: no usable date
    return None
