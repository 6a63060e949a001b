"""The optional status listener: `/healthz` for probes and people, `/metrics` for Prometheus,
and a small read-only web view of the rumours and feeds (`/`, `/rumours/ID`, `/feeds`, and
their `.json` twins), a rumour's evidence as CSV, and Atom feeds of the state changes.

A stdlib HTTP server in a daemon thread (monitor/service/listener.py bounds its threads and
each request's time): it needs no framework, a slow scrape never holds up the scheduler, and it
dies with the process. `/healthz` (liveness) answers 200 "ok", or 503 with one reason per line
so an operator reading `curl` output knows what to look at; `/readyz` adds every feed failing
and alerts overdue, and `/healthz.json` gives both with their figures. The pages are
rendered by monitor/service/webview.py from the read models `status`, `history` and `feeds` use; the
JSON endpoints serve exactly what `status --json`, `history ID --json` and `feeds --json` print.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.alerts import AlertBacklog, alert_backlog
from monitor.db import Database
from monitor.db.models import Alert, utcnow
from monitor.errors import ConfigError, ListenError, NotFoundError
from monitor.polling import FeedFailures, feed_failures, feed_health
from monitor.queries import (
    confidence_series,
    evidence_csv,
    history,
    json_text,
    recent_changes,
    status_rows,
)
from monitor.service import webview
from monitor.service.listener import (
    MAX_CONNECTIONS,
    READ_DEADLINE,
    SERVER_NAME,
    WRITE_TIMEOUT,
    BoundedListener,
    deadline_reader,
)
from monitor.service.metrics import CONTENT_TYPE, Metrics
from monitor.urls import is_literal_address, is_loopback_host

log = logging.getLogger(__name__)
T = TypeVar("T")

DB_DEADLINE = 3.0  # seconds: a probe must answer even when the database does not
PAGE_DEADLINE = 10.0  # seconds a page waits for the database before it says so (503)
FAILED_WINDOW = timedelta(hours=24)
RETRYING_ATTEMPTS = 2  # a pending alert that failed this often counts as "failing"

HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
CSV = "text/csv; charset=utf-8; header=present"
# Claims, sentences and titles on the pages come from the web: no script may run, nothing may
# load from elsewhere, no one may frame the pages, and a click on a source sends no Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class HealthReport:
    """Liveness (`reasons`: the service itself is broken) and what readiness adds: whether
    the feeds answer and the alerts leave. `feeds` and `alerts` are None when the database
    gave no answer (a liveness reason already says so)."""

    reasons: list[str]
    feeds: FeedFailures | None = None
    alerts: AlertBacklog | None = None

    def not_ready(self) -> list[str]:
        """Why `/readyz` answers 503: every liveness reason, every enabled feed failing, or
        alerts overdue. Some feeds failing is `degraded`, not unready."""
        found = list(self.reasons)
        if self.feeds is not None and self.feeds.every_feed_failing:
            found.append(f"every feed failing: {self.feeds.describe()}")
        if self.alerts is not None and self.alerts.overdue:
            found.append(self.alerts.describe())
        return found

    @property
    def status(self) -> str:
        if self.reasons:
            return "failing"
        if self.not_ready() or (self.feeds is not None and self.feeds.failing):
            return "degraded"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "live": not self.reasons,
            "ready": not self.not_ready(),
            "reasons": self.not_ready(),
            "feeds": self.feeds.to_json() if self.feeds is not None else None,
            "alerts": self.alerts.to_json() if self.alerts is not None else None,
        }


@dataclass
class HealthCheck:
    """What makes the service unhealthy: each check returns a reason or None."""

    database: Database
    scheduler_running: Callable[[], bool]
    lock_alive: Callable[[], bool] = lambda: True

    def reasons(self) -> list[str]:
        return self.report().reasons

    def report(self) -> HealthReport:
        found: list[str] = []
        if not self.scheduler_running():
            found.append("scheduler stopped")
        if not self.lock_alive():
            found.append("scheduler lock lost (another `run` may start on this database)")
        try:
            read = with_deadline(self._read, DB_DEADLINE)
        except DeadlineExceeded as exc:
            return HealthReport([*found, str(exc)])
        return HealthReport(found + read.reasons, read.feeds, read.alerts)

    def _read(self) -> HealthReport:
        try:
            with self.database.sessions() as session:
                session.execute(text("SELECT 1"))
                reasons = _failing_alerts(session)
                return HealthReport(reasons, feed_failures(session), alert_backlog(session))
        except SQLAlchemyError as exc:
            return HealthReport([database_problem(exc)])


def _failing_alerts(session: Session) -> list[str]:
    since = utcnow() - FAILED_WINDOW
    # A failed alert's next_attempt_at is when it gave up; its created_at may be days older (a
    # long backoff, or `alerts retry` of an old alert).
    failed = session.scalar(
        select(func.count()).where(Alert.status == "failed", Alert.next_attempt_at >= since)
    )
    retrying = session.scalar(
        select(func.count()).where(Alert.status == "pending", Alert.attempts >= RETRYING_ATTEMPTS)
    )
    if failed or retrying:
        return [
            f"alerts failing: {failed} failed in the last 24h, {retrying} pending after "
            f"{RETRYING_ATTEMPTS}+ attempts (see `rumour-monitor status`)"
        ]
    return []


class DeadlineExceeded(Exception):
    """The database gave no answer in time; the message says so in words for the reader."""


def with_deadline(work: Callable[[], T], seconds: float) -> T:
    """work()'s result, or DeadlineExceeded once `seconds` pass: a hung connect or a locked
    table must not hold a probe or a page (or the process's exit) forever."""
    # a daemon-free one-shot pool: the abandoned call finishes or fails on its own later
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="status-db")
    future = pool.submit(work)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise DeadlineExceeded(f"database unreachable: no answer within {seconds:g}s") from None
    finally:
        pool.shutdown(wait=False)


