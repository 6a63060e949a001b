from __future__ import annotations

import gzip
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import brotli
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import FetchError, UnsafeURLError
from monitor.polling.fetch import Fetcher, HostLimiter, parse_retry_after
from tests.helpers import polling

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(polling(timeout=2.0)) as f:
        yield f


def test_sends_user_agent_and_accepts_compression(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request(
        "/feed",
        headers={
            "User-Agent": "rumour-monitor/test (+https://example.invalid)",
            "Accept-Encoding": "gzip, deflate, br",
        },
    ).respond_with_data(FEED, content_type="application/rss+xml")
    result = fetcher.fetch(httpserver.url_for("/feed"), allow_private=True)
    assert result.status == 200 and result.body == FEED
    assert result.content_type == "application/rss+xml"
    assert fetcher.requests == 1


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
def test_decompresses(httpserver: HTTPServer, fetcher: Fetcher, encoding: str, compress) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/z").respond_with_data(
        compress(FEED * 20), headers={"Content-Encoding": encoding}
    )
    assert fetcher.fetch(httpserver.url_for("/z"), allow_private=True).body == FEED * 20


def test_conditional_get_gets_304(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    lm = "Tue, 14 May 2024 06:30:00 GMT"
    httpserver.expect_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": lm}
    ).respond_with_data("", status=304, headers={"ETag": '"v1"'})
    httpserver.expect_request("/feed").respond_with_data(
        FEED, headers={"ETag": '"v1"', "Last-Modified": lm}
    )
    first = fetcher.fetch(httpserver.url_for("/feed"), allow_private=True)
    assert first.etag == '"v1"' and first.last_modified == lm and not first.not_modified
    again = fetcher.fetch(
        httpserver.url_for("/feed"), allow_private=True, etag=first.etag, last_modified=lm
    )
    assert again.not_modified and again.body == b""


