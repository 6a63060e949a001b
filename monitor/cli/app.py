"""The `rumour-monitor` group and what every subcommand shares.

Each command loads the config once, opens the database once and hands typed objects to the
modules that do the work. Errors of the monitor's own hierarchy become one clear line on stderr
and the exit code the contract promises (2 for usage and config, 1 for runtime failures).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import __version__
from monitor.config import (
    CONFIG_ENV,
    Config,
    default_config,
    default_config_path,
    load_config,
)
from monitor.db import Database, require_schema
from monitor.errors import MonitorError
from monitor.logs import protect, setup_logging
from monitor.queries import json_text

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """What every command needs, built on first use so `--help` never touches the disk."""

    def __init__(self, config_path: Path, *, explicit: bool = True) -> None:
        self.config_path = config_path
        self.explicit = explicit  # named by --config or the environment, not the default
        self._config: Config | None = None
        self._db: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            protect(self._config)  # from here on, its secrets never reach the log
        return self._config

    @property
    def config_or_defaults(self) -> Config:
        """The config, or all defaults when no file was named and ./config.toml is absent.

        For commands that need no database or feeds (assess), so they work anywhere.
        """
        if self._config is None and not self.explicit and not self.config_path.exists():
            self._config = default_config(self.config_path)
        return self.config

    def database(self, *, migrated: bool = True) -> Database:
        if self._db is None:
            db = self.config.database
            self._db = Database(
                db.url,
                create=not migrated,
                connect_timeout=db.connect_timeout,
                statement_timeout=db.statement_timeout,
            )
            if migrated:
                require_schema(self._db.engine)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def handle_errors(func: F) -> F:
    """Turn the monitor's own errors into one line on stderr and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    click.echo(json_text(data))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Config file. Default: ./config.toml, or ${CONFIG_ENV} when set.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="warning",
    show_default=True,
    help="How much to log to stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on stderr: text, or JSON lines (time, level, logger, message, "
    "fields such as feed and rumour) for log collectors.",
)
@click.version_option(__version__, prog_name="rumour-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, log_level: str, log_format: str) -> None:
    """Track business and technology rumours through the news.

    Polls news feeds, reads each new article, matches its sentences against the tracked
    claims in seeds/*.toml, and alerts when a rumour changes state (unconfirmed, confirmed,
    formalized, denied, abandoned).

    \b
    Quick start:
      rumour-monitor demo          see it work offline on the Xiaomi EV story (2014-2021)
      rumour-monitor init          create the database and load the seeds
      rumour-monitor check         is everything ready? (after editing config)
      rumour-monitor poll          poll the feeds once, process, alert
      rumour-monitor run           the service: poll on schedule until stopped
      rumour-monitor status        one row per tracked rumour
      rumour-monitor history ID    why a rumour is in its state
    """
    setup_logging(log_level, "json" if log_format == "json" else "text")
    explicit = config_path is not None or bool(os.environ.get(CONFIG_ENV))
    app = App(config_path or default_config_path(), explicit=explicit)
    ctx.obj = app
    ctx.call_on_close(app.close)
