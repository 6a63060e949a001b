"""`check`: in-process through the CLI, on real databases, a real local feed server and sockets."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import inspect, select, text

from monitor.checks.result import one_line
from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Feed, SentenceEmbedding, utcnow
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.lock import acquire_scheduler_lock, scheduler_holder
from monitor.service.metrics import Metrics
from tests.conftest import SEED
from tests.helpers import fixture_text

GIVEN_ENTITIES = """
[[rumour]]
id = "acme-widgets"
claim = "Acme Corp will buy Widget Works"
entities = ["Acme|Acme Corp", "Widget Works"]
"""


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def _lines(out: str) -> dict[str, str]:
    """Each result line by its check name (the last one wins), as "status detail"."""
    found: dict[str, str] = {}
    for line in out.splitlines():
        if line[:4] in ("ok  ", "warn", "FAIL"):
            what, _, detail = line[6:].partition(": ")
            found[what] = f"{line[:4].strip()} {detail}"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ready(write_config: Callable[..., Path], db_url: str) -> Path:
    """An initialised installation whose one seed gives its entities."""
    body = f"""
[service]
listen = "127.0.0.1:{_free_port()}"

[[feeds]]
name = "Example"
url = "https://news.example.org/feed"
"""
    config = write_config(body, seeds=GIVEN_ENTITIES, db_url=db_url)
    assert _run(config, "init")[0] == 0
    return config


def test_a_ready_installation_passes_every_check(ready: Path) -> None:
    code, out, _ = _run(ready, "check", "--no-model")
    assert code == 0, out
    lines = _lines(out)
    names = ["config", "seeds", "database", "rumours", "model", "feeds", "alerts", "service"]
    assert list(lines) == names
    assert all(value.startswith("ok ") for value in lines.values()), out
    assert lines["seeds"] == "ok 1 rumour in 1 file"
    assert "schema" in lines["database"] and "(current)" in lines["database"]
    assert lines["rumours"] == "ok 1 rumour tracked, as seeded"
    assert "not loaded: --no-model" in lines["model"]
    assert "console only" in lines["alerts"]
    assert lines["service"].endswith(": free")
    assert out.rstrip().endswith("ready")


def test_an_uninitialised_database_says_run_init_and_exits_1(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(seeds=GIVEN_ENTITIES, db_url=db_url)
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    lines = _lines(out)
    assert lines["database"].startswith("FAIL ")
    assert "run `rumour-monitor init`" in lines["database"]
    # the checks that need no database still report
    assert lines["seeds"].startswith("ok ") and lines["alerts"].startswith("ok ")
    assert "rumours" not in lines
    assert "not ready: 1 check failed" in out


def test_an_old_schema_says_run_init(ready: Path, db_url: str) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.dispose()
    code, out, _ = _run(ready, "check", "--no-model")
    assert code == 1
    assert "revision 0001" in _lines(out)["database"] and "run `rumour-monitor init`" in out


def test_a_schema_newer_than_the_code_fails_naming_it(ready: Path, db_url: str) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    db.dispose()
    code, out, _ = _run(ready, "check", "--no-model")
    assert code == 1
    assert "9999_future, newer than this version knows" in _lines(out)["database"]


def test_seeds_edited_after_init_warn_with_counts(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(seeds=SEED, db_url=db_url)
    assert _run(config, "init")[0] == 0
    edited = SEED.replace("will buy Widget Works", "will acquire Widget Works")
    edited = edited.split('[[rumour]]\nid = "globex-ev"')[0]  # globex-ev gone
    edited += '\n[[rumour]]\nid = "initech-ai"\nclaim = "Initech will sell its AI unit"\n'
    write_config(seeds=edited, db_url=db_url)
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 0  # a warning: `init` (or a restart) applies them
    rumours = _lines(out)["rumours"]
    assert rumours.startswith("warn the seeds changed since the last `init`")
    assert "1 added (initech-ai), 1 changed (acme-widgets), 1 retired (globex-ev)" in rumours
    assert "run `rumour-monitor init`" in rumours
    assert out.splitlines()[-1].startswith("ready (")  # warnings only
    # nothing was applied: init still finds the same three changes
    _, out, _ = _run(config, "init")
    assert "1 added, 1 updated, 1 retired" in out


def test_derived_entities_are_named_so_they_can_be_checked(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(seeds=SEED, db_url=db_url)
    assert _run(config, "init")[0] == 0
    _, out, _ = _run(config, "check", "--no-model")
    seeds = [line for line in out.splitlines() if line.startswith("warn  seeds: ")]
    assert len(seeds) == 1
    assert "globex-ev (Globex)" in seeds[0] and "acme-widgets" not in seeds[0]


def test_a_missing_env_secret_fails_naming_the_variable_and_the_rest_still_report(
    write_config: Callable[..., Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RM_CHECK_UNSET", raising=False)
    monkeypatch.setenv("RM_CHECK_SET", "s3cret")
    body = """
