"""Distributed mode: articles per second through the model queue with 1 and 2 worker processes.

For each worker count it makes a fresh PostgreSQL schema, `init`s it with the Xiaomi rumours,
stores ARTICLES articles (sentences of the Xiaomi corpus, or with --related below 1 partly
local news naming none of the tracked companies; each sentence made unique so that the
embedding cache cannot answer for the model), starts that many `rumour-monitor worker --queues
model --concurrency 1` processes (one core each; the model loads before the clock starts),
queues the embedding jobs and a reader as a poll would, and waits until every article is read.
It prints the throughput, the queue latency from enqueue to start (median and p95, from
Procrastinate's own events) and the PostgreSQL rows written per article (pg_stat_user_tables).

    RUMOUR_MONITOR_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python bench/scale.py --articles 200 --workers 1 2 1 2 1 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.db import Database  # noqa: E402
from monitor.db.models import Article  # noqa: E402
from monitor.polling import content_hash  # noqa: E402
from monitor.queue import build_app, defer  # noqa: E402
from monitor.queue.app import EMBED, READ  # noqa: E402
from monitor.queue.tasks import EMBED_CHUNK  # noqa: E402
from monitor.timeline.demo import RUMOURS, TIMELINE  # noqa: E402
from monitor.timeline.replay import load_articles  # noqa: E402


def corpus(count: int, related: float) -> list[tuple[str, str]]:
    """`count` (title, text) pairs, every sentence made unique: a `related` share from the
    Xiaomi stories (they name the tracked companies, so they are matched and judged), the rest
    local news that names none of them (embedded, then let go by the entity gate)."""
    stories, _ = load_articles(TIMELINE)
    out = []
    every = max(1, round(1 / related)) if related > 0 else count + 1
    for n in range(count):
        if n % every == 0:
            story = stories[n % len(stories)]
            parts = [p for p in story.text.split(". ") if p]
            lines = [f"{line} (item {n}.{i})" for i, line in enumerate(parts)]
            out.append((f"{story.title} ({n})", ". ".join(lines)))
        else:
            lines = [
                f"The council of district {n} met on day {i} to discuss road repairs, "
                f"school meals and a park budget of {n * 7 + i} thousand."
                for i in range(5)
            ]
            out.append((f"District {n} council meets", " ".join(lines)))
    return out


def rows_written(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
                    " FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                )
            ).scalar_one()
        )


def run(base: str, articles: int, workers: int, folder: Path, related: float) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options={quote(f'-csearch_path={schema}')}"
    config = folder / f"config-{workers}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[seeds]\npaths = ["{RUMOURS}"]\n'
        '[queue]\nbackend = "procrastinate"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "monitor", "--config", str(config)]
    subprocess.run([*command, "init"], check=True, env=env, capture_output=True)
    db = Database(url)
    now = datetime.now(UTC)
    with db.transaction() as session:
        for n, (title, body) in enumerate(corpus(articles, related)):
            session.add(
                Article(
                    canonical_url=f"https://bench.example/{n}",
                    url=f"https://bench.example/{n}",
                    title=title,
                    text=body,
                    content_hash=content_hash(body),
                    extraction="replay",
                    published_at=now,
                )
            )
    procs = []
    for n in range(workers):
        log = (folder / f"worker-{workers}-{n}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    *command,
                    "--log-level",
                    "info",
                    "worker",
                    "--queues",
                    "model",
                    "--concurrency",
                    "1",
                ],
                stderr=log,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        )
    logs = [folder / f"worker-{workers}-{n}.log" for n in range(workers)]
    while not all("worker starting" in p.read_text(errors="replace") for p in logs):
        for proc, log_path in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                sys.exit(f"a worker exited {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.2)
    time.sleep(1.0)  # the model loads before "worker starting"; let registration settle
    with db.sessions() as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    time.sleep(1.5)  # pg_stat counters are flushed about once a second
    rows_before = rows_written(db)
    app = build_app(load_config(config), min_size=1, max_size=2).open()
    cpu_before = sum(_cpu_seconds(proc.pid) for proc in procs)
    pg_before, machine_before = _postgres_cpu(), _machine_cpu()
    started = time.perf_counter()
    for start in range(0, len(ids), EMBED_CHUNK):
        defer(app, EMBED, article_ids=ids[start : start + EMBED_CHUNK])
    defer(app, READ)
    while True:
        with db.sessions() as session:
            left = session.scalar(
                select(func.count()).select_from(Article).where(Article.processed_at.is_(None))
            )
            open_jobs = session.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs"
                    " WHERE status IN ('todo','doing') AND queue_name = 'model'"
                )
            ).scalar_one()
        if not left and not open_jobs:
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    pg_cpu, machine_cpu = _postgres_cpu() - pg_before, _machine_cpu() - machine_before
    time.sleep(1.5)
    rows = rows_written(db) - rows_before  # before the idle readers add their own job rows
    cpu = sum(_cpu_seconds(proc.pid) for proc in procs) - cpu_before
    first_idle = _idle_jobs(db, app)
    app.close()
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(60)
    with db.engine.connect() as conn:
        waits = [
            (int(job_id), float(w))
            for job_id, w in conn.execute(
                text(
                    "SELECT j.id, extract(epoch FROM s.at - coalesce(j.scheduled_at, d.at))"
                    " FROM procrastinate_jobs j"
                    " JOIN procrastinate_events d ON d.job_id = j.id AND d.type = 'deferred'"
                    " JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'"
                    " WHERE j.queue_name = 'model'"
                )
            )
        ]
        sentences = conn.execute(text("SELECT count(*) FROM sentence_embeddings")).scalar_one()
        busy = dict(
            conn.execute(
                text(
                    "SELECT j.task_name, sum(extract(epoch FROM e.at - s.at))"
                    " FROM procrastinate_jobs j"
                    " JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'"
                    " JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'succeeded'"
                    " WHERE j.id < :idle GROUP BY 1"
                ),
                {"idle": first_idle},
            ).all()
        )
    db.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    idle = sorted(w for job_id, w in waits if job_id >= first_idle)
    waits = sorted(w for job_id, w in waits if job_id < first_idle)
    return {
        "workers": workers,
        "articles": articles,
        "sentences": sentences,
        "seconds": seconds,
        "articles_per_s": articles / seconds,
        "sentences_per_s": sentences / seconds,
        "latency_median_ms": 1000 * statistics.median(waits),
        "latency_p95_ms": 1000 * _p95(waits),
        "idle_median_ms": 1000 * statistics.median(idle),
        "idle_p95_ms": 1000 * _p95(idle),
        "rows_per_article": rows / articles,
        "cpu_seconds": cpu,
        "postgres_cpu_seconds": pg_cpu,
        "machine_cpu_seconds": machine_cpu,
        "embed_seconds": float(busy.get(EMBED, 0.0)),
        "read_seconds": float(busy.get(READ, 0.0)),
    }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc), its threads included."""
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def _stat_cpu(line: str) -> float:
    """User and system CPU seconds from a /proc/PID/stat line (after the command's name)."""
    fields = line.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU time of every PostgreSQL process on this machine so far (0 when it runs elsewhere
    or its processes cannot be read). Backends that ended during the run are not counted."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            line = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in line or "(postmaster)" in line:
            total += _stat_cpu(line)
    return total


