"""Distributed mode's schedule: queue the due work for `rumour-monitor worker` processes."""

from __future__ import annotations

from typing import Any

from monitor.queue import enqueue_due, enqueue_maintenance
from monitor.service import Runtime


def run(runtime: Runtime) -> dict[str, Any]:
    return enqueue_due(runtime)


def maintenance(runtime: Runtime) -> dict[str, Any]:
    return enqueue_maintenance(runtime)
