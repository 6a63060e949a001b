"""Emergent claim/headline pairs through the product path: `rumour-monitor assess --pairs`.

    python bench/emergent.py PATH [--limit N] [--seed S] [--config FILE]

PATH is an Emergent-format CSV (claimId, claimHeadline, articleHeadline, articleHeadlineStance:
for / against / observing), read from where it lies; the pairs go to the command through a
temporary file and nothing is kept. Every pair is related, so an `unrelated` verdict counts as a
miss (reported apart as the share the matching layer dropped). `--limit` takes a seeded sample
of whole claims.
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
from collections import Counter
from pathlib import Path

TO_EMERGENT = {"supports": "for", "denies": "against", "reports": "observing"}
LABELS = ("for", "against", "observing")


def read_rows(path: Path, limit: int | None, seed: int) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit is None or limit >= len(rows):
        return rows
    claims = sorted({r["claimId"] for r in rows})
    random.Random(seed).shuffle(claims)
    chosen: set[str] = set()
    for claim in claims:
        if sum(r["claimId"] in chosen for r in rows) >= limit:
            break
        chosen.add(claim)
    return [r for r in rows if r["claimId"] in chosen]


def assess(rows: list[dict[str, str]], config: Path | None) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "pairs.jsonl"
        with pairs.open("w", encoding="utf-8") as out:
            for i, row in enumerate(rows):
                item = {"id": i, "claim": row["claimHeadline"], "text": row["articleHeadline"]}
                out.write(json.dumps(item) + "\n")
        command = [sys.executable, "-m", "monitor"]
        if config is not None:
            command += ["--config", str(config)]
        done = subprocess.run(
            [*command, "assess", "--pairs", str(pairs)], capture_output=True, text=True, check=True
        )
    return [json.loads(line) for line in done.stdout.splitlines()]


def macro_f1(
    gold: list[str], pred: list[str], labels: tuple[str, ...]
) -> tuple[float, dict[str, float]]:
    per = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        precision = tp / pred.count(label) if pred.count(label) else 0.0
        recall = tp / gold.count(label) if gold.count(label) else 0.0
        per[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return sum(per.values()) / len(labels), per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--limit", type=int, help="a seeded sample of whole claims, about N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, help="a config.toml (default: built-in settings)")
    args = parser.parse_args()
    rows = read_rows(args.path, args.limit, args.seed)
    started = time.perf_counter()
    results = assess(rows, args.config)
    seconds = time.perf_counter() - started
    gold = [r["articleHeadlineStance"] for r in rows]
    pred = [TO_EMERGENT.get(str(r["stance"]), "unrelated") for r in results]
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    f1, per = macro_f1(gold, pred, LABELS)
    print(f"pairs      {len(gold)} ({len({r['claimId'] for r in rows})} claims)")
    print(f"accuracy   {accuracy:.3f}")
    print(f"macro-F1   {f1:.3f}   " + "  ".join(f"{k} {v:.3f}" for k, v in per.items()))
    print(f"dropped    {pred.count('unrelated') / len(pred):.3f} read as unrelated")
    print(f"seconds    {seconds:.1f} (model load included)")
    confusion = Counter(zip(gold, pred, strict=True))
    print("\ngold \\ read  " + "  ".join(f"{p:>9}" for p in (*LABELS, "unrelated")))
    for g in LABELS:
        print(f"{g:<12} " + "  ".join(f"{confusion[(g, p)]:>9}" for p in (*LABELS, "unrelated")))


if __name__ == "__main__":
    main()
