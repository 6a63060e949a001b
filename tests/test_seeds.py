from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Rumour, Transition
from monitor.errors import SeedError
from monitor.seeds import (
    KeptState,
    derive_entities,
    load_seeds,
    parse_seed_file,
    sync_rumours,
)

REPO = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_xiaomi_seeds_cover_the_story() -> None:
    rumours = {r.id: r for r in load_seeds([REPO / "seeds"])}
    assert {
        "xiaomi-ev",
        "xiaomi-great-wall",
        "xiaomi-brilliance",
        "xiaomi-chery",
        "xiaomi-cars-2023",
        "xiaomi-10bn",
        "xiaomi-tesla-meeting",
    } <= set(rumours)
    # As of spring 2021 the EV plan and the pledge were official; the factory deal was not.
    assert rumours["xiaomi-ev"].state == "formalized"
    assert rumours["xiaomi-10bn"].state == "formalized"
    assert rumours["xiaomi-great-wall"].state == "unconfirmed"
    assert "Great Wall Motors|Great Wall|GWM" in rumours["xiaomi-great-wall"].entities


@pytest.mark.parametrize(
    ("claim", "entities"),
    [
        (
            "Xiaomi will build its electric cars with Great Wall Motors",
            ("Xiaomi", "Great Wall Motors"),
        ),
        ("The Bank of England will cut rates", ("Bank of England",)),
        ("Apple's car will be made by Hyundai", ("Apple", "Hyundai")),
        ("NVIDIA buys ARM", ("NVIDIA", "ARM")),
        ("A Xiaomi executive met Tesla's Elon Musk", ("Xiaomi", "Tesla", "Elon Musk")),
        ("Škoda will buy Ørsted's unit", ("Škoda", "Ørsted")),  # capitals beyond ASCII
        (
            "Acme Corp. will buy Widget Works Inc.",  # the news mostly drops the legal form
            ("Acme Corp|Acme", "Widget Works Inc|Widget Works"),
        ),
        ("Alibaba Group and Alibaba Group", ("Alibaba Group|Alibaba",)),
    ],
)
def test_entities_derived_from_the_claim(claim: str, entities: tuple[str, ...]) -> None:
    assert derive_entities(claim) == entities


def test_missing_entities_are_derived_and_defaults_applied(tmp_path: Path) -> None:
    (r,) = parse_seed_file(
        _write(tmp_path, "a.toml", '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\n')
    )
    assert r.entities == ("Acme", "Globex")
    assert (r.state, r.confidence, r.paraphrases) == ("unconfirmed", 0.5, ())


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[[rumour]]\nid = "a"\n', "rumour 'a': claim is missing"),
        (
            '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\nstate = "rumoured"\n',
            "unknown state 'rumoured'",
        ),
        (
            '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\nconfidence = 2\n',
            "rumour 'a': confidence",
        ),
        ('[[rumour]]\nid = "A b"\nclaim = "Acme buys Globex"\n', "id must be a lower-case slug"),
        ('[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\ncolour = 1\n', "unknown key 'colour'"),
        ('[[rumour]]\nid = "a"\nclaim = "acme buys globex"\n', "no entities"),
        # Kept, an entity of punctuation alone would be dropped by the gate, which would then
        # pass articles that name no one in its place.
        (
            '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\nentities = ["Acme", "|"]\n',
            "rumour 'a': entity '|' names nothing",
        ),
        (
            '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\nentities = ["Acme", " - | . "]\n',
            "entity '- | .' names nothing",
        ),
        # One alias for two parties: a text naming either would pass as naming both.
        (
            '[[rumour]]\nid = "a"\nclaim = "Doror Tech buys Doror Labs"\n'
            'entities = ["Doror Tech|Doror", "Doror Labs|Doror"]\n',
            "rumour 'a': the alias 'Doror' of 'Doror Tech|Doror' is also in 'Doror Labs|Doror'",
        ),
        (
            '[[rumour]]\nid = "a"\nclaim = "Samsung buys Samsung SDI"\n'
            'entities = ["Samsung Electronics|Samsung", "Samsung SDI"]\n',
            "the alias 'Samsung' of 'Samsung Electronics|Samsung' is also in 'Samsung SDI'",
        ),
        ("[[rumour]\n", "TOML syntax error"),
    ],
)
def test_bad_seed_names_file_and_rumour(tmp_path: Path, body: str, fragment: str) -> None:
    path = _write(tmp_path, "bad.toml", body)
    with pytest.raises(SeedError) as info:
        load_seeds([tmp_path])
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    body = '[[rumour]]\nid = "dup"\nclaim = "Acme buys Globex"\n'
    first, second = _write(tmp_path, "a.toml", body), _write(tmp_path, "b.toml", body)
    with pytest.raises(SeedError, match="duplicate id") as info:
        load_seeds([tmp_path])
    assert str(first) in str(info.value) and str(second) in str(info.value)


