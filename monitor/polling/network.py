"""The sockets under `Fetcher`: an address check at connect time and a wall-clock deadline.

httpx's timeouts bound each socket operation, not the request: a server that sends one byte
every 9.5 s never trips a 10 s read timeout, and a request could overrun its budget by a full
timeout per phase. Here every connect, TLS handshake, read and write is given only what is left
until the deadline of the request in progress on this thread (`deadline()`), so `polling.timeout`
holds from the connect to the last byte, across redirects.

The guarded backend resolves the host itself and connects only to addresses that passed the
check, so a name that re-resolves to 127.0.0.1 between a check and the connect cannot slip
through. (Name resolution itself is bounded by the system resolver's own timeout.)
"""

from __future__ import annotations

import contextvars
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from monitor.urls import refused_address

Resolver = Callable[[str, int], list[str]]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)


def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every socket operation on this thread until `at` (time.monotonic())."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The smaller of an operation's own timeout and the time left to the deadline."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:  # 0 would put the socket in non-blocking mode, not time it out
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class RefusedConnect(httpcore.ConnectError):
    """Raised inside the connection pool; `Fetcher` turns it back into UnsafeURLError."""


class DeadlineBackend(httpcore.SyncBackend):
    """Connections whose every operation keeps to the deadline; checked ones with a resolver."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self.resolver is None:
            budget = _left(timeout, httpcore.ConnectTimeout)
            stream = super().connect_tcp(host, port, budget, local_address, socket_options)
            return _DeadlineStream(stream)
        try:
            addresses = self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused = refused_address(addresses)
        if refused is not None:
            raise RefusedConnect(f"{host} resolves to {refused[0]}, a {refused[1]} address")
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            budget = _left(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, budget, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
            else:
                return _DeadlineStream(stream)
        raise error
