"""Logging to stderr, one line per event, as text for people or JSON lines for collectors.

Under systemd stderr goes to the journal, which stamps and indexes each line; `--log-format
json` suits shippers that parse fields. Context such as the feed or rumour travels as `extra=`
fields (`log.info("polled", extra={"feed": name})`) and shows up in both formats.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

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
            line = f"{line} | {self.formatException(record.exc_info)!r}"
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
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


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
