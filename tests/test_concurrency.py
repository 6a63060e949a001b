"""Several processes on one database at once: `init` twice, `poll` beside `poll` or `run`.

These run the real command line in subprocesses, because the races they guard against live
between processes (each with its own connections), not between threads of one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from monitor.db import Database
from monitor.db.models import Feed, Rumour

ROOT = Path(__file__).resolve().parents[1]


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "monitor", "--config", str(config), *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def run_together(config: Path, *args: str, copies: int) -> list[tuple[int, str]]:
    """Start `copies` identical commands at once; each one's exit code and stderr."""
    procs = [start(config, *args) for _ in range(copies)]
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        results.append((proc.returncode, err))
    return results


FEEDS = """
[[feeds]]
name = "One"
url = "http://127.0.0.1:9/one.xml"

[[feeds]]
name = "Two"
url = "http://127.0.0.1:9/two.xml"
"""


def test_init_run_several_times_at_once_on_a_fresh_database(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(FEEDS, db_url=db_url)
    for code, err in run_together(config, "init", copies=4):
        assert code == 0, err
    db = Database(db_url)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Rumour)) == 2
        assert session.scalar(select(func.count()).select_from(Feed)) == 2
    db.dispose()


def test_polls_at_once_after_feeds_were_added_to_the_config(
    write_config: Callable[..., Path], db_url: str
) -> None:
    config = write_config(db_url=db_url)
    assert run_together(config, "init", copies=1)[0][0] == 0
    # Feeds added to config.toml after `init`: each `poll` syncs them before polling. The
    # port answers nothing, so the polls are quick and every feed fails (exit 0 all the same).
    many = '[polling]\nhost_delay = "0s"\nhost_concurrency = 30\n' + "".join(
        f'[[feeds]]\nname = "Feed {i}"\nurl = "http://127.0.0.1:9/{i}.xml"\n' for i in range(30)
    )
    config = write_config(many, db_url=db_url)
    for code, err in run_together(config, "poll", copies=6):
        assert code == 0, err
        assert "Traceback" not in err
    db = Database(db_url)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Feed)) == 30
    db.dispose()