def test_permanent_redirect_is_reported(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    new = httpserver.url_for("/new-feed")
    httpserver.expect_request("/old").respond_with_data("", 301, headers={"Location": "/mid"})
    httpserver.expect_request("/mid").respond_with_data("", 308, headers={"Location": new})
    httpserver.expect_request("/new-feed").respond_with_data(FEED)
    result = fetcher.fetch(httpserver.url_for("/old"), allow_private=True)
    assert result.body == FEED and result.final_url == new and result.permanent_url == new


def test_temporary_hop_ends_the_permanent_chain(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/a").respond_with_data("", 301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", 302, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(FEED)
    result = fetcher.fetch(httpserver.url_for("/a"), allow_private=True)
    assert result.final_url == httpserver.url_for("/c")
    assert result.permanent_url == httpserver.url_for("/b")
    httpserver.expect_request("/t").respond_with_data("", 307, headers={"Location": "/c"})
    assert fetcher.fetch(httpserver.url_for("/t"), allow_private=True).permanent_url is None


def test_redirect_loop_and_too_many_redirects(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/x").respond_with_data("", 302, headers={"Location": "/y"})
    httpserver.expect_request("/y").respond_with_data("", 302, headers={"Location": "/x"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher.fetch(httpserver.url_for("/x"), allow_private=True)
    for i in range(5):
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", 302, headers={"Location": f"/r{i + 1}"}
        )
    httpserver.expect_request("/r5").respond_with_data(FEED)  # reached after 5 hops: fine
    assert fetcher.fetch(httpserver.url_for("/r0"), allow_private=True).body == FEED
    httpserver.clear()
    for i in range(7):
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", 302, headers={"Location": f"/r{i + 1}"}
        )
    with pytest.raises(FetchError, match="more than 5 redirects") as err:
        fetcher.fetch(httpserver.url_for("/r0"), allow_private=True)
    assert err.value.url == httpserver.url_for("/r0")


def test_redirect_to_another_scheme_is_refused(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/f").respond_with_data(
        "", 302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(UnsafeURLError, match="only http and https"):
        fetcher.fetch(httpserver.url_for("/f"), allow_private=True)


def test_retry_after_seconds_on_429(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/busy").respond_with_data("", 429, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    with pytest.raises(FetchError) as err:
        fetcher.fetch(httpserver.url_for("/busy"), allow_private=True)
    assert err.value.status == 429 and err.value.retry_after is not None
    assert before + timedelta(seconds=119) <= err.value.retry_after
    assert err.value.retry_after <= datetime.now(UTC) + timedelta(seconds=121)


def test_retry_after_date_on_503(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/down").respond_with_data(
        "", 503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    with pytest.raises(FetchError) as err:
        fetcher.fetch(httpserver.url_for("/down"), allow_private=True)
    assert err.value.status == 503
    assert err.value.retry_after == datetime(2099, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_statuses_name_url_and_status(
    httpserver: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    httpserver.expect_request("/e").respond_with_data("", status)
    with pytest.raises(FetchError, match=f"HTTP {status}") as err:
        fetcher.fetch(httpserver.url_for("/e"), allow_private=True)
    assert err.value.status == status and err.value.retry_after is None
    assert httpserver.url_for("/e") in str(err.value)


def test_slow_response_hits_the_timeout(threaded_server: HTTPServer) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(3.0)
        return Response(FEED)

    threaded_server.expect_request("/slow").respond_with_handler(slow)
    with Fetcher(polling(timeout=0.4)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 0\.4s"):
            f.fetch(threaded_server.url_for("/slow"), allow_private=True)
    # Well under the 3 s answer, with room for a loaded machine.
    assert time.monotonic() - started < 2.5


def test_trickling_body_hits_the_total_deadline(threaded_server: HTTPServer) -> None:
    def trickle(_request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                time.sleep(0.1)  # each read is quick; the whole body (4 s) is not
                yield b"<p>more</p>" * 10

        return Response(chunks(), content_type="text/html")

    threaded_server.expect_request("/trickle").respond_with_handler(trickle)
    with Fetcher(polling(timeout=0.7)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            f.fetch(threaded_server.url_for("/trickle"), allow_private=True)
    assert time.monotonic() - started < 2.5


def test_declared_oversized_body_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with (
        Fetcher(polling(max_bytes=4096)) as f,
        pytest.raises(FetchError, match=r"exceeds 4096 bytes \(polling\.max_bytes\)$"),
    ):
        f.fetch(httpserver.url_for("/big"), allow_private=True)


def test_streamed_oversized_body_and_gzip_bomb_are_refused(threaded_server: HTTPServer) -> None:
    def endless(_request: Request) -> Response:
        return Response((b"y" * 1024 for _ in range(100)), content_type="text/html")

    threaded_server.expect_request("/stream").respond_with_handler(endless)
    bomb = gzip.compress(b"\0" * 5_000_000)  # ~5 kB on the wire, 5 MB unpacked
    threaded_server.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}
    )
    with Fetcher(polling(max_bytes=64 * 1024)) as f:
        with pytest.raises(FetchError, match=r"exceeds 65536 bytes \(polling\.max_bytes\)$"):
            f.fetch(threaded_server.url_for("/stream"), allow_private=True)
        with pytest.raises(FetchError, match="exceeds 65536"):
            f.fetch(threaded_server.url_for("/bomb"), allow_private=True)


def test_loopback_is_refused_unless_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data("hello")
    with Fetcher(polling()) as f:
        with pytest.raises(UnsafeURLError, match="loopback") as err:
            f.fetch(httpserver.url_for("/page"))
        assert "allow_private_networks" in str(err.value)
        assert f.fetch(httpserver.url_for("/page"), allow_private=True).body == b"hello"
    with Fetcher(polling(allow_private_networks=True)) as f:
        assert f.fetch(httpserver.url_for("/page")).body == b"hello"


def test_public_redirect_to_private_address_is_refused(httpserver: HTTPServer) -> None:
    """A name that resolves to a private address is refused at connect time, on any hop."""

    def resolver(host: str, port: int) -> list[str]:
        table = {"intranet.test": ["10.20.30.40"], "mixed.test": ["93.184.216.34", "::1"]}
        if host not in table:
            raise socket.gaierror(f"unknown host {host}")
        return table[host]

    with Fetcher(polling(), resolver=resolver) as f:
        with pytest.raises(UnsafeURLError, match=r"10\.20\.30\.40, a private address"):
            f.fetch("http://intranet.test/admin")
        with pytest.raises(UnsafeURLError, match="::1, a loopback address"):
            f.fetch("https://mixed.test/")
        assert f.serves_privately("http://intranet.test/feed")
        assert not f.serves_privately("http://no-such-host.invalid/feed")
        with pytest.raises(FetchError, match=r"cannot connect.*unknown host"):
            f.fetch("http://no-such-host.invalid/feed")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/html,hi"])
def test_other_schemes_are_refused(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(UnsafeURLError):
        fetcher.fetch(url, allow_private=True)
    assert fetcher.requests == 0


def test_host_limiter_spaces_requests_and_caps_concurrency(threaded_server: HTTPServer) -> None:
    lock = threading.Lock()
    active = peak = 0
    starts: list[float] = []

    def handler(_request: Request) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            starts.append(time.monotonic())
        time.sleep(0.05)
        with lock:
            active -= 1
        return Response("ok")

    threaded_server.expect_request("/p").respond_with_handler(handler)
    with Fetcher(polling(host_delay=0.2, host_concurrency=1, concurrency=8)) as f:
        threads = [
            threading.Thread(
                target=f.fetch,
                args=(threaded_server.url_for("/p"),),
                kwargs={"allow_private": True},
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak == 1
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 3 and min(gaps) >= 0.18


def test_host_limiter_lets_other_hosts_through() -> None:
    limiter = HostLimiter(delay=0.3, concurrency=1)
    started = time.monotonic()
    for host in ("a.example", "b.example", "c.example"):
        with limiter.slot(host):
            pass
    assert time.monotonic() - started < 0.2
    with limiter.slot("a.example"):
        pass
    assert time.monotonic() - started >= 0.25


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    assert parse_retry_after("90", now) == now + timedelta(seconds=90)
    assert parse_retry_after("Tue, 14 May 2024 13:00:00 GMT", now) == now + timedelta(hours=1)
    assert parse_retry_after("Tue, 14 May 2024 11:00:00 GMT", now) == now  # past: now
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
    far = parse_retry_after("99999999999999999999", now)  # a hostile server: no OverflowError
    assert far is not None and far > now + timedelta(days=365)
