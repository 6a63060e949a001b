"""The Slack channel: one incoming-webhook POST per alert.

Any 2xx answer means Slack took it. 429 carries Retry-After, which the outbox honours; every
other failure is retried with the usual backoff. The webhook URL is a secret (its path is the
credential), so errors name only its host.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC
from urllib.parse import urlsplit

import httpx

from monitor.alerts.message import AlertMessage, slack_payload
from monitor.config import SlackConfig
from monitor.errors import DeliveryError


class SlackChannel:
    name = "slack"

    def __init__(self, cfg: SlackConfig, *, http: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self.http = http

    @property
    def where(self) -> str:
        return f"slack webhook at {urlsplit(self.cfg.webhook_url).netloc}"

    def send(self, message: AlertMessage) -> None:
        payload = slack_payload(message)
        try:
            if self.http is not None:
                response = self.http.post(self.cfg.webhook_url, json=payload)
            else:
                with httpx.Client(timeout=self.cfg.timeout) as client:
                    response = client.post(self.cfg.webhook_url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{self.where}: {type(exc).__name__}: {exc}", channel=self.name
            ) from exc
        if response.is_success:
            return
        # whitespace collapsed: a proxy's HTML error page must stay one line in `alerts list`
        body = " ".join(response.text.split())[:200]
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise DeliveryError(
                f"{self.where}: rate limited (HTTP 429), retry after {wait or 'unknown'} s",
                channel=self.name,
                retry_after=wait,
            )
        raise DeliveryError(
            f"{self.where}: HTTP {response.status_code}: {body or '(empty body)'}",
            channel=self.name,
        )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)
