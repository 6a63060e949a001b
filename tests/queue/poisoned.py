"""`rumour-monitor` with one poisoned article: reading any article titled "Poison..." raises.

The distributed tests start workers through this file to see a job that keeps failing set
aside, in a real worker process, without a poisoned article having to exist in the wild.
"""

from __future__ import annotations

import sys
from typing import Any

import monitor.reading.pipeline as pipeline
from monitor.cli import main
from monitor.db.models import Article

real = pipeline._process


def poisoned(session: Any, run: Any, article_id: int) -> Any:
    article = session.get(Article, article_id)
    if article is not None and article.title.startswith("Poison"):
        raise RuntimeError("poisoned article")
    return real(session, run, article_id)


pipeline._process = poisoned  # type: ignore[assignment]

if __name__ == "__main__":
    sys.argv[0] = "rumour-monitor"
    main()
