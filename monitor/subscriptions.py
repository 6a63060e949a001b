"""The feeds the monitor follows: config.toml is the source of truth, the database keeps state.

A feed is matched to its row by name. Polling state (ETag, backoff, errors) survives restarts
and config edits; a permanent redirect changes the URL we fetch but not the one in config, so a
later edit of the config URL wins again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import FeedConfig
from monitor.db.models import Feed


@dataclass(frozen=True)
class FeedSync:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


def sync_feeds(session: Session, feeds: Sequence[FeedConfig]) -> FeedSync:
    """Bring the feeds table in line with the config; feeds no longer configured are disabled."""
    rows = {f.name: f for f in session.scalars(select(Feed))}
    added: list[str] = []
    updated: list[str] = []
    for cfg in feeds:
        row = rows.pop(cfg.name, None)
        if row is None:
            session.add(
                Feed(
                    name=cfg.name,
                    config_url=cfg.url,
                    url=cfg.url,
                    credibility=cfg.credibility,
                    interval_seconds=cfg.interval,
                    enabled=cfg.enabled,
                    error_count=0,
                )
            )
            added.append(cfg.name)
        elif _apply(row, cfg):
            updated.append(cfg.name)
    removed = [name for name, row in rows.items() if row.enabled or row.disabled_reason is None]
    for name in removed:
        rows[name].enabled = False
        rows[name].disabled_reason = "removed from config"
    return FeedSync(tuple(added), tuple(updated), tuple(removed))


def _apply(row: Feed, cfg: FeedConfig) -> bool:
    changed = False
    if row.config_url != cfg.url:
        # A new URL in the config starts afresh: old validators and backoff belong to the old one.
        row.config_url = row.url = cfg.url
        row.etag = row.last_modified = None
        row.error_count = 0
        row.next_check_at = None
        changed = True
    if row.disabled_reason == "removed from config" or (
        cfg.enabled and not row.enabled and row.disabled_reason is None
    ):
        row.enabled, row.disabled_reason, changed = cfg.enabled, None, True
    elif not cfg.enabled and row.enabled:
        row.enabled, changed = False, True
    if (row.credibility, row.interval_seconds) != (cfg.credibility, cfg.interval):
        row.credibility, row.interval_seconds, changed = cfg.credibility, cfg.interval, True
    return changed
