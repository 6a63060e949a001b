"""The Makefile's targets as `make -n` prints them: what each installs, and where."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")


def _commands(target: str) -> list[str]:
    # a VENV of its own: make -n must not see the checkout's .venv stamp as up to date
    result = subprocess.run(
        ["make", "-n", "-B", target, "VENV=/nonexistent/venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def _installs(commands: list[str]) -> list[str]:
    return [c.split("pip install", 1)[1] for c in commands if "pip install" in c]


def test_install_is_the_monitor_alone_copied_into_the_venv() -> None:
    # The systemd recipe ran `make setup`: pytest, ruff and mypy in production, and an
    # editable install tied to a checkout that may change under the running service.
    installs = _installs(_commands("install"))
    assert installs[-1].split() == ["--quiet", "."]
    for options in installs:
        assert "[test]" not in options and not re.search(r"(^|\s)(-e|--editable)\s", options)
    # the same pinned torch as `setup`: the CPU wheel, not gigabytes of CUDA
    torch = [i for i in installs if "torch" in i]
    assert torch and torch == [i for i in _installs(_commands("setup")) if "torch" in i]


def test_setup_keeps_the_test_tools_for_development() -> None:
    assert any("-e '.[test]'" in options for options in _installs(_commands("setup")))


def test_the_readme_installs_for_systemd_with_make_install() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipe = readme[readme.index("### Install with systemd") :]
    recipe = recipe[: recipe.index("\n### ", 1)]
    assert "sudo make install" in recipe and "make setup" not in recipe
