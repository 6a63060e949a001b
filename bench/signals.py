"""The reader on the signal corpus's test stories (never trained on): per signal precision,
recall, F1 and the confusion, false signals on hard negatives by kind, and the stance.

    python bench/signals.py [--reader bundled|rules|FOLDER] [--split test]

`--reader rules` gives the figures of the rules alone, for comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.reading.embed import shared_encoder
from monitor.reading.reader import Passage, shared_reader
from train.corpus import load_corpus
from train.data import cosines
from train.metrics import SIGNALS, STANCES, accuracy, macro_f1, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reader", default="bundled")
    parser.add_argument("--split", default="test", choices=("train", "test"))
    args = parser.parse_args()
    rows = load_corpus(split=args.split)
    encoder = shared_encoder("bundled")
    sims = cosines([(r.claim, r.sentence) for r in rows], lambda texts: encoder.encode(texts, 64))
    passages = [
        Passage(r.claim, r.sentence, tuple(r.neighbours), s)
        for r, s in zip(rows, sims, strict=True)
    ]
    reader = shared_reader(args.reader)
    started = time.perf_counter()
    verdicts = reader.read(passages)
    seconds = time.perf_counter() - started
    gold = [r.signal for r in rows]
    read = [v.signal for v in verdicts]
    hard = Counter(r.hard for r in rows if r.hard)
    false = Counter(
        r.hard for r, v in zip(rows, verdicts, strict=True) if r.hard and v.signal != "none"
    )
    print(f"reader     {reader.version}")
    print(f"rows       {len(rows)} ({len({r.story for r in rows})} stories, split {args.split})")
    print(f"signal     macro-F1 {macro_f1(gold, read, SIGNALS):.3f}")
    stances = ([r.stance for r in rows], [v.stance for v in verdicts])
    print(
        f"stance     accuracy {accuracy(*stances):.3f}, macro-F1 {macro_f1(*stances, STANCES):.3f}"
    )
    print(
        f"false      {sum(false.values())} of {sum(hard.values())} hard negatives got a signal "
        f"({sum(false.values()) / max(1, sum(hard.values())):.1%})"
    )
    print(f"speed      {len(rows) / seconds:.0f} passages/s\n")
    print(table(gold, read, SIGNALS))
    print("\nfalse signals by kind of hard negative")
    for kind, count in sorted(hard.items()):
        print(f"  {kind:<16} {false[kind]:>3} of {count}")


if __name__ == "__main__":
    main()
