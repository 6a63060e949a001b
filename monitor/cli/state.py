"""`init`, `status` and `history`: the state database as people and scripts see it."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from monitor.cli.app import App, cli, emit_json, handle_errors
from monitor.db import upgrade
from monitor.display import table
from monitor.errors import SeedError
from monitor.polling import sync_feeds
from monitor.queries import evidence_csv, history, seeded_state, status_rows, why
from monitor.seeds import load_seeds, sync_rumours
from monitor.service import setup_lock


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@click.pass_obj
@handle_errors
def init(app: App, as_json: bool) -> None:
    """Create or upgrade the database and load the seeds (safe to run again).

    Re-running after editing a seed file updates claims, entities and paraphrases and adds new
    rumours; the state, confidence and history of existing rumours are kept.

    \b
    --json prints {"database", "schema": {"before", "after"},
      "rumours": {"tracked", "added", "updated", "retired"},
      "feeds": {"configured", "added", "updated", "disabled"}, "warnings"}
    (the lists name rumour ids and feed names; warnings also go to stderr).

    \b
    Examples:
      rumour-monitor init
      rumour-monitor --config /etc/rumour-monitor/config.toml init
      rumour-monitor init --json | jq -r '.rumours.added[]'
    """
    config = app.config
    seeds = load_seeds(config.seeds.paths)  # validate before touching the database
    if not seeds:  # syncing nothing would retire every tracked rumour without a word
        named = ", ".join(str(p) for p in config.seeds.paths)
        raise SeedError(
            f"no rumours in [seeds] paths ({named}): add a seed file with [[rumour]] tables"
            " (see seeds/xiaomi-ev.toml in the project)"
        )
    db = app.database(migrated=False)
    queue_note = ""
    with setup_lock(db):  # a second `init` at the same moment waits, then finds it all done
        before, after = upgrade(db.engine)
        if config.queue.distributed:
            from monitor.queue import upgrade_queue

            queue_note = _queue_note(*upgrade_queue(db))
        with db.transaction() as session:
            rumours = sync_rumours(session, seeds)
            feeds = sync_feeds(session, config.feeds)
    warnings = [
        f"rumour {kept.id!r}: state {kept.seed_state} in the seed is not applied: a seed's"
        f" state only starts a new rumour, and this one was added as {kept.added_as}"
        f" ({kept.state} now); to start it afresh as {kept.seed_state}, give it a new id"
        for kept in rumours.kept_states
    ]
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        emit_json(
            {
                "database": _safe_url(config.database.url),
                "schema": {"before": before, "after": after},
                "rumours": {
                    "tracked": len(seeds),
                    "added": list(rumours.added),
                    "updated": list(rumours.updated),
                    "retired": list(rumours.retired),
                },
                "feeds": {
                    "configured": len(config.feeds),
                    "added": list(feeds.added),
                    "updated": list(feeds.updated),
                    "disabled": list(feeds.removed),
                },
                "warnings": warnings,
            }
        )
        return
    click.echo(f"database ready: {_safe_url(config.database.url)}{_schema_note(before, after)}")
    if queue_note:
        click.echo(queue_note)
    click.echo(
        f"rumours: {len(seeds)} tracked ({len(rumours.added)} added, "
        f"{len(rumours.updated)} updated, {len(rumours.retired)} retired)"
    )
    click.echo(
        f"feeds: {len(config.feeds)} configured ({len(feeds.added)} added, "
        f"{len(feeds.updated)} updated, {len(feeds.removed)} disabled)"
    )


def _schema_note(before: str | None, after: str | None) -> str:
    # The migration library's own log lines are silenced; say once what changed, if anything.
    if before is None:
        return f" (schema {after} created)"
    return f" (schema upgraded {before} -> {after})" if before != after else ""


def _queue_note(before: str | None, after: str) -> str:
    if before is None:
        return f"job queue ready: Procrastinate schema {after} created"
    if before != after:
        return f"job queue ready: Procrastinate schema upgraded {before} -> {after}"
    return f"job queue ready: Procrastinate schema {after}"


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--all", "include_retired", is_flag=True, help="Include rumours no longer seeded.")
@click.pass_obj
@handle_errors
def status(app: App, as_json: bool, include_retired: bool) -> None:
    """One row per tracked rumour: state, confidence, evidence, last news.

    CONF is the probability that the claim is or will be true; ALERTS FAILED counts alerts
    that ran out of attempts (see `alerts list --status failed`). Rumours removed from the
    seeds are retired by `init`: hidden here, listed by --all with "(retired)" after the id
    ("active": false in --json).

    \b
    Examples:
      rumour-monitor status
      rumour-monitor status --json | jq -r '.[] | select(.state == "formalized") | .id'
    """
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
            r.id if r.active else f"{r.id} (retired)",
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
    queue_line(app)


def queue_line(app: App) -> None:
    """In distributed mode, the job queue in one line under the table: depth, failures, workers."""
    if not app.config.queue.distributed:
        return
    from monitor.queue import queue_stats

    with app.database().sessions() as session:
        click.echo(queue_stats(session, app.config.queue.stall_timeout).line())


@cli.command(name="history")
@click.argument("rumour_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print the evidence timeline as CSV (for a spreadsheet or a plot).",
)
@click.pass_obj
@handle_errors
def history_cmd(app: App, rumour_id: str, as_json: bool, as_csv: bool) -> None:
    """A rumour's state changes and evidence, oldest first, with the sentences behind them.

    Each transition names the article (title and URL), the sentence and the signal that moved
    the rumour; each evidence row shows how an article read (stance, signal, similarity).

    \b
    Examples:
      rumour-monitor history xiaomi-great-wall
      rumour-monitor history xiaomi-ev --json | jq '.transitions[] | {from, to, at, url}'
      rumour-monitor history xiaomi-ev --csv > xiaomi-ev.csv

    --csv prints one row per evidence (at, stance, signal, similarity, confidence before and
    after, source, title, url, sentence), the same bytes as /rumours/ID.csv in the web view.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    with app.database().sessions() as session:
        data = history(session, rumour_id)
    if as_csv:
        click.echo(evidence_csv(data), nl=False)
        return
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['id']}: {data['claim']}")
    retired = "" if data["active"] else " (retired: no longer in the seeds)"
    since = ""
    if data["state_since"]:  # dates the seeded state, which the news may have moved since
        since = f", seeded {seeded_state(data)} since {data['state_since']}"
    click.echo(f"state {data['state']}, confidence {data['confidence']:.2f}{since}{retired}\n")
    click.echo("Transitions:")
    if not data["transitions"]:
        click.echo("  none yet")
    for t in data["transitions"]:
        click.echo(f"  {t['at']}  {t['from']} -> {t['to']}  ({t['signal']})")
        click.echo(f'      "{t["sentence"]}"')
        if why(t):
            click.echo(f"      {why(t)}")
        click.echo(f"      {t['title'] or ''} {t['url'] or ''}".rstrip())
    click.echo("\nEvidence:")
    if not data["evidence"]:
        click.echo("  none yet")
    for e in data["evidence"]:
        where = e["source"] or ""
        click.echo(f"  {e['at']}  {e['stance']}/{e['signal']}  sim {e['similarity']:.2f}  {where}")
        click.echo(f'      "{e["sentence"]}"  {e["url"] or ""}'.rstrip())
        if why(e):
            click.echo(f"      {why(e)}")
