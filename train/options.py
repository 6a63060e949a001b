"""train.stance's command line, and what follows from it: the seeds and the signal scoring."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from monitor.reading.model import network
from monitor.reading.reader import CUMULATIVE, JOINT, SIDE, SIGNAL
from train.corpus import FOLDER

ROOT = Path(__file__).resolve().parents[1]


def parser(description: str = "") -> argparse.ArgumentParser:
    """train.stance's options; ``description`` heads its --help."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fnc1", type=Path, required=True, help="FNC-1 folder (train_*.csv)")
    parser.add_argument("--emergent", type=Path, required=True, help="Emergent-format CSV")
    parser.add_argument("--corpus", type=Path, default=FOLDER, help="the signal corpus folder")
    parser.add_argument("--out", type=Path, required=True, help="where the reader is written")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "train")
    parser.add_argument(
        "--seed",
        type=int,
        default=13,
        help="of training and of the dev split (with --weights: the weights' own)",
    )
    parser.add_argument(
        "--split-seed",
        type=int,
        help="of the dev fifth of the corpus's train stories, when it should not follow --seed: "
        "runs that share it share their dev stories, so their readings of them can be pooled",
    )
    parser.add_argument(
        "--stage1-seed",
        type=int,
        help="of stage 1 (FNC-1), when it should not follow --seed: runs that share it start "
        "stage 2 from the same weights (and the cache), so only stage 2's seed tells them apart",
    )
    parser.add_argument("--fnc1-rows", type=int, default=6000, help="stage-1 pairs (seeded)")
    parser.add_argument("--unrelated-share", type=float, default=0.2)
    parser.add_argument("--replay", type=int, default=800, help="FNC-1 pairs again in stage 2")
    parser.add_argument("--fnc1-epochs", type=int, default=1, help="stage-1 epochs")
    parser.add_argument("--epochs", type=int, default=4, help="stage-2 epochs")
    parser.add_argument("--lr", type=float, default=5e-5, help="stage-2 learning rate")
    parser.add_argument(
        "--signal-weight",
        type=float,
        default=1.0,
        help="stage 2: the signal head's loss weighed against the stance head's",
    )
    parser.add_argument(
        "--hard-weight",
        type=float,
        default=1.0,
        help="stage 2: a hard negative's signal loss against an ordinary sentence's",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        help="measure a folder an earlier run wrote (its weights as shipped) instead of training",
    )
    parser.add_argument(
        "--seen-corpus",
        type=Path,
        help="with --weights: the corpus folder those weights were trained on; the thresholds "
        "are then chosen on every train story not in it (stories it never saw)",
    )
    parser.add_argument(
        "--keep-thresholds",
        action="store_true",
        help="with --weights: measure with the folder's own signal thresholds, choosing none",
    )
    parser.add_argument("--no-emergent", action="store_true", help="never train on Emergent")
    parser.add_argument("--emergent-folds", type=int, default=0, help="measure Emergent by claim")
    parser.add_argument(
        "--joint",
        action="store_true",
        help="score a signal by its probability and its stance's together (reader.json's "
        "signal_score), not by its own alone",
    )
    parser.add_argument(
        "--cumulative",
        action="store_true",
        help="as --joint, and a weaker act counts the stronger one's probability too (a formal "
        "act is also a confirmation, a call-off also a denial): a sentence split between "
        "confirm and formalize still confirms",
    )
    parser.add_argument(
        "--by-side",
        action="store_true",
        help="as --joint, scoring both acts of a side together and giving the likelier: a "
        "signed agreement the network splits 0.6 / 0.4 between formalize and confirm is a "
        "formal act, where --joint finds neither sure enough",
    )
    parser.add_argument(
        "--confident",
        action="store_true",
        help="hold --most-false with 95%% confidence on the dev stories, not just as seen "
        "(fewer false signals on new stories, and fewer signals)",
    )
    parser.add_argument(
        "--swap-parties",
        action="store_true",
        help="train on a twin of each signal sentence that names the claim's last party, with an "
        "invented company in its place, read as unrelated (the same act by somebody else; "
        "train/swap.py)",
    )
    parser.add_argument(
        "--swap-share",
        type=float,
        default=1.0,
        help="with --swap-parties: the share of those signal sentences that get a twin (drawn "
        "with --seed)",
    )
    parser.add_argument(
        "--reported-thresholds",
        action="store_true",
        help="choose the thresholds for sentences the rules read as reported, not on record (a "
        "third party, 'said to', a hedge) apart from the others' (reader.json's "
        "signal_thresholds_reported)",
    )
    parser.add_argument("--most-false", type=float, default=0.01, help="false signals allowed")
    parser.add_argument(
        "--least-threshold",
        type=float,
        default=0.3,
        help="no signal threshold below this: the dev stories hold a few hundred hard "
        "negatives, and a threshold they allow at 0.6 lets the network's unsure readings of "
        "wording they lack move states",
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--version", default=datetime.now(UTC).strftime("%Y-%m-%d"))
    parser.add_argument("--limit", type=int, default=0, help="smoke test: cap every set at N")
    return parser


def scoring(args: argparse.Namespace) -> str:
    """How signals are scored (`monitor.reading.reader.decide`), from the flags."""
    if getattr(args, "cumulative", False):
        return CUMULATIVE
    if getattr(args, "by_side", False):
        return SIDE
    return JOINT if args.joint else SIGNAL


def split_seed(args: argparse.Namespace) -> int:
    """The seed the dev stories are drawn with."""
    chosen = getattr(args, "split_seed", None)
    return args.seed if chosen is None else int(chosen)


def stage1_seed(args: argparse.Namespace) -> int:
    """The seed of stage 1 (FNC-1)."""
    chosen = getattr(args, "stage1_seed", None)
    return args.seed if chosen is None else int(chosen)


def trained_seeds(trained: network.NetworkConfig) -> argparse.Namespace | None:
    """The seeds a trained folder's run was given (``reader.json`` keeps them as strings, an
    unset one as "None"), for `split_seed` and `stage1_seed`; None for a folder that kept none."""
    settings = trained.settings()
    if settings.get("seed") in (None, "None"):
        return None

    def number(name: str) -> int | None:
        value = settings.get(name)
        return None if value in (None, "None") else int(value)

    return argparse.Namespace(
        seed=number("seed"), split_seed=number("split_seed"), stage1_seed=number("stage1_seed")
    )


def follow_seed(
    args: argparse.Namespace, trained: network.NetworkConfig, log: Callable[[str], None]
) -> None:
    """Measuring weights, the dev stories are drawn with the seeds they were trained with: with
    others, the dev fifth would hold stories they were trained on."""
    theirs = trained_seeds(trained)
    if theirs is None:
        return
    if (theirs.seed, theirs.split_seed) != (args.seed, getattr(args, "split_seed", None)):
        args.seed, args.split_seed = theirs.seed, theirs.split_seed
        log(
            f"seed {args.seed}, dev stories drawn with seed {split_seed(args)}, as the weights "
            "were trained with: the same dev stories"
        )