def database_problem(exc: SQLAlchemyError) -> str:
    """One line naming a database failure, for /healthz and the web view's 503 page."""
    return f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"


class StatusServer:
    """Serves /healthz, /readyz, /metrics and the read-only web view on HOST:PORT until stop();
    port 0 picks a free port. `page_deadline` bounds each page's wait for the database,
    `read_deadline` each client's time to send its request; `allowed_hosts` are the names
    answered besides the listen address and loopback ones (see _Handler.host_allowed)."""

    def __init__(
        self,
        listen: str,
        health: HealthCheck,
        metrics: Metrics,
        *,
        page_deadline: float = PAGE_DEADLINE,
        read_deadline: float = READ_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        names = {host.lower(), *(name.strip("[]").lower() for name in allowed_hosts)}
        attrs = {
            "health": health,
            "metrics": metrics,
            "page_deadline": page_deadline,
            "read_deadline": read_deadline,
            "host_names": frozenset(names - {"", "0.0.0.0", "::"}),
        }
        handler = type("Handler", (_Handler,), attrs)
        try:
            self.httpd = BoundedListener((host, int(port)), handler, max_connections)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ListenError(
                    f"service.listen: {listen} is in use by another process:"
                    " stop it, or choose another port in [service] listen"
                ) from exc
            raise ConfigError(f"service.listen: cannot listen on {listen}: {exc}") from exc
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


@dataclass(frozen=True)
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str


class _Unavailable(Exception):
    """The database failed or gave no answer in time; the message names the problem."""


class _Handler(BaseHTTPRequestHandler):
    """The router: health and metrics for machines, the web view for people. Read-only: GET
    and HEAD are served, every other method gets 405."""

    health: HealthCheck
    metrics: Metrics
    page_deadline: float
    read_deadline: float
    host_names: frozenset[str]
    server_version = SERVER_NAME

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket's own file: it would keep the socket open after close()
        self.rfile = deadline_reader(self.connection, self.read_deadline)

    def host_allowed(self) -> bool:
        """Whether to answer a request naming this Host. A page a browser loaded from another
        name whose DNS now points here (DNS rebinding) must not read the pages or the JSON:
        only the listen host, loopback names and [service] allowed_hosts are answered. An
        address (a Host that is an IP) is always answered: rebinding needs a name."""
        host = self.headers.get("Host")
        if host is None:
            return True  # an HTTP/1.0 probe; every browser sends Host
        try:
            name = (urlsplit(f"//{host.strip()}").hostname or "").rstrip(".")
        except ValueError:
            return False
        return bool(name) and (
            name in self.host_names or is_loopback_host(name) or is_literal_address(name)
        )

    def do_GET(self) -> None:
        self._respond(self._route(), with_body=True)

    def do_HEAD(self) -> None:
        self._respond(self._route(), with_body=False)

    def _refuse(self) -> None:
        self.close_connection = True  # the request body, if any, is never read
        body = b"method not allowed: this listener is read-only (GET, HEAD)\n"
        self._respond(Response(HTTPStatus.METHOD_NOT_ALLOWED, body, TEXT), with_body=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse

    def _route(self) -> Response:
        url = urlsplit(self.path)
        as_json = url.path.endswith(".json")
        if not self.host_allowed():
            self.close_connection = True
            return _error(
                HTTPStatus.MISDIRECTED_REQUEST,
                "Unknown host name",
                f"this listener does not answer to the host name {self.headers.get('Host')!r}:"
                " add it to [service] allowed_hosts in config.toml to use it",
                as_json,
            )
        try:
            return self._dispatch(url.path, parse_qs(url.query))
        except NotFoundError as exc:
            return _error(HTTPStatus.NOT_FOUND, "Not found", str(exc), as_json)
        except _Unavailable as exc:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "Database unavailable", str(exc), as_json)
        except Exception:  # a bug must cost one page, not the listener, and never show a trace
            log.exception("status listener failed on %s", url.path)
            problem = "internal error: the service log has the details"
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error", problem, as_json)

    def _dispatch(self, path: str, query: dict[str, list[str]]) -> Response:
        if path in ("/healthz", "/readyz", "/healthz.json"):
            return self._health(path)
        if path == "/metrics":
            return Response(HTTPStatus.OK, self.metrics.render(), CONTENT_TYPE)
        retired = query.get("all", [""])[-1].lower() in ("1", "true", "yes")
        if path == "/status.json":
            rows = self._read(lambda s: status_rows(s, include_retired=retired))
            return _json([row.to_json() for row in rows])
        if path == "/":
            return self._overview(query)
        if path == "/changes.atom":
            changes = self._read(recent_changes)
            return Response(HTTPStatus.OK, _atom(changes), webview.ATOM)
        if path in ("/feeds", "/feeds.json"):
            feeds = self._read(feed_health)
            if path == "/feeds.json":
                return _json([row.to_json() for row in feeds])
            return _html(webview.feeds_page(feeds))
        if path.startswith("/rumours/"):
            return self._rumour(path.removeprefix("/rumours/"))
        raise NotFoundError(f"nothing at {path}: the rumours are at /, the feeds at /feeds")

    def _health(self, path: str) -> Response:
        """`/healthz`: liveness, "ok" or the reasons it is broken; `/readyz`: also every feed
        failing or alerts overdue; `/healthz.json`: both, with the feed and alert figures."""
        report = self.health.report()
        if path == "/healthz.json":
            unhealthy = report.status == "failing"
            code = HTTPStatus.SERVICE_UNAVAILABLE if unhealthy else HTTPStatus.OK
            return _json(report.to_json(), code)
        reasons = report.reasons if path == "/healthz" else report.not_ready()
        body = "\n".join(reasons) if reasons else ("ok" if path == "/healthz" else "ready")
        if not reasons and path == "/readyz" and report.feeds and report.feeds.failing:
            body += f" (degraded: {report.feeds.describe()})"
        status = HTTPStatus.SERVICE_UNAVAILABLE if reasons else HTTPStatus.OK
        return Response(status, (body + "\n").encode(), TEXT)

    def _overview(self, query: dict[str, list[str]]) -> Response:
        try:
            view = webview.Overview.parse(query)
        except webview.QueryError as exc:
            return _html(webview.message_page("Bad request", str(exc)), HTTPStatus.BAD_REQUEST)

        def read(s: Session) -> tuple[Any, ...]:
            rows = status_rows(s, include_retired=view.include_retired)
            return rows, confidence_series(s), feed_failures(s)

        rows, series, failures = self._read(read)
        page = webview.status_page(rows, view=view, series=series, failures=failures)
        return _html(page)

    def _rumour(self, name: str) -> Response:
        # /rumours/ID is the page; /rumours/ID.json, .csv and .atom its other forms;
        # /rumours/ID/ the page of an id that itself ends in one of those (slugs may hold dots)
        suffix = next((s for s in webview.SUFFIXES if name.endswith(s)), "")
        rumour_id = unquote(name.removesuffix(suffix) if suffix else name.removesuffix("/"))

        def read(s: Session) -> tuple[Any, ...]:
            data = history(s, rumour_id)
            if suffix == ".atom":
                return data, recent_changes(s, rumour_id)
            return data, None if suffix else feed_failures(s)

        try:
            data, extra = self._read(read)
        except NotFoundError:
            raise NotFoundError(f"no rumour with id {rumour_id!r}") from None
        if suffix == ".json":
            return _json(data)
        if suffix == ".csv":
            return Response(HTTPStatus.OK, evidence_csv(data).encode(), CSV)
        if suffix == ".atom":
            return Response(HTTPStatus.OK, _atom(extra, rumour_id), webview.ATOM)
        return _html(webview.rumour_page(data, extra))

    def _read(self, query: Callable[[Session], T]) -> T:
        def work() -> T:
            with self.health.database.sessions() as session:
                return query(session)

        try:
            return with_deadline(work, self.page_deadline)
        except DeadlineExceeded as exc:
            raise _Unavailable(str(exc)) from None
        except SQLAlchemyError as exc:
            raise _Unavailable(database_problem(exc)) from None

    def _respond(self, response: Response, *, with_body: bool) -> None:
        self.connection.settimeout(WRITE_TIMEOUT)  # the read deadline's leftover may be tiny
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")  # the state changes under the page
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if response.status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "GET, HEAD")
        self.end_headers()
        if with_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("status request: " + format, *args)


def _html(text: str, status: HTTPStatus = HTTPStatus.OK) -> Response:
    return Response(status, text.encode(), HTML)


def _json(data: Any, status: HTTPStatus = HTTPStatus.OK) -> Response:
    # byte for byte what `status --json` / `history ID --json` / `feeds --json` print, newline
    # included
    return Response(status, (json_text(data) + "\n").encode(), JSON)


def _atom(changes: list[dict[str, Any]], rumour_id: str | None = None) -> bytes:
    return webview.changes_feed(changes, rumour_id=rumour_id, now=utcnow()).encode()


def _error(status: HTTPStatus, title: str, message: str, as_json: bool) -> Response:
    if as_json:
        return _json({"error": message}, status)
    return _html(webview.message_page(title, message), status)
