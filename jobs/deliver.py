"""Deliver the pending alerts that are due: retries on their backoff, even between polls."""

from __future__ import annotations

from typing import Any

from monitor.alerts import deliver_pending
from monitor.service import Runtime, channels


def run(runtime: Runtime) -> dict[str, Any]:
    # The poll job delivers after processing too; whichever comes second has nothing to do,
    # and skipping (rather than queueing behind the lock) keeps a worker free.
    if not runtime.delivery_lock.acquire(blocking=False):
        return {"skipped": "delivery already running"}
    try:
        report = deliver_pending(runtime.database, runtime.config, channels(runtime))
    finally:
        runtime.delivery_lock.release()
    return report.counts()
