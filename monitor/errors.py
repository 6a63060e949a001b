"""One exception hierarchy for the whole monitor.

Every error names the layer it comes from and the thing at fault (a config key, a seed file, a
feed, a URL), and wraps the underlying cause so logs keep the full story.
"""

from __future__ import annotations

from datetime import datetime


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""

    exit_code = 1


class ConfigError(MonitorError):
    """The configuration file is missing, malformed or holds a bad value."""

    exit_code = 2


class MissingSecretError(ConfigError):
    """A `*_env` key names an environment variable that is unset or empty."""

    def __init__(self, message: str, *, key: str, variable: str) -> None:
        super().__init__(message)
        self.key = key  # dotted, e.g. alerts.email.password_env
        self.variable = variable


class SeedError(MonitorError):
    """A seed file is malformed: bad TOML, a duplicate id, an unknown state, a missing claim."""

    exit_code = 2


class NotFoundError(MonitorError):
    """The user asked for something that does not exist (a rumour id, a feed name)."""

    exit_code = 2


class DatabaseError(MonitorError):
    """The state database could not be opened, migrated or written."""


class FetchError(MonitorError):
    """An HTTP request failed: network error, timeout, bad status, oversized body, refused URL."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after  # when a 429/503 said to come back


class UnsafeURLError(FetchError):
    """A URL the monitor refuses to fetch: not http(s), or an address on a private network."""


class FeedError(MonitorError):
    """A feed document could not be parsed into entries."""


class ExtractError(MonitorError):
    """An article page yielded no usable text."""


class ReplayFileError(MonitorError):
    """A replay article file is unreadable, has no date, or has a malformed header."""

    exit_code = 2


class DemoFolderError(MonitorError):
    """`demo --keep DIR` names a folder holding files the demo did not write."""

    exit_code = 2


class DeliveryError(MonitorError):
    """An alert could not be delivered on a channel.

    `retry_after` carries a server's own wait request (Slack's 429 Retry-After) in seconds, so
    the outbox waits at least that long before trying again.
    """

    def __init__(self, message: str, *, channel: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.retry_after = retry_after


class ListenError(MonitorError):
    """The status listener's address is taken: a runtime failure (exit 1), not a config error,
    because the port may be free again in a moment and systemd should restart the service."""


class AlreadyRunningError(MonitorError):
    """Another `run` already holds the scheduler lock for this database."""
