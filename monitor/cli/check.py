"""`check`: is the installation ready? One line per check, for people or (--json) scripts."""

from __future__ import annotations

import os
import sys

import click

from monitor.checks import CheckOptions, Result, run_checks
from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.display import counted


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list for scripts.")
@click.option("--no-model", is_flag=True, help="Do not load the embedding model (saves seconds).")
@click.option("--feeds", "fetch_feeds", is_flag=True, help="Fetch each enabled feed once.")
@click.option("--alerts", "contact_alerts", is_flag=True, help="Greet the SMTP server (EHLO).")
@click.pass_obj
@handle_errors
def check(app: App, as_json: bool, no_model: bool, fetch_feeds: bool, contact_alerts: bool) -> None:
    """Check the installation before (re)starting it; changes nothing.

    \b
    In order: the config loads; the seeds load (warns about entities derived
    from a claim); the database answers and its schema is current (else: run
    `init`), and its rumours match the seeds (warns when seeds changed since
    `init`); the model loads offline (--no-model skips it); the feeds (warns
    about one disabled by a 410 Gone; fetched once with --feeds); the alert
    channels, each `*_env` secret set, the SMTP server answering (with
    --alerts: EHLO and STARTTLS, AUTH offered for a username, no login, no
    mail); the [service] listen port is free or held by the running `run`.

    \b
    One line per check: ok, warn or FAIL, what, and why. Nothing is written:
    no rows, no feed state, no alerts. Exit 0 when nothing failed (warnings
    allowed), 1 when a check failed, 2 when the config cannot be read.
    Secrets come from the environment check runs in: give it the service's.

    \b
    Examples:
      rumour-monitor check && sudo systemctl restart rumour-monitor
      rumour-monitor check --feeds --alerts          also try the network
      rumour-monitor check --json | jq -r '.[] | select(.status == "FAIL") | .detail'
    with the service's config and secrets (the systemd install):
      sudo sh -c 'set -a; . /etc/rumour-monitor/rumour-monitor.env; exec \\
        /opt/rumour-monitor/.venv/bin/rumour-monitor \\
        --config /etc/rumour-monitor/config.toml check'
    """
    options = CheckOptions(model=not no_model, feeds=fetch_feeds, alerts=contact_alerts)
    results: list[Result] = []
    for result in run_checks(app.config_path, options, os.environ):
        results.append(result)
        if not as_json:  # as it comes: the model and the network take seconds
            click.echo(result.line())
    if as_json:
        emit_json([result.to_json() for result in results])
    else:
        click.echo(_summary(results))
    sys.exit(_exit_code(results))


def _summary(results: list[Result]) -> str:
    failed = sum(r.status == "FAIL" for r in results)
    warned = sum(r.status == "warn" for r in results)
    warnings = f" ({counted(warned, 'warning')})" if warned else ""
    if failed:
        return f"\nnot ready: {counted(failed, 'check')} failed{warnings}"
    return f"\nready{warnings}"


def _exit_code(results: list[Result]) -> int:
    if results and results[0].check == "config" and results[0].status == "FAIL":
        return 2  # as every other command exits on a config it cannot read
    return 1 if any(r.status == "FAIL" for r in results) else 0
