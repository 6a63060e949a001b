"""`rumour-monitor demo`: the Xiaomi EV timeline, offline, through the real monitor.

A temporary database starts with the Xiaomi rumours as they stood before the story (all
unconfirmed); a local news site on 127.0.0.1 publishes the packaged timeline a batch at a time;
after each batch the real poller fetches the feeds and pages, the pipeline judges the new
articles and the delivery job sends the alerts. At the end every rumour's timeline is printed
with the sentences that moved it.
"""

from __future__ import annotations

import json
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from monitor.config import AlertsConfig, Config, load_config
from monitor.db import Database, upgrade
from monitor.display import counted
from monitor.errors import DemoFolderError, ReplayFileError
from monitor.polling import sync_feeds
from monitor.queries import history, status_rows
from monitor.reading import TransitionReport
from monitor.seeds import load_seeds, sync_rumours
from monitor.timeline.newssite import FeedServer
from monitor.timeline.replay import DEFAULT_CREDIBILITY, ReplayArticle, load_articles

TIMELINE = Path(__file__).with_name("xiaomi")
RUMOURS = TIMELINE / "rumours.toml"
DB_NAME = "demo.db"
# First line of the demo's config.toml: how a later demo knows the folder is a demo's.
MARKER = "# Written by `rumour-monitor demo`; the next demo in this folder replaces this folder's"


@dataclass
class DemoResult:
    transitions: list[TransitionReport] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    articles_stored: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    polls: int = 0
    model_seconds: float = 0.0
    seconds: float = 0.0


def batches(articles: Sequence[ReplayArticle], size: int) -> list[list[ReplayArticle]]:
    """The articles in published order, cut into polls of `size` stories."""
    ordered = sorted(articles, key=lambda a: a.published_at)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def demo_config_text(
    server: FeedServer, articles: Sequence[ReplayArticle], *, kept_listen: str | None = None
) -> str:
    """A config.toml for the demo: its own database, the packaged rumours, one feed per source.

    With `kept_listen` it is the config a kept folder is left with: the demo's news site has
    stopped, so its feeds are listed disabled (`run` would only poll a dead address), and a
    [service] section makes `run` serve the web view over the demo's database there."""
    lines = [
        MARKER,
        "# config.toml and demo.db.",
        "[database]",
        # Beside this config.toml: relative paths resolve against the config's own folder.
        f'url = "sqlite:///{DB_NAME}"',
        "[seeds]",
        f"paths = [{json.dumps(str(RUMOURS))}]",
        "[polling]",
        'timeout = "10s"',
        "allow_private_networks = true  # the demo site is on 127.0.0.1",
        'host_delay = "0s"',
        "host_concurrency = 8",
        "[model]",
        'name = "bundled"',
    ]
    if kept_listen is not None:
        lines += [
            "[service]",
            "# `rumour-monitor --config THIS_FILE run` serves the web view here",
            f'listen = "{kept_listen}"',
            "# The demo's news site stopped with the demo: its feeds stay listed, disabled.",
        ]
    for source in server.sources:
        scores = [a.credibility for a in articles if a.source == source and a.credibility]
        lines += [
            "[[feeds]]",
            f"name = {json.dumps(source)}",
            f"url = {json.dumps(server.feed_url(source))}",
            f"credibility = {max(scores, default=DEFAULT_CREDIBILITY)}",
        ]
        if kept_listen is not None:
            lines.append("enabled = false")
    return "\n".join(lines) + "\n"


PREFERRED_LISTEN = ("127.0.0.1", 9464)  # the listen address config.toml ships with


def free_listen() -> str:
    """127.0.0.1:9464 for a kept folder's web view, or another free port when that one is
    taken (a monitor already running on this machine, say)."""
    for port in (PREFERRED_LISTEN[1], 0):
        with socket.socket() as probe:
            try:
                probe.bind((PREFERRED_LISTEN[0], port))
            except OSError:
                continue
            return f"{PREFERRED_LISTEN[0]}:{probe.getsockname()[1]}"
    raise OSError("no free port on 127.0.0.1")  # binding to port 0 does not fail


def claim_workdir(folder: Path) -> None:
    """Ready a kept folder for a demo that starts afresh: an earlier demo's database goes.

    A folder whose config.toml or demo.db the demo did not write is refused untouched: `demo
    --keep .` in a project folder must not overwrite the project's own config.
    """
    config = folder / "config.toml"
    ours = config.is_file() and config.read_text("utf-8", "replace").startswith(MARKER)
    for path in (config, folder / DB_NAME):
        if path.exists() and not ours:
            raise DemoFolderError(
                f"{path} exists and was not written by `rumour-monitor demo`; give --keep a new "
                "or empty folder (the demo writes config.toml and demo.db there)"
            )
    for suffix in ("", "-wal", "-shm", "-journal"):
        (folder / f"{DB_NAME}{suffix}").unlink(missing_ok=True)


