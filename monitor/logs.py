"""Logging to stderr, one line per event, as text for people or JSON lines for collectors.

Under systemd stderr goes to the journal, which stamps and indexes each line; `--log-format
json` suits shippers that parse fields. Context such as the feed or rumour travels as `extra=`
fields (`log.info("polled", extra={"feed": name})`) and shows up in both formats.

Every line passes `SecretFilter` first, at every level: a URL whose path or query may carry a
credential (a Slack or other webhook, a user:password@ part, a ?token=) is cut to
`scheme://host/…`, and the secrets the config holds (`protect`) are never written, whichever
library logs them (httpx logs each request's full URL at debug).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal
from urllib.parse import SplitResult, parse_qsl, urlsplit

if TYPE_CHECKING:
    from monitor.config import Config

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")
# Hosts whose URL path is the credential: a webhook's address is its password.
_WEBHOOKS = (
    ("hooks.slack.com", "/"),
    ("discord.com", "/api/webhooks"),
    ("discordapp.com", "/api/webhooks"),
    ("webhook.office.com", "/"),
    ("outlook.office.com", "/webhook"),
    ("api.telegram.org", "/bot"),
    ("hooks.zapier.com", "/"),
    ("maker.ifttt.com", "/"),
)
_SECRET_PARAM = re.compile(
    r"token|secret|passw|pwd|signature|credential|auth(?!or)|api.?key|^key$|[_-]key$|^sig$", re.I
)
MIN_SECRET = 4  # shorter strings would garble every line they happen to occur in


class SecretFilter(logging.Filter):
    """Rewrites each record so no secret reaches a handler: message, fields and traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._places: set[tuple[str, str]] = set()  # (host[:port], path) of secret URLs
        self._strings: set[str] = set()
        # Longest first, each path with its pattern: made when a secret is added, not per line.
        self._ordered: tuple[tuple[str, re.Pattern[str] | None], ...] = ()

    def add_url(self, url: str) -> None:
        """A URL the config holds as a secret: hidden wherever it or its path shows up.

        By host and path, not scheme: Apprise turns `json://host/path` into `http://host/path`.
        """
        url = url.strip()
        parts = urlsplit(url)
        secrets = [url, parts.password or ""]
        if len(parts.path) > 1:
            secrets.append(parts.path)  # a server's access log names the path alone
        with self._lock:
            if parts.hostname and len(parts.path) > 1:
                self._places.add((_host(parts.netloc), parts.path))
            self._strings.update(s for s in secrets if len(s) >= MIN_SECRET)
            self._order()

    def add_string(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET:
            with self._lock:
                self._strings.add(secret)
                self._order()

    def _order(self) -> None:
        # A path is hidden wherever it ends as a path ends, but not inside a name: "/hook" must
        # not eat the "/hook" of "https://hooks.example".
        self._ordered = tuple(
            (s, re.compile(rf"(?<!/){re.escape(s)}(?![\w-])") if s.startswith("/") else None)
            for s in sorted(self._strings, key=len, reverse=True)
        )

    def redact(self, text: str) -> str:
        if "://" in text:
            text = _URL.sub(lambda m: self._url(m.group(0)), text)
        for secret, as_path in self._ordered:
            if secret in text:
                text = as_path.sub("…", text) if as_path else text.replace(secret, "***")
        return text

    def _url(self, url: str) -> str:
        try:
            parts = urlsplit(url)
        except ValueError:  # not quite a URL ("http://[::1"): keep only its scheme
            return url.split("://", 1)[0] + "://…"
        if not self._is_secret(parts):
            return url
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"

    def _is_secret(self, parts: SplitResult) -> bool:
        if "@" in parts.netloc:
            return True  # user:password@host
        host, path = _host(parts.netloc), parts.path
        with self._lock:
            if any(host == h and path.startswith(p) for h, p in self._places):
                return True
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # without the port
        if any(name.endswith(h) and path.startswith(p) for h, p in _WEBHOOKS):
            return True
        return any(_SECRET_PARAM.search(key) for key, _ in parse_qsl(parts.query, True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _host(netloc: str) -> str:
    return netloc.rpartition("@")[2].lower()


SECRETS = SecretFilter()  # one for every handler setup_logging makes, so `protect` reaches all


def protect(config: Config) -> None:
    """Never log the secrets this config holds: webhook and Apprise URLs, passwords."""
    alerts = config.alerts
    urls: Iterable[str] = alerts.apprise.urls if alerts.apprise else ()
    for url in [*urls, alerts.slack.webhook_url if alerts.slack else ""]:
        if url:
            SECRETS.add_url(url)
    if alerts.email and alerts.email.password:
        SECRETS.add_string(alerts.email.password)
    database = urlsplit(config.database.url)
    if database.password:
        SECRETS.add_string(database.password)


class TextFormatter(logging.Formatter):
    """`2026-01-02T03:04:05Z INFO monitor.polling.poller: polled feed=CnEVPost new=3`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # one event stays one line: an error can quote a server's multi-line answer
        message = _one_line(record.getMessage())
        line = f"{moment} {record.levelname} {record.name}: {message}"
        extras = " ".join(f"{k}={_text(v)}" for k, v in extra_fields(record).items())
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            # one event stays one line: the journal would split a multi-line traceback
            line = f"{line} | {_exception(self, record)!r}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = _exception(self, record)
        return json.dumps(data, ensure_ascii=False, default=str)


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The traceback as SecretFilter left it (redacted), else formatted now."""
    assert record.exc_info is not None
    return record.exc_text or formatter.formatException(record.exc_info)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _text(value: Any) -> str:
    text = str(value)
    quote = not text or any(c.isspace() for c in text)
    return json.dumps(text, ensure_ascii=False) if quote else text


def setup_logging(level: str, fmt: LogFormat = "text", stream: IO[str] | None = None) -> None:
    """Route every logger to one stderr handler in the chosen format, replacing earlier set-ups."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SECRETS)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # library warnings (deprecations in the model stack) become log lines, not stray stderr text
    logging.captureWarnings(True)
    # third-party chatter stays at warning unless we are debugging the monitor itself
    quiet = logging.WARNING if level.lower() != "debug" else logging.INFO
    chatty = ("alembic", "apscheduler", "httpx", "httpcore", "urllib3", "sentence_transformers")
    for name in (*chatty, "procrastinate"):
        logging.getLogger(name).setLevel(max(quiet, root.level))
