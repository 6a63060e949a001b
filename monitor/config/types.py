"""The typed, frozen configuration objects the rest of the monitor is handed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    # PostgreSQL only: how long to wait for a server that accepts but never answers, and for any
    # one statement, so a stuck server or lock cannot hang a poll (and the scheduler) forever.
    connect_timeout: float = 10.0
    statement_timeout: float = 600.0


@dataclass(frozen=True)
class SeedsConfig:
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class PollingConfig:
    interval: float
    timeout: float
    user_agent: str
    allow_private_networks: bool
    max_bytes: int
    host_delay: float
    host_concurrency: int
    concurrency: int
    feed_budget: float = 120.0  # seconds of page fetching one feed may take per poll


@dataclass(frozen=True)
class ServiceConfig:
    listen: str | None
    retention_days: int
    tick: float = 30.0  # seconds between looks for due feeds and pending alerts
    maintenance_at: tuple[int, int] = (4, 15)  # UTC hour and minute of the daily maintenance
    embedding_cache_days: int = 30  # cached sentence vectors unused this long are deleted
    # Host names the listener answers besides the listen address and loopback ones: a page
    # on any other name (DNS rebinding) must not read the web view.
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueConfig:
    """Who does the work: this one process ("local"), or workers sharing Procrastinate jobs."""

    backend: Literal["local", "procrastinate"] = "local"
    # A worker whose heartbeat is older than this is presumed dead: its jobs are retried.
    stall_timeout: float = 60.0
    keep_jobs_days: int = 7  # finished jobs kept this long for `status` and post-mortems

    @property
    def distributed(self) -> bool:
        return self.backend == "procrastinate"


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    credibility: float
    interval: float
    enabled: bool


@dataclass(frozen=True)
class ModelConfig:
    name: str
    batch_size: int
    reader: str = "bundled"  # the stance reader: the trained one, "rules", or a trained folder


@dataclass(frozen=True)
class MatchingConfig:
    similarity: float
    max_sentences: int
    candidates: int = 4  # matching sentences per rumour and article the reader reads


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    recipients: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: str = field(repr=False)
    timeout: float


@dataclass(frozen=True)
class AppriseConfig:
    urls: tuple[str, ...] = field(repr=False)  # Apprise URLs carry tokens and passwords
    timeout: float

    def targets(self) -> dict[str, str]:
        """The URLs by channel name: each URL is its own outbox channel (see apprise_channel)."""
        return {apprise_channel(url): url for url in self.urls}


def apprise_channel(url: str) -> str:
    """The outbox channel of one Apprise URL: "apprise:<scheme>:<8 hex of its SHA-256>".

    One channel per URL means a failed send is retried to that URL only, never resent to the
    ones that took it. Naming by a hash, not by position, keeps a pending alert bound to its
    URL when the list is reordered or shortened; a short hash does not reveal the URL's secret.
    """
    scheme = url.split("://", 1)[0].lower()[:16]
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"apprise:{scheme}:{digest}"


@dataclass(frozen=True)
class AlertsConfig:
    email: EmailConfig | None
    slack: SlackConfig | None
    max_attempts: int
    backoff: float
    apprise: AppriseConfig | None = None

    def timeouts(self) -> list[float]:
        """Each configured channel's send timeout, for leases and the stop grace."""
        return [c.timeout for c in (self.email, self.slack, self.apprise) if c is not None]


@dataclass(frozen=True)
class Config:
    path: Path
    database: DatabaseConfig
    seeds: SeedsConfig
    polling: PollingConfig
    service: ServiceConfig
    feeds: tuple[FeedConfig, ...]
    model: ModelConfig
    matching: MatchingConfig
    alerts: AlertsConfig
    queue: QueueConfig = QueueConfig()

    @property
    def base_dir(self) -> Path:
        return self.path.parent
