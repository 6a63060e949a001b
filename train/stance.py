"""Train the stance and signal reader the package ships, and measure it on data it never saw.

    python -m train.stance --fnc1 DIR --emergent FILE --out monitor/reading/model/data

Starts from the bundled all-MiniLM-L6-v2 (word embeddings frozen: they are not shipped) and
fine-tunes a cross-encoder with two heads (see ``monitor.reading.model.network``):

1. stance on FNC-1 pairs of the training bodies (Body ID not divisible by five): each pair's
   closest body sentence, with the lead and the sentence before, as the product reads it;
2. stance and signal on the signal corpus's train stories (``train/corpus``) less a fifth kept
   for choosing the signal threshold, plus Emergent claim/headline pairs (but for its held-out
   claims) and some FNC-1 pairs again so stage 1 is not forgotten.

Measured on FNC-1's held-out bodies, the corpus's test stories, our labelled sentences
(``tests/fixtures/stance_labelled.jsonl``) and Emergent's held-out claims (a fifth by hash,
``train.data.emergent_heldout``, never trained on); ``--emergent-folds`` also measures the
trained claims by folds, each fold training stage 2 again without its claims. Writes
``reader.safetensors``, ``reader.json`` and ``MODEL_CARD.md`` to --out, and ``train.log``.
Seeded; the vectors of the bi-encoder are cached in --cache between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Waiting OpenMP threads spin by default: on a shared 2-core machine that costs several times
# the wall time.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

from monitor.reading.model import network
from monitor.reading.reader import (
    CUMULATIVE,
    JOINT,
    SIDE,
    SIGNAL,
    Passage,
    Thresholds,
    feature_matrix,
    thresholds,
)
from monitor.reading.rules import load_lexicon
from monitor.reading.rules.findings import Findings, find
from train import card, data, evaluate, fit, swap
from train.corpus import load_corpus
from train.options import follow_seed, parser, scoring, split_seed, stage1_seed

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "fixtures" / "stance_labelled.jsonl"
FEATURES = (
    "cosine",
    "rule_supports",
    "rule_denies",
    "rule_unrelated",
    "rule_signal",
    "rule_assertion",
    "rule_confirm",
    "rule_formalize",
    "rule_deny",
    "rule_abandon",
    "source_hedge",
    "modal_hedge",
    "speculation",
    "future",
    "confirm",
    "formalize",
    "deny",
    "debunk",
    "abandon",
    "say_party",
    "say_other",
    "negation_on_claim",
    "negation_any",
    "question",
    "quotes",
    "colon_source",
    "colon_topic",
    "coverage",
    "novelty",
    "claim_negative",
    "claim_falsehood",
    "claim_hedged",
    "length",
    "party_missing",
    "other_names",
)


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def findings(examples: Sequence[data.Example]) -> list[Findings]:
    lexicon = load_lexicon()
    return [find(e.passage.sentence, e.passage.claim, e.passage.context, lexicon) for e in examples]


def with_features(examples: Sequence[data.Example]) -> np.ndarray:
    return feature_matrix([e.passage for e in examples], findings(examples), FEATURES)


def sample_fnc1(
    examples: list[data.Example], rows: int, unrelated: float, seed: int
) -> list[data.Example]:
    """Every related pair and a share of the unrelated ones (they are easy), at most ``rows``."""
    rng = random.Random(seed)
    related = [e for e in examples if e.stance != "unrelated"]
    others = [e for e in examples if e.stance == "unrelated"]
    picked = related + rng.sample(others, int(len(others) * unrelated))
    rng.shuffle(picked)
    return picked[:rows]


def labelled(vectors: data.VectorCache) -> list[data.Example]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line]
    vectors.get([r["sentence"] for r in rows] + [r["claim"] for r in rows])
    examples = []
    for row in rows:
        sim = float(vectors.get([row["sentence"]])[0] @ vectors.get([row["claim"]])[0])
        passage = Passage(row["claim"], row["sentence"], (), sim)
        examples.append(data.Example(passage, row["stance"], row["signal"], "labelled"))
    return examples


def stage_two(
    base: dict[str, torch.Tensor],
    config: network.NetworkConfig,
    tokenizer: Any,
    examples: list[data.Example],
    args: argparse.Namespace,
    log: Log,
    tag: str,
) -> network.CrossEncoder:
    model = network.build(config)
    model.load_state_dict(base)
    fit.freeze_word_embeddings(model)
    settings = fit.Settings(
        epochs=args.epochs,
        lr=args.lr,
        max_length=args.max_length,
        signal_weight=args.signal_weight,
        hard_weight=args.hard_weight,
    )
    fit.train(model, tokenizer, examples, with_features(examples), settings, args.seed, log, tag)
    return model


def stage_one(
    config: network.NetworkConfig,
    tokenizer: Any,
    fnc_train: list[data.Example],
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> dict[str, torch.Tensor]:
    """Stance on FNC-1; kept in --cache under its settings, so a run that changes only stage 2
    starts from the same weights instead of training them again."""
    settings = fit.Settings(epochs=args.fnc1_epochs, max_length=args.max_length)
    seed = stage1_seed(args)
    key = json.dumps(
        [
            seed,
            args.fnc1_rows,
            args.unrelated_share,
            config.layers,
            config.features,
            # Only what stage 1 uses: a new stage-2 setting must not make a new cache.
            [settings.epochs, settings.lr, settings.head_lr, settings.batch_size],
            [settings.max_length, settings.class_weight_power],
            "seeded heads",  # caches made before the heads were seeded are not reused
        ],
    )
    saved = args.cache / f"stage1-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    # The heads start from random weights: drawn unseeded, no two runs were the same.
    fit.seed_all(seed)
    model = network.build(config)
    if saved.exists():
        log(f"[fnc1] stage 1 from {saved}")
        model.load_state_dict(torch.load(saved))
        return model.state_dict()
    fit.freeze_word_embeddings(model)
    stage1 = sample_fnc1(fnc_train, args.fnc1_rows, args.unrelated_share, seed)
    fit.train(model, tokenizer, stage1, with_features(stage1), settings, seed, log, "fnc1")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save(state, saved)
    return state


def main() -> None:
    args = parser(__doc__).parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out / "train.log")
    started = time.perf_counter()
    log(f"train.stance {datetime.now(UTC).isoformat(timespec='seconds')} {vars(args)}")
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(str(network.base_path()), device="cpu")
    vectors = data.VectorCache(
        args.cache,
        lambda texts: encoder.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        ),
    )
    fnc_train = data.fnc1_examples(args.fnc1, vectors, heldout=False, per_body=1)
    fnc_test = data.fnc1_examples(args.fnc1, vectors, heldout=True, per_body=1)
    emergent: list[data.Example] = []
    emergent_test: list[data.Example] = []
    for example in data.emergent_examples(args.emergent, vectors):
        held = data.emergent_heldout(example.group.removeprefix("claim:"))
        (emergent_test if held else emergent).append(example)
    corpus = data.corpus_examples(load_corpus(args.corpus, "train"), vectors)
    corpus_test = data.corpus_examples(load_corpus(args.corpus, "test"), vectors)
    if args.weights:
        follow_seed(args, network.read_config(args.weights), log)
    corpus_fit, corpus_dev = data.by_group(corpus, 0.2, split_seed(args))
    if args.weights and args.seen_corpus:
        seen = {f"story:{r.story}" for r in load_corpus(args.seen_corpus)}
        corpus_dev = [e for e in corpus if e.group not in seen]
    if args.swap_parties and not args.weights:
        twins = swap.swapped(corpus_fit, vectors, args.seed, args.swap_share)
        log(f"swapped parties: {len(twins)} signal sentences of the fit stories twinned")
        corpus_fit = corpus_fit + twins
    ours = labelled(vectors)
    vectors.save()
    if args.limit:
        cap = args.limit
        fnc_train, fnc_test, emergent = fnc_train[:cap], fnc_test[:cap], emergent[:cap]
        emergent_test = emergent_test[:cap]
        corpus_fit, corpus_dev, corpus_test = corpus_fit[:cap], corpus_dev[:cap], corpus_test[:cap]
        ours = ours[:cap]
    log(
        f"data: fnc1 {len(fnc_train)} train / {len(fnc_test)} held-out pairs, emergent "
        f"{len(emergent)} train / {len(emergent_test)} held-out, corpus {len(corpus_fit)} fit / "
        f"{len(corpus_dev)} dev / {len(corpus_test)} test, labelled {len(ours)}"
    )
    config = network.NetworkConfig(
        version=args.version,
        layers=args.layers,
        max_length=args.max_length,
        features=FEATURES,
        base_sha256=network.file_sha256(network.base_path() / "model.safetensors"),
    )
    tokenizer = network_tokenizer()
    measured: dict[str, Any] = {}
    # Of the run that trained the weights, when they are only measured here.
    training: dict[str, Any] = {}
    if args.weights:
        model, _, trained = network.load(args.weights)
        made = ("trained", "seconds", "settings", "soup_of")
        training = {k: trained.extra[k] for k in made if k in trained.extra}
        config = network.NetworkConfig(**{**trained.__dict__, "extra": {}})
        log(f"weights from {args.weights}, as the product loads them")
    else:
        trained_network = train_reader(
            config, tokenizer, fnc_train, corpus_fit, emergent, args, log, measured
        )
        # Thresholds are chosen and figures measured on the network as the product loads it
        # (fp16 weights, int8 linear layers), never on the fp32 one training ended with.
        network.save(trained_network, config, args.out)
        model, _, config = network.load(args.out)
        log(f"measured as the product loads {args.out}: int8 {config.int8}")
    # Read once: for the thresholds and for the dev figures.
    dev = evaluate.read(model, tokenizer, config, corpus_dev, findings(corpus_dev))
    if args.weights and args.keep_thresholds:
        threshold = kept_thresholds(trained)
        kept = trained.extra.get("signal_score")
        args.joint = kept in (JOINT, CUMULATIVE, SIDE)
        args.cumulative, args.by_side = kept == CUMULATIVE, kept == SIDE
        log(f"signal thresholds {threshold} (kept from {args.weights}), {scoring(args)}")
    else:
        common = evaluate.choose_thresholds(
            corpus_dev, dev, args.most_false, scoring(args), args.confident, args.least_threshold
        )
        threshold = Thresholds(common, common)
        if args.reported_thresholds:
            threshold = evaluate.choose_reported(
                corpus_dev,
                dev,
                common,
                args.most_false,
                scoring(args),
                args.confident,
                args.least_threshold,
            )
        log(
            f"signal thresholds {threshold} (dev stories, at most {args.most_false:.0%} false, "
            f"confident {args.confident}, scored by {scoring(args)})"
        )
    measured.update(
        measure(
            model,
            tokenizer,
            config,
            threshold,
            fnc_test,
            corpus_test,
            (corpus_dev, dev),
            ours,
            (emergent_test, emergent),
            scoring(args),
        )
    )
    for name, report in measured.items():
        log(f"\n== {name}\n" + "\n".join(f"{k}: {v}" for k, v in report.items() if k != "table"))
        if "table" in report:
            log(report["table"])
    final = network.NetworkConfig(
        **{
            **config.__dict__,
            "extra": {
                "signal_threshold": max(threshold.on_record.values()),
                "signal_thresholds": dict(threshold.on_record),
                **(
                    {"signal_thresholds_reported": dict(threshold.reported)}
                    if threshold.reported != threshold.on_record
                    else {}
                ),
                "signal_score": scoring(args),
                "trained": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - started),
                "settings": {k: str(v) for k, v in vars(args).items()},
                **training,
                **(
                    {"measured_with": {k: str(v) for k, v in vars(args).items()}}
                    if training
                    else {}
                ),
                "figures": {
                    k: {n: v for n, v in r.items() if n != "table"} for k, r in measured.items()
                },
            },
        }
    )
    # The weights are written once, as trained (the loaded network is quantized).
    if args.weights and args.weights.resolve() != args.out.resolve():
        shutil.copyfile(args.weights / network.WEIGHTS, args.out / network.WEIGHTS)
    (args.out / network.CONFIG).write_text(final.to_json(), encoding="utf-8")
    defaults = {name: parser().get_default(name) for name in card.TUNED}
    card.write(args.out, final, measured, args, data_files(args), defaults)
    log(f"done in {time.perf_counter() - started:.0f} s -> {args.out}")


def kept_thresholds(trained: network.NetworkConfig) -> Thresholds:
    """A trained folder's own thresholds."""
    return thresholds(trained.extra)


