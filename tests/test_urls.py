from __future__ import annotations

import pytest

from monitor.errors import UnsafeURLError
from monitor.urls import (
    canonical_url,
    check_scheme,
    classify_address,
    is_web_url,
    refused_address,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://News.Example.ORG:443/a/b?x=1#top", "https://news.example.org/a/b?x=1"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/p", "http://example.com:8080/p"),
        (
            "https://example.com/p?utm_source=rss&id=7&UTM_Medium=feed&a=2",
            "https://example.com/p?a=2&id=7",
        ),
        ("https://example.com/p?fbclid=abc", "https://example.com/p"),
        ("https://example.com./p", "https://example.com/p"),
        ("https://Bücher.example/p", "https://xn--bcher-kva.example/p"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://example.com/p?b=&a=1", "https://example.com/p?a=1&b="),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_canonical_url_is_stable_and_keeps_path_case() -> None:
    url = "HTTP://Example.com/Story/ID?Q=Mixed&utm_campaign=x#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert once == "http://example.com/Story/ID?Q=Mixed"


def test_same_story_spellings_collapse() -> None:
    spellings = [
        "https://news.example.org/autos/northwind?utm_source=rss",
        "HTTPS://NEWS.EXAMPLE.ORG:443/autos/northwind#comments",
        "https://news.example.org/autos/northwind",
    ]
    assert len({canonical_url(u) for u in spellings}) == 1


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "reserved"),
        ("240.0.0.1", "reserved"),
        ("224.0.0.1", "reserved"),
        ("93.184.216.34", "public"),
        ("2606:4700:4700::1111", "public"),
    ],
)
def test_classify_address(address: str, kind: str) -> None:
    assert classify_address(address) == kind


def test_refused_address_checks_every_address() -> None:
    assert refused_address(["93.184.216.34"]) is None
    assert refused_address(["93.184.216.34", "10.0.0.5"]) == ("10.0.0.5", "private")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "javascript:alert(1)"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UnsafeURLError) as err:
        check_scheme(url)
    assert url in str(err.value) and err.value.url == url


def test_check_scheme_returns_host() -> None:
    assert check_scheme("https://Example.com/x") == "example.com"
    with pytest.raises(UnsafeURLError, match="no host"):
        check_scheme("http:///path-only")


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://example.org/a?b=1", True),
        ("HTTP://Example.org", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("https://", False),  # no host
        ("http://[::1", False),  # malformed
        ("http://example.org:99999/", False),  # port out of range
        ("/relative/path", False),
        (None, False),
        ("", False),
    ],
)
def test_only_well_formed_http_urls_with_a_host_are_web_urls(url: str | None, web: bool) -> None:
    assert is_web_url(url) is web
