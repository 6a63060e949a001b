"""A small cluster on one machine for the distributed tests: `run` and `worker` processes.

Every process is a real `rumour-monitor` subprocess on a PostgreSQL schema of the test's own
(the search_path rides in the database URL, which Procrastinate's connector honours too),
with its stderr in a log file the test can read and quote when something times out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from monitor.cli import cli
from monitor.config import load_config
from monitor.db import Database
from monitor.db.models import Alert, Article, Feed
from monitor.queue import build_app

ROOT = Path(__file__).resolve().parents[2]
POISONED = Path(__file__).with_name("poisoned.py")


def rss(base: str, items: list[tuple[str, Any, str]]) -> str:
    """An RSS document: (path, published, title) per item, each linking to base + path."""
    body = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
        f"<pubDate>{format_datetime(published)}</pubDate><description>{title}</description></item>"
        for path, published, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"<link>{base}/</link><description>test</description>{body}</channel></rss>"
    )


def page(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}<p>The companies did not give further details about the plans.</p>"
        "</article></body></html>"
    )


class Process:
    def __init__(self, config: Path, name: str, args: list[str], *, poisoned: bool) -> None:
        self.name = name
        self.log = config.parent / f"{name}.log"
        self.out = config.parent / f"{name}.out"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        env.pop("NOTIFY_SOCKET", None)
        entry = [str(POISONED)] if poisoned else ["-m", "monitor"]
        command = [sys.executable, *entry, "--config", str(config), "--log-level", "info"]
        with self.log.open("wb") as err, self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [*command, "--log-format", "json", *args], stdout=out, stderr=err, env=env
            )

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def started(self, job: str) -> bool:
        return any(e.get("message") == "job started" and e.get("job") == job for e in self.events())

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


class Cluster:
    """The config, the database, the processes, and a way to queue jobs by hand."""

    def __init__(self, folder: Path, pg_url: str, body: str, seeds: str) -> None:
        (folder / "seeds").mkdir(exist_ok=True)
        (folder / "seeds" / "story.toml").write_text(seeds, encoding="utf-8")
        self.config = folder / "config.toml"
        self.config.write_text(
            f'[database]\nurl = "{pg_url}"\n[queue]\nbackend = "procrastinate"\n'
            'stall_timeout = "5s"\n[service]\ntick = "1s"\n' + body,
            encoding="utf-8",
        )
        result = CliRunner().invoke(cli, ["--config", str(self.config), "init"])
        assert result.exit_code == 0, result.output
        self.db = Database(pg_url)
        self.processes: list[Process] = []
        self._app: Any = None

    def start(self, name: str, *args: str, poisoned: bool = False) -> Process:
        process = Process(self.config, name, list(args), poisoned=poisoned)
        self.processes.append(process)
        return process

    def worker(self, name: str, queues: str = "fetch,model,alerts", **kw: Any) -> Process:
        return self.start(name, "worker", "--queues", queues, "--concurrency", "2", **kw)

    @property
    def app(self) -> Any:
        if self._app is None:
            self._app = build_app(load_config(self.config), min_size=1, max_size=2).open()
        return self._app

    def defer(self, task: str, copies: int = 1, **args: Any) -> None:
        """Queue `copies` identical jobs, with no lock: the workers race for the same work."""
        for _ in range(copies):
            self.app.configure_task(task, lock=None, queueing_lock=None).defer(**args)

    def open_jobs(self) -> int:
        with self.db.sessions() as session:
            query = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            return int(session.execute(text(query)).scalar_one())

    def job_statuses(self) -> dict[str, int]:
        with self.db.sessions() as session:
            rows = session.execute(
                text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
            )
            return {status: int(n) for status, n in rows}

    def settled(self) -> bool:
        """No job waiting or running, no article left to read, no alert left to send."""
        with self.db.sessions() as s:
            pending = s.scalar(
                select(func.count())
                .select_from(Article)
                .where(Article.processed_at.is_(None), Article.process_attempts < 3)
            )
            alerts = s.scalar(select(func.count()).where(Alert.status == "pending"))
            unpolled = s.scalar(select(func.count()).where(Feed.last_checked_at.is_(None)))
        return not pending and not alerts and not unpolled and self.open_jobs() == 0

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            for p in self.processes:
                if p.proc.poll() not in (None, 0, -9):
                    pytest.fail(f"{p.name} exited {p.proc.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what} ({self.job_statuses()}):\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.log.read_text(errors="replace")[-2500:] for p in self.processes
        )

    def close(self) -> None:
        for p in self.processes:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
        if self._app is not None:
            self._app.close()
        self.db.dispose()