def train_reader(
    config: network.NetworkConfig,
    tokenizer: Any,
    fnc_train: list[data.Example],
    corpus_fit: list[data.Example],
    emergent: list[data.Example],
    args: argparse.Namespace,
    log: Log,
    measured: dict[str, Any],
) -> network.CrossEncoder:
    """Stage 1 on FNC-1, then stage 2 on the corpus, Emergent and FNC-1 again; with
    --emergent-folds, Emergent measured by claim on the way (into ``measured``)."""
    base = stage_one(config, tokenizer, fnc_train, args, log)
    replay = random.Random(args.seed + 1).sample(fnc_train, min(args.replay, len(fnc_train)))
    if args.emergent_folds and not args.no_emergent:
        measured["emergent_by_claim"] = emergent_folds(
            base, config, tokenizer, emergent, corpus_fit + replay, args, log
        )
    mix = corpus_fit + replay + ([] if args.no_emergent else emergent)
    return stage_two(base, config, tokenizer, mix, args, log, "tune")


def network_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(network.base_path()))


def measure(
    model: network.Network,
    tokenizer: Any,
    config: network.NetworkConfig,
    threshold: evaluate.Threshold,
    fnc_test: list[data.Example],
    corpus_test: list[data.Example],
    corpus_dev: tuple[list[data.Example], evaluate.Readings],
    ours: list[data.Example],
    emergent: tuple[list[data.Example], list[data.Example]],
    scoring: str = SIGNAL,
) -> dict[str, Any]:
    """Every figure the card gives; ``corpus_dev`` comes read already (the thresholds were
    chosen on it), ``emergent`` is (held-out claims, trained claims)."""

    def readings(examples: list[data.Example]) -> evaluate.Readings:
        return evaluate.read(model, tokenizer, config, examples, findings(examples))

    return {
        "fnc1_heldout_bodies": evaluate.fnc_report(fnc_test, readings(fnc_test)),
        "corpus_test_stories": evaluate.signal_report(
            corpus_test, readings(corpus_test), threshold, scoring
        ),
        "corpus_dev_stories": evaluate.signal_report(*corpus_dev, threshold, scoring),
        "labelled_sentences": evaluate.signal_report(ours, readings(ours), threshold, scoring),
        "emergent_heldout_claims": evaluate.emergent_report(emergent[0], readings(emergent[0])),
        "emergent_in_sample": evaluate.emergent_report(emergent[1], readings(emergent[1])),
    }


