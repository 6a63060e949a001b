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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.assess_cli import run_assess
from train.data import fnc1_heldout_pairs, sample_groups
from train.metrics import STANCES, fnc_score, macro_f1, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, help="a seeded sample of about N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, help="a config.toml (default: built-in settings)")
    args = parser.parse_args()
    pairs = fnc1_heldout_pairs(args.folder)
    if args.limit is not None:
        pairs = sample_groups(pairs, lambda p: p[3], args.limit, args.seed)
    started = time.perf_counter()
    pred = [str(v["stance"]) for v in run_assess([(p[0], p[1]) for p in pairs], args.config)]
    seconds = time.perf_counter() - started
    gold = [p[2] for p in pairs]
    print(f"pairs      {len(pairs)} on {len({p[3] for p in pairs})} held-out bodies")
    print(f"FNC score  {fnc_score(gold, pred):.3f} of the maximum")
    print(f"macro-F1   {macro_f1(gold, pred, STANCES):.3f}")
    print(f"seconds    {seconds:.1f} for assess --pairs (model load included)\n")
    print(table(gold, pred, STANCES))


if __name__ == "__main__":
    main()
