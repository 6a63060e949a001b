"""The optional status listener: `/healthz` for probes and people, `/metrics` for Prometheus.

A stdlib ThreadingHTTPServer in a daemon thread: it needs no framework, a slow scrape never
holds up the scheduler, and it dies with the process. `/healthz` answers 200 "ok", or 503 with
one reason per line so an operator reading `curl` output knows what to look at.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.db import Database
from monitor.db.models import Alert, utcnow
from monitor.errors import ConfigError, ListenError
from monitor.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

DB_DEADLINE = 3.0  # seconds: a probe must answer even when the database does not
FAILED_WINDOW = timedelta(hours=24)
RETRYING_ATTEMPTS = 2  # a pending alert that failed this often counts as "failing"


@dataclass
class HealthCheck:
    """What makes the service unhealthy: each check returns a reason or None."""

    database: Database
    scheduler_running: Callable[[], bool]
    lock_alive: Callable[[], bool] = lambda: True

    def reasons(self) -> list[str]:
        found: list[str] = []
        if not self.scheduler_running():
            found.append("scheduler stopped")
        if not self.lock_alive():
            found.append("scheduler lock lost (another `run` may start on this database)")
        problem = _with_deadline(self._database_and_alerts, DB_DEADLINE)
        found.extend(problem)
        return found

    def _database_and_alerts(self) -> list[str]:
        try:
            with self.database.sessions() as session:
                session.execute(text("SELECT 1"))
                since = utcnow() - FAILED_WINDOW
                # A failed alert's next_attempt_at is when it gave up; its created_at may be
                # days older (a long backoff, or `alerts retry` of an old alert).
                failed = session.scalar(
                    select(func.count()).where(
                        Alert.status == "failed", Alert.next_attempt_at >= since
                    )
                )
                retrying = session.scalar(
                    select(func.count()).where(
                        Alert.status == "pending", Alert.attempts >= RETRYING_ATTEMPTS
                    )
                )
        except SQLAlchemyError as exc:
            return [f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"]
        if failed or retrying:
            return [
                f"alerts failing: {failed} failed in the last 24h, {retrying} pending after "
                f"{RETRYING_ATTEMPTS}+ attempts (see `rumour-monitor status`)"
            ]
        return []


def _with_deadline(check: Callable[[], list[str]], seconds: float) -> list[str]:
    # a daemon-free one-shot pool: a hung connect must not keep the probe (or exit) waiting
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
    future = pool.submit(check)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        return [f"database unreachable: no answer within {seconds:g}s"]
    finally:
        pool.shutdown(wait=False)


class StatusServer:
    """Serves /healthz and /metrics on HOST:PORT until stop(); port 0 picks a free port."""

    def __init__(self, listen: str, health: HealthCheck, metrics: Metrics) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        handler = type("Handler", (_Handler,), {"health": health, "metrics": metrics})
        try:
            self.httpd = ThreadingHTTPServer((host, int(port)), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ListenError(
                    f"service.listen: {listen} is in use by another process:"
                    " stop it, or choose another port in [service] listen"
                ) from exc
            raise ConfigError(f"service.listen: cannot listen on {listen}: {exc}") from exc
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="status-http", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> StatusServer:
        self._thread.start()
        log.info("status listener up", extra={"listen": self.address})
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    health: HealthCheck
    metrics: Metrics
    server_version = "rumour-monitor"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            reasons = self.health.reasons()
            body = ("\n".join(reasons) if reasons else "ok") + "\n"
            status = HTTPStatus.SERVICE_UNAVAILABLE if reasons else HTTPStatus.OK
            self._send(status, body.encode(), "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._send(HTTPStatus.OK, self.metrics.render(), CONTENT_TYPE)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found: try /healthz or /metrics\n", "text/plain")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("status request: " + format, *args)