def emergent_folds(
    base: dict[str, torch.Tensor],
    config: network.NetworkConfig,
    tokenizer: Any,
    emergent: list[data.Example],
    rest: list[data.Example],
    args: argparse.Namespace,
    log: Log,
) -> dict[str, Any]:
    """Emergent measured by claim: each fold's claims left out of stage 2, then read."""
    claims = sorted({e.group for e in emergent})
    random.Random(args.seed).shuffle(claims)
    gold: list[data.Example] = []
    stance_rows: list[np.ndarray] = []
    signal_rows: list[np.ndarray] = []
    for fold in range(args.emergent_folds):
        held = set(claims[fold :: args.emergent_folds])
        train_rows = rest + [e for e in emergent if e.group not in held]
        test_rows = [e for e in emergent if e.group in held]
        model = stage_two(base, config, tokenizer, train_rows, args, log, f"fold{fold + 1}")
        got = evaluate.read(model, tokenizer, config, test_rows, findings(test_rows))
        gold += test_rows
        stance_rows.append(got.stance)
        signal_rows.append(got.signal)
    return evaluate.emergent_report(
        gold, evaluate.Readings(np.concatenate(stance_rows), np.concatenate(signal_rows))
    )


def data_files(args: argparse.Namespace) -> dict[str, str]:
    files = [args.fnc1 / "train_stances.csv", args.fnc1 / "train_bodies.csv", args.emergent]
    files += [*sorted(args.corpus.glob("*.jsonl")), LABELLED]
    hashes = {str(p): network.file_sha256(p) for p in files}
    if args.weights and args.seen_corpus:  # what the weights were trained on
        for path in sorted(args.seen_corpus.glob("*.jsonl")):
            hashes[f"trained on {path.name}"] = network.file_sha256(path)
    return hashes


if __name__ == "__main__":
    main()
