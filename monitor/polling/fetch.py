"""The HTTP edge: one polite, bounded, safety-checked way to GET a feed or an article page.

A `Fetcher` is built once from `[polling]` and shared by every thread of a poll. It follows
redirects itself (at most five) so that each hop is checked for scheme and loops and so that a
chain of 301/308 can be reported as the feed's new permanent address. Connections go through
`network`: private addresses are refused at connect time and `polling.timeout` is one
wall-clock deadline for the whole request. Bodies are decoded by `decode`, a step at a time, so
`polling.max_bytes` holds for what a compressed body inflates to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor.config import PollingConfig
from monitor.errors import FetchError, UnsafeURLError
from monitor.polling.decode import ACCEPT_ENCODING, DecodeError, decoded
from monitor.polling.network import DeadlineBackend, RefusedConnect, Resolver, deadline, resolve
from monitor.urls import check_scheme, refused_address

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
PERMANENT = frozenset({301, 308})
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_SECONDS = 10 * 365 * 86400
ACCEPT_FEED = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, application/json;q=0.9, */*;q=0.5"
)
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FetchResult:
    url: str  # what was asked for
    final_url: str  # where the body came from, after redirects
    status: int  # 200-299 or 304
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    permanent_url: str | None = None  # the target of an unbroken chain of 301/308 from `url`
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """When a Retry-After header (seconds or an HTTP date) says to come back; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        # Capped: a huge number would overflow the datetime (the poller caps the wait anyway).
        return now + timedelta(seconds=min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT even when the zone is missing
        moment = moment.replace(tzinfo=UTC)
    return max(moment, now)


@dataclass
class _HostState:
    slots: threading.Semaphore
    next_start: float = 0.0


@dataclass
class HostLimiter:
    """At most `concurrency` requests in flight per host, starts at least `delay` s apart."""

    delay: float
    concurrency: int
    _hosts: dict[str, _HostState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _HostState(threading.Semaphore(self.concurrency))
        with state.slots:
            with self._lock:
                # Reserve a start time under the lock, then sleep outside it.
                now = time.monotonic()
                start = max(now, state.next_start)
                state.next_start = start + self.delay
            if start > now:
                time.sleep(start - now)
            yield


@dataclass
class _Clock:
    """One request's deadline, started when its first hop gets a connection slot."""

    timeout: float
    started: float | None = None

    def start(self) -> float:
        if self.started is None:
            self.started = time.monotonic()
        return self.started + self.timeout

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


class Fetcher:
    """GETs feeds and pages under the `[polling]` limits. Thread-safe; close() when done."""

    def __init__(self, config: PollingConfig, *, resolver: Resolver = resolve) -> None:
        self.config = config
        self._resolver = resolver
        self.limiter = HostLimiter(config.host_delay, config.host_concurrency)
        self._all = threading.BoundedSemaphore(config.concurrency)
        self._count_lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, for benchmarks and tests
        # Two clients: one that connects anywhere (operator-chosen private feeds, or
        # allow_private_networks) and one whose connections pass the address check.
        self._open = self._client(config, DeadlineBackend())
        self._guarded = self._client(config, DeadlineBackend(resolver))

    @staticmethod
    def _client(config: PollingConfig, backend: DeadlineBackend) -> httpx.Client:
        limits = httpx.Limits(
            max_connections=config.concurrency, max_keepalive_connections=config.concurrency
        )
        transport = httpx.HTTPTransport(limits=limits, trust_env=False)
        pool = transport._pool
        assert isinstance(pool, httpcore.ConnectionPool)
        pool._network_backend = backend  # httpx has no public hook for it
        headers = {"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        return httpx.Client(
            headers=headers, transport=transport, trust_env=False, follow_redirects=False
        )

    def serves_privately(self, url: str) -> bool:
        """True when url's host resolves to a loopback, private or link-local address."""
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = self._resolver(parts.hostname, port)
        except (OSError, ValueError):
            return False  # the fetch itself will fail and say why
        return refused_address(addresses) is not None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._open.close()
        self._guarded.close()

    def fetch(
        self,
        url: str,
        *,
        allow_private: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = ACCEPT_PAGE,
    ) -> FetchResult:
        """GET url, following up to five redirects; raise FetchError naming the URL.

        Returns a result for 2xx and 304 only. 429/503 raise with `retry_after` set.
        """
        allow_private = allow_private or self.config.allow_private_networks
        client = self._open if allow_private else self._guarded
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        clock = _Clock(self.config.timeout)  # one deadline for every hop, connect to last byte
        seen: set[str] = set()
        current, permanent, permanent_chain = url, None, True
        for _hop in range(MAX_REDIRECTS + 1):
            check_scheme(current)
            seen.add(current)
            response, body = self._get(client, current, headers, clock)
            if response.status_code not in (301, 302, 303, 307, 308):
                return self._result(url, current, response, body, permanent, clock)
            target = self._redirect_target(current, response)
            if target in seen:
                raise FetchError(f"{url}: redirect loop at {target}", url=url)
            permanent_chain = permanent_chain and response.status_code in PERMANENT
            if permanent_chain:
                permanent = target
            current = target
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects", url=url)

    def _timed_out(self, url: str) -> FetchError:
        return FetchError(f"{url}: timed out after {self.config.timeout:g}s", url=url)

    def _get(
        self, client: httpx.Client, url: str, headers: dict[str, str], clock: _Clock
    ) -> tuple[httpx.Response, bytes]:
        host = urlsplit(url).hostname or ""
        with self.limiter.slot(host), self._all:
            at = clock.start()  # the wait for a slot is politeness, not the request's time
            left = at - time.monotonic()
            if left <= 0:
                raise self._timed_out(url)
            self._count()
            # A short connect timeout leaves time to try a host's next address.
            timeout = httpx.Timeout(left, connect=min(left, 10.0))
            try:
                with (
                    deadline(at),
                    client.stream("GET", url, headers=headers, timeout=timeout) as response,
                ):
                    body = self._read(url, response, at)
            except httpx.TimeoutException as exc:
                raise self._timed_out(url) from exc
            except httpx.ConnectError as exc:
                if isinstance(exc.__cause__, RefusedConnect):
                    raise UnsafeURLError(
                        f"{url}: refused: {exc} (set [polling] allow_private_networks = true "
                        "to allow it)",
                        url=url,
                    ) from exc
                raise FetchError(f"{url}: cannot connect: {exc}", url=url) from exc
            except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}", url=url) from exc
        return response, body

    @staticmethod
    def _over(cap: int) -> str:
        # Names the setting: a feed that legitimately grew past it needs only that raised.
        return f"exceeds {cap} bytes (polling.max_bytes)"

    def _read(self, url: str, response: httpx.Response, at: float) -> bytes:
        """The body, decoded a step at a time, refused beyond max_bytes or past the deadline."""
        if response.status_code >= 300:
            return b""  # redirects, 304 and errors: the body is never used
        cap = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"{url}: body of {declared} bytes {self._over(cap)}", url=url)
        chunks: list[bytes] = []
        size = 0
        try:
            # Raw bytes, decoded here: httpx would inflate a whole network chunk at once.
            for chunk in decoded(response.iter_raw(), response.headers.get("content-encoding", "")):
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"{url}: body {self._over(cap)}", url=url)
                if time.monotonic() > at:  # decoding is the request's time too
                    raise self._timed_out(url)
                chunks.append(chunk)
        except DecodeError as exc:
            raise FetchError(f"{url}: {exc}", url=url) from exc
        return b"".join(chunks)

    def _result(
        self,
        url: str,
        final: str,
        response: httpx.Response,
        body: bytes,
        permanent: str | None,
        clock: _Clock,
    ) -> FetchResult:
        status = response.status_code
        if status in RETRY_STATUSES:
            when = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise FetchError(f"{url}: HTTP {status}", url=url, status=status, retry_after=when)
        if status >= 400:
            raise FetchError(f"{url}: HTTP {status}", url=url, status=status)
        if status >= 300 and status != 304:
            raise FetchError(f"{url}: unexpected HTTP {status}", url=url, status=status)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return FetchResult(
            url=url,
            final_url=final,
            status=status,
            headers=headers,
            body=body,
            permanent_url=permanent,
            elapsed=clock.elapsed(),
        )

    def _redirect_target(self, current: str, response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise FetchError(
                f"{current}: HTTP {response.status_code} without a Location header",
                url=current,
                status=response.status_code,
            )
        return urljoin(current, str(location).strip())

    def _count(self) -> None:
        with self._count_lock:
            self.requests += 1
