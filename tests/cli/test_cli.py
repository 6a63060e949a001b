from __future__ import annotations

import csv
import io
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Article, Evidence, Transition
from tests.conftest import SEED


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_init_is_idempotent_and_status_lists_rumours(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(db_url=db_url)
    code, out, _ = _run(config, "init")
    assert code == 0 and "2 added" in out
    assert re.search(r"database ready: .* \(schema \d{4} created\)", out)
    code, out, _ = _run(config, "init")
    assert code == 0 and "0 added" in out
    assert "schema" not in out.splitlines()[0]  # nothing to upgrade, nothing said
    code, out, _ = _run(config, "status")
    assert code == 0
    assert "acme-widgets" in out and "unconfirmed" in out and "globex-ev" in out


def test_status_json_shape(write_config: Callable[..., Path], db_url: str) -> None:
    config = write_config(db_url=db_url)
    _run(config, "init")
    code, out, _ = _run(config, "status", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert set(rows["globex-ev"]) >= {
        "id",
        "claim",
        "state",
        "confidence",
        "evidence_count",
        "last_evidence_at",
        "updated_at",
    }
    assert rows["globex-ev"]["state"] == "confirmed"
    assert rows["globex-ev"]["confidence"] == 0.7
    assert rows["acme-widgets"]["evidence_count"] == 0
    assert datetime.fromisoformat(rows["acme-widgets"]["updated_at"]).tzinfo is not None


def test_status_all_tells_retired_rumours_apart(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(db_url=db_url)
    _run(config, "init")
    only_acme = SEED.split('[[rumour]]\nid = "globex-ev"')[0]
    config = write_config(db_url=db_url, seeds=only_acme)
    code, out, _ = _run(config, "init")
    assert code == 0 and "1 retired" in out
    code, out, _ = _run(config, "status")
    assert "globex-ev" not in out
    code, out, _ = _run(config, "status", "--all")
    assert "globex-ev (retired)" in out and "acme-widgets (retired)" not in out
    code, out, _ = _run(config, "status", "--all", "--json")
    assert {r["id"]: r["active"] for r in json.loads(out)} == {
        "acme-widgets": True,
        "globex-ev": False,
    }
    code, out, _ = _run(config, "history", "globex-ev")
    assert code == 0 and "(retired: no longer in the seeds)" in out
    code, out, _ = _run(config, "history", "globex-ev", "--json")
    assert json.loads(out)["active"] is False


def _add_history(db_url: str) -> None:
    db = Database(db_url)
    at = datetime(2021, 3, 30, 9, 0, tzinfo=UTC)
    with db.transaction() as s:
        art = Article(
            canonical_url="https://news.example/acme",
            url="https://news.example/acme",
            title="Acme signs deal",
            source="Example News",
            content_hash="x" * 64,
            published_at=at,
        )
        s.add(art)
        s.flush()
        ev = Evidence(
            rumour_id="acme-widgets",
            article_id=art.id,
            sentence="Acme signed a deal to buy Widget Works.",
            stance="supports",
            signal="formalize",
            similarity=0.81,
            confidence_before=0.5,
            confidence_after=0.9,
            at=at,
        )
        s.add(ev)
        s.flush()
        s.add(
            Transition(
                rumour_id="acme-widgets",
                evidence_id=ev.id,
                article_id=art.id,
                from_state="unconfirmed",
                to_state="formalized",
                signal="formalize",
                sentence=ev.sentence,
                confidence_before=0.5,
                confidence_after=0.9,
                at=at,
            )
        )
    db.dispose()


def test_history_json_shape(write_config: Callable[..., Path], db_url: str) -> None:
    config = write_config(db_url=db_url)
    _run(config, "init")
    _add_history(db_url)
    code, out, _ = _run(config, "history", "acme-widgets", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"id", "claim", "state", "confidence", "transitions", "evidence"}
    (t,) = data["transitions"]
    assert {k: t[k] for k in ("from", "to", "signal", "url", "title")} == {
        "from": "unconfirmed",
        "to": "formalized",
        "signal": "formalize",
        "url": "https://news.example/acme",
        "title": "Acme signs deal",
    }
    assert t["at"] == "2021-03-30T09:00:00+00:00"
    (e,) = data["evidence"]
    assert set(e) >= {"at", "url", "title", "sentence", "stance", "signal", "similarity", "source"}
    assert (e["stance"], e["source"], e["similarity"]) == ("supports", "Example News", 0.81)
    code, out, _ = _run(config, "history", "acme-widgets")
    assert code == 0 and "unconfirmed -> formalized" in out and "Acme signed a deal" in out
    code, out, _ = _run(config, "status", "--json")
    row = next(r for r in json.loads(out) if r["id"] == "acme-widgets")
    assert row["evidence_count"] == 1 and row["last_evidence_at"] == "2021-03-30T09:00:00+00:00"


def test_history_csv_is_the_evidence_timeline(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(db_url=db_url)
    _run(config, "init")
    _add_history(db_url)
    code, out, _ = _run(config, "history", "acme-widgets", "--csv")
    assert code == 0
    header, row = csv.reader(io.StringIO(out))
    assert header[:3] == ["at", "stance", "signal"] and header[-1] == "sentence"
    assert dict(zip(header, row, strict=True)) | {"sentence": ""} == {
        "at": "2021-03-30T09:00:00+00:00",
        "stance": "supports",
        "signal": "formalize",
        "similarity": "0.81",
        "confidence_before": "0.5",
        "confidence_after": "0.9",
        "source": "Example News",
        "title": "Acme signs deal",
        "url": "https://news.example/acme",
        "sentence": "",
    }
    code, _, err = _run(config, "history", "acme-widgets", "--csv", "--json")
    assert code == 2 and "choose one of --json and --csv" in err


def test_history_of_unknown_id_exits_2(write_config: Callable[..., Path]) -> None:
    config = write_config()
    _run(config, "init")
    code, _, err = _run(config, "history", "no-such-rumour")
    assert code == 2
    assert "no rumour with id 'no-such-rumour'" in err and "acme-widgets" in err


def test_config_error_exits_2_and_writes_nothing(write_config: Callable[..., Path]) -> None:
    config = write_config("[polling]\ninterval = 'often'\n")
    code, _, err = _run(config, "init")
    assert code == 2
    assert "polling.interval" in err and str(config) in err
    assert not (config.parent / "state").exists()


def test_a_bad_embedding_cache_days_exits_2_naming_the_key(
    write_config: Callable[..., Path],
) -> None:
    config = write_config("[service]\nembedding_cache_days = 0\n")
    code, _, err = _run(config, "init")
    assert code == 2
    assert "service.embedding_cache_days: must be between 2 and 36500, got 0" in err


def test_bad_seed_exits_2_and_writes_nothing(write_config: Callable[..., Path]) -> None:
    config = write_config(
        seeds='[[rumour]]\nid = "x"\nstate = "maybe"\nclaim = "Acme buys Globex"\n'
    )
    code, _, err = _run(config, "init")
    assert code == 2
    assert "rumour 'x'" in err and "test.toml" in err
    assert not (config.parent / "state").exists()


def test_init_with_no_rumours_in_the_seeds_changes_nothing(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(db_url=db_url)
    assert _run(config, "init")[0] == 0
    for seed in (config.parent / "seeds").glob("*.toml"):
        seed.unlink()  # an emptied (or wrong) seeds folder
    code, _, err = _run(config, "init")
    assert code == 2 and "no rumours in [seeds] paths" in err
    code, out, _ = _run(config, "status", "--all", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2 and all(r["active"] for r in rows)  # none retired


def test_status_before_init_says_run_init(write_config: Callable[..., Path]) -> None:
    config = write_config()
    code, _, err = _run(config, "status")
    assert code == 1 and "rumour-monitor init" in err
    assert not (config.parent / "state").exists()  # no empty database left behind


def test_a_silent_postgresql_server_is_given_up_on_with_advice(
    write_config: Callable[..., Path],
) -> None:
    with socket.socket() as listener:  # accepts connections, never answers: a hung server
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        config = write_config(
            f'[database]\nurl = "postgresql+psycopg://monitor@127.0.0.1:{port}/rumours"\n'
            'connect_timeout = "2s"\n'
        )
        started = time.monotonic()
        code, _, err = _run(config, "status")
    assert code == 1
    assert f"127.0.0.1:{port}" in err and "connect_timeout" in err
    assert time.monotonic() - started < 10


def test_an_older_schema_asks_for_init_then_works(
    write_config: Callable[..., Path], db_url: str
) -> None:
    from alembic import command

    from monitor.db import alembic_config, head_revision

    config = write_config(db_url=db_url)
    _run(config, "init")
    db = Database(db_url)
    command.downgrade(alembic_config(db.engine), "0002")  # as left by an older version
    db.dispose()
    code, _, err = _run(config, "status")
    assert code == 1
    assert f"schema revision 0002, this version needs {head_revision()}" in err
    assert "rumour-monitor init" in err
    assert _run(config, "init")[0] == 0
    assert _run(config, "status")[0] == 0


def test_a_newer_schema_is_named_by_init_and_status_not_a_traceback(
    write_config: Callable[..., Path], db_url: str
) -> None:
    # As left by a later version, after a rollback to this one: init must not try (and fail
    # deep in the migration library) to upgrade it, nor status ask for that init.
    from monitor.db import head_revision

    config = write_config(db_url=db_url)
    _run(config, "init")
    db = Database(db_url)
    with db.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    for command in ("init", "status"):
        code, _, err = _run(config, command)
        assert code == 1, err
        assert "Traceback" not in err and "rumour-monitor init" not in err
        assert (
            f"schema revision 9999, newer than this version knows (its newest is {head_revision()})"
            in err
        )
        assert "a later version of the monitor upgraded it" in err


def test_python_dash_m_entry_point(write_config: Callable[..., Path]) -> None:
    config = write_config()
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "init"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rumours: 2 tracked" in proc.stdout


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_help_has_examples() -> None:
    # The README promises: every command has --help with examples.
    commands = _commands(cli)
    assert ("alerts", "retry") in commands and ("init",) in commands
    for path in commands:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert re.search(r"Examples:\n +rumour-monitor ", result.stdout), " ".join(path)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nosuchdriver://u@127.0.0.1/x",
        "postgresql+asyncpg://u@127.0.0.1/x",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
@pytest.mark.parametrize("command", [["init"], ["status"], ["check", "--no-model"]])
def test_a_database_url_no_command_can_use_exits_2_naming_the_key(
    write_config: Callable[..., Path], url: str, command: list[str]
) -> None:
    # Each was a traceback from init, status and check, or (in memory) an init that "worked"
    # and a status that found no schema.
    config = write_config(db_url=url)
    code, out, err = _run(config, *command)
    assert code == 2, out + err
    assert "Traceback" not in out + err and "database.url:" in out + err


def test_an_unwritable_sqlite_path_is_a_config_error_naming_database_url(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for url in (f"sqlite:///{blocker}/rumours.db", "sqlite:////proc/x.db"):
        if url.startswith("sqlite:////proc") and not Path("/proc/self").exists():
            continue
        code, _, err = _run(write_config(db_url=url), "init")
        assert code == 2, err
        assert err.startswith(f"error: database.url: {url}: cannot create or write ")
        assert "Traceback" not in err