def _machine_cpu() -> float:
    """CPU time spent by the whole machine so far, all cores (/proc/stat: all but idle and
    iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(0.95 * len(values)))]


IDLE_JOBS = 20


def _idle_jobs(db: Database, app: object) -> int:
    """Queue IDLE_JOBS readers one at a time on idle workers (nothing left to read), each
    after the last one ended: enqueue-to-start is then the queue's own dispatch latency
    (NOTIFY, fetch with SKIP LOCKED), not time spent behind other jobs. The first one's id."""
    first = 0
    for _ in range(IDLE_JOBS):
        job_id = defer(app, READ)  # type: ignore[arg-type]
        assert job_id is not None
        first = first or job_id
        while True:
            with db.sessions() as session:
                status = session.execute(
                    text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"),
                    {"id": job_id},
                ).scalar_one()
            if status not in ("todo", "doing"):
                break
            time.sleep(0.05)
        time.sleep(0.2)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2, 1, 2, 1, 2],
        help="worker counts, run in this order (repeat them to take medians)",
    )
    parser.add_argument(
        "--related",
        type=float,
        default=1.0,
        help="share of articles about the tracked rumours (1.0: all, the reader's worst case)",
    )
    args = parser.parse_args()
    base = os.environ.get("RUMOUR_MONITOR_TEST_PG")
    if not base:
        sys.exit("set RUMOUR_MONITOR_TEST_PG to a PostgreSQL URL (a schema is made and dropped)")
    results = []
    with tempfile.TemporaryDirectory(prefix="rumour-scale-") as tmp:
        for workers in args.workers:
            result = run(base, args.articles, workers, Path(tmp), args.related)
            results.append(result)
            print(
                f"{workers} worker process(es): {result['articles']} articles, "
                f"{result['sentences']} sentences in {result['seconds']:.1f} s = "
                f"{result['articles_per_s']:.1f} articles/s, {result['sentences_per_s']:.0f} "
                f"sentences/s; enqueue to start: {result['latency_median_ms']:.0f} ms median, "
                f"{result['latency_p95_ms']:.0f} ms p95 behind the batch's backlog, "
                f"{result['idle_median_ms']:.0f} / {result['idle_p95_ms']:.0f} ms on an idle "
                "worker; "
                f"{result['rows_per_article']:.1f} rows written per article; job time: "
                f"embedding {result['embed_seconds']:.1f} s, "
                f"reading {result['read_seconds']:.1f} s; "
                f"CPU: workers {result['cpu_seconds']:.1f} s, PostgreSQL "
                f"{result['postgres_cpu_seconds']:.1f} s, whole machine "
                f"{result['machine_cpu_seconds']:.1f} s of "
                f"{(os.cpu_count() or 1) * result['seconds']:.1f} "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
                flush=True,
            )
    rates: dict[int, list[float]] = {}
    for result in results:
        rates.setdefault(int(result["workers"]), []).append(result["articles_per_s"])
    if len(rates) > 1:
        # Runs alternate when counts repeat (--workers 1 2 1 2 ...), so a slow spell of a
        # shared host falls on both sides; the medians' ratio is the figure.
        fewest, most = min(rates), max(rates)
        spread = ", ".join(
            f"{n}: {statistics.median(r):.1f} articles/s median of {len(r)} "
            f"({min(r):.1f}-{max(r):.1f})"
            for n, r in sorted(rates.items())
        )
        ratio = statistics.median(rates[most]) / statistics.median(rates[fewest])
        print(f"{spread}; speed-up {ratio:.2f}x ({most} vs {fewest} workers)")


if __name__ == "__main__":
    main()
