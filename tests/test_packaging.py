"""The wheel carries every package and its data: lexicon, learned weights, sentence rules,
the demo's timeline, the migrations and the web view's templates, loadable from an installed
copy, not only a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGES = [
    "polling",
    "reading",
    "reading/rules",
    "alerts",
    "db",
    "config",
    "cli",
    "service",
    "checks",
    "timeline",
]
DATA = [
    "monitor/py.typed",
    "monitor/reading/data/text.toml",
    "monitor/reading/rules/data/stance.toml",
    "monitor/reading/rules/data/stance_model.json",
    "monitor/reading/model/data/reader.safetensors",
    "monitor/reading/model/data/reader.json",
    "monitor/reading/model/data/MODEL_CARD.md",
    "monitor/timeline/xiaomi/rumours.toml",
    "monitor/timeline/xiaomi/2021-09-06-xiaomi-great-wall-agreement.txt",
    "monitor/db/migrations/env.py",
    "monitor/db/migrations/versions/0001_initial_schema.py",
    "monitor/service/templates/base.html",
    "monitor/service/templates/style.css",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        cwd=out,
        timeout=600,
    )
    (built,) = out.glob("rumour_monitor-*.whl")
    return built


def test_the_wheel_holds_every_package_and_its_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"monitor/{package}/__init__.py" in names, package
    for path in DATA:
        assert path in names, path
    timeline = [n for n in names if n.startswith("monitor/timeline/xiaomi/") and n.endswith(".txt")]
    assert len(timeline) == len(list((ROOT / "monitor/timeline/xiaomi").glob("*.txt")))
    templates = [n for n in names if n.startswith("monitor/service/templates/")]
    assert len(templates) == len(list((ROOT / "monitor/service/templates").iterdir()))
    assert not [n for n in names if n.startswith("tests/")]


def test_an_installed_wheel_reads_its_own_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    probe = (
        "import monitor, monitor.reading.text as t, monitor.timeline.demo as d;"
        "from monitor.service import webview;"
        "from monitor.reading.rules import load_lexicon, load_model;"
        "from monitor.db import MIGRATIONS;"
        "from monitor.reading.model import PACKAGED;"
        f"assert PACKAGED.is_relative_to({str(target)!r});"
        "assert (PACKAGED / 'reader.safetensors').stat().st_size > 10_000_000;"
        f"assert monitor.__file__.startswith({str(target)!r}), monitor.__file__;"
        "assert load_lexicon().weights and load_model().features;"
        "assert t.article_sentences('One. Two here.', 'Title');"
        "assert (d.TIMELINE / 'rumours.toml').is_file() and (MIGRATIONS / 'env.py').is_file();"
        f"assert webview.TEMPLATES.is_relative_to({str(target)!r});"
        "assert 'Feeds' in webview.feeds_page([]) and 'Rumours' in webview.status_page([]);"
        "print('ok')"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
