from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ExtractError
from monitor.polling.extract import decode_html, extract_article, is_html, parse_page_date
from tests.helpers import FIXTURES

URL = "https://news.example.org/autos/northwind-contoso"
CHROME = [
    "cookie",
    "Subscribe today",
    "Most read",
    "Ten gadgets",
    "floating restaurant",
    "gearhead88",
    "partnerships never work out",
    "eyesore",
    "All rights reserved",
    "newsletter",
]


def test_article_text_without_site_chrome() -> None:
    html = (FIXTURES / "pages" / "article_chrome.html").read_text(encoding="utf-8")
    page = extract_article(html, URL)
    assert "joint battery plant in the port city of Lindqvist" in page.text
    assert "favourable prices for lithium" in page.text  # the last paragraph is kept
    for chrome in CHROME:
        assert chrome.lower() not in page.text.lower(), chrome
    assert page.title == "Northwind Motors weighs battery tie-up with Contoso Cells"
    assert page.author == "Priya Valdés"
    assert page.site == "Harbour Ledger"
    assert page.date == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)


def test_windows_1252_page_decodes_and_drops_comments_and_popular_list() -> None:
    body = (FIXTURES / "pages" / "fabrikam_cfo.html").read_bytes()
    html = decode_html(body, "text/html; charset=utf-8")  # the header lies
    page = extract_article(html, "https://news.example.org/business/fabrikam-cfo")
    assert "appointed Inés Okafor" in page.text
    assert "the company’s fleet" in page.text
    assert "“She knows how" in page.text
    for chrome in ["cookies", "Most popular", "commute", "robofan", "Advertise", "Log in"]:
        assert chrome not in page.text, chrome


def test_empty_page_is_an_extract_error_naming_the_url() -> None:
    with pytest.raises(ExtractError, match=r"https://x\.example/empty"):
        extract_article("<html><body><nav>Home</nav></body></html>", "https://x.example/empty")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("café “x”".encode("cp1252"), "text/html; charset=utf-8", "café “x”"),
        ("café".encode(), "text/html; charset=iso-8859-1", "café"),
        (
            "<meta charset=gb2312>小米 镕 䶮".encode("gb18030"),
            "text/html",
            "<meta charset=gb2312>小米 镕 䶮",
        ),
        ("\ufeffbom text".encode(), "text/html; charset=cp1252", "bom text"),
        (b"plain", "", "plain"),
    ],
)
def test_decode_html(body: bytes, content_type: str, expected: str) -> None:
    assert decode_html(body, content_type) == expected


def test_is_html() -> None:
    assert is_html("text/html; charset=utf-8") and is_html("application/xhtml+xml") and is_html("")
    assert not is_html("application/pdf") and not is_html("image/png")


def test_parse_page_date() -> None:
    assert parse_page_date("2024-05-14") == datetime(2024, 5, 14, tzinfo=UTC)
    assert parse_page_date("2024-05-14T08:30:00+0200") == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)
    assert parse_page_date("garbage") is None and parse_page_date(None) is None
