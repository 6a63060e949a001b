"""The status listener's plumbing: bounded threads, a deadline per request, known host names."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from monitor.db import Database
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.metrics import Metrics


@contextmanager
def listening(db: Database, **options: object) -> Iterator[StatusServer]:
    health = HealthCheck(db, scheduler_running=lambda: True)
    server = StatusServer("127.0.0.1:0", health, Metrics(), **options).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def _idle_sockets(address: str, count: int, stack: ExitStack) -> list[socket.socket]:
    """Connections that send nothing, as a crashed client or a slowloris leaves them."""
    host, port = address.rsplit(":", 1)
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection((host, int(port))))
        sockets.append(sock)
    return sockets


def _threads() -> int:
    return threading.active_count()


def _settle(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_idle_connections_cost_a_bounded_number_of_threads_and_time_out(
    sqlite_db: Database,
) -> None:
    baseline = _threads()
    with listening(sqlite_db, read_deadline=1.0, max_connections=8) as server, ExitStack() as idle:
        _idle_sockets(server.address, 300, idle)
        time.sleep(0.5)  # let the listener accept what it will
        # at most 8 handler threads (plus the listener's own), not one per socket
        assert _threads() <= baseline + 1 + 8
        # past the read deadline every idle connection is closed and its thread gone
        _settle(lambda: _threads() <= baseline + 1)
        assert _threads() <= baseline + 1
        response = httpx.get(f"http://{server.address}/healthz", timeout=5)
        assert response.status_code == 200 and response.text == "ok\n"


def test_a_connection_beyond_the_limit_is_told_to_come_back(sqlite_db: Database) -> None:
    with listening(sqlite_db, read_deadline=5.0, max_connections=2) as server, ExitStack() as idle:
        _idle_sockets(server.address, 2, idle)
        time.sleep(0.3)
        started = time.monotonic()
        response = httpx.get(f"http://{server.address}/healthz", timeout=5)
        assert response.status_code == 503 and "too many connections" in response.text
        assert response.headers["Retry-After"] == "5"
        assert time.monotonic() - started < 2  # at once, not after the idle ones time out


def test_a_request_that_trickles_in_is_cut_at_the_deadline(sqlite_db: Database) -> None:
    with listening(sqlite_db, read_deadline=1.0) as server:
        host, port = server.address.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            started = time.monotonic()
            sock.settimeout(5)
            try:
                while time.monotonic() - started < 4:
                    sock.sendall(b"X-Slow: 1\r\n")  # a header line every 0.2 s, never the end
                    time.sleep(0.2)
            except OSError:
                pass  # the listener closed the connection
            assert time.monotonic() - started < 3


def _status(address: str, path: str, host: str | None) -> tuple[int, str]:
    """One raw HTTP/1.0 request, so that Host can also be left out, as old probes do."""
    name, port = address.rsplit(":", 1)
    header = f"Host: {host}\r\n" if host is not None else ""
    with socket.create_connection((name, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n{header}\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "monitor.example.org", "10.1.2.3", None],
)
def test_known_host_names_and_addresses_are_answered(sqlite_db: Database, host: str | None) -> None:
    with listening(sqlite_db, allowed_hosts=("monitor.example.org",)) as server:
        port = server.address.rsplit(":", 1)[1]
        name = f"{host}:{port}" if host is not None else None
        assert _status(server.address, "/status.json", name)[0] == 200


@pytest.mark.parametrize("path", ["/status.json", "/", "/healthz", "/rumours/x.json"])
def test_a_foreign_host_name_is_refused(sqlite_db: Database, path: str) -> None:
    # A page on attacker.example whose DNS was rebound to 127.0.0.1 sends its own name as Host.
    with listening(sqlite_db, allowed_hosts=("monitor.example.org",)) as server:
        port = server.address.rsplit(":", 1)[1]
        status, body = _status(server.address, path, f"attacker.example:{port}")
    assert status == 421
    assert "[service] allowed_hosts" in body and "attacker.example" in body
