"""The product's command on a list of pairs, for the benchmarks that measure through it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def run_assess(pairs: list[tuple[str, str]], config: Path | None) -> list[dict[str, object]]:
    """`rumour-monitor assess --pairs` on (claim, text) pairs, through a temporary file (nothing
    is kept); one verdict per pair, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for i, (claim, text) in enumerate(pairs):
                out.write(json.dumps({"id": i, "claim": claim, "text": text}) + "\n")
        command = [sys.executable, "-m", "monitor"]
        if config is not None:
            command += ["--config", str(config)]
        done = subprocess.run(
            [*command, "assess", "--pairs", str(path)], capture_output=True, text=True, check=True
        )
    return [json.loads(line) for line in done.stdout.splitlines()]
