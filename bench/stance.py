"""Measure monitor.reading.rules.judge.judge on an Emergent-format CSV of claim/headline pairs.

    python bench/stance.py PATH

The CSV needs the columns claimHeadline, articleHeadline and articleHeadlineStance
(for / against / observing). It is read from the path given and never copied anywhere.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

from monitor.reading.rules.judge import Lexicon, judge, load_lexicon

LABELLED = Path(__file__).parents[1] / "tests" / "fixtures" / "stance_labelled.jsonl"

LABELS = ("for", "against", "observing")
TO_EMERGENT = {
    "supports": "for",
    "denies": "against",
    "reports": "observing",
    "unrelated": "observing",
}


def read_pairs(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            (row["claimHeadline"], row["articleHeadline"], row["articleHeadlineStance"])
            for row in csv.DictReader(handle)
        ]


def scores(gold: list[str], pred: list[str]) -> dict[str, tuple[float, float, float, int]]:
    table: dict[str, tuple[float, float, float, int]] = {}
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        predicted, actual = pred.count(label), gold.count(label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = (precision, recall, f1, actual)
    return table


def report(gold: list[str], pred: list[str], seconds: float) -> None:
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    table = scores(gold, pred)
    print(f"pairs      {len(gold)}")
    print(f"accuracy   {accuracy:.3f}")
    print(f"macro-F1   {sum(v[2] for v in table.values()) / len(LABELS):.3f}")
    print(f"pairs/s    {len(gold) / seconds:,.0f}")
    print(f"\n{'class':<10} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
    for label, (p, r, f, n) in table.items():
        print(f"{label:<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:5d}")
    confusion = Counter(zip(gold, pred, strict=True))
    print("\nconfusion (rows gold, columns predicted)")
    print(" " * 10 + "".join(f"{label:>10}" for label in LABELS))
    for g in LABELS:
        print(f"{g:<10}" + "".join(f"{confusion[(g, p)]:>10}" for p in LABELS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="Emergent-format CSV")
    args = parser.parse_args(argv)
    pairs = read_pairs(args.path)
    lexicon = load_lexicon()
    for title, learned in (("rules only", False), ("rules + learned layer", True)):
        started = time.perf_counter()
        pred = [
            TO_EMERGENT[judge(headline, claim, lexicon=lexicon, learned=learned).stance]
            for claim, headline, _ in pairs
        ]
        seconds = time.perf_counter() - started
        print(f"\n== {title}")
        report([gold for _, _, gold in pairs], pred, seconds)
    labelled_set(lexicon)
    return 0


def labelled_set(lexicon: Lexicon) -> None:
    """Our own labelled sentences (tests/fixtures): accuracy per variant and the rules' speed."""
    with LABELLED.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    print(f"\n== our labelled set ({len(rows)} sentences)")
    for learned in (False, True):
        started = time.perf_counter()
        got = [
            judge(
                r["sentence"],
                r["claim"],
                context=r.get("context", ""),
                lexicon=lexicon,
                learned=learned,
            )
            for r in rows
        ]
        rate = len(rows) / (time.perf_counter() - started)
        stance = sum(g.stance == r["stance"] for g, r in zip(got, rows, strict=True)) / len(rows)
        signal = sum(g.signal == r["signal"] for g, r in zip(got, rows, strict=True)) / len(rows)
        name = "learned" if learned else "rules"
        print(f"{name:<8} stance {stance:.3f}  signal {signal:.3f}  sentences/s {rate:,.0f}")


if __name__ == "__main__":
    sys.exit(main())