[alerts.email]
host = "127.0.0.1"
port = 2525
security = "none"
username = "monitor"
password_env = "RM_CHECK_SET"
sender = "monitor@example.org"
recipients = ["desk@example.org"]

[alerts.slack]
webhook_url_env = "RM_CHECK_UNSET"
"""
    config = write_config(body, seeds=GIVEN_ENTITIES, db_url=db_url)
    code, out, err = _run(config, "status")
    assert code == 2  # every other command refuses the config outright
    expected = "alerts.slack.webhook_url_env: environment variable RM_CHECK_UNSET is not set"
    assert expected in err
    assert _run(config, "init")[0] == 2
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    lines = _lines(out)
    assert lines["secret RM_CHECK_UNSET"].startswith("FAIL ")
    assert expected in lines["secret RM_CHECK_UNSET"]
    assert lines["secret RM_CHECK_SET"] == "ok set"
    assert "s3cret" not in out
    assert lines["config"].startswith("ok ") and lines["alerts"] == "ok email, slack"
    assert "email" in lines and "not contacted" in lines["email"]
    assert "run `rumour-monitor init`" in lines["database"]  # reported all the same


def test_a_config_error_is_the_result_and_exits_2(write_config: Callable[..., Path]) -> None:
    config = write_config("[polling]\ninterval = 'often'\n")
    _, _, err = _run(config, "status")
    code, out, _ = _run(config, "check")
    assert code == 2
    assert out.splitlines()[0] == f"FAIL  config: {err.removeprefix('error: ').strip()}"
    assert len(_lines(out)) == 1
    code, out, _ = _run(config, "check", "--json")
    assert code == 2
    [only] = json.loads(out)
    assert only["check"] == "config" and only["status"] == "FAIL"
    assert "polling.interval" in only["detail"]


def test_a_seed_error_fails_naming_file_and_rumour(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(
        seeds=GIVEN_ENTITIES.replace('"Widget Works"]', '"Widget Works"]\nstate = "rumoured"'),
        db_url=db_url,
    )
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    seeds = _lines(out)["seeds"]
    assert seeds.startswith("FAIL ") and "test.toml: rumour 'acme-widgets': unknown state" in seeds
    assert "database" in _lines(out) and "rumours" not in _lines(out)


def test_json_lists_check_status_detail(ready: Path) -> None:
    code, out, _ = _run(ready, "check", "--no-model", "--json")
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and len(results) == 8
    for result in results:
        assert set(result) == {"check", "status", "detail"}
        assert result["status"] in ("ok", "warn", "FAIL")
    assert results[0]["check"] == "config" and results[-1]["check"] == "service"


@pytest.fixture
def feeds_config(
    write_config: Callable[..., Path], db_url: str, threaded_server: HTTPServer
) -> Iterator[Path]:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/rdf").respond_with_data(
        fixture_text("feeds/rss10.rdf", base), content_type="application/rdf+xml"
    )
    threaded_server.expect_request("/broken").respond_with_data("", status=500)
    threaded_server.no_handler_status_code = 404
    body = f"""
[polling]
host_delay = "0s"
timeout = "2s"

[[feeds]]
name = "Litware"
url = "{base}/rdf"

[[feeds]]
name = "Broken"
url = "{base}/broken"