def test_a_seed_file_reached_twice_is_read_once(tmp_path: Path) -> None:
    # Named on its own and again through its folder (or the folder written two ways): this
    # used to fail as "duplicate id (already in <the same file>)".
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    file = _write(seeds, "a.toml", '[[rumour]]\nid = "one"\nclaim = "Acme buys Globex"\n')
    (seeds / "archive.toml").mkdir()  # a folder whose name ends in .toml is not a seed file
    paths = [file, seeds, tmp_path / "seeds" / ".." / "seeds"]
    assert [r.id for r in load_seeds(paths)] == ["one"]


def test_resync_updates_claims_but_keeps_state(tmp_path: Path, db: Database) -> None:
    path = _write(tmp_path, "s.toml", '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\n')
    with db.transaction() as s:
        assert sync_rumours(s, load_seeds([path])).added == ("a",)
    with db.transaction() as s:
        row = s.get(Rumour, "a")
        assert row is not None
        row.state, row.confidence = "confirmed", 0.83  # as the tracker would leave it
    path.write_text(
        '[[rumour]]\nid = "a"\nclaim = "Acme will buy Globex Inc"\nentities = ["Acme", "Globex"]\n'
        '[[rumour]]\nid = "b"\nclaim = "Initech hires a new CEO"\n',
        encoding="utf-8",
    )
    with db.transaction() as s:
        report = sync_rumours(s, load_seeds([path]))
    assert (report.added, report.updated) == (("b",), ("a",))
    with db.sessions() as s:
        row = s.get(Rumour, "a")
        assert row is not None
        assert (row.claim, row.state, row.confidence) == (
            "Acme will buy Globex Inc",
            "confirmed",
            0.83,
        )


def _move(db: Database, rid: str, moves: list[tuple[str, str, int]]) -> None:
    """Transitions as the tracker writes them: (from, to, day of March 2024)."""
    with db.transaction() as s:
        for old, new, day in moves:
            s.add(
                Transition(
                    rumour_id=rid,
                    from_state=old,
                    to_state=new,
                    signal="confirm",
                    confidence_before=0.5,
                    confidence_after=0.7,
                    at=datetime(2024, 3, day, tzinfo=UTC),
                )
            )
        s.get_one(Rumour, rid).state = moves[-1][1]


def test_a_state_edited_in_the_seed_is_reported_not_silently_ignored(
    tmp_path: Path, db: Database
) -> None:
    body = '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\n'
    path = _write(tmp_path, "s.toml", body + '[[rumour]]\nid = "b"\nclaim = "Initech buys Hooli"\n')
    with db.transaction() as s:
        sync_rumours(s, load_seeds([path]))
    _move(db, "a", [("unconfirmed", "denied", 2), ("denied", "confirmed", 9)])
    with db.transaction() as s:  # the news moved "a": the seed still says what it was added as
        assert sync_rumours(s, load_seeds([path])).kept_states == ()
    path.write_text(
        body.replace('"\n', '"\nstate = "formalized"\nsince = 2024-03-20\n', 1)
        + '[[rumour]]\nid = "b"\nclaim = "Initech buys Hooli"\nstate = "denied"\n',
        encoding="utf-8",
    )
    with db.transaction() as s:
        report = sync_rumours(s, load_seeds([path]))
    assert report.kept_states == (
        KeptState("a", "formalized", "unconfirmed", "confirmed"),
        KeptState("b", "denied", "unconfirmed", "unconfirmed"),
    )
    with db.sessions() as s:  # still not applied: the tracker owns the state
        assert [r.state for r in s.scalars(select(Rumour).order_by(Rumour.id))] == [
            "confirmed",
            "unconfirmed",
        ]


def test_init_warns_about_a_seed_state_it_does_not_apply(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(seeds='[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\n', db_url=db_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    seeds = config.parent / "seeds" / "test.toml"
    seeds.write_text(
        '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\nstate = "denied"\n', encoding="utf-8"
    )
    result = runner.invoke(cli, ["--config", str(config), "init"])
    assert result.exit_code == 0
    assert "rumours: 1 tracked (0 added, 0 updated, 0 retired)" in result.stdout
    assert (
        "warning: rumour 'a': state denied in the seed is not applied: a seed's state only starts"
        " a new rumour, and this one was added as unconfirmed (unconfirmed now); to start it"
        " afresh as denied, give it a new id"
    ) in result.stderr


def test_rumours_gone_from_seeds_are_retired_not_deleted(tmp_path: Path, db: Database) -> None:
    path = _write(tmp_path, "s.toml", '[[rumour]]\nid = "a"\nclaim = "Acme buys Globex"\n')
    with db.transaction() as s:
        sync_rumours(s, load_seeds([path]))
    with db.transaction() as s:
        assert sync_rumours(s, []).retired == ("a",)
    with db.sessions() as s:
        assert s.scalars(select(Rumour.active)).one() is False
