"""The status listener's connections: a bounded number of threads, one deadline per request.

The stdlib's ThreadingHTTPServer starts a thread per connection and waits on each for as long
as the client likes: 300 idle or half-open sockets were 300 threads that never ended. Here at
most `max_connections` are served at once, the next one is answered 503 straight away, and a
client has `read_deadline` seconds to send its whole request however slowly it trickles in.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

SERVER_NAME = "rumour-monitor"  # the Server header: `check` tells our listener by it
MAX_CONNECTIONS = 32  # connections served at once, one thread each; more are answered 503
READ_DEADLINE = 10.0  # seconds a client has to send its whole request, however it trickles
WRITE_TIMEOUT = 30.0  # seconds a client may take to read the answer
BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nServer: " + SERVER_NAME.encode() + b"\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
    b"busy: too many connections at once, try again in a few seconds\n"
)


class BoundedListener(ThreadingHTTPServer):
    """A thread per connection, but at most `max_connections` of them: a connection beyond
    that is answered 503 at once from the accepting thread, so a flood of idle or half-open
    sockets costs a bounded number of threads, each freed by the read deadline."""

    daemon_threads = True
    block_on_close = False  # stop() must not wait for a client that never sends
    request_queue_size = 128  # a burst waits in the kernel's queue, not in SYN retries

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started, so none will release it
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        try:
            request.settimeout(1.0)  # the answer fits a socket buffer; never wait for a reader
            request.sendall(BUSY)
        except OSError:
            pass
        self.shutdown_request(request)


class _DeadlineReader(io.RawIOBase):
    """The connection's socket, read against one deadline for the whole request: a client that
    sends a byte now and then (slowloris) cannot hold its thread past it."""

    def __init__(self, connection: socket.socket, seconds: float) -> None:
        self._connection = connection
        self._deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not received in time")
        self._connection.settimeout(left)
        return self._connection.recv_into(buffer)


def deadline_reader(connection: socket.socket, seconds: float) -> io.BufferedReader:
    """A request's input, which raises TimeoutError once `seconds` have passed since now."""
    return io.BufferedReader(_DeadlineReader(connection, seconds))
