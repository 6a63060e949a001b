"""`check`: is this installation ready to run? Each check is a small function returning results
(monitor.checks.result); the listen port has its own module (monitor.checks.listen).

The checks read and never write: the config and seed files, the database (its schema, the
rumours it holds against the seeds, the embedding cache's model names), the model, and with
the caller's leave the network (each feed fetched once, the SMTP server greeted). No row is
written, no alert sent, no feed's state touched. Later checks run after an earlier one failed
whenever they still mean something: a broken seed file does not hide a missing secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.alerts import EmailChannel, channel_names
from monitor.checks.listen import check_service
from monitor.checks.queue import check_queue
from monitor.checks.result import Result, fail, ok, warn
from monitor.config import Config, FeedConfig, load_config
from monitor.db import Database, head_revision, require_schema
from monitor.db.models import Feed
from monitor.display import counted
from monitor.errors import (
    ConfigError,
    DatabaseError,
    FeedError,
    FetchError,
    MissingSecretError,
    SeedError,
)
from monitor.reading import ModelError, cached_models, shared_encoder
from monitor.seeds import SeedRumour, load_seeds, plan_sync

if TYPE_CHECKING:
    from monitor.polling import Fetcher


@dataclass(frozen=True)
class CheckOptions:
    model: bool = True  # load the embedding model (a few seconds)
    feeds: bool = False  # fetch every enabled feed once (network)
    alerts: bool = False  # greet the SMTP server (network)


class _Environment(Mapping[str, str]):
    """The process environment as the config sees it, remembering which variables it read."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.known = dict(values)
        self.read: dict[str, None] = {}  # ordered set

    def __getitem__(self, name: str) -> str:
        self.read[name] = None
        return self.known[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


# A missing secret is stood in for, so the rest of the config still loads and is checked; the
# stand-in only has to pass the config's own validation of that key (it is never sent).
_STAND_INS = {"webhook_url_env": "https://stand-in.invalid/", "urls_env": "json://localhost/"}


@dataclass
class Setup:
    """What the config check hands to the others."""

    config: Config
    secrets_read: tuple[str, ...]  # every variable a `*_env` key names, in config order
    secrets_missing: dict[str, MissingSecretError] = field(default_factory=dict)


def load_setup(path: Path, environ: Mapping[str, str]) -> Setup:
    """The config as every command loads it, except that a missing `*_env` secret is noted
    (and stood in for) instead of ending the load: `check` reports it beside the rest."""
    env = _Environment(environ)
    missing: dict[str, MissingSecretError] = {}
    while True:
        try:
            config = load_config(path, environ=env)
        except MissingSecretError as exc:
            if exc.variable in missing:  # stood in already: cannot happen, but never loop
                raise
            missing[exc.variable] = exc
            env.known[exc.variable] = _STAND_INS.get(exc.key.rsplit(".", 1)[-1], "stand-in")
            continue
        return Setup(config, tuple(env.read), missing)


def check_config(path: Path, environ: Mapping[str, str]) -> tuple[Setup | None, Result]:
    try:
        setup = load_setup(path, environ)
    except ConfigError as exc:  # the same message every other command gives
        return None, fail("config", str(exc))
    return setup, ok("config", str(setup.config.path))


def check_seeds(config: Config) -> tuple[list[SeedRumour] | None, list[Result]]:
    try:
        seeds = load_seeds(config.seeds.paths)
    except SeedError as exc:
        return None, [fail("seeds", str(exc))]
    if not seeds:
        named = ", ".join(str(p) for p in config.seeds.paths)
        return None, [fail("seeds", f"no rumours in [seeds] paths ({named}): `init` refuses")]
    files = len({seed.file for seed in seeds})
    results = [ok("seeds", f"{counted(len(seeds), 'rumour')} in {counted(files, 'file')}")]
    derived = [seed for seed in seeds if seed.derived]
    if derived:
        # Derived entities gate every match: a wrong one silently drops all evidence.
        named = "; ".join(f"{s.id} ({', '.join(s.entities)})" for s in derived)
        results.append(
            warn(
                "seeds",
                f"entities derived from the claim, check them or give `entities`: {named}",
            )
        )
    return seeds, results


def open_database(config: Config) -> tuple[Database | None, Result]:
    """The database, opened and at our schema, or why not (never creating or upgrading it)."""
    cfg = config.database
    where = make_url(cfg.url).render_as_string(hide_password=True)
    db: Database | None = None
    try:
        db = Database(
            cfg.url,
            create=False,
            connect_timeout=cfg.connect_timeout,
            statement_timeout=cfg.statement_timeout,
        )
        require_schema(db.engine)
    except DatabaseError as exc:
        if db is not None:
            db.dispose()
        return None, fail("database", str(exc))
    return db, ok("database", f"{where}, schema {head_revision()} (current)")


def check_rumours(db: Database, seeds: list[SeedRumour]) -> list[Result]:
    """The database's rumours against the seeds: what `init` would change, changing nothing."""
    try:
        with db.sessions() as session:
            plan = plan_sync(session, seeds)
    except SQLAlchemyError as exc:  # answered the schema check, then failed (a timeout, say)
        return [fail("rumours", f"cannot read the rumours: {_first_line(exc)}")]
    results: list[Result] = []
    changes = [
        (plan.added, "added"),
        (plan.updated, "changed"),
        (plan.retired, "retired"),
    ]
    if any(ids for ids, _ in changes):
        said = ", ".join(f"{len(ids)} {verb}{_ids(ids)}" for ids, verb in changes)
        results.append(
            warn(
                "rumours",
                f"the seeds changed since the last `init`: {said}; run `rumour-monitor init`"
                " (or restart the service, which runs it) to apply them",
            )
        )
    else:
        results.append(ok("rumours", f"{counted(len(seeds), 'rumour')} tracked, as seeded"))
    for kept in plan.kept_states:
        results.append(
            warn(
                "rumours",
                f"{kept.id}: state {kept.seed_state} in the seed is not applied (added as"
                f" {kept.added_as}, {kept.state} now); give it a new id to start it afresh",
            )
        )
    return results


def _first_line(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc  # the driver's words, without SQLAlchemy's link
    return str(cause).splitlines()[0] if str(cause) else type(cause).__name__


def _ids(ids: tuple[str, ...], shown: int = 5) -> str:
    if not ids:
        return ""
    more = f", +{len(ids) - shown} more" if len(ids) > shown else ""
    return f" ({', '.join(ids[:shown])}{more})"


def check_model(config: Config, load: bool) -> Result:
    name = config.model.name
    if not load:
        return ok("model", f"{name} (not loaded: --no-model)")
    started = time.monotonic()
    try:
        encoder = shared_encoder(name)
    except ModelError as exc:
        return fail("model", str(exc))
    took = time.monotonic() - started
    return ok("model", f"{name} loads offline, {encoder.dimension} dimensions ({took:.1f}s)")


def check_model_cache(config: Config, db: Database) -> list[Result]:
    try:
        with db.sessions() as session:
            cached = cached_models(session)
    except SQLAlchemyError as exc:
        return [fail("model cache", f"cannot read the embedding cache: {_first_line(exc)}")]
    others = {m: n for m, n in cached.items() if m != config.model.name}
    if not others:
        return []
    named = ", ".join(f"{counted(n, 'vector')} of {m!r}" for m, n in sorted(others.items()))
    days = config.service.embedding_cache_days
    return [
        warn(
            "model cache",
            f"{named}: not [model] name {config.model.name!r}, so never used; maintenance"
            f" deletes them after {days} days unused",
        )
    ]


def check_feeds(config: Config, fetch: bool) -> Iterator[Result]:
    enabled = [feed for feed in config.feeds if feed.enabled]
    paused = len(config.feeds) - len(enabled)
    if not enabled:
        yield warn("feeds", "no enabled [[feeds]]: nothing will be polled")
        return
    said = counted(len(enabled), "feed") + (f" ({paused} disabled)" if paused else "")
    if not fetch:
        yield ok("feeds", f"{said} enabled (not fetched: pass --feeds)")
        return
    from monitor.polling import (
        Fetcher,  # httpx and feedparser load only when feeds are fetched
    )

    workers = min(len(enabled), config.polling.concurrency)
    with Fetcher(config.polling) as fetcher, ThreadPoolExecutor(workers) as pool:
        yield from pool.map(lambda feed: _fetch_feed(fetcher, feed), enabled)


def check_disabled_feeds(config: Config, db: Database) -> list[Result]:
    """Feeds the config enables but the monitor itself disabled (a 410 Gone): never polled
    again until their url in config changes, which the config alone does not show."""
    urls = {feed.name: feed.url for feed in config.feeds if feed.enabled}
    try:
        with db.sessions() as session:
            rows = session.scalars(select(Feed).where(Feed.name.in_(list(urls)))).all()
    except SQLAlchemyError as exc:
        return [fail("feeds", f"cannot read the feeds' state: {_first_line(exc)}")]
    return [
        warn(
            f"feed {row.name}",
            f"disabled by the monitor ({row.disabled_reason}): not polled again until its url"
            " in config changes (then run `rumour-monitor init`)",
        )
        for row in sorted(rows, key=lambda row: list(urls).index(row.name))
        # A changed url, or a reason `sync_feeds` lifts by itself, re-enables it at next sync.
        if not row.enabled
        and row.disabled_reason not in (None, "removed from config")
        and row.config_url == urls[row.name]
    ]


def check_feed_failures(db: Database) -> list[Result]:
    """The feeds' last attempts as the database recorded them: a warning when every enabled
    feed failed (nothing new can arrive), a note when some did."""
    from monitor.polling import feed_failures

    try:
        with db.sessions() as session:
            failures = feed_failures(session)
    except SQLAlchemyError as exc:
        return [fail("feeds", f"cannot read the feeds' state: {_first_line(exc)}")]
    if not failures.failing:
        return []
    said = f"{failures.describe()}; see `rumour-monitor feeds` for each error"
    if failures.every_feed_failing:
        return [warn("feeds", f"every feed failed its last attempt: {said}")]
    return [ok("feeds", said)]


def _fetch_feed(fetcher: Fetcher, feed: FeedConfig) -> Result:
    from monitor.polling import ACCEPT_FEED, parse_feed

    what = f"feed {feed.name}"
    try:
        # No ETag or Last-Modified: the whole feed, as a first poll would see it.
        result = fetcher.fetch(
            feed.url, allow_private=fetcher.serves_privately(feed.url), accept=ACCEPT_FEED
        )
        parsed = parse_feed(result.body, result.headers, url=result.final_url)
    except (FetchError, FeedError) as exc:
        return fail(what, str(exc))
    entries = counted(len(parsed.entries), "entry", "entries")
    moved = ""
    if result.permanent_url:
        moved = f"; moved permanently to {result.permanent_url}: update its url in config"
    if parsed.problem:
        return warn(what, f"{entries}, but the feed is malformed: {parsed.problem}{moved}")
    return ok(what, f"{entries} ({parsed.version or 'feed'}, {result.elapsed:.1f}s){moved}")


def check_alerts(setup: Setup, contact: bool) -> list[Result]:
    alerts = setup.config.alerts
    # Apprise channels are named by a hash of their URL: say how many rather than the hashes.
    names = [name for name in channel_names(alerts) if not name.startswith("apprise:")]
    if alerts.apprise is not None:
        names.append(f"apprise ({counted(len(alerts.apprise.urls), 'URL')})")
    results = [
        ok("alerts", ", ".join(names))
        if names != ["console"]
        else ok("alerts", "console only (no [alerts] channel): alerts go to stdout/the journal")
    ]
    for variable in setup.secrets_read:
        missing = setup.secrets_missing.get(variable)
        if missing is None:
            results.append(ok(f"secret {variable}", "set"))
        else:
            results.append(
                fail(
                    f"secret {variable}",
                    f"{missing} (check sees its own environment: run it with the service's,"
                    " see `rumour-monitor check --help`)",
                )
            )
    if alerts.email is not None:
        channel = EmailChannel(alerts.email)
        if not contact:
            results.append(ok("email", f"{channel.where} (not contacted: pass --alerts)"))
        else:
            try:
                results.append(ok("email", f"{channel.probe()}; no login, nothing sent"))
            except Exception as exc:  # DeliveryError, and a probe bug is this check's failure
                results.append(fail("email", str(exc)))
    return results


def run_checks(path: Path, options: CheckOptions, environ: Mapping[str, str]) -> Iterator[Result]:
    """Every check in order, each result as soon as it is known."""
    setup, result = check_config(path, environ)
    yield result
    if setup is None:
        return
    config = setup.config
    seeds, results = check_seeds(config)
    yield from results
    db, result = open_database(config)
    yield result
    try:
        if db is not None and seeds is not None:
            yield from check_rumours(db, seeds)
        yield check_model(config, options.model)
        if db is not None:
            yield from check_model_cache(config, db)
        yield from check_feeds(config, options.feeds)
        if db is not None:
            yield from check_disabled_feeds(config, db)
            yield from check_feed_failures(db)
        yield from check_alerts(setup, options.alerts)
        yield check_service(config, db)
        queue = check_queue(config, db)
        if queue is not None:
            yield queue
    finally:
        if db is not None:
            db.dispose()
