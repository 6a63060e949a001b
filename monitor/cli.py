"""The `rumour-monitor` command line: one click group, one small function per subcommand.

Each command loads the config once, opens the database once and hands typed objects to the
modules that do the work. Errors of the monitor's own hierarchy become one clear line on stderr
and the exit code the contract promises (2 for usage and config, 1 for runtime failures).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor import __version__
from monitor.config import CONFIG_ENV, Config, default_config_path, load_config
from monitor.db import Database, require_schema, upgrade
from monitor.display import table, when
from monitor.errors import MonitorError
from monitor.logs import setup_logging
from monitor.queries import history, status_rows
from monitor.seeds import load_seeds, sync_rumours
from monitor.subscriptions import feed_health, sync_feeds

if TYPE_CHECKING:
    from monitor.poller import FeedReport

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("monitor.cli")


class App:
    """What every command needs, built on first use so `--help` never touches the disk."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._db: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def database(self, *, migrated: bool = True) -> Database:
        if self._db is None:
            self._db = Database(self.config.database.url)
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
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


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
      rumour-monitor init          create the database and load the seeds
      rumour-monitor status        one row per tracked rumour
      rumour-monitor history ID    why a rumour is in its state
    """
    setup_logging(log_level, "json" if log_format == "json" else "text")
    app = App(config_path or default_config_path())
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.command()
@click.pass_obj
@handle_errors
def init(app: App) -> None:
    """Create or upgrade the database and load the seeds (safe to run again).

    Re-running after editing a seed file updates claims, entities and paraphrases and adds new
    rumours; the state, confidence and history of existing rumours are kept.
    """
    config = app.config
    seeds = load_seeds(config.seeds.paths)  # validate before touching the database
    db = app.database(migrated=False)
    upgrade(db.engine)
    with db.transaction() as session:
        rumours = sync_rumours(session, seeds)
        feeds = sync_feeds(session, config.feeds)
    click.echo(f"database ready: {_safe_url(config.database.url)}")
    click.echo(
        f"rumours: {len(seeds)} tracked ({len(rumours.added)} added, "
        f"{len(rumours.updated)} updated, {len(rumours.retired)} retired)"
    )
    click.echo(
        f"feeds: {len(config.feeds)} configured ({len(feeds.added)} added, "
        f"{len(feeds.updated)} updated, {len(feeds.removed)} disabled)"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--all", "include_retired", is_flag=True, help="Include rumours no longer seeded.")
@click.pass_obj
@handle_errors
def status(app: App, as_json: bool, include_retired: bool) -> None:
    """One row per tracked rumour: state, confidence, evidence, last news."""
    with app.database().sessions() as session:
        rows = status_rows(session, include_retired=include_retired)
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("no rumours tracked yet: add seeds and run `rumour-monitor init`")
        return
    headers = ["ID", "STATE", "CONF", "EVIDENCE", "LAST EVIDENCE", "ALERTS FAILED", "CLAIM"]
    body = [
        [
            r.id,
            r.state,
            r.confidence,
            r.evidence_count,
            r.last_evidence_at,
            r.alerts_failed,
            r.claim,
        ]
        for r in rows
    ]
    click.echo(table(headers, body))


@cli.command(name="history")
@click.argument("rumour_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def history_cmd(app: App, rumour_id: str, as_json: bool) -> None:
    """A rumour's state changes and evidence, oldest first, with the sentences behind them."""
    with app.database().sessions() as session:
        data = history(session, rumour_id)
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['id']}: {data['claim']}")
    click.echo(f"state {data['state']}, confidence {data['confidence']:.2f}\n")
    click.echo("Transitions:")
    if not data["transitions"]:
        click.echo("  none yet")
    for t in data["transitions"]:
        click.echo(f"  {t['at']}  {t['from']} -> {t['to']}  ({t['signal']})")
        click.echo(f'      "{t["sentence"]}"')
        click.echo(f"      {t['title'] or ''} {t['url'] or ''}".rstrip())
    click.echo("\nEvidence:")
    if not data["evidence"]:
        click.echo("  none yet")
    for e in data["evidence"]:
        where = e["source"] or ""
        click.echo(f"  {e['at']}  {e['stance']}/{e['signal']}  sim {e['similarity']:.2f}  {where}")
        click.echo(f'      "{e["sentence"]}"  {e["url"] or ""}'.rstrip())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report per feed.")
