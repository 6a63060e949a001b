"""The unit files parse: `systemd-analyze verify` where it exists, and always a strict key check."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[1] / "systemd"
EXEC = "/opt/rumour-monitor/.venv/bin/rumour-monitor"

# Every key our units may use, by section; a typo such as ProtectSystm fails the check.
KNOWN = {
    "Unit": {"Description", "Documentation", "Wants", "After", "Requires"},
    "Install": {"WantedBy"},
    "Timer": {
        "OnBootSec",
        "OnUnitActiveSec",
        "OnCalendar",
        "RandomizedDelaySec",
        "Persistent",
        "Unit",
        "AccuracySec",
    },
    "Service": {
        "Type",
        "NotifyAccess",
        "WatchdogSec",
        "DynamicUser",
        "User",
        "Group",
        "StateDirectory",
        "StateDirectoryMode",
        "WorkingDirectory",
        "Environment",
        "EnvironmentFile",
        "ExecStartPre",
        "ExecStart",
        "KillSignal",
        "TimeoutStartSec",
        "TimeoutStopSec",
        "Restart",
        "RestartSec",
        "RestartPreventExitStatus",
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectClock",
        "ProtectHostname",
        "ProtectProc",
        "ProcSubset",
        "RestrictAddressFamilies",
        "RestrictNamespaces",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RemoveIPC",
        "CapabilityBoundingSet",
        "AmbientCapabilities",
        "SystemCallArchitectures",
        "SystemCallFilter",
        "UMask",
        "CacheDirectory",
        "SystemCallErrorNumber",
    },
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "DynamicUser": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
}


def _parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: repeated keys accumulate, so configparser sees them as a list."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}:{number}: key outside a section"
        key, sep, value = line.partition("=")
        assert sep and key.strip() == key and key, f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize(
    "name",
    [
        "rumour-monitor.service",
        "rumour-monitor-poll.service",
        "rumour-monitor-poll.timer",
        "rumour-monitor-worker@.service",
    ],
)
def test_unit_uses_only_known_sections_and_keys(name: str) -> None:
    sections = _parse(UNITS / name)
    for section, keys in sections.items():
        assert section in KNOWN, f"{name}: unknown section [{section}]"
        unknown = set(keys) - KNOWN[section]
        assert not unknown, f"{name}: unknown keys in [{section}]: {sorted(unknown)}"
    configparser.ConfigParser(strict=False, interpolation=None).read(UNITS / name)


@pytest.mark.parametrize("name", ["rumour-monitor.service", "rumour-monitor-poll.service"])
def test_services_are_hardened_and_run_the_right_command(name: str) -> None:
    service = _parse(UNITS / name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{name}: {key} should be {value}"
    assert service["StateDirectory"] == ["rumour-monitor"]
    assert service["EnvironmentFile"] == ["-/etc/rumour-monitor/rumour-monitor.env"]
    assert "AF_INET" in service["RestrictAddressFamilies"][0]
    assert "@system-service" in service["SystemCallFilter"]
    command = service["ExecStart"][0].split()
    # The timer calls poll every few minutes: --due keeps each feed's interval and backoff.
    assert command[0] == EXEC and command[-2:] == (
        ["info", "run"] if name == "rumour-monitor.service" else ["poll", "--due"]
    )


def test_worker_template_has_the_services_hardening_and_runs_its_instances_queues() -> None:
    worker = _parse(UNITS / "rumour-monitor-worker@.service")["Service"]
    main = _parse(UNITS / "rumour-monitor.service")["Service"]
    hardening = [k for k in main if k.startswith(("Protect", "Restrict", "Private", "System"))]
    for key in [*hardening, "NoNewPrivileges", "DynamicUser", "CapabilityBoundingSet", "UMask"]:
        assert worker.get(key) == main[key], f"worker@: {key} differs from rumour-monitor.service"
    command = worker["ExecStart"][0].split()
    assert command[0] == EXEC and command[-3:] == ["worker", "--queues", "%i"]
    assert worker["Restart"] == ["on-failure"] and worker["RestartPreventExitStatus"] == ["2"]
    assert "-/etc/rumour-monitor/worker-%i.env" in worker["EnvironmentFile"]


def test_main_service_restarts_on_failure_and_speaks_notify() -> None:
    service = _parse(UNITS / "rumour-monitor.service")["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["Type"] == ["notify"] and "WatchdogSec" in service
    timer = _parse(UNITS / "rumour-monitor-poll.timer")["Timer"]
    assert timer["Unit"] == ["rumour-monitor-poll.service"]


def test_env_example_names_the_secrets_the_config_refers_to_and_sets_none() -> None:
    # It set RUMOUR_SMTP_PASSWORD=change-me and a live-looking webhook: copied as is, those
    # passed for secrets (and `check` said "set") until the first alert failed.
    lines = (UNITS / "rumour-monitor.env.example").read_text().splitlines()
    assert [line for line in lines if line.strip() and not line.startswith("#")] == []
    named = {line[2:].split("=", 1)[0] for line in lines if re.match(r"^# [A-Z_]+=$", line)}
    assert {"RUMOUR_SMTP_PASSWORD", "SLACK_WEBHOOK_URL", "RUMOUR_APPRISE_URLS"} <= named
    config = (UNITS.parent / "config.toml").read_text()
    assert "RUMOUR_SMTP_PASSWORD" in config and "SLACK_WEBHOOK_URL" in config


def test_the_poll_timer_catches_up_on_runs_missed_while_off() -> None:
    # Persistent= applies to OnCalendar= only: with OnUnitActiveSec= alone, the "catch up"
    # the comment promised never happened.
    timer = _parse(UNITS / "rumour-monitor-poll.timer")["Timer"]
    assert timer["Persistent"] == ["yes"]
    assert "OnUnitActiveSec" not in timer and "OnBootSec" not in timer
    (calendar,) = timer["OnCalendar"]
    if shutil.which("systemd-analyze"):
        check = subprocess.run(
            ["systemd-analyze", "calendar", "--iterations=2", calendar],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr
        stamp = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"
        first = re.findall(rf"Next elapse: \w+ {stamp}", check.stdout)[0]
        second = re.findall(rf"Iter\. #2: \w+ {stamp}", check.stdout)[0]
        gap = datetime.fromisoformat(second) - datetime.fromisoformat(first)
        assert gap == timedelta(minutes=15)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; point it at a binary that does
    for unit in UNITS.glob("rumour-monitor*.[st]*"):
        if unit.suffix in (".service", ".timer"):
            text = unit.read_text().replace(EXEC, shutil.which("true") or "/bin/true")
            (tmp_path / unit.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", *units],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys are only warnings


def _seconds(value: str) -> float:
    units = {"s": 1, "min": 60}
    number = value.rstrip("mins")
    return float(number) * units[value[len(number) :] or "s"]


def test_stop_timeout_outlasts_the_grace_an_alert_on_the_wire_gets(
    write_config: Callable[..., Path],
) -> None:
    # On SIGTERM `run` gives an alert being sent its channel's timeout (email: 30 s by
    # default). A shorter TimeoutStopSec makes systemd SIGKILL it mid-send: the alert would go
    # out again after the restart.
    from monitor.config import load_config
    from monitor.db import Database
    from monitor.service.lock import NoLock
    from monitor.service.metrics import Metrics
    from monitor.service.scheduler import Runtime, Service

    config = load_config(
        write_config(
            '[alerts.email]\nhost = "127.0.0.1"\nsender = "a@example.org"\n'
            'recipients = ["b@example.org"]\n[alerts.slack]\nwebhook_url = "https://h.example/x"\n'
        )
    )
    runtime = Runtime(config, Database("sqlite://"), Metrics())
    service = Service(runtime, [], NoLock())
    with runtime.delivery_lock:  # a send is in flight
        grace = service._grace()
    (stop,) = _parse(UNITS / "rumour-monitor.service")["Service"]["TimeoutStopSec"]
    assert _seconds(stop) >= grace + 10, f"TimeoutStopSec={stop}, stop grace {grace:g}s"