[[feeds]]
name = "Paused"
url = "{base}/paused"
enabled = false
"""
    config = write_config(body, seeds=GIVEN_ENTITIES, db_url=db_url)
    assert _run(config, "init")[0] == 0
    yield config


def test_a_broken_feed_fails_with_feeds_and_the_others_still_report(
    feeds_config: Path, threaded_server: HTTPServer
) -> None:
    code, out, _ = _run(feeds_config, "check", "--no-model")
    assert code == 0 and "2 feeds (1 disabled) enabled (not fetched: pass --feeds)" in out
    assert not threaded_server.log  # offline by default
    code, out, _ = _run(feeds_config, "check", "--no-model", "--feeds")
    assert code == 1
    lines = _lines(out)
    assert lines["feed Litware"].startswith("ok 2 entries (rss10")
    assert lines["feed Broken"].startswith("FAIL ") and "HTTP 500" in lines["feed Broken"]
    assert "feed Paused" not in lines
    assert lines["alerts"].startswith("ok ") and lines["service"].startswith("ok ")
    # the feeds only: no article page fetched
    assert sorted(req.path for req, _ in threaded_server.log) == ["/broken", "/rdf"]


def _snapshot(db_url: str, folder: Path) -> tuple[dict[str, list[tuple[object, ...]]], object]:
    """Every row of every table, and each file's size and mtime beside a SQLite database."""
    db = Database(db_url)
    rows: dict[str, list[tuple[object, ...]]] = {}
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows[table] = sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
    db.dispose()
    files = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    )
    return rows, files


