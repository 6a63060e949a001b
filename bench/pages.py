"""Benchmark the web view: each page's time over the real listener on a demo database.

Serves the database with the status listener (the code `run` uses) on a free loopback port and
fetches every page, its JSON, CSV and Atom forms REPEAT times, printing the median and the worst
time per address. Target: every page under 100 ms on the demo database.

    rumour-monitor demo --keep /tmp/demo       # once: the Xiaomi timeline's database
    PYTHONPATH=. python bench/pages.py /tmp/demo/demo.db --repeat 20
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from monitor.db import Database
from monitor.db.models import Rumour
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.metrics import Metrics
from monitor.service.webview import rumour_path


def addresses(database: Database) -> list[str]:
    with database.sessions() as session:
        ids = list(session.scalars(select(Rumour.id).order_by(Rumour.id)))
    paths = ["/", "/?sort=confidence&order=desc", "/?state=formalized&q=xiaomi", "/feeds"]
    paths += ["/changes.atom", "/status.json", "/metrics"]
    for rumour_id in ids:
        paths += [rumour_path(rumour_id)] + [rumour_path(rumour_id, s) for s in (".csv", ".atom")]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a demo database (demo --keep DIR)/demo.db")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    database = Database(f"sqlite:///{args.database}")
    health = HealthCheck(database, scheduler_running=lambda: True)
    server = StatusServer("127.0.0.1:0", health, Metrics(database)).start()
    worst_median = 0.0
    try:
        with httpx.Client(base_url=f"http://{server.address}") as client:
            for path in addresses(database):
                client.get(path).raise_for_status()  # warm: templates compiled, pool open
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                median = statistics.median(times)
                worst_median = max(worst_median, median)
                size = len(response.content)
                line = f"{median:7.1f} ms median {max(times):7.1f} ms worst {size:8d} B  {path}"
                print(line, flush=True)
    finally:
        server.stop()
        database.dispose()
    verdict = "under" if worst_median < 100 else "OVER"
    print(f"slowest median {worst_median:.1f} ms: {verdict} the 100 ms target")


if __name__ == "__main__":
    main()
