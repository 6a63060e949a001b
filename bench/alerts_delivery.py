"""How fast the outbox drains: claim, render, send to a local channel, mark sent, per alert.

Prints figures; asserts nothing. Usage:
    PYTHONPATH=. python bench/alerts_delivery.py [N] [DATABASE_URL]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.alerts.console import ConsoleChannel
from monitor.alerts.delivery import deliver_pending
from monitor.alerts.outbox import enqueue
from monitor.config import load_config
from monitor.db import Database, upgrade
from monitor.db.models import Rumour, Transition


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tmp}/bench.db"
        config_path = Path(tmp) / "config.toml"
        config_path.write_text("", encoding="utf-8")
        config = load_config(config_path)
        db = Database(url)
        upgrade(db.engine)
        at = datetime(2024, 1, 1, tzinfo=UTC)
        with db.transaction() as s:
            s.add(
                Rumour(id="bench", claim="Acme will buy Widget Works", entities=[], paraphrases=[])
            )
            for n in range(count):
                t = Transition(
                    rumour_id="bench",
                    from_state="unconfirmed",
                    to_state="confirmed",
                    signal="confirm",
                    sentence=f"Sentence {n}.",
                    confidence_before=0.5,
                    confidence_after=0.7,
                    at=at,
                )
                s.add(t)
                enqueue(s, t, ["console"])
        out = io.StringIO()
        started = time.perf_counter()
        report = deliver_pending(db, config, {"console": ConsoleChannel(out)})
        elapsed = time.perf_counter() - started
        db.dispose()
    backend = url.split(":", 1)[0]
    print(f"{backend}: delivered {report.sent}/{count} alerts in {elapsed:.2f} s")
    print(f"{backend}: {elapsed / max(count, 1) * 1000:.2f} ms per alert (outbox overhead)")


if __name__ == "__main__":
    main()
