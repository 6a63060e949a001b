"""Test helpers shared by the polling tests: fixture files and a Fetcher for local servers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from monitor.config import PollingConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")


def fixture_text(name: str, base: str = "", **values: str) -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    text = text.replace("{base}", base)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def fixture_bytes(name: str, base: str = "") -> bytes:
    """Raw bytes with {base} replaced, for fixtures saved in a legacy charset."""
    return (FIXTURES / name).read_bytes().replace(b"{base}", base.encode("ascii"))


POLLING = PollingConfig(
    interval=900.0,
    timeout=5.0,
    user_agent="rumour-monitor/test (+https://example.invalid)",
    allow_private_networks=False,
    max_bytes=1024 * 1024,
    host_delay=0.0,
    host_concurrency=4,
    concurrency=8,
)


def polling(**changes: object) -> PollingConfig:
    return replace(POLLING, **changes)  # type: ignore[arg-type]
