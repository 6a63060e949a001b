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
    With [queue] backend = "procrastinate" (PostgreSQL), `run` is the scheduler
    only: each tick it queues the due feed polls, reading and alert delivery
    for `rumour-monitor worker` processes, and puts back the jobs of workers that
    stopped answering; it fetches nothing and loads no model itself.

    \b
    Examples:
      rumour-monitor --log-level info run
      systemctl start rumour-monitor     (systemd/rumour-monitor.service runs it)
    """
    from jobs import service_jobs
    from monitor.service import run_service

    config = app.config
    database = app.database()
    if config.queue.distributed:
        from monitor.queue import require_queue_schema

        require_queue_schema(database)
    code = run_service(config, database, service_jobs(config))
    sys.exit(code)


@cli.command()
@click.option(
    "--queues",
    default=",".join(("fetch", "model", "alerts")),
    show_default=True,
    help="Queues to take jobs from, separated by commas (or colons, as in a systemd instance "
    "name): fetch (feeds and pages), model (embedding, matching, tracking), alerts (delivery).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 512),
    default=None,
    envvar="RUMOUR_MONITOR_WORKER_CONCURRENCY",
    help="Jobs at a time (or $RUMOUR_MONITOR_WORKER_CONCURRENCY). Default: one per core when "
    "the model queue is served (a model job uses one core), else 8.",
)
@click.pass_obj
@handle_errors
def worker(app: App, queues: str, concurrency: int | None) -> None:
    """Take jobs from the shared queue (distributed mode only) until SIGTERM or Ctrl-C.

    \b
    With [queue] backend = "procrastinate", `run` is the scheduler: it queues the
    due feed polls, reading and alert delivery, and workers on any machine that
    reaches the PostgreSQL database do them. Start as many as you like; a
    machine may serve only some queues (say, the model queue on the big ones).
    Each job is logged with its id; SIGTERM finishes the jobs in hand, then exits 0.

    \b
    Examples:
      rumour-monitor --log-level info worker
      rumour-monitor worker --queues model --concurrency 4
      rumour-monitor worker --queues fetch,alerts --concurrency 32
      systemctl start rumour-monitor-worker@fetch:alerts   (systemd/rumour-monitor-worker@.service)
    """
    from monitor.errors import ConfigError
    from monitor.queue import QUEUES, default_concurrency, require_queue_schema, run_worker

    config = app.config
    if not config.queue.distributed:
        raise ConfigError(
            f'{config.path}: queue.backend: `worker` needs backend = "procrastinate" (and a'
            ' PostgreSQL [database] url); with backend = "local", `run` does all the work'
        )
    chosen = [q.strip() for q in queues.replace(":", ",").split(",") if q.strip()]
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown or not chosen:
        raise click.BadParameter(
            f"unknown queue {', '.join(unknown) or '(none)'}: choose from {', '.join(QUEUES)}",
            param_hint="--queues",
        )
    database = app.database()
    require_queue_schema(database)
    sys.exit(run_worker(config, database, chosen, concurrency or default_concurrency(chosen)))
