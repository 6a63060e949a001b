"""JSON Feed documents (versions 1 and 1.1, https://www.jsonfeed.org/version/1.1/) to entries.

Pure: bytes and a Content-Type in, the same `ParsedFeed` that RSS and Atom give out, so that
the poller stores a JSON Feed's articles exactly as it stores an RSS feed's. Dates are passed on
as written (converted to UTC); placeholders far in the future or the past are judged later, by
the article stage, for every format alike.
"""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime
from typing import Any

from monitor.errors import FeedError
from monitor.polling.feeditems import (
    FeedItem,
    ParsedFeed,
    absolute_link,
    item_guid,
    plain_text,
    tidy_lines,
    warn_malformed,
)

JSON_TYPES = ("application/feed+json", "application/json")
_VERSIONS = {
    "https://jsonfeed.org/version/1": "json1",
    "https://jsonfeed.org/version/1.1": "json11",
}
_BOM = b"\xef\xbb\xbf"
TITLE_CHARS = 80  # a title made from the text: about one line in a feed reader's list
_MAX_PROBLEMS = 3  # named in the warning; the rest are counted


class _BadItem(ValueError):
    """An item that cannot be read; it is skipped and the others kept."""


def is_json_feed(body: bytes, content_type: str) -> bool:
    """Whether the body is to be read as JSON Feed rather than as XML.

    Its first character decides more than its label: servers send JSON Feed as text/plain or
    application/octet-stream, and "{" never opens RSS or Atom. A body labelled JSON that opens
    with "<" is XML under a wrong label and is left to the XML parser.
    """
    head = body.removeprefix(_BOM).lstrip()[:1]
    if head == b"{":
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES and head != b"<"


def parse_json_feed(body: bytes, content_type: str, *, url: str) -> ParsedFeed:
    """Entries of a JSON Feed; FeedError naming the URL when it has none to give.

    One unreadable item is skipped and named in `problem`, the others kept, as a malformed
    RSS feed keeps the entries before its fault.
    """
    problems: list[str] = []
    document, encoding = _load(body, content_type, url, problems)
    version = _version(document.get("version"))
    items = document.get("items")
    if not isinstance(items, list):
        if version is None:
            reason = "a JSON document with neither a JSON Feed version nor items"
        elif items is None:
            reason = 'it has no "items"'
        else:
            reason = f'"items" is {_kind(items)}, not a list'
        raise FeedError(f"{url}: not a readable JSON Feed: {reason}")
    if version is None:
        given = document.get("version")
        named = "no version" if given is None else f"version {_shown(given)} unknown"
        problems.append(f"{named}: read as JSON Feed 1.1")
    title = _feed_string(document, "title", problems)
    base = absolute_link(_feed_string(document, "home_page_url", problems), url) or url
    entries: list[FeedItem] = []
    for number, raw in enumerate(items, start=1):
        try:
            item = _item(raw, base)
        except _BadItem as exc:
            problems.append(f"item {number} skipped: {exc}")
            continue
        if item is not None:
            entries.append(item)
    problem = _summary(problems)
    if not entries and items and problem:
        raise FeedError(f"{url}: not a readable JSON Feed: {problem}")
    if problem:
        warn_malformed(url, len(entries), problem)
    return ParsedFeed(
        title=" ".join(title.split()),
        version=version or "json11",
        entries=tuple(entries),
        encoding=encoding,
        problem=problem,
    )


def _load(
    body: bytes, content_type: str, url: str, problems: list[str]
) -> tuple[dict[str, Any], str]:
    """The top-level object and the encoding it was read in."""
    text, encoding = _decode(body, content_type, problems)
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise FeedError(f"{url}: not a readable JSON Feed: invalid JSON{where}: {message}") from exc
    except RecursionError as exc:
        raise FeedError(f"{url}: not a readable JSON Feed: nested too deeply to read") from exc
    if not isinstance(document, dict):
        raise FeedError(
            f"{url}: not a readable JSON Feed: the document is {_kind(document)}, not an object"
        )
    return document, encoding


def _decode(body: bytes, content_type: str, problems: list[str]) -> tuple[str, str]:
    # JSON Feed is UTF-8 by definition; a declared charset is tried only when that fails.
    declared = _charset(content_type)
    for encoding in ("utf-8-sig", declared):
        if encoding:
            try:
                return body.decode(encoding), encoding.removesuffix("-sig")
            except (UnicodeDecodeError, LookupError):
                continue
    problems.append("not valid UTF-8: undecodable bytes replaced")
    return body.decode("utf-8", errors="replace"), "utf-8"


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def _version(given: object) -> str | None:
    if not isinstance(given, str):
        return None
    key = given.strip().rstrip("/").replace("http://", "https://", 1).lower()
    return _VERSIONS.get(key)


def _feed_string(document: dict[str, Any], key: str, problems: list[str]) -> str:
    value = document.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    problems.append(f'"{key}" is {_kind(value)}, not a string: ignored')
    return ""


def _item(raw: object, base: str) -> FeedItem | None:
    if not isinstance(raw, dict):
        raise _BadItem(f"{_kind(raw)}, not an object")
    try:
        link = absolute_link(_string(raw, "url") or _string(raw, "external_url"), base)
        html, text, summary = (_string(raw, k) for k in ("content_html", "content_text", "summary"))
        texts = [plain_text(html), tidy_lines(text), tidy_lines(summary)]
        best = max(texts, key=len)
        title = " ".join(_string(raw, "title").split()) or title_from(best)
        published = _date(raw)
    except _BadItem as exc:
        raise _BadItem(f"{_named(raw)}{exc}") from None
    guid = item_guid(_id(raw.get("id")), link, title, best)
    if guid is None:
        return None
    return FeedItem(guid=guid, link=link, title=title, summary=best, published=published)


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    raise _BadItem(f'"{key}" is {_kind(value)}, not a string')


def _id(value: object) -> str | None:
    # The specification asks readers to turn an id given as a number (or anything else) into
    # a string rather than refuse it; a stable spelling keeps the GUID the same at each poll.
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _named(raw: dict[str, Any]) -> str:
    given = raw.get("id")
    return f"id {given!r}: " if isinstance(given, str | int) else ""


def title_from(text: str) -> str:
    """A title for an untitled item (a micro-blog post): its first line, cut at a word."""
    first = text.split("\n", 1)[0].strip()
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[: TITLE_CHARS - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def _date(raw: dict[str, Any]) -> datetime | None:
    for key in ("date_published", "date_modified"):
        text = _string(raw, key).strip()
        if text and (moment := rfc3339(text)) is not None:
            return moment
    return None


def rfc3339(text: str) -> datetime | None:
    """An RFC 3339 date in UTC, as JSON Feed writes them; RFC 822 as RSS does is also read,
    a date with no zone is UTC (as for RSS and Atom), anything else is no date at all."""
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a zone east of UTC
        return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "an object"})
    return names.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else _kind(value)


def _summary(problems: list[str]) -> str | None:
    if not problems:
        return None
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    more = len(problems) - _MAX_PROBLEMS
    return f"{shown}; and {more} more" if more > 0 else shown
