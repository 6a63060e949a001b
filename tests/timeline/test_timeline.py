"""The Xiaomi timeline end to end: `replay` over the packaged corpus, and `demo`.

These use the real embedding model (loaded once per process) and the real pipeline. The
expected outcome of every rumour is the story as the corpus tells it (see
monitor/timeline/xiaomi/README.md).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.config import load_config
from monitor.db import Database
from monitor.db.models import Alert, Article, Evidence, Feed, Transition
from monitor.queries import history
from monitor.timeline.demo import RUMOURS, TIMELINE, demo_config_text, run_demo
from monitor.timeline.replay import parse_article_file

ROOT = Path(__file__).resolve().parents[2]

# Where each rumour ends, and the path it takes, as the corpus tells the story.
FINAL = {
    "xiaomi-ev": "formalized",
    "xiaomi-great-wall": "formalized",
    "xiaomi-10bn": "formalized",
    "xiaomi-brilliance": "unconfirmed",
    "xiaomi-chery": "unconfirmed",
    "xiaomi-cars-2023": "unconfirmed",
    "xiaomi-tesla-meeting": "unconfirmed",
}
NOISE = [
    "2014-07-22-mi4-launch.txt",
    "2021-01-11-baidu-geely-venture.txt",
    "2021-01-20-apple-hyundai-talks.txt",
    "2021-02-08-hyundai-not-in-talks-apple.txt",
    "2021-02-08-mi11-global-launch.txt",
    "2021-03-24-xiaomi-q4-results.txt",
    "2021-03-29-mi11-ultra-launch.txt",
    "2021-05-27-xiaomi-q1-results.txt",
    "2021-08-19-great-wall-brazil-plant.html",
]
# About a rumour but on nobody's record: they may add a report's evidence, never a transition.
NO_COMMENT = ["2014-06-23-xiaomi-no-comment-tesla.txt", "2021-03-27-great-wall-shares-jump.txt"]


def _run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Database, Any]]:
    """The corpus replayed once through `init` + `replay`, on SQLite."""
    folder = tmp_path_factory.mktemp("replay")
    config = folder / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder / "r.db"}"\n[seeds]\npaths = ["{RUMOURS}"]\n',
        encoding="utf-8",
    )
    assert _run(config, "init").exit_code == 0
    result = _run(config, "replay", str(TIMELINE))
    db = Database(f"sqlite:///{folder / 'r.db'}")
    yield config, db, result
    db.dispose()


def _paths(db: Database) -> dict[str, list[tuple[str, str, str]]]:
    with db.sessions() as s:
        return {
            rid: [(t["from"], t["to"], t["url"]) for t in history(s, rid)["transitions"]]
            for rid in FINAL
        }


def test_demo_rumours_are_the_seed_rumours_before_the_story() -> None:
    seeds = tomllib.loads((ROOT / "seeds" / "xiaomi-ev.toml").read_text("utf-8"))["rumour"]
    baseline = tomllib.loads(RUMOURS.read_text("utf-8"))["rumour"]
    state_keys = ("state", "confidence", "since")  # what the demo resets: where the story starts
    described = [{k: v for k, v in r.items() if k not in state_keys} for r in seeds]
    assert described == baseline
    assert set(FINAL) == {r["id"] for r in baseline}


def test_replay_prints_each_change_and_ends_in_the_expected_states(
    replayed: tuple[Path, Database, Any],
) -> None:
    _, db, result = replayed
    assert result.exit_code == 0, result.output
    assert "replayed 23 new articles (0 already stored, 0 skipped)" in result.output
    assert '"Xiaomi signs agreement for Great Wall Motors to build its electric cars"' in (
        result.output
    )
    with db.sessions() as s:
        states = {rid: history(s, rid)["state"] for rid in FINAL}
        replay_rows = s.scalar(
            select(func.count()).select_from(Article).where(Article.extraction == "replay")
        )
    assert states == FINAL
    assert replay_rows == 23


def test_great_wall_and_10bn_are_formalized_by_the_official_acts(
    replayed: tuple[Path, Database, Any],
) -> None:
    paths = _paths(replayed[1])
    assert [(a, b) for a, b, _ in paths["xiaomi-great-wall"]] == [("unconfirmed", "formalized")]
    assert paths["xiaomi-great-wall"][0][2].endswith("/2021/09/06/xiaomi-great-wall-agreement")
    assert [(a, b) for a, b, _ in paths["xiaomi-10bn"]] == [("unconfirmed", "formalized")]
    assert paths["xiaomi-10bn"][0][2].endswith("/2021/03/30/xiaomi-ev-business-official")
    ev = paths["xiaomi-ev"]
    assert [(a, b) for a, b, _ in ev[-2:]] == [("unconfirmed", "denied"), ("denied", "formalized")]
    assert ev[-2][2].endswith("/2021/02/19/xiaomi-denies-ev-project")
    assert ev[-1][2].endswith("/2021/03/30/xiaomi-ev-business-official")


def test_ev_plan_goes_unconfirmed_denied_formalized(replayed: tuple[Path, Database, Any]) -> None:
    ev = _paths(replayed[1])["xiaomi-ev"]
    assert [(a, b) for a, b, _ in ev] == [("unconfirmed", "denied"), ("denied", "formalized")]


def _noise_transitions(db: Database) -> list[str]:
    urls = {parse_article_file(TIMELINE / name).url for name in NOISE + NO_COMMENT}
    with db.sessions() as s:
        rows = s.execute(
            select(Transition.rumour_id, Article.url).join(
                Article, Article.id == Transition.article_id
            )
        )
        return [f"{rid} by {url}" for rid, url in rows if url in urls]


def test_noise_moves_no_rumour(replayed: tuple[Path, Database, Any]) -> None:
    assert _noise_transitions(replayed[1]) == []


def test_noise_leaves_no_evidence(replayed: tuple[Path, Database, Any]) -> None:
    """Phone launches and results name Xiaomi but say nothing about cars: no evidence at all,
    not even a confidence move (the Mi 11 and Q4 pieces once scored at the threshold)."""
    urls = {parse_article_file(TIMELINE / name).url for name in NOISE}
    with replayed[1].sessions() as s:
        rows = s.execute(
            select(Evidence.rumour_id, Article.url, Evidence.sentence).join(
                Article, Article.id == Evidence.article_id
            )
        )
        found = [f"{rid} by {url}: {sentence}" for rid, url, sentence in rows if url in urls]
    assert found == []


def test_replay_twice_adds_nothing(replayed: tuple[Path, Database, Any]) -> None:
    config, db, _ = replayed

    def counts() -> list[int]:
        with db.sessions() as s:
            return [
                s.scalar(select(func.count()).select_from(t)) or 0
                for t in (Article, Evidence, Transition, Alert)
            ]

    before = counts()
    again = _run(config, "replay", str(TIMELINE))
    assert again.exit_code == 0
    assert "replayed 0 new articles (23 already stored, 0 skipped): 0 state changes" in again.output
    assert counts() == before


def test_bad_files_are_reported_by_name_and_skipped(
    replayed: tuple[Path, Database, Any], tmp_path: Path
) -> None:
    config, db, _ = replayed
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(TIMELINE / "2021-03-24-xiaomi-q4-results.txt", folder / "dup.txt")
    (folder / "undated.txt").write_text("Title: T\nURL: https://a.example/u\n\nText.\n", "utf-8")
    (folder / "broken.txt").write_text("no header at all\n\nText.\n", "utf-8")
    good = "Title: G\nPublished: 2022-01-01T00:00:00Z\nURL: https://a.example/g\n\nWords here.\n"
    (folder / "good.txt").write_text(good, "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "replay", str(folder)])
    assert result.exit_code == 0
    assert "undated.txt: no publication date" in result.output
    assert "broken.txt: header line 1" in result.output
    assert "replayed 1 new article (1 already stored, 2 skipped)" in result.output
    assert result.stderr.strip().splitlines()[-1].startswith("2 of 4 files skipped (named above)")
    with db.sessions() as s:
        assert s.scalar(select(Article.title).where(Article.url == "https://a.example/g")) == "G"


# The three official acts and a denial of the timeline, a piece of noise, and two bad files:
# four changes on four rumours for a few articles' model time, on each backend.
SUBSET = [
    "2021-02-08-mi11-global-launch.txt",
    "2021-02-19-xiaomi-denies-ev-project.txt",
    "2021-03-30-xiaomi-announces-ev-business.txt",
    "2021-09-06-xiaomi-great-wall-agreement.txt",
]


def _recorded_transitions(config: Path, rumour_ids: set[str]) -> list[dict[str, Any]]:
    """What `history --json` recorded, in the shape `poll --json` and `replay --json` print."""
    found = []
    for rid in rumour_ids:
        result = _run(config, "history", rid, "--json")
        assert result.exit_code == 0, result.output
        for t in json.loads(result.stdout)["transitions"]:
            keep = ("from", "to", "at", "signal", "sentence", "url")
            found.append(
                {"id": rid, **{k: t[k] for k in keep}, "confidence": t["confidence_after"]}
            )
    return sorted(found, key=lambda t: (t["at"], t["id"]))


def test_replay_json_reports_counts_skipped_files_and_the_recorded_transitions(
    db_url: str, tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in SUBSET:
        shutil.copy(TIMELINE / name, folder / name)
    shutil.copy(TIMELINE / SUBSET[0], folder / "dup.txt")
    (folder / "broken.txt").write_text("no header at all\n\nText.\n", "utf-8")
    config = write_config(seeds=RUMOURS.read_text("utf-8"), db_url=db_url)
    assert _run(config, "init").exit_code == 0

    result = _run(config, "replay", str(folder), "--json", "--deliver")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # console alerts and skipped files went to stderr
    assert {k: data[k] for k in ("files", "replayed", "already_stored")} == {
        "files": 6,
        "replayed": 4,
        "already_stored": 0,
    }
    assert data["skipped"] == [
        {
            "file": str(folder / "broken.txt"),
            "problem": "header line 1 is not 'Key: value': 'no header at all' "
            "(the header ends at the first blank line)",
        },
        {"file": str(folder / "dup.txt"), "problem": f"same URL as {SUBSET[0]}"},
    ]
    moves = [(t["id"], t["from"], t["to"]) for t in data["transitions"]]
    assert moves == [
        ("xiaomi-ev", "unconfirmed", "denied"),
        ("xiaomi-10bn", "unconfirmed", "formalized"),
        ("xiaomi-ev", "denied", "formalized"),
        ("xiaomi-great-wall", "unconfirmed", "formalized"),
    ]
    assert sorted(data["transitions"], key=lambda t: (t["at"], t["id"])) == (
        _recorded_transitions(config, {rid for rid, _, _ in moves})
    )
    assert data["alerts"] == {"sent": 4, "retrying": 0, "failed": 0}
    assert data["queued_alerts"] == []  # all sent
    assert "[rumour] xiaomi-great-wall: unconfirmed -> formalized" in result.stderr
    assert f"skipped: {folder / 'dup.txt'}: same URL as" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("2 of 6 files skipped")

    again = _run(config, "replay", str(folder), "--json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert (second["files"], second["replayed"], second["already_stored"]) == (6, 0, 4)
    assert second["transitions"] == [] and second["alerts"] is None
    assert second["skipped"] == data["skipped"]


def test_replay_json_again_over_the_timeline_reports_every_article_already_stored(
    replayed: tuple[Path, Database, Any],
) -> None:
    config, _, _ = replayed
    result = _run(config, "replay", str(TIMELINE), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "files": 23,
        "replayed": 0,
        "already_stored": 23,
        "skipped": [],
        "transitions": [],
        "alerts": None,
        "queued_alerts": [],
    }
    assert result.stderr == ""


def test_demo_runs_the_timeline_end_to_end() -> None:
    out = io.StringIO()
    result = run_demo(out, batch_size=6)
    text = out.getvalue()
    assert result.states == FINAL
    assert result.polls == 4
    assert result.articles_stored == 23
    assert result.alerts_sent == len(result.transitions) and result.alerts_failed == 0
    changes = {(t.rumour_id, t.from_state, t.to_state) for t in result.transitions}
    assert ("xiaomi-great-wall", "unconfirmed", "formalized") in changes
    assert ("xiaomi-ev", "denied", "formalized") in changes
    assert "[rumour] xiaomi-great-wall: unconfirmed -> formalized" in text  # console alert
    assert "xiaomi-great-wall: Xiaomi will build its electric cars in a Great Wall" in text
    assert "path: unconfirmed -> formalized" in text


def test_demo_keep_with_a_relative_folder_keeps_the_database_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `demo --keep demo-state` then `sqlite3 demo-state/demo.db` (the command's own example)
    monkeypatch.chdir(tmp_path)
    folder = Path("demo-state")
    folder.mkdir()
    site = SimpleNamespace(sources=[])
    (folder / "config.toml").write_text(demo_config_text(site, []), "utf-8")  # type: ignore[arg-type]
    config = load_config(folder / "config.toml")
    assert config.database.url == f"sqlite:///{tmp_path / 'demo-state' / 'demo.db'}"


def test_demo_keep_folder_used_twice_starts_afresh(tmp_path: Path) -> None:
    # The second run used to reuse the first run's database: every story already stored,
    # every rumour already moved, so it showed 0 new articles and 0 state changes.
    folder = tmp_path / "demo-state"
    folder.mkdir()
    run_demo(io.StringIO(), batch_size=23, workdir=folder)
    again = run_demo(io.StringIO(), batch_size=23, workdir=folder)
    assert again.articles_stored == 23 and again.states == FINAL
    assert len(again.transitions) == again.alerts_sent > 0


def test_demo_keep_refuses_a_folder_holding_another_config(tmp_path: Path) -> None:
    # `demo --keep .` in a project folder must not overwrite the project's own config.toml.
    mine = '[database]\nurl = "sqlite:///state/rumours.db"\n'
    (tmp_path / "config.toml").write_text(mine, "utf-8")
    result = CliRunner().invoke(cli, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path / "config.toml") in result.stderr and "--keep" in result.stderr
    assert (tmp_path / "config.toml").read_text("utf-8") == mine
    assert not (tmp_path / "demo.db").exists()


@pytest.mark.parametrize("batch", ["0", "-3"])
def test_demo_batch_must_be_at_least_one(batch: str) -> None:
    result = CliRunner().invoke(cli, ["demo", "--batch", batch])
    assert result.exit_code == 2 and "--batch" in result.stderr


def test_replay_says_how_many_alerts_it_queued_and_how_to_send_or_drop_them(
    replayed: tuple[Path, Database, Any],
) -> None:
    # It queued them without a word: the next `poll` sent a backtest's alerts to the channels.
    config, _, result = replayed
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(
        "4 alerts queued, not sent: `rumour-monitor alerts deliver` sends them (so will the"
        " next `poll` or `run`); `rumour-monitor alerts drop "
    )
    ids = last.split("`rumour-monitor alerts drop ")[1].split("`")[0].split()
    listed = json.loads(_run(config, "alerts", "list", "--status", "pending", "--json").stdout)
    assert sorted(int(i) for i in ids) == sorted(row["id"] for row in listed)
    dropped = _run(config, "alerts", "drop", *ids, "--json")
    assert dropped.exit_code == 0 and json.loads(dropped.stdout) == {
        "dropped": 4,
        "not_dropped": [],
    }
    assert json.loads(_run(config, "alerts", "list", "--json").stdout) == []
    assert _run(config, "alerts", "deliver").stdout.strip() == (
        "alerts: 0 sent, 0 to retry, 0 failed"
    )


def _answer(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_a_kept_demo_folder_runs_as_is_serving_the_web_view_and_polling_nothing(
    tmp_path: Path,
) -> None:
    # The kept config pointed `run` at the demo's stopped news site, with no [service] table.
    folder = tmp_path / "demo-state"
    result = CliRunner().invoke(cli, ["demo", "--keep", str(folder), "--batch", "23", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the running story went to stderr
    assert data["states"] == FINAL and data["articles"] == 23 and data["polls"] == 1
    assert data["alerts"] == {"sent": len(data["transitions"]), "failed": 0}
    assert data["kept"] == str((folder / "config.toml").resolve())
    assert "== Timeline of every rumour" in result.stderr

    config = load_config(folder / "config.toml")
    assert config.service.listen is not None
    assert config.feeds and not any(feed.enabled for feed in config.feeds)
    db = Database(config.database.url)
    with db.sessions() as s:
        checked = {f.name: f.last_checked_at for f in s.scalars(select(Feed))}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("NOTIFY_SOCKET", None)
    command = [sys.executable, "-m", "monitor", "--config", str(folder / "config.toml"), "run"]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    base = f"http://{config.service.listen}"
    try:
        deadline = time.monotonic() + 60
        while _answer(f"{base}/healthz")[0] != 200:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the kept demo's `run` never answered"
            time.sleep(0.2)
        code, page = _answer(f"{base}/")
        assert code == 200 and "xiaomi-great-wall" in page and "formalized" in page
        time.sleep(2)  # a tick: the scheduler looks for due feeds at once
        feeds = json.loads(_answer(f"{base}/feeds.json")[1])
        assert feeds and not any(feed["enabled"] for feed in feeds)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
    with db.sessions() as s:
        assert {f.name: f.last_checked_at for f in s.scalars(select(Feed))} == checked
    db.dispose()
