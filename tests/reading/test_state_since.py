"""A seed's `since`: parsed and validated, stored and updated by `init`, and honoured by the
pipeline (evidence published before it moves confidence, never the state)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect

from monitor.cli import cli
from monitor.config import Config, load_config
from monitor.db import Database, alembic_config, current_revision, upgrade
from monitor.db.models import Rumour
from monitor.errors import SeedError
from monitor.reading.embed import Embedder
from monitor.reading.pipeline import process_article
from monitor.seeds import load_seeds, parse_seed_file, sync_rumours
from tests.reading.test_pipeline import add_article
from tests.story import SEEDS, TIMELINE

BASE = '[[rumour]]\nid = "acme"\nclaim = "Acme buys Globex"\nstate = "formalized"\n'


def _seed(tmp_path: Path, since: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(BASE + since, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("since = 2021-03-30\n", datetime(2021, 3, 30, tzinfo=UTC)),  # TOML date
        ('since = "2021-03-30"\n', datetime(2021, 3, 30, tzinfo=UTC)),
        ("since = 2021-03-30T19:45:00+08:00\n", datetime(2021, 3, 30, 11, 45, tzinfo=UTC)),
        ('since = "2021-03-30T19:45:00+08:00"\n', datetime(2021, 3, 30, 11, 45, tzinfo=UTC)),
        ('since = "2021-03-30T11:45:00Z"\n', datetime(2021, 3, 30, 11, 45, tzinfo=UTC)),
        ("", None),
    ],
)
def test_since_is_read_as_a_utc_time(tmp_path: Path, line: str, expected: datetime) -> None:
    (seed,) = parse_seed_file(_seed(tmp_path, line))
    assert seed.since == expected
    assert seed.since is None or seed.since.utcoffset() is not None


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("since = 2999-01-01\n", "since 2999-01-01T00:00:00+00:00 is in the future"),
        ('since = "next spring"\n', "since 'next spring' is not an ISO 8601 date or time"),
        ('since = "30/03/2021"\n', "is not an ISO 8601 date or time"),
        ("since = 20210330\n", "is not an ISO 8601 date or time"),
        ("since = 2021-03-30T19:45:00\n", "has no timezone"),
        ('since = "2021-03-30 19:45"\n', "has no timezone"),
        ("since = 19:45:00\n", "since 19:45:00 is not an ISO 8601 date or time"),
        # Valid ISO 8601, but UTC of it falls outside the calendar Python can hold.
        ("since = 0001-01-01T05:00:00+08:00\n", "is out of range"),
        ('since = "9999-12-31T23:00:00-05:00"\n', "is out of range"),
    ],
)
def test_a_bad_since_is_a_seed_error_naming_file_and_rumour(
    tmp_path: Path, line: str, fragment: str
) -> None:
    path = _seed(tmp_path, line)
    with pytest.raises(SeedError) as info:
        load_seeds([path])
    assert fragment in str(info.value)
    assert f"{path}: rumour 'acme'" in str(info.value)


def test_init_refuses_a_future_since_with_exit_2_and_writes_nothing(
    write_config: Callable[..., Path],
) -> None:
    config = write_config(seeds=BASE + "since = 2999-01-01\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "init"])
    assert result.exit_code == 2
    assert "test.toml: rumour 'acme': since" in result.stderr and "in the future" in result.stderr
    assert not (config.parent / "state").exists()


def _json(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_sets_updates_and_clears_since(write_config: Callable[..., Path], db_url: str) -> None:
    config = write_config(seeds=BASE + "since = 2021-03-30\n", db_url=db_url)
    runner = CliRunner()
    assert "1 added" in runner.invoke(cli, ["--config", str(config), "init"]).stdout
    (row,) = _json(config, "status", "--json")
    assert row["state_since"] == "2021-03-30T00:00:00+00:00"
    assert _json(config, "history", "acme", "--json")["state_since"] == row["state_since"]
    text = runner.invoke(cli, ["--config", str(config), "history", "acme"]).stdout
    assert (
        "state formalized, confidence 0.95, seeded formalized since 2021-03-30T00:00:00+00:00"
        in text
    )

    seeds = config.parent / "seeds" / "test.toml"
    seeds.write_text(BASE + 'since = "2021-04-01T08:00:00+08:00"\n', encoding="utf-8")
    assert "1 updated" in runner.invoke(cli, ["--config", str(config), "init"]).stdout
    (row,) = _json(config, "status", "--json")
    assert row["state_since"] == "2021-04-01T00:00:00+00:00"
    assert row["state"] == "formalized"

    assert "0 updated" in runner.invoke(cli, ["--config", str(config), "init"]).stdout
    seeds.write_text(BASE, encoding="utf-8")
    assert "1 updated" in runner.invoke(cli, ["--config", str(config), "init"]).stdout
    (row,) = _json(config, "status", "--json")
    assert row["state_since"] is None
    assert _json(config, "history", "acme", "--json")["state_since"] is None


def test_migration_0005_adds_and_drops_the_column_keeping_rows(db: Database) -> None:
    with db.transaction() as s:
        s.add(
            Rumour(
                id="r", claim="Acme will buy Globex", state_since=datetime(2021, 3, 30, tzinfo=UTC)
            )
        )
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0004")
    assert current_revision(db.engine) == "0004"
    columns = {c["name"] for c in inspect(db.engine).get_columns("rumours")}
    assert "state_since" not in columns and "claim" in columns
    assert {"rumour_status", "rumour_timeline"} <= set(inspect(db.engine).get_view_names())
    upgrade(db.engine)
    with db.sessions() as s:
        row = s.get_one(Rumour, "r")
        assert (row.claim, row.state_since) == ("Acme will buy Globex", None)


FORMALIZED = SEEDS.replace(
    'id = "nimbus-ferro"\n', 'id = "nimbus-ferro"\nstate = "formalized"\n{since}'
)
TERMINATED = TIMELINE[7]  # "Nimbus Mobile has terminated its ... agreement", 2024-09-20


def _formalized(db: Database, write_config: Callable[..., Path], since: str) -> Config:
    seeds = FORMALIZED.replace("{since}", since)
    config = load_config(write_config(seeds=seeds, db_url=db.url))
    with db.transaction() as session:
        sync_rumours(session, load_seeds(config.seeds.paths))
    return config


def _ferro(db: Database) -> tuple[str, float]:
    with db.sessions() as session:
        row = session.get_one(Rumour, "nimbus-ferro")
        return row.state, row.confidence


def test_a_call_off_published_before_since_moves_confidence_not_the_state(
    db: Database, write_config: Callable[..., Path], embedder: Embedder
) -> None:
    config = _formalized(db, write_config, "since = 2024-10-01\n")
    before = _ferro(db)
    key, published, title, text, _, _ = TERMINATED
    reports = process_article(db, config, embedder, add_article(db, key, published, title, text))
    state, confidence = _ferro(db)
    assert reports == [] and state == "formalized"
    assert confidence < before[1]  # still read as evidence against the claim
    later = published.replace(month=10, day=15)
    reports = process_article(
        db,
        config,
        embedder,
        add_article(db, "terminated-again", later, title, text),
    )
    assert [(r.from_state, r.to_state) for r in reports] == [("formalized", "abandoned")]
    assert _ferro(db)[0] == "abandoned"
    # `history` says which state the since dates: not the abandoned one the news brought.
    text = CliRunner().invoke(cli, ["--config", str(config.path), "history", "nimbus-ferro"])
    assert "state abandoned, confidence " in text.stdout
    assert ", seeded formalized since 2024-10-01T00:00:00+00:00" in text.stdout


def test_without_since_the_same_old_call_off_abandons_the_seeded_state(
    db: Database, write_config: Callable[..., Path], embedder: Embedder
) -> None:
    # The control for the test above: what `since` prevents.
    config = _formalized(db, write_config, "")
    key, published, title, text, _, _ = TERMINATED
    process_article(db, config, embedder, add_article(db, key, published, title, text))
    assert _ferro(db)[0] == "abandoned"
