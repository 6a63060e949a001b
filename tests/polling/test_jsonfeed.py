from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.errors import FeedError
from monitor.polling.feeds import parse_feed
from monitor.polling.jsonfeed import TITLE_CHARS, is_json_feed
from tests.helpers import fixture_text

BASE = "https://news.example.org"
FEED_URL = f"{BASE}/feeds/autos.json"
JSON_FEED = {"content-type": "application/feed+json"}
V11 = "https://jsonfeed.org/version/1.1"
V1 = b'{"version": "https://jsonfeed.org/version/1"'


def _doc(items: list[Any], **fields: Any) -> bytes:
    return json.dumps({"version": V11, "title": "T", **fields, "items": items}).encode()


def _parse(body: bytes, content_type: str = "application/feed+json") -> Any:
    return parse_feed(body, {"content-type": content_type}, url=FEED_URL)


def test_version_1_1_items_are_typed_like_rss_entries() -> None:
    feed = _parse(fixture_text("feeds/jsonfeed11.json", BASE).encode())
    assert feed.version == "json11" and feed.problem is None and feed.encoding == "utf-8"
    assert feed.title == "Harbour Ledger: Autos"
    northwind, fabrikam, tailspin = feed.entries
    assert northwind.guid == "hl-2001"
    # relative to home_page_url, as a browser on the site would read it
    assert northwind.link == f"{BASE}/autos/northwind-contoso?utm_source=json"
    assert northwind.title == "Northwind Motors weighs battery tie-up with Contoso Cells"
    # HTML content, longer than the summary, becomes plain text with its paragraph breaks
    assert northwind.summary.splitlines() == [
        "Northwind is said to be in early talks about a shared battery plant.",
        "Neither company would comment.",
    ]
    assert northwind.published == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)  # +08:00 to UTC
    assert fabrikam.link == f"{BASE}/business/fabrikam-cfo"
    assert fabrikam.summary.splitlines()[1] == "She starts in July."
    assert fabrikam.published == datetime(2024, 5, 13, 7, 0, tzinfo=UTC)  # date_modified
    assert tailspin.link == f"{BASE}/travel/tailspin-jets"  # external_url: no url given
    assert tailspin.published == datetime(2999, 12, 31, tzinfo=UTC)  # judged by the article stage


def test_version_1_reads_numeric_ids_and_lower_case_dates() -> None:
    feed = _parse(fixture_text("feeds/jsonfeed1.json", BASE).encode())
    assert feed.version == "json1" and feed.problem is None and feed.title == "Litware Chips"
    fab, dividend = feed.entries
    assert fab.guid == "4711"  # the specification: coerce a non-string id to a string
    assert fab.published == datetime(2024, 4, 2, 7, 15, tzinfo=UTC)
    assert dividend.guid == "litware-dividend"
    assert dividend.summary == "The board raised the quarterly dividend."
    assert dividend.published == datetime(2024, 4, 1, 6, 0, tzinfo=UTC)  # "t" and "z"


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "text/plain", "application/octet-stream", ""],
)
def test_a_json_feed_is_read_whatever_its_label(content_type: str) -> None:
    body = b"\xef\xbb\xbf\n  " + fixture_text("feeds/jsonfeed11.json", BASE).encode()
    feed = _parse(body, content_type)
    assert feed.version == "json11" and len(feed.entries) == 3


def test_detection_leaves_xml_to_the_xml_parser() -> None:
    assert is_json_feed(b'{"version": "x"}', "text/html")
    assert is_json_feed(b"[]", "application/json")  # labelled JSON: the JSON error is clearer
    assert not is_json_feed(b"[]", "text/plain")
    assert not is_json_feed(b"<rss/>", "application/json")
    rss = fixture_text("feeds/rss20.xml", BASE).encode()
    assert _parse(rss, "application/json").version == "rss20"  # a wrong label on XML


def test_relative_urls_without_a_home_page_resolve_against_the_feed_url() -> None:
    items = [
        {"id": "a", "url": "../stories/a", "content_text": "A."},
        {"id": "b", "url": "https://other.example/b", "content_text": "B."},
        {"id": "c", "url": "http://[broken/c", "content_text": "C."},  # costs its link only
    ]
    a, b, c = _parse(_doc(items)).entries
    assert a.link == f"{BASE}/stories/a"
    assert b.link == "https://other.example/b"
    assert c.link is None and c.guid == "c"


def test_an_untitled_item_takes_its_title_from_the_start_of_its_text() -> None:
    long = "Northwind Motors and Contoso Cells are said to be close to a deal on a shared " * 3
    items = [
        {"id": "short", "content_text": "Just shipped the new battery line.\nMore soon."},
        {"id": "long", "content_html": f"<p>{long}</p>"},
        {"id": "blank", "title": "  ", "summary": "Summary only."},
    ]
    short, cut, blank = _parse(_doc(items)).entries
    assert short.title == "Just shipped the new battery line."
    assert cut.title.endswith("…") and len(cut.title) <= TITLE_CHARS
    assert long.startswith(cut.title.removesuffix("…"))
    assert not cut.title.removesuffix("…").endswith(" ")
    assert blank.title == "Summary only."


def test_html_content_loses_its_markup_scripts_and_styles() -> None:
    html = (
        "<h2>Talks</h2><p>Northwind &amp; Contoso <a href='/x'>met</a>.</p>"
        "<script>track('x')</script><style>p { color: red }</style><ul><li>One</li></ul>"
    )
    (item,) = _parse(_doc([{"id": "h", "content_html": html, "summary": "Short."}])).entries
    assert item.summary.splitlines() == ["Talks", "Northwind & Contoso met.", "One"]


