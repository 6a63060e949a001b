"""Harder articles through the real model, stance and tracker: recaps beside news, re-read pages.

An invented story in our own words: Orbitel (a telecom group) and its rumoured purchase of
Tidewater Networks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Evidence
from monitor.embed import Embedder
from monitor.pipeline import process_article
from monitor.seeds import load_seeds, sync_rumours
from tests.test_pipeline import add_article, states

SEEDS = """
[[rumour]]
id = "orbitel-tidewater"
claim = "Orbitel will acquire Tidewater Networks"
entities = ["Orbitel", "Tidewater Networks|Tidewater"]
"""


@pytest.fixture
def setup(db: Database, write_config: Callable[..., Path]) -> tuple[Database, Config]:
    config = load_config(write_config(seeds=SEEDS))
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
    return db, config


def test_news_counts_over_a_recap_of_an_older_denial(
    setup: tuple[Database, Config], embedder: Embedder
) -> None:
    db, config = setup
    denial = add_article(
        db,
        "denial",
        datetime(2024, 3, 5, 9, tzinfo=UTC),
        "Orbitel denies it will acquire Tidewater Networks",
        "Orbitel said in a statement that it has no plans to acquire Tidewater Networks.",
    )
    process_article(db, config, embedder, denial)
    assert states(db)["orbitel-tidewater"][0] == "denied"
    # The recap matches the claim more closely than the news, but cannot move the rumour.
    news = add_article(
        db,
        "talks",
        datetime(2024, 6, 5, 9, tzinfo=UTC),
        "Orbitel changes course on Tidewater",
        "Orbitel said in March that it had no plans to acquire Tidewater Networks.\n"
        "On Tuesday, chief executive Mara Quill confirmed that Orbitel is in talks with "
        "Tidewater Networks about an acquisition, adding that the talks were at an early stage.\n"
        "Tidewater Networks declined to comment.",
    )
    (report,) = process_article(db, config, embedder, news)
    assert (report.from_state, report.to_state) == ("denied", "confirmed")
    assert "Mara Quill confirmed" in report.sentence
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence).where(Evidence.article_id == news)).one()
        assert evidence.signal == "confirm"
