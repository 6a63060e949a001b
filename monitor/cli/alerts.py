"""`alerts`: test the channels, list the outbox, deliver now, retry what failed."""

from __future__ import annotations

import sys

import click

from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.display import table


@cli.group(name="alerts")
def alerts_group() -> None:
    """Alert channels and the outbox: test the channels, list alerts, deliver or retry them.

    \b
    Examples:
      rumour-monitor alerts test                  one test alert per configured channel
      rumour-monitor alerts list --status failed  alerts that gave up, with the last error
      rumour-monitor alerts retry --all-failed    try those again (after fixing the channel)
      rumour-monitor alerts drop --all-pending    send nothing of what is queued (a backtest)
    """


@alerts_group.command(name="test")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_test(app: App, as_json: bool) -> None:
    """Send a test alert to every configured channel and report each result.

    Uses the [alerts.email], [alerts.slack] and [alerts.apprise] settings as they are (each
    Apprise URL is its own channel), so it proves the host, login, webhook and URLs work.
    Without any, the alert goes to the console. Exit 1 if any channel failed. The database is
    not touched. --json prints [{"channel", "status": "sent" or "failed", "error"}] (a
    console alert then goes to stderr).

    \b
    Examples:
      rumour-monitor alerts test
      rumour-monitor --config /etc/rumour-monitor/config.toml alerts test
      rumour-monitor alerts test --json | jq -r '.[] | select(.status == "failed") | .error'
    """
    from monitor.alerts import channels_from_config, send_test_alert

    stream = sys.stderr if as_json else sys.stdout
    results = send_test_alert(channels_from_config(app.config.alerts, stream=stream))
    if as_json:
        emit_json(
            [
                {"channel": name, "status": "sent" if error is None else "failed", "error": error}
                for name, error in results.items()
            ]
        )
    else:
        for name, error in results.items():
            click.echo(f"{name}: sent" if error is None else f"{name}: FAILED: {error}")
    if any(error is not None for error in results.values()):
        sys.exit(1)


@alerts_group.command(name="list")
@click.option(
    "--status",
    "status_filter",
    type=click.Choice(["pending", "sent", "failed"]),
    help="Only alerts with this status.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Newest alerts shown at most.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_list(app: App, status_filter: str | None, limit: int, as_json: bool) -> None:
    """The outbox, newest first: channel, status, attempts, next try and last error.

    \b
    Examples:
      rumour-monitor alerts list
      rumour-monitor alerts list --status failed --json | jq -r '.[] | .last_error'
    """
    from monitor.alerts import list_alerts

    with app.database().sessions() as session:
        rows = list_alerts(session, status=status_filter, limit=limit)
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("no alerts" + (f" with status {status_filter}" if status_filter else ""))
        return
    headers = ["ID", "CHANNEL", "STATUS", "TRIES", "RUMOUR", "CHANGE", "NEXT TRY", "LAST ERROR"]
    body = [
        [
            r.id,
            r.channel,
            r.status,
            r.attempts,
            r.rumour_id,
            f"{r.from_state} -> {r.to_state}",
            r.next_attempt_at if r.status == "pending" else None,
            r.last_error,
        ]
        for r in rows
    ]
    click.echo(table(headers, body))


@alerts_group.command(name="deliver")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_deliver(app: App, as_json: bool) -> None:
    """Send the pending alerts that are due now (poll and run do this after each pass).

    Exit 1 if an alert ran out of attempts in this pass.

    \b
    Examples:
      rumour-monitor alerts deliver
      rumour-monitor alerts deliver --json
    """
    from monitor.alerts import channels_from_config, deliver_pending

    # With --json, stdout is the JSON document: console alerts go to stderr so it stays valid.
    console = sys.stderr if as_json else sys.stdout
    channels = channels_from_config(app.config.alerts, stream=console)
    report = deliver_pending(app.database(), app.config, channels)
    if as_json:
        emit_json([o.to_json() for o in report.outcomes])
    else:
        for o in report.outcomes:
            detail = f": {o.error}" if o.error else ""
            click.echo(f"alert {o.alert_id} ({o.channel}, {o.rumour_id}): {o.status}{detail}")
        click.echo(report.summary())
    if report.failed:
        sys.exit(1)


@alerts_group.command(name="retry")
@click.argument("alert_ids", metavar="[ID]...", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Requeue every failed alert.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_retry(app: App, alert_ids: tuple[int, ...], all_failed: bool, as_json: bool) -> None:
    """Give failed alerts a fresh set of attempts; the next delivery sends them.

    Named alerts that are not failed are left as they are and said so; an id that names no
    alert exits with 2 (the others are still queued again). --json prints {"requeued",
    "not_failed": [{"id", "status"}], "unknown": [ids]}, with the same exit codes.

    \b
    Examples:
      rumour-monitor alerts retry 42 43
      rumour-monitor alerts retry --all-failed
      rumour-monitor alerts retry --all-failed --json | jq .requeued
    """
    from monitor.alerts import requeue_failed, statuses

    if not alert_ids and not all_failed:
        raise click.UsageError("name alert ids (see `alerts list --status failed`) or --all-failed")
    named = [] if all_failed else list(dict.fromkeys(alert_ids))
    with app.database().transaction() as session:
        known = statuses(session, named) if named else {}
        count = requeue_failed(session, None if all_failed else named)
    left = [(i, known[i]) for i in named if i in known and known[i] != "failed"]
    unknown = [i for i in named if i not in known]
    if as_json:
        emit_json(
            {
                "requeued": count,
                "not_failed": [{"id": i, "status": status} for i, status in left],
                "unknown": unknown,
            }
        )
    else:
        click.echo(f"{count} failed alert(s) queued again")
        for alert_id, status in left:
            click.echo(f"alert {alert_id} is {status}, not failed: left as it is", err=True)
    if unknown:
        listed = ", ".join(str(i) for i in unknown)
        click.echo(f"no such alert: {listed} (see `alerts list`)", err=True)
        sys.exit(2)


@alerts_group.command(name="drop")
@click.argument("alert_ids", metavar="[ID]...", nargs=-1, type=int)
@click.option("--all-pending", is_flag=True, help="Drop every pending alert.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_drop(app: App, alert_ids: tuple[int, ...], all_pending: bool, as_json: bool) -> None:
    """Delete alerts that were not sent from the outbox, so no delivery sends them.

    For alerts nobody should get: those a `replay` (a backtest) queued, say. Named alerts
    may be pending or failed; sent ones are history and stay. The state changes themselves
    stay in `history`. --json prints {"dropped", "not_dropped": [ids]}.

    \b
    Examples:
      rumour-monitor alerts drop 42 43
      rumour-monitor alerts drop --all-pending
    """
    from monitor.alerts import drop_unsent, statuses

    if not alert_ids and not all_pending:
        raise click.UsageError(
            "name alert ids (see `alerts list --status pending`) or --all-pending"
        )
    named = [] if all_pending else list(dict.fromkeys(alert_ids))
    with app.database().transaction() as session:
        known = statuses(session, named) if named else {}
        count = drop_unsent(session, None if all_pending else named)
    kept = [i for i in named if known.get(i) not in ("pending", "failed")]
    if as_json:
        emit_json({"dropped": count, "not_dropped": kept})
    else:
        click.echo(f"{count} unsent alert(s) dropped")
        for alert_id in kept:
            why = f"is {known[alert_id]}" if alert_id in known else "does not exist"
            click.echo(f"alert {alert_id} {why}: left as it is", err=True)