@pytest.mark.parametrize(
    ("published", "modified", "read"),
    [
        ("Tue, 14 May 2024 06:30:00 GMT", None, datetime(2024, 5, 14, 6, 30, tzinfo=UTC)),
        ("2024-05-14 06:30:00", None, datetime(2024, 5, 14, 6, 30, tzinfo=UTC)),  # no zone: UTC
        ("yesterday", "2024-05-13T09:00:00-02:00", datetime(2024, 5, 13, 11, 0, tzinfo=UTC)),
        ("yesterday", "soon", None),
        ("0001-01-01T00:00:00+01:00", None, None),  # before year 1 in UTC: no date
        # kept as written: the article stage treats far-off dates as unknown, for every format
        ("2999-01-01T00:00:00Z", None, datetime(2999, 1, 1, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", None, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_dates(published: str, modified: str | None, read: datetime | None) -> None:
    raw = {"id": "d", "content_text": "x", "date_published": published}
    if modified:
        raw["date_modified"] = modified
    (item,) = _parse(_doc([raw])).entries
    assert item.published == read


def test_a_bad_item_is_skipped_and_named_and_the_others_kept() -> None:
    items: list[Any] = [
        {"id": "good-1", "url": "/a", "content_text": "Fine."},
        "not an object",
        None,
        {"id": "typed", "url": "/b", "title": ["a", "list"]},
        {"id": 9, "url": "/c", "date_published": 20240514},
        {"id": "good-2", "url": "/d", "content_text": "Also fine."},
    ]
    feed = _parse(_doc(items))
    assert [e.guid for e in feed.entries] == ["good-1", "good-2"]
    assert feed.problem is not None
    assert "item 2 skipped: a string, not an object" in feed.problem
    assert "item 3 skipped: null, not an object" in feed.problem
    assert "id 'typed'" in feed.problem and '"title" is a list' in feed.problem
    assert "and 1 more" in feed.problem  # item 5's date: counted, not listed


def test_an_empty_items_list_is_a_quiet_feed_not_an_error() -> None:
    feed = _parse(_doc([]))
    assert feed.entries == () and feed.problem is None and feed.title == "T"


def test_an_unknown_version_is_read_and_said() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/2", "items": [{"id": "x"}]})
    feed = _parse(body.encode())
    assert [e.guid for e in feed.entries] == ["x"]
    assert feed.problem is not None and "'https://jsonfeed.org/version/2' unknown" in feed.problem


def test_wrong_feed_fields_are_ignored_and_said() -> None:
    feed = _parse(_doc([{"id": "x", "url": "x"}], title=5, home_page_url=["no"]))
    assert feed.title == "" and feed.entries[0].link == f"{BASE}/feeds/x"
    assert feed.problem is not None and '"home_page_url" is a list' in feed.problem


def test_undecodable_bytes_are_replaced_and_said() -> None:
    body = _doc([{"id": "x", "title": "Caf\u00e9"}]).replace(b"Caf\\u00e9", b"Caf\xe9")
    (item,) = (feed := _parse(body)).entries
    assert item.title == "Caf\ufffd" and "not valid UTF-8" in (feed.problem or "")


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (V1 + b', "items": [', "", "invalid JSON at line 1"),
        (b"", "application/feed+json", "invalid JSON"),
        (b'[{"id": "x"}]', "application/json", "the document is a list, not an object"),
        (b'{"items": ' + b"[" * 100_000, "", "nested too deeply"),
        (V1 + b"}", "", 'it has no "items"'),
        (V1 + b', "items": {}}', "", "an object, not a list"),
        (b'{"error": "not found"}', "application/json", "neither a JSON Feed version nor items"),
        (_doc([1, "two", [3]]), "", "item 1 skipped: a number, not an object"),
    ],
)
def test_an_unreadable_json_feed_is_an_error_naming_the_url(
    body: bytes, content_type: str, reason: str
) -> None:
    with pytest.raises(FeedError) as caught:
        _parse(body, content_type)
    message = str(caught.value)
    assert message.startswith(f"{FEED_URL}: not a readable JSON Feed: ")
    assert reason in message


def test_the_malformed_feed_warning_counts_one_entry_in_the_singular(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="monitor.polling.feeditems"):
        _parse(_doc([{"id": "good", "url": "/a", "content_text": "Fine."}, "junk"]))
    assert "malformed feed, kept 1 entry: item 2 skipped" in caplog.text


def test_html_without_a_tag_has_its_entities_decoded_as_rss_gives_them() -> None:
    escaped = "Northwind &amp; Contoso agreed &#8220;a deal&#8221; &mdash; AT&T R&D"
    plain = "Northwind & Contoso agreed \u201ca deal\u201d \u2014 AT&T R&D"
    feed = _parse(_doc([{"id": "1", "url": "/a", "content_html": escaped}]))
    assert feed.entries[0].summary == plain and feed.entries[0].title == plain
    rss = (
        '<rss version="2.0"><channel><item><title>Northwind &amp;amp; Contoso</title>'
        f"<link>{BASE}/a</link><description>{escaped.replace('&', '&amp;')}</description>"
        "</item></channel></rss>"
    )
    item = parse_feed(rss.encode(), {"content-type": "application/rss+xml"}, url=FEED_URL)
    assert item.entries[0].summary == plain
    assert item.entries[0].title == "Northwind & Contoso"  # escaped twice, as feeds often do
