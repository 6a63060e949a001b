"""bench/matching.py: its help and its table (the corpus run itself is a benchmark, not a test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "matching.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _bench().main(["--help"])
    assert stop.value.code == 0
    assert "--threshold" in capsys.readouterr().out


def test_report_gives_count_min_median_max_per_group(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    pairs = [bench.Pair("r", 0.2, "content filter fails"), bench.Pair("r", 0.7, "evidence")]
    pairs.append(bench.Pair("r", 0.9, "evidence"))
    bench.report(pairs, 0.55, by_rumour=False)
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["evidence", "2", "0.700", "0.800", "0.900"] for line in lines)
    assert any(line.split()[:4] == ["content", "filter", "fails", "1"] for line in lines)
