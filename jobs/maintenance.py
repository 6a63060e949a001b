"""Daily upkeep: prune old article text (evidence stays) and unused cached embeddings, then
optimise the database."""

from __future__ import annotations

from typing import Any

from monitor.service import Runtime, run_maintenance


def run(runtime: Runtime) -> dict[str, Any]:
    report = run_maintenance(runtime.database, runtime.config)
    return {
        "pruned_articles": report.pruned_articles,
        "pruned_embeddings": report.pruned_embeddings,
        "optimised": report.optimised,
    }