@click.pass_obj
@handle_errors
def poll(app: App, as_json: bool) -> None:
    """Poll every enabled feed now, process new articles, deliver alerts, then exit.

    For timers and cron (systemd/rumour-monitor-poll.timer); safe alongside a running `run`.
    Each feed is fetched with its stored ETag/Last-Modified, so an unchanged feed costs one
    short request. Prints one line per feed: new entries, not modified, or the error. A failing
    feed backs off (see `rumour-monitor feeds`) and does not stop the others; the exit code is
    0 unless the config or database itself is unusable.
    """
    reports = poll_step(app)
    after = _process_and_deliver(app)
    if as_json:
        emit_json([r.to_json() for r in reports])
        return
    for r in reports:
        click.echo(f"{r.feed}: {_poll_line(r)}")
    failed = sum(r.outcome == "error" for r in reports)
    new = sum(r.new_articles for r in reports)
    polled = sum(r.outcome != "skipped" for r in reports)
    click.echo(f"polled {polled} feeds: {new} new articles, {failed} failed")
    click.echo(after)


def _process_and_deliver(app: App) -> str:
    """What `run` does after each poll: process the stored articles, then send their alerts."""
    from jobs import deliver
    from jobs import poll as poll_job
    from monitor.metrics import Metrics
    from monitor.service import Runtime

    runtime = Runtime(app.config, app.database(), Metrics())
    try:
        pending, changes = poll_job.process(runtime)
        sent = deliver.run(runtime)
    finally:
        runtime.close()
    return (
        f"processed {pending} articles: {changes} state changes; alerts: {sent['sent']} sent, "
        f"{sent['retrying']} to retry, {sent['failed']} failed"
    )


def poll_step(app: App) -> list[FeedReport]:
    """The polling part of `poll`: sync feeds from config, poll them all, store articles."""
    # Imported here: httpx and trafilatura would slow every other command's start.
    from monitor.fetch import Fetcher
    from monitor.poller import poll_feeds

    config = app.config
    db = app.database()
    with db.transaction() as session:
        sync_feeds(session, config.feeds)
    with Fetcher(config.polling) as fetcher:
        return poll_feeds(db, config, fetcher, due_only=False)


def _poll_line(r: FeedReport) -> str:
    if r.outcome == "error":
        return f"error: {r.error} (next try {when(r.next_check_at)})"
    if r.outcome == "skipped":
        return f"skipped ({r.error})"
    if r.outcome == "not-modified":
        line = "not modified"
    else:
        line = f"{r.new_articles} new of {r.entries} entries"
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


@cli.group(name="alerts")
def alerts_group() -> None:
    """Alert channels and the outbox: test the channels, list alerts, deliver or retry them.

    \b
    Examples:
      rumour-monitor alerts test                  one test alert per configured channel
      rumour-monitor alerts list --status failed  alerts that gave up, with the last error
      rumour-monitor alerts retry --all-failed    try those again (after fixing the channel)
    """


