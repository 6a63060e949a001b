"""`replay` and `demo`: the pipeline over dated article files, with no network."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.display import counted
from monitor.errors import MonitorError
from monitor.progress import Progress

if TYPE_CHECKING:
    from monitor.timeline import ReplayProblem, ReplayResult


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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object for scripts: counts, skipped files, state changes.",
)
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
    header are reported by name on stderr and skipped, and the count skipped ends the output;
    when every file is skipped nothing is replayed and the exit code is 1. Subfolders are not
    read (a folder with no replay file exits 2). Each URL is stored
    once, so a second run adds nothing. The changes queue alerts like any others, and the
    last line says how many: they go out with --deliver or the next `poll`, `run` or `alerts
    deliver`, and `alerts drop` drops them; backtest against a database of its own (--config)
    to keep them off your channels.

    \b
    --json prints one object, transitions as in `poll --json`:
      {"files", "replayed", "already_stored",
       "skipped": [{"file", "problem"}], "transitions": [...],
       "alerts": {"sent", "retrying", "failed"} with --deliver, else null,
       "queued_alerts": [ids of the alerts still unsent]}

    It prints also when every file is skipped (exit code 1, "replayed": 0), and stderr
    still names each skipped file.

    \b
    Examples:
      rumour-monitor --config backtest.toml init
      rumour-monitor --config backtest.toml replay articles/
      rumour-monitor --config backtest.toml replay articles/ --json \\
          | jq -r '.transitions[] | "\\(.at) \\(.id): \\(.from) -> \\(.to)"'
    """
    from monitor.reading import Embedder
    from monitor.timeline import ReplayResult, load_articles, replay_articles

    db = app.database()
    articles, problems = load_articles(directory)  # before the model: bad input fails fast
    if not articles:
        if as_json:  # scripts read why from the JSON, people from stderr
            emit_json(
                ReplayResult([], 0, problems, []).to_json() | {"alerts": None, "queued_alerts": []}
            )
        _none_usable(directory, problems)
    with Progress("processing articles") as bar:  # stderr, and only at a terminal
        result = replay_articles(
            db,
            app.config,
            Embedder.from_config(app.config.model),
            articles,
            problems,
            default_credibility=credibility,
            on_article=lambda _: bar.advance(),
        )
    _report_skipped(result.problems)
    alerts = _deliver(app) if deliver else None
    queued = _queued(app, result)
    if as_json:
        emit_json(result.to_json() | {"alerts": alerts, "queued_alerts": queued})
    else:
        _echo_changes(result)
        if queued:
            click.echo(_queued_note(queued))
    if result.problems:  # the last word, so skipped files are not lost above a long output
        click.echo(
            f"{len(result.problems)} of {result.files} files skipped (named above): {FIX_HINT}",
            err=True,
        )


def _deliver(app: App) -> dict[str, int]:
    """Send the pending alerts now; console alerts and the summary go to stderr."""
    from monitor.alerts import channels_from_config, deliver_pending

    channels = channels_from_config(app.config.alerts, stream=sys.stderr)
    report = deliver_pending(app.database(), app.config, channels)
    click.echo(report.summary(), err=True)
    return report.counts()


def _queued(app: App, result: ReplayResult) -> list[int]:
    """The alerts this replay's changes queued that are still unsent (all, without --deliver)."""
    from monitor.alerts import pending_for

    ids = [t.transition_id for t in result.transitions if t.transition_id is not None]
    with app.database().sessions() as session:
        return pending_for(session, ids)


def _queued_note(ids: Sequence[int]) -> str:
    """How many alerts wait, and the two ways on: send them, or drop them."""
    if len(ids) <= 12:
        drop = f"`rumour-monitor alerts drop {' '.join(map(str, ids))}` drops them"
    else:
        drop = "`rumour-monitor alerts drop --all-pending` drops them (and any other pending one)"
    return (
        f"{counted(len(ids), 'alert')} queued, not sent: `rumour-monitor alerts deliver` sends"
        f" them (so will the next `poll` or `run`); {drop}"
    )


