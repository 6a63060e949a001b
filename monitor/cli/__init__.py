"""The `rumour-monitor` command line: one click group, one small function per subcommand.

The group and what commands share live in `app`; each module beside it holds the commands of
one area and registers them on import.
"""

from monitor.cli import alerts, assess, check, polling, service, state, timeline
from monitor.cli.app import cli

__all__ = ["alerts", "assess", "check", "cli", "main", "polling", "service", "state", "timeline"]


def main() -> None:
    cli(prog_name="rumour-monitor")