@alerts_group.command(name="test")
@click.pass_obj
@handle_errors
def alerts_test(app: App) -> None:
    """Send a test alert to every configured channel and report each result.

    Uses the [alerts.email] and [alerts.slack] settings as they are, so it proves the host,
    login and webhook work. Without either, the alert goes to the console. Exit 1 if any
    channel failed. The database is not touched.
    """
    from monitor.alerts.channel import channels_from_config, send_test_alert

    results = send_test_alert(channels_from_config(app.config.alerts))
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
@click.option("--limit", default=50, show_default=True, help="Newest alerts shown at most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def alerts_list(app: App, status_filter: str | None, limit: int, as_json: bool) -> None:
    """The outbox, newest first: channel, status, attempts, next try and last error."""
    from monitor.alerts.outbox import list_alerts

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
    """
    from monitor.alerts.delivery import deliver

    report = deliver(app.database(), app.config)
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
@click.pass_obj
@handle_errors
def alerts_retry(app: App, alert_ids: tuple[int, ...], all_failed: bool) -> None:
    """Give failed alerts a fresh set of attempts; the next delivery sends them."""
    from monitor.alerts.outbox import requeue_failed

    if not alert_ids and not all_failed:
        raise click.UsageError("name alert ids (see `alerts list --status failed`) or --all-failed")
    with app.database().transaction() as session:
        count = requeue_failed(session, None if all_failed else list(alert_ids))
    click.echo(f"{count} failed alert(s) queued again")


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
    With [service] listen set it answers /healthz and Prometheus /metrics.

    \b
    One `run` per database: a second one exits with code 1 and says who holds
    the lock (`poll` is fine alongside). SIGTERM finishes the article in hand
    and exits 0 within seconds; under systemd it sends READY=1 and watchdog pings.
    """
    from jobs import service_jobs
    from monitor.service import run_service

    config = app.config
    code = run_service(config, app.database(), service_jobs(config))
    sys.exit(code)


def main() -> None:
    cli(prog_name="rumour-monitor")


@cli.command(name="assess")
@click.option("--claim", help="The claim to judge the text against.")
@click.option("--text", "text", help="The article text itself.")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding the article text.",
)
@click.option("--url", help="Fetch the article at this URL and judge its main text.")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    metavar="NAME[|ALIAS...]",
    help="An entity the text must name (repeatable). Default: the claim's proper nouns.",
)
@click.option(
    "--pairs",
    type=click.File("r", encoding="utf-8"),
    help='JSON lines {"id","claim","text"} ("-" for stdin); prints one JSON line per pair.',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def assess_cmd(
    app: App,
    claim: str | None,
    text: str | None,
    file: Path | None,
    url: str | None,
    entities: tuple[str, ...],
    pairs: Any,
    as_json: bool,
) -> None:
    """Judge whether a text speaks to a claim, and how.

    Prints whether it is related, the stance (unrelated, reports, supports, denies), the signal
    (none, confirm, formalize, deny, abandon), the similarity and the deciding sentence. No
    database is needed; the model is loaded once however many pairs are given.

    \b
    Examples:
      rumour-monitor assess --claim "Acme will buy Widget Works" --file story.txt
      rumour-monitor assess --claim "Acme will buy Widget Works" --url https://example.org/a
      rumour-monitor assess --pairs pairs.jsonl > verdicts.jsonl
    """
    from monitor import assess_cli

    if pairs is not None:
        if claim or text or file or url or entities:
            raise click.UsageError("--pairs takes its claims and texts from the file alone")
        sys.exit(assess_cli.run_pairs(app.config, pairs))
    if not claim:
        raise click.UsageError("give --claim TEXT with --text, --file or --url, or --pairs FILE")
    if sum(x is not None for x in (text, file, url)) != 1:
        raise click.UsageError("give exactly one of --text, --file or --url")
    body = assess_cli.read_text(app.config, text=text, file=file, url=url)
    assess_cli.run_one(app.config, claim, body, entities or None, as_json=as_json)


@cli.command(name="replay")
@click.argument(
    "directory", metavar="DIR", type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--credibility",
    type=click.FloatRange(0.0, 1.0),
    default=0.6,
    show_default=True,
    help="Source credibility for files without a Credibility: header.",
)
@click.option("--deliver", is_flag=True, help="Send the alerts of the replayed changes now.")
@click.option("--json", "as_json", is_flag=True, help="Print the state changes as JSON.")
@click.pass_obj
@handle_errors
def replay_cmd(app: App, directory: Path, credibility: float, deliver: bool, as_json: bool) -> None:
    """Process dated article files in time order, with no network (backtests).

    DIR holds one article per file. A .txt file is a header of `Key: value` lines, a blank
    line, then the text:

    \b
      Title: Xiaomi signs agreement for Great Wall Motors to build its cars
      Published: 2021-09-06T20:00:00+08:00     (ISO 8601 with a timezone)
      Source: Hong Kong Markets Desk           (optional: the URL's host)
      URL: https://hkmarketsdesk.example/2021/09/06/xiaomi-great-wall
      Credibility: 0.8                         (optional, 0..1)
    \b
      Xiaomi and Great Wall Motors have signed ...

    A .html/.htm file is extracted like a fetched page; its title, date, site name and
    canonical URL come from the page unless a header atop the file, or a sidecar
    NAME.html.meta of header lines, gives them. Files without a date or with a malformed
    header are reported by name and skipped. Each URL is stored once, so a second run adds
    nothing. The changes queue alerts like any others: they go out with --deliver or the next
    `poll`, `run` or `alerts deliver`; backtest against a database of its own (--config) to
    keep them off your channels.

    \b
    Example:
      rumour-monitor --config backtest.toml init
      rumour-monitor --config backtest.toml replay articles/
    """
    from monitor.embed import Embedder
    from monitor.replay import replay_folder

    db = app.database()
    result = replay_folder(
        db,
        app.config,
        Embedder.from_config(app.config.model),
        directory,
        default_credibility=credibility,
    )
    for problem in result.problems:
        click.echo(f"skipped: {problem.message}", err=True)
    if deliver:
        from monitor.alerts.channel import channels_from_config
        from monitor.alerts.delivery import deliver_pending

        channels = channels_from_config(app.config.alerts, stream=sys.stderr)
        click.echo(deliver_pending(db, app.config, channels).summary(), err=True)
    if as_json:
        emit_json([_transition_json(t) for t in result.transitions])
        return
    for t in result.transitions:
        click.echo(
            f"{t.at.date().isoformat()}  {t.rumour_id}: {t.from_state} -> {t.to_state}  "
            f"({t.signal}, confidence {t.confidence:.2f})"
        )
        click.echo(f'    "{t.sentence}"')
        click.echo(f"    {t.url}")
    click.echo(
        f"replayed {len(result.added)} new articles ({result.already_stored} already stored, "
        f"{len(result.problems)} skipped): {len(result.transitions)} state changes"
    )


def _transition_json(t: Any) -> dict[str, Any]:
    return {
        "id": t.rumour_id,
        "from": t.from_state,
        "to": t.to_state,
        "at": t.at.isoformat(),
        "signal": t.signal,
        "confidence": round(t.confidence, 4),
        "sentence": t.sentence,
        "url": t.url,
    }


@cli.command(name="demo")
@click.option(
    "--alerts",
    "use_alerts",
    is_flag=True,
    help="Send the alerts to the channels in your config.toml instead of the console.",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's database and config in this folder (to query it afterwards).",
)
@click.option("--batch", default=4, show_default=True, help="Stories published per poll.")
@click.pass_obj
@handle_errors
def demo_cmd(app: App, use_alerts: bool, keep: Path | None, batch: int) -> None:
    """An offline, self-contained run of the Xiaomi EV timeline (2014-2021).

    Starts a news site on 127.0.0.1 that publishes 23 dated stories a few at a time, and a
    temporary database whose Xiaomi rumours all start unconfirmed. After each batch the real
    poller, pipeline and alert delivery run; the alerts print here. At the end every rumour's
    timeline is shown with the sentences that moved it. Needs no feeds, no SMTP server and no
    network; the first run loads the embedding model (a few seconds).

    \b
    Examples:
      rumour-monitor demo
      rumour-monitor demo --keep demo-state && sqlite3 demo-state/demo.db \\
          "SELECT * FROM rumour_status"
    """
    from monitor.demo import run_demo

    alerts = app.config.alerts if use_alerts else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    run_demo(sys.stdout, batch_size=max(1, batch), alerts=alerts, workdir=keep)