def _prepare(config: Config) -> Database:
    db = Database(config.database.url)  # always a temporary SQLite file
    upgrade(db.engine)
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
        sync_feeds(session, config.feeds)
    return db


def run_demo(
    out: TextIO,
    *,
    batch_size: int = 4,
    alerts: AlertsConfig | None = None,
    workdir: Path | None = None,
) -> DemoResult:
    """Run the whole demo, printing to `out`; alerts go to the console unless `alerts` is given."""
    started = time.monotonic()
    if workdir is not None:
        claim_workdir(workdir)
    articles, problems = load_articles(TIMELINE)
    if problems:
        raise ReplayFileError("; ".join(p.message for p in problems))
    with tempfile.TemporaryDirectory(prefix="rumour-demo-") as tmp, FeedServer(articles) as site:
        folder = workdir or Path(tmp)
        (folder / "config.toml").write_text(demo_config_text(site, articles), "utf-8")
        config = load_config(folder / "config.toml")
        if alerts is not None:
            config = replace(config, alerts=alerts)
        db = _prepare(config)
        try:
            result = _run(out, db, config, site, batches(articles, batch_size))
            _print_timelines(out, db)
        finally:
            db.dispose()
        if workdir is not None:  # the site stops now: leave a config `run` can use as it is
            text = demo_config_text(site, articles, kept_listen=free_listen())
            (workdir / "config.toml").write_text(text, "utf-8")
    result.seconds = time.monotonic() - started
    out.write(
        f"\n{len(articles)} articles in {result.polls} polls, {len(result.transitions)} state "
        f"changes, {result.alerts_sent} alerts sent ({result.alerts_failed} failed); "
        f"{result.seconds:.1f} s in all, {result.model_seconds:.1f} s of it loading the model\n"
    )
    return result


def _run(
    out: TextIO, db: Database, config: Config, site: FeedServer, polls: list[list[ReplayArticle]]
) -> DemoResult:
    from monitor.alerts import channel_names, channels_from_config, deliver_pending
    from monitor.polling import Fetcher, poll_feeds
    from monitor.reading import Embedder, process_pending

    result = DemoResult()
    loading = time.monotonic()
    embedder = Embedder.from_config(config.model)
    embedder.encode(["warm up"])  # the model loads here, not inside the first poll
    result.model_seconds = time.monotonic() - loading
    channels = channels_from_config(config.alerts, stream=out)
    published: list[ReplayArticle] = []
    with Fetcher(config.polling) as fetcher:
        for number, batch in enumerate(polls, start=1):
            published += batch
            site.publish(published)
            reports = poll_feeds(db, config, fetcher, due_only=False)
            new = sum(r.new_articles for r in reports)
            errors = [f"{r.feed}: {r.error}" for r in reports if r.outcome == "error"]
            changes = process_pending(db, config, embedder)
            span = f"{batch[0].published_at:%Y-%m-%d} .. {batch[-1].published_at:%Y-%m-%d}"
            out.write(
                f"\n== poll {number}/{len(polls)}: stories of {span}: "
                f"{counted(new, 'new article')}, {counted(len(changes), 'state change')}\n"
            )
            for error in errors:
                out.write(f"   feed error: {error}\n")
            if channel_names(config.alerts) != ("console",):
                # alerts leave for other channels: show the changes here (console ones show)
                for change in changes:
                    out.write(f"   {change.line()}\n")
            out.flush()
            delivery = deliver_pending(db, config, channels)
            result.alerts_sent += delivery.sent
            result.alerts_failed += delivery.failed
            result.articles_stored += new
            result.transitions += changes
    result.polls = len(polls)
    with db.sessions() as session:
        result.states = {row.id: row.state for row in status_rows(session)}
    return result


def _print_timelines(out: TextIO, db: Database) -> None:
    out.write("\n== Timeline of every rumour\n")
    with db.sessions() as session:
        rows = status_rows(session)
        for row in rows:
            data = history(session, row.id)
            path = " -> ".join(
                [t["from"] for t in data["transitions"][:1]]
                + [t["to"] for t in data["transitions"]]
            )
            out.write(
                f"\n{row.id}: {row.claim}\n  now {row.state} (confidence {row.confidence:.2f}, "
                f"{row.evidence_count} evidence)  path: {path or row.state + ' (no change)'}\n"
            )
            for t in data["transitions"]:
                out.write(f"  {t['at'][:10]}  {t['from']} -> {t['to']} ({t['signal']})\n")
                out.write(f'      "{t["sentence"]}"\n      {t["title"]}  {t["url"]}\n')