def test_nothing_is_written(
    feeds_config: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # seeds edited too, so the preview of `init` has changes it must not apply
    seed = tmp_path / "seeds" / "test.toml"
    seed.write_text(SEED, encoding="utf-8")
    before = _snapshot(db_url, tmp_path)
    assert sum(len(r) for r in before[0].values()) > 0
    code, out, _ = _run(feeds_config, "check", "--no-model", "--feeds")
    assert code == 1 and "feed Litware" in out and "seeds changed" in out
    after = _snapshot(db_url, tmp_path)
    assert after[0] == before[0]
    assert after[1] == before[1]
    db = Database(db_url)
    with db.sessions() as session:
        feeds = {f.name: f for f in session.scalars(select(Feed))}
    db.dispose()
    assert feeds["Broken"].error_count == 0 and feeds["Litware"].last_checked_at is None


def test_vectors_of_another_model_in_the_cache_warn(ready: Path, db_url: str) -> None:
    db = Database(db_url)
    with db.transaction() as session:
        for key in ("a", "b"):
            session.add(
                SentenceEmbedding(
                    sentence_hash=key,
                    model="old-model",
                    dim=1,
                    vector=b"\0\0\0\0",
                    created_at=utcnow(),
                    last_used_at=utcnow(),
                )
            )
        session.add(
            SentenceEmbedding(
                sentence_hash="c",
                model="bundled",
                dim=1,
                vector=b"\0\0\0\0",
                created_at=utcnow(),
                last_used_at=utcnow(),
            )
        )
    db.dispose()
    code, out, _ = _run(ready, "check", "--no-model")
    assert code == 0
    cache = _lines(out)["model cache"]
    assert cache.startswith("warn 2 vectors of 'old-model'") and "30 days" in cache


def test_the_real_bundled_model_loads(ready: Path, encoder: object) -> None:
    code, out, _ = _run(ready, "check")
    assert code == 0, out
    assert _lines(out)["model"].startswith("ok bundled loads offline, 384 dimensions")


def test_an_unloadable_model_fails(write_config: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "no-model").mkdir()
    config = write_config('[model]\nname = "./no-model"\n', seeds=GIVEN_ENTITIES)
    code, out, _ = _run(config, "check")
    assert code == 1
    assert _lines(out)["model"].startswith("FAIL cannot load embedding model")


def test_a_taken_port_warns_unless_the_running_service_holds_it(
    write_config: Callable[..., Path], db_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(
            f'[service]\nlisten = "127.0.0.1:{port}"\n', seeds=GIVEN_ENTITIES, db_url=db_url
        )
        assert _run(config, "init")[0] == 0
        code, out, _ = _run(config, "check", "--no-model")
        assert code == 0
        assert _lines(out)["service"].startswith(
            f"warn listen 127.0.0.1:{port}: in use by another process; `run` cannot start"
        )
    db = Database(db_url)
    server = StatusServer(f"127.0.0.1:{port}", HealthCheck(db, lambda: True), Metrics()).start()
    try:
        code, out, _ = _run(config, "check", "--no-model")
        assert _lines(out)["service"].startswith(
            f"warn listen 127.0.0.1:{port}: in use by a rumour-monitor listener"
            " (not this database's running `run`)"
        )
        lock = acquire_scheduler_lock(db)
        try:
            code, out, _ = _run(config, "check", "--no-model")
            assert "in use by the running `run`" in _lines(out)["service"]
        finally:
            lock.release()
    finally:
        server.stop()
        db.dispose()


def test_a_port_taken_while_the_running_service_listens_elsewhere_warns(
    write_config: Callable[..., Path], db_url: str
) -> None:
    """The config's port was changed since `run` started: a restart would not free it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(
            f'[service]\nlisten = "127.0.0.1:{port}"\n', seeds=GIVEN_ENTITIES, db_url=db_url
        )
        assert _run(config, "init")[0] == 0
        db = Database(db_url)
        lock = acquire_scheduler_lock(db)
        try:
            holder = scheduler_holder(db)
            code, out, _ = _run(config, "check", "--no-model")
        finally:
            lock.release()
            db.dispose()
    assert code == 0
    assert _lines(out)["service"] == (
        f"warn listen 127.0.0.1:{port}: in use by another process, not the running `run`"
        f" ({holder}), which listens elsewhere; `run` cannot start while it is (stop that"
        " process, or choose another port in [service] listen)"
    )


def test_a_detail_of_several_lines_reads_as_one_line_in_text_and_json(
    write_config: Callable[..., Path],
) -> None:
    port = _free_port()  # nothing listens: libpq adds a hint on a line of its own
    body = f'[database]\nurl = "postgresql+psycopg://monitor@127.0.0.1:{port}/rumours"\n'
    config = write_config(body, seeds=GIVEN_ENTITIES)
    _, out, _ = _run(config, "check", "--no-model")
    assert all(line[:4] in ("ok  ", "warn", "FAIL", "", "not ") for line in out.splitlines())
    database = _lines(out)["database"]
    assert "Connection refused; Is the server running" in database
    _, out, _ = _run(config, "check", "--no-model", "--json")
    detail = next(r["detail"] for r in json.loads(out) if r["check"] == "database")
    assert database == f"FAIL {detail}"


def test_one_line_joins_lines_with_their_punctuation() -> None:
    assert one_line("a\n\tb") == "a; b"
    assert one_line("failed: refused.\n  Is it running?\n\n") == "failed: refused. Is it running?"
    assert one_line("") == "" and one_line("one") == "one"


def test_a_listen_address_that_cannot_be_bound_fails(
    write_config: Callable[..., Path],
) -> None:
    config = write_config('[service]\nlisten = "192.0.2.1:9464"\n', seeds=GIVEN_ENTITIES)
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    assert _lines(out)["service"].startswith("FAIL service.listen: cannot listen on 192.0.2.1")


def test_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(cli, ["check", "--help"])
    assert result.exit_code == 0
    assert "rumour-monitor check && sudo systemctl restart rumour-monitor" in result.stdout
    assert "--no-model" in result.stdout and "--feeds" in result.stdout


def test_a_missing_apprise_urls_variable_fails_like_any_secret(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("apprise")
    monkeypatch.delenv("RM_CHECK_NO_URLS", raising=False)
    config = write_config("[alerts.apprise]\nurls_env = 'RM_CHECK_NO_URLS'\n", seeds=GIVEN_ENTITIES)
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    lines = _lines(out)
    assert lines["config"].startswith("ok ")
    assert (
        "alerts.apprise.urls_env: environment variable RM_CHECK_NO_URLS is not set"
        in (lines["secret RM_CHECK_NO_URLS"])
    )


def test_an_unreachable_database_fails_within_its_connect_timeout(
    write_config: Callable[..., Path],
) -> None:
    port = _free_port()  # nothing listens there
    body = f'[database]\nurl = "postgresql+psycopg://monitor@127.0.0.1:{port}/rumours"\n'
    config = write_config(body + 'connect_timeout = "2s"\n', seeds=GIVEN_ENTITIES)
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 1
    database = _lines(out)["database"]
    assert database.startswith("FAIL cannot open database") and str(port) in database
    assert _lines(out)["service"].startswith("ok ")


def test_a_permanently_moved_feed_says_to_update_its_url(
    write_config: Callable[..., Path], httpserver: HTTPServer
) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": f"{base}/rdf"}
    )
    httpserver.expect_request("/rdf").respond_with_data(
        fixture_text("feeds/rss10.rdf", base), content_type="application/rdf+xml"
    )
    body = f'[[feeds]]\nname = "Moved"\nurl = "{base}/old"\n'
    config = write_config(body, seeds=GIVEN_ENTITIES)
    _, out, _ = _run(config, "check", "--no-model", "--feeds")
    moved = _lines(out)["feed Moved"]
    assert moved.startswith("ok 2 entries") and f"moved permanently to {base}/rdf" in moved


def test_a_dropped_table_after_the_schema_check_fails_that_check_only(
    ready: Path, db_url: str
) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE sentence_embeddings"))
    db.dispose()
    code, out, _ = _run(ready, "check", "--no-model")
    assert code == 1
    lines = _lines(out)
    assert lines["model cache"].startswith("FAIL cannot read the embedding cache")
    assert lines["service"].startswith("ok ")


def test_a_feed_its_server_gave_up_warns_until_its_url_changes(
    write_config: Callable[..., Path], db_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    feeds = '[[feeds]]\nname = "Gone"\nurl = "{url}"\n[[feeds]]\nname = "Other"\nurl = "{other}"\n'
    gone, other = httpserver.url_for("/gone"), httpserver.url_for("/other")
    config = write_config(feeds.format(url=gone, other=other), seeds=GIVEN_ENTITIES, db_url=db_url)
    assert _run(config, "init")[0] == 0
    assert _lines(_run(config, "check", "--no-model")[1]).get("feed Gone") is None
    assert "feed disabled" in _run(config, "poll")[1]  # the 410 disables it
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 0
    assert _lines(out)["feed Gone"] == (
        f"warn disabled by the monitor (410 Gone at {gone} on {utcnow():%Y-%m-%d}): not polled"
        " again until its url in config changes (then run `rumour-monitor init`)"
    )
    assert "feed Other" not in _lines(out)  # failing, not disabled: `feeds` shows it
    moved = httpserver.url_for("/new")
    config.write_text(config.read_text().replace(f'"{gone}"', f'"{moved}"'))
    assert "feed Gone" not in _lines(_run(config, "check", "--no-model")[1])


def test_check_warns_when_every_feed_failed_its_last_attempt(
    write_config: Callable[..., Path], db_url: str, httpserver: HTTPServer
) -> None:
    # It said "ok feeds: 2 feeds enabled" while nothing could arrive.
    httpserver.expect_request("/a").respond_with_data("down", status=500)
    httpserver.expect_request("/b").respond_with_data("gone away", status=404)
    body = (
        f'[polling]\nhost_delay = "0s"\n[[feeds]]\nname = "A"\nurl = "{httpserver.url_for("/a")}"\n'
        f'[[feeds]]\nname = "B"\nurl = "{httpserver.url_for("/b")}"\n'
    )
    config = write_config(body, seeds=GIVEN_ENTITIES, db_url=db_url)
    assert _run(config, "init")[0] == 0
    _run(config, "poll")
    code, out, _ = _run(config, "check", "--no-model")
    assert code == 0  # a warning: the installation itself is sound
    warning = next(line for line in out.splitlines() if "every feed failed" in line)
    assert warning.startswith("warn  feeds: every feed failed its last attempt: 2 of 2 feeds")
    assert "no success since" in warning and "A, B" in warning
    httpserver.clear()
    httpserver.expect_request("/a").respond_with_data(fixture_text("feeds/rss10.rdf", "http://x"))
    httpserver.expect_request("/b").respond_with_data("gone away", status=404)
    _run(config, "poll")
    _, out, _ = _run(config, "check", "--no-model")
    assert "every feed failed" not in out
    assert "ok    feeds: 1 of 2 feeds failing (no success since" in out
