"""`poll` and `feeds`: one pass over the feeds for timers and cron, and each feed's health."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

import click

from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.cli.state import queue_line
from monitor.display import counted, table, when
from monitor.polling import feed_health, sync_feeds
from monitor.progress import Progress
from monitor.queries import iso
from monitor.service import setup_lock

if TYPE_CHECKING:
    from jobs.poll import PollRun
    from monitor.polling import FeedReport
    from monitor.reading import TransitionReport
    from monitor.service import Runtime


@cli.command()
@click.option(
    "--due",
    is_flag=True,
    help="Only the feeds that are due (their interval, backoff and Retry-After), as `run` "
    "does: for timers that call poll often.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@click.pass_obj
@handle_errors
def poll(app: App, due: bool, as_json: bool) -> None:
    """Poll every enabled feed now, process new articles, deliver alerts, then exit.

    For timers and cron (systemd/rumour-monitor-poll.timer); safe alongside a running `run`.
    Each feed is fetched with its stored ETag/Last-Modified, so an unchanged feed costs one
    short request; --due leaves out the feeds whose next check has not come (the timer unit
    uses it). Prints one line per feed as soon as it is stored (new entries, not modified,
    or the error), then the state changes its articles brought, with the sentence and source
    behind each, and the alerts as they are sent when they go to the console (no alert
    channel configured); a slow feed does not hold back the others. Last, a count of feeds,
    changes and alerts. A failing feed backs off (see `rumour-monitor feeds`) and does not
    stop the others; the exit code is 0 unless the config or database itself is unusable.

    \b
    --json prints {"feeds": [...], "transitions": [...], "alerts": {...}}; each feed has
    "name" (also as "feed"), "url", "outcome", "entries", "new_articles", "error",
    "next_check_at", ...

    \b
    Examples:
      rumour-monitor poll
      rumour-monitor poll --due --json | jq '.transitions[] | {id, from, to, url}'
    """
    from jobs import poll as poll_job

    _sync_feeds(app)
    # With --json, stdout is the JSON document: console alerts go to stderr so it stays valid.
    with _runtime(app, console=sys.stderr if as_json else sys.stdout) as runtime:
        if as_json:
            enabled = sum(1 for feed in app.config.feeds if feed.enabled)  # a bound with --due
            with Progress("polling feeds", total=enabled) as bar:
                done = poll_job.poll(runtime, due_only=due, on_feed=lambda _: bar.advance())
        else:
            # Each part prints as soon as it is done, so the output reads in the order things
            # happened: a feed, the state changes its articles brought, the alerts as the
            # console channel delivers them; then the next feed.
            done = poll_job.poll(
                runtime, due_only=due, on_feed=_echo_feed, on_changes=_echo_changes
            )
    if as_json:
        emit_json(
            {
                "feeds": [feed_json(r) for r in done.reports],
                "transitions": [t.to_json() for t in done.changes],
                "alerts": dict(done.alerts),
            }
        )
        return
    _echo_summary(done)


def feed_json(report: FeedReport) -> dict[str, Any]:
    """One feed of `poll --json`: named `name` as in `feeds --json` (and `feed`, as before: no
    field is ever removed), its time in the one form every JSON uses."""
    return {"name": report.feed} | report.to_json() | {"next_check_at": iso(report.next_check_at)}


def _echo_feed(report: FeedReport) -> None:
    click.echo(f"{report.feed}: {_poll_line(report)}")


def _echo_changes(changes: Sequence[TransitionReport]) -> None:
    for change in changes:
        click.echo(change.line())


def _echo_summary(done: PollRun) -> None:
    reports = done.reports
    for r in reports:
        if r.outcome == "skipped":  # the others were printed as they were polled
            _echo_feed(r)
    failed = sum(r.outcome == "error" for r in reports)
    new = sum(r.new_articles for r in reports)
    polled = sum(r.outcome != "skipped" for r in reports)
    click.echo(f"polled {counted(polled, 'feed')}: {counted(new, 'new article')}, {failed} failed")
    alerts = done.alerts
    click.echo(
        f"{counted(len(done.changes), 'state change')}; alerts: {alerts['sent']} sent, "
        f"{alerts['retrying']} to retry, {alerts['failed']} failed"
    )


@contextmanager
def _runtime(app: App, *, console: TextIO) -> Iterator[Runtime]:
    """What `run` uses: the database, the fetcher, the model, the alert channels."""
    from monitor.alerts import channels_from_config
    from monitor.service import Metrics, Runtime

    runtime = Runtime(app.config, app.database(), Metrics())
    # Built here rather than by the deliver job, so that console alerts go to `console`.
    runtime.shared("channels", lambda: channels_from_config(app.config.alerts, stream=console))
    try:
        yield runtime
    finally:
        runtime.close()


def _sync_feeds(app: App) -> None:
    """Make the feeds table match config.toml before polling, as `run` does at each start."""
    db = app.database()
    with setup_lock(db), db.transaction() as session:  # a `run` or `poll` may sync at once
        sync_feeds(session, app.config.feeds)


def _poll_line(r: FeedReport) -> str:
    if r.outcome == "error":
        if r.next_check_at is None:  # a 410: disabled, no next try
            return f"error: {r.error} ({r.warning or 'feed disabled'})"
        return f"error: {r.error} (next try {when(r.next_check_at)})"
    if r.outcome == "skipped":
        return f"skipped ({r.error})"
    if r.outcome == "not-modified":
        line = "not modified"
    else:
        line = f"{r.new_articles} new of {counted(r.entries, 'entry', 'entries')}"
    if r.updated_article_ids:
        line += f", {len(r.updated_article_ids)} page(s) re-read"
    if r.pages_deferred:
        line += f", {r.pages_deferred} page(s) left for the next poll (feed_budget)"
    return line + (f" (malformed feed: {r.warning})" if r.warning else "")


@cli.command(name="feeds")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def feeds_cmd(app: App, as_json: bool) -> None:
    """Each feed's health: last success, errors in a row, last error, next check.

    A failing feed is checked again after its interval doubled per failure (at most 24 h, or
    later when the server sent Retry-After). A feed answering 410 Gone is disabled with a
    reason; fix its URL in config.toml and run `rumour-monitor poll` to start it again.

    \b
    Examples:
      rumour-monitor feeds
      rumour-monitor feeds --json | jq -r '.[] | select(.error_count > 0) | .name'
    """
    with app.database().sessions() as session:
        rows = feed_health(session)
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("no feeds yet: add [[feeds]] to config.toml and run `rumour-monitor init`")
        return
    headers = ["FEED", "ENABLED", "LAST SUCCESS", "ERRORS", "NEXT CHECK", "ENTRIES", "LAST ERROR"]
    body = [
        [
            f.name,
            "yes" if f.enabled else f"no: {f.disabled_reason or 'config'}",
            f.last_success_at,
            f.error_count,
            f.next_check_at,
            f.entries,
            f.last_error,
        ]
        for f in rows
    ]
    click.echo(table(headers, body))
    queue_line(app)
