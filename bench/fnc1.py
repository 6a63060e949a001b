"""FNC-1 held-out bodies through the product path: `rumour-monitor assess --pairs`.

    python bench/fnc1.py FOLDER [--limit N] [--seed S] [--config FILE]

FOLDER holds FNC-1's train_stances.csv and train_bodies.csv, read from where they lie; only the
bodies whose Body ID is divisible by five (never trained on) are used, each pair as a claim (the
headline) against a whole article body. Prints FNC-1's score as a share of the best possible,
the macro-F1 over the four classes, the confusion, and the time `assess` took. `--limit` takes
a seeded sample of about N pairs, whole bodies at a time.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.metrics import STANCES, fnc_score, macro_f1, table

TO_STANCE = {"agree": "supports", "disagree": "denies", "discuss": "reports"}
TO_STANCE["unrelated"] = "unrelated"


def read_pairs(folder: Path, limit: int | None, seed: int) -> list[tuple[str, str, str]]:
    with (folder / "train_bodies.csv").open(newline="", encoding="utf-8") as handle:
        bodies = {r["Body ID"]: r["articleBody"] for r in csv.DictReader(handle)}
    with (folder / "train_stances.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["Body ID"]) % 5 == 0]
    if limit is not None:
        ids = sorted({r["Body ID"] for r in rows})
        random.Random(seed).shuffle(ids)
        chosen: set[str] = set()
        for body in ids:
            if sum(r["Body ID"] in chosen for r in rows) >= limit:
                break
            chosen.add(body)
        rows = [r for r in rows if r["Body ID"] in chosen]
    return [(r["Headline"], bodies[r["Body ID"]], TO_STANCE[r["Stance"]]) for r in rows]


def assess(pairs: list[tuple[str, str, str]], config: Path | None) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for i, (claim, body, _) in enumerate(pairs):
                out.write(json.dumps({"id": i, "claim": claim, "text": body}) + "\n")
        command = [sys.executable, "-m", "monitor"]
        if config is not None:
            command += ["--config", str(config)]
        done = subprocess.run(
            [*command, "assess", "--pairs", str(path)], capture_output=True, text=True, check=True
        )
    return [str(json.loads(line)["stance"]) for line in done.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, help="a seeded sample of about N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, help="a config.toml (default: built-in settings)")
    args = parser.parse_args()
    pairs = read_pairs(args.folder, args.limit, args.seed)
    started = time.perf_counter()
    pred = assess(pairs, args.config)
    seconds = time.perf_counter() - started
    gold = [p[2] for p in pairs]
    print(f"pairs      {len(pairs)} on {len({p[1] for p in pairs})} held-out bodies")
    print(f"FNC score  {fnc_score(gold, pred):.3f} of the maximum")
    print(f"macro-F1   {macro_f1(gold, pred, STANCES):.3f}")
    print(f"seconds    {seconds:.1f} for assess --pairs (model load included)\n")
    print(table(gold, pred, STANCES))


if __name__ == "__main__":
    main()
