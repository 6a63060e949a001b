"""`poll` and `feeds`: one pass over the feeds for timers and cron, and each feed's health."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

import click

from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.cli.state import queue_line
from monitor.display import counted, table, when
from monitor.polling import feed_health, sync_feeds
from monitor.progress import Progress
from monitor.service import setup_lock

if TYPE_CHECKING:
    from monitor.polling import FeedReport
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
    uses it). Prints one line per feed (new entries, not modified, or the error), then
    every state change with the sentence and source behind it, then the alerts as they are
    sent when they go to the console (no alert channel configured), and last a count of
    changes and alerts. A failing feed backs off (see
    `rumour-monitor feeds`) and does not stop the others; the exit code is 0 unless the config
    or database itself is unusable.

    \b
    --json prints {"feeds": [...], "transitions": [...], "alerts": {...}}.

    \b
    Examples:
      rumour-monitor poll
      rumour-monitor poll --due --json | jq '.transitions[] | {id, from, to, url}'
    """
    from jobs import deliver
    from jobs import poll as poll_job

    reports = poll_step(app, due_only=due)
    # In text, each part prints as soon as it is done, so the output reads in the order things
    # happened: the feeds, the state changes they brought, then the alerts as the console
    # channel delivers them. With --json, stdout is the JSON document: console alerts go to
    # stderr so it stays valid.
    if not as_json:
        _echo_feeds(reports)
    with _runtime(app, console=sys.stderr if as_json else sys.stdout) as runtime:
        _, changes = poll_job.process(runtime)
        if not as_json:
            for change in changes:
                click.echo(change.line())
        alerts = deliver.run(runtime)
    if as_json:
        emit_json(
            {
                "feeds": [r.to_json() for r in reports],
                "transitions": [t.to_json() for t in changes],
                "alerts": alerts,
            }
        )
        return
    click.echo(
        f"{counted(len(changes), 'state change')}; alerts: {alerts.get('sent', 0)} sent, "
        f"{alerts.get('retrying', 0)} to retry, {alerts.get('failed', 0)} failed"
    )


def _echo_feeds(reports: Sequence[FeedReport]) -> None:
    for r in reports:
        click.echo(f"{r.feed}: {_poll_line(r)}")
    failed = sum(r.outcome == "error" for r in reports)
    new = sum(r.new_articles for r in reports)
    polled = sum(r.outcome != "skipped" for r in reports)
    click.echo(f"polled {counted(polled, 'feed')}: {counted(new, 'new article')}, {failed} failed")


@contextmanager
def _runtime(app: App, *, console: TextIO) -> Iterator[Runtime]:
    """What `run` uses after each poll to process the stored articles and send their alerts."""
    from monitor.alerts import channels_from_config
    from monitor.service import Metrics, Runtime

    runtime = Runtime(app.config, app.database(), Metrics())
    # Built here rather than by the deliver job, so that console alerts go to `console`.
    runtime.shared("channels", lambda: channels_from_config(app.config.alerts, stream=console))
    try:
        yield runtime
    finally:
        runtime.close()


def poll_step(app: App, *, due_only: bool = False) -> list[FeedReport]:
    """The polling part of `poll`: sync feeds from config, poll them (all, or the due ones)."""
    # Imported here: httpx and trafilatura would slow every other command's start.
    from monitor.polling import Fetcher, poll_feeds

    config = app.config
    db = app.database()
    with setup_lock(db), db.transaction() as session:  # a `run` or `poll` may sync at once
        sync_feeds(session, config.feeds)
    enabled = sum(1 for feed in config.feeds if feed.enabled)  # an upper bound with --due
    with Fetcher(config.polling) as fetcher, Progress("polling feeds", total=enabled) as bar:
        return poll_feeds(db, config, fetcher, due_only=due_only, on_feed=lambda _: bar.advance())


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
