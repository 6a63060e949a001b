"""`run`: the monitor as a long-running service."""

from __future__ import annotations

import sys

import click

from monitor.cli.app import App, cli, handle_errors


@cli.command()
@click.pass_obj
@handle_errors
def run(app: App) -> None:
    """Run the monitor as a service until SIGTERM or Ctrl-C.

    \b
    Every [service] tick (30s) it polls the feeds that are due (each feed keeps
    its own interval, backoff and Retry-After in the database), processes the
    new articles and delivers alerts; pending alerts are retried on their
    backoff; daily maintenance prunes old article text and optimises the database.
    With [service] listen set it answers /healthz, Prometheus /metrics and a
    read-only web view of the rumours at / (no auth: keep it on 127.0.0.1).

    \b
    One `run` per database: a second one exits with code 1 and says who holds
    the lock (`poll` is fine alongside). SIGTERM finishes the article in hand
    and exits 0 within seconds; under systemd it sends READY=1 and watchdog pings.

    \b
    Examples:
      rumour-monitor --log-level info run
      systemctl start rumour-monitor     (systemd/rumour-monitor.service runs it)
    """
    from jobs import service_jobs
    from monitor.service import run_service

    config = app.config
    code = run_service(config, app.database(), service_jobs(config))
    sys.exit(code)