def _echo_changes(result: ReplayResult) -> None:
    for t in result.transitions:
        click.echo(
            f"{t.at.date().isoformat()}  {t.rumour_id}: {t.from_state} -> {t.to_state}  "
            f"({t.signal}, confidence {t.confidence:.2f})"
        )
        click.echo(f'    "{t.sentence}"')
        click.echo(f"    {t.url}")
    added, changes = counted(len(result.added), "new article"), len(result.transitions)
    click.echo(
        f"replayed {added} ({result.already_stored} already stored, "
        f"{len(result.problems)} skipped): {counted(changes, 'state change')}"
    )


# Where to look when files are skipped: the header format is in the command's own help.
FIX_HINT = (
    "each needs a header of Title, Published (ISO 8601 with a timezone) and URL lines, a "
    "blank line, then the text; see `rumour-monitor replay --help`"
)


def _report_skipped(problems: Sequence[ReplayProblem]) -> None:
    for problem in problems:
        click.echo(f"skipped: {problem.message}", err=True)


def _none_usable(directory: Path, problems: Sequence[ReplayProblem]) -> NoReturn:
    """Every file was skipped: a run that replayed nothing must not look like a success."""
    _report_skipped(problems)
    raise MonitorError(
        f"{directory}: none of its {len(problems)} replay files could be read, nothing "
        f"replayed: fix them ({FIX_HINT})"
    )


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
    help="Keep the demo's database and config in this folder (to query it afterwards): a new "
    "folder, or one an earlier demo kept (its database is replaced).",
)
@click.option(
    "--batch",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Stories published per poll.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object at the end for scripts; the running story goes to stderr.",
)
@click.pass_obj
@handle_errors
def demo_cmd(app: App, use_alerts: bool, keep: Path | None, batch: int, as_json: bool) -> None:
    """An offline, self-contained run of the Xiaomi EV timeline (2014-2021).

    Starts a news site on 127.0.0.1 that publishes 23 dated stories a few at a time, and a
    temporary database whose Xiaomi rumours all start unconfirmed. After each batch the real
    poller, pipeline and alert delivery run; the alerts print here. At the end every rumour's
    timeline is shown with the sentences that moved it. Needs no feeds, no SMTP server and no
    network; the first run loads the embedding model (a few seconds).

    A folder given to --keep is left with demo.db and a config.toml that `run` can use as it
    is: the web view on 127.0.0.1:9464 (or a free port when that one is taken), the demo's
    feeds listed but disabled, since its news site stops with the demo.

    \b
    --json prints {"articles", "polls", "transitions": [...], "states": {id: state},
      "alerts": {"sent", "failed"}, "seconds", "model_seconds", "kept"}, transitions as in
      `poll --json`; "kept" is the --keep folder's config.toml, or null.

    \b
    Examples:
      rumour-monitor demo
      rumour-monitor demo --keep demo-state && sqlite3 demo-state/demo.db \\
          "SELECT * FROM rumour_status"
      rumour-monitor --config demo-state/config.toml run    # its web view, after --keep
      rumour-monitor demo --json 2>/dev/null | jq .states
    """
    from monitor.timeline import run_demo

    alerts = app.config.alerts if use_alerts else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    out = sys.stderr if as_json else sys.stdout
    result = run_demo(out, batch_size=batch, alerts=alerts, workdir=keep)
    if as_json:
        emit_json(
            {
                "articles": result.articles_stored,
                "polls": result.polls,
                "transitions": [t.to_json() for t in result.transitions],
                "states": result.states,
                "alerts": {"sent": result.alerts_sent, "failed": result.alerts_failed},
                "seconds": round(result.seconds, 1),
                "model_seconds": round(result.model_seconds, 1),
                "kept": str((keep / "config.toml").resolve()) if keep is not None else None,
            }
        )
