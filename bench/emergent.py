"""Emergent claim/headline pairs through the product path: `rumour-monitor assess --pairs`.

    python bench/emergent.py PATH [--heldout] [--limit N] [--seed S] [--config FILE]

PATH is an Emergent-format CSV (claimId, claimHeadline, articleHeadline, articleHeadlineStance:
for / against / observing), read from where it lies; the pairs go to the command through a
temporary file and nothing is kept. Every pair is related, so an `unrelated` verdict counts as a
miss (reported apart as the share the matching layer dropped). `--limit` takes a seeded sample
of whole claims; `--heldout` keeps only the fifth of claims the training script never trains
on (``train.data.emergent_heldout``), the figure to quote for a reader trained since it held them
out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.assess_cli import run_assess
from train.data import EMERGENT, emergent_heldout, read_csv, sample_groups
from train.metrics import accuracy, confusion, macro_f1, per_class

LABELS = ("for", "against", "observing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--limit", type=int, help="a seeded sample of whole claims, about N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--heldout", action="store_true", help="only the claims training never sees"
    )
    parser.add_argument("--config", type=Path, help="a config.toml (default: built-in settings)")
    args = parser.parse_args()
    rows = read_csv(args.path)
    if args.heldout:
        rows = [r for r in rows if emergent_heldout(r["claimId"])]
    if args.limit is not None:
        rows = sample_groups(rows, lambda r: r["claimId"], args.limit, args.seed)
    started = time.perf_counter()
    results = run_assess([(r["claimHeadline"], r["articleHeadline"]) for r in rows], args.config)
    seconds = time.perf_counter() - started
    gold = [r["articleHeadlineStance"] for r in rows]
    pred = [EMERGENT.get(str(r["stance"]), "unrelated") for r in results]
    per = {k: v.f1 for k, v in per_class(gold, pred, LABELS).items()}
    print(f"pairs      {len(gold)} ({len({r['claimId'] for r in rows})} claims)")
    print(f"accuracy   {accuracy(gold, pred):.3f}")
    print(
        f"macro-F1   {macro_f1(gold, pred, LABELS):.3f}   "
        + "  ".join(f"{k} {v:.3f}" for k, v in per.items())
    )
    print(f"dropped    {pred.count('unrelated') / len(pred):.3f} read as unrelated")
    print(f"seconds    {seconds:.1f} (model load included)")
    counts = confusion(gold, pred)
    print("\ngold \\ read  " + "  ".join(f"{p:>9}" for p in (*LABELS, "unrelated")))
    for g in LABELS:
        print(f"{g:<12} " + "  ".join(f"{counts[(g, p)]:>9}" for p in (*LABELS, "unrelated")))


if __name__ == "__main__":
    main()
