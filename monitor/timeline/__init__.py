"""Dated article files in, the monitor's verdicts out, with no network: backtests and the demo.

`replay` reads a folder of dated articles into the database in time order for the reading
stage; `demo` serves the packaged Xiaomi timeline (``xiaomi/``) from a local news site and runs
the real poller and reader over it.
"""

from monitor.timeline.demo import run_demo
from monitor.timeline.replay import (
    ReplayArticle,
    ReplayProblem,
    ReplayResult,
    load_articles,
    replay_articles,
)

__all__ = [
    "ReplayArticle",
    "ReplayProblem",
    "ReplayResult",
    "load_articles",
    "replay_articles",
    "run_demo",
]
