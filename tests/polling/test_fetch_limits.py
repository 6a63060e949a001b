"""Hostile servers: compression bombs against polling.max_bytes, tricklers against the timeout."""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import brotli
import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import FetchError
from monitor.polling.fetch import Fetcher
from tests.helpers import polling

CAP = 1024 * 1024
INFLATED_MIB = 64  # each bomb inflates to 64 times the cap


def _spaces_compressed(encoding: str) -> bytes:
    """INFLATED_MIB MiB of spaces, compressed a MiB at a time."""
    mib = b" " * (1 << 20)
    if encoding == "br":
        br = brotli.Compressor(quality=5)
        return b"".join([br.process(mib) for _ in range(INFLATED_MIB)]) + br.finish()
    wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([z.compress(mib) for _ in range(INFLATED_MIB)]) + z.flush()


Script = Callable[[socket.socket, str], None]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            data = self.request.recv(4096)
            if not data:
                return
            request += data
        path = request.split(b" ", 2)[1].decode()
        with contextlib.suppress(OSError):  # the client gave up, as it should
            self.server.script(self.request, path)  # type: ignore[attr-defined]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], str]]:
    """A loopback server whose handler writes the raw response itself, as slowly as it likes."""
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(script: Script) -> str:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.script = script  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("encoding", ["br", "gzip", "deflate", "raw-deflate"])
def test_a_compression_bomb_stops_at_the_cap_with_memory_bounded_by_it(
    raw_server: Callable[[Script], str], encoding: str
) -> None:
    bomb = _spaces_compressed(encoding)
    coding = "deflate" if encoding == "raw-deflate" else encoding

    def serve(sock: socket.socket, _path: str) -> None:
        # A server of our own: werkzeug's, in this process, allocates megabytes of its own
        # when the client hangs up early, and tracemalloc would count them.
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {len(bomb)}"
        sock.sendall(head.encode() + b"\r\nContent-Type: application/rss+xml\r\n\r\n" + bomb)

    url = f"{raw_server(serve)}/bomb"
    with Fetcher(polling(max_bytes=CAP, timeout=30.0)) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"exceeds 1048576 bytes \(polling\.max_bytes\)"):
                fetcher.fetch(url, allow_private=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The cap, the joined copy a legitimate body needs, and a few decode steps: not 64 MiB.
    assert peak < 4 * CAP, f"{encoding}: peak {peak / CAP:.1f} MiB"


def test_stacked_codings_are_undone_last_first(httpserver: HTTPServer) -> None:
    text = b"<rss><channel><title>stacked</title></channel></rss>" * 50
    httpserver.expect_request("/twice").respond_with_data(
        brotli.compress(gzip.compress(text)), headers={"Content-Encoding": "gzip, br"}
    )
    with Fetcher(polling()) as fetcher:
        assert fetcher.fetch(httpserver.url_for("/twice"), allow_private=True).body == text


@pytest.mark.parametrize("coding", ["zstd", "compress"])
def test_a_coding_we_did_not_offer_is_refused_by_name(httpserver: HTTPServer, coding: str) -> None:
    httpserver.expect_request("/z").respond_with_data(
        b"\x28\xb5\x2f\xfd garbage", headers={"Content-Encoding": coding}
    )
    with (
        Fetcher(polling()) as fetcher,
        pytest.raises(FetchError, match=f"unsupported Content-Encoding '{coding}'"),
    ):
        fetcher.fetch(httpserver.url_for("/z"), allow_private=True)


def test_a_corrupt_compressed_body_is_a_fetch_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/bad").respond_with_data(
        b"not gzip at all", headers={"Content-Encoding": "gzip"}
    )
    with Fetcher(polling()) as fetcher, pytest.raises(FetchError, match="invalid gzip data"):
        fetcher.fetch(httpserver.url_for("/bad"), allow_private=True)


def _drip(sock: socket.socket, data: bytes, every: float) -> None:
    for byte in data:
        time.sleep(every)
        sock.sendall(bytes([byte]))


def _timed_fetch(url: str, timeout: float) -> tuple[float, str]:
    with Fetcher(polling(timeout=timeout)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            fetcher.fetch(url, allow_private=True)
        return time.monotonic() - started, str(err.value)


def test_a_body_trickled_just_under_the_timeout_stops_at_the_deadline(
    raw_server: Callable[[Script], str],
) -> None:
    # The case scaled down: one byte every 9.5 s against a 10 s timeout took 20.5 s.
    def trickle(sock: socket.socket, _path: str) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 50\r\n\r\n")
        _drip(sock, b"x" * 50, 0.95)

    took, message = _timed_fetch(f"{raw_server(trickle)}/page", 1.0)
    assert "timed out after 1s" in message
    assert took < 1.35


def test_trickled_headers_stop_at_the_deadline(raw_server: Callable[[Script], str]) -> None:
    def trickle(sock: socket.socket, _path: str) -> None:
        _drip(sock, b"HTTP/1.1 200 OK\r\nX-Padding: " + b"y" * 40 + b"\r\n\r\n", 0.2)

    took, message = _timed_fetch(f"{raw_server(trickle)}/page", 1.0)
    assert "timed out after 1s" in message
    assert took < 1.35


def test_the_deadline_spans_redirects(raw_server: Callable[[Script], str]) -> None:
    def hops(sock: socket.socket, path: str) -> None:
        if path == "/first":
            time.sleep(0.5)
            sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: /second\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
        _drip(sock, b"z" * 20, 0.45)  # each byte well within what is left of the timeout

    took, message = _timed_fetch(f"{raw_server(hops)}/first", 1.0)
    assert "timed out after 1s" in message
    assert took < 1.35
