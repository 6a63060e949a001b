"""The model card written next to the weights: what the reader was trained on (with the data
files' hashes), how it was split, its settings, its figures on data it never saw, its limits."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.reading.model.network import WEIGHTS, NetworkConfig
from monitor.reading.reader import CUMULATIVE, JOINT, SIDE

# How reader.json's signal_score reads in the card (the plain signal score needs no words).
_MEAN = " A signal is scored by the geometric mean of its probability and its stance's"
_SCORING = {
    JOINT: f"{_MEAN}.",
    CUMULATIVE: f"{_MEAN}, a weaker act counting the stronger one's probability too.",
    SIDE: f"{_MEAN}, both acts of a side together, the likelier of them given.",
}

LIMITS = """\
- English only: the base model and every training sentence are English.
- The signal head learned from invented deal news written for this project (the corpus's own
  style and vocabulary); its figures on the corpus's test stories are on stories written the
  same way, so real news will do worse. FNC-1 and Emergent teach stance, not signals.
- FNC-1 and Emergent come from the same 2014-2015 rumour tracking: FNC-1 headlines are
  Emergent article headlines, so some Emergent-dev headlines were seen, with FNC-1's labels,
  in stage 1 (whose labels are headline-vs-body, not claim-vs-headline).
- A hedge the rules do not know and a party the claim does not name ("the carmaker") are read
  by the network alone; the rules' findings help only where the lexicon has cues.
- A headline that states a claim flatly is "supports" to the model, while Emergent's
  annotators often called such headlines "observing".
- The int8 linear layers quantize their input with one scale per batch, so a pair read among
  others would read differently than alone (on 600 corpus sentences, batches of 8 against 32:
  up to 0.57 apart, the likeliest stance of 27 changed). The product and these figures read
  one pair at a time, so a sentence reads the same in `poll`, `assess` and `assess --pairs`;
  it costs some speed (`assess --pairs` on 1,547 FNC-1 pairs: 104 s against 83 s batched).
- The thresholds keep false signals under the bound on the dev stories, a few hundred hard
  negatives of our own writing (`--confident` holds it with 95 % confidence): on news written
  otherwise the rate can be higher.
"""


def write(
    folder: Path,
    config: NetworkConfig,
    measured: dict[str, Any],
    args: argparse.Namespace,
    files: dict[str, str],
    defaults: Mapping[str, object],
) -> None:
    size = (folder / WEIGHTS).stat().st_size / 1e6
    lines = [
        f"# Stance and signal reader {config.version}",
        "",
        "A MiniLM cross-encoder (the bundled all-MiniLM-L6-v2, "
        f"{config.layers} layers, word embeddings frozen and not shipped) reading "
        "(claim, sentence + headline + sentence before) with the bi-encoder cosine and "
        f"{len(config.features) - 1} findings of the rules, into a stance head (unrelated, "
        "reports, supports, denies) and a signal head (none, confirm, formalize, deny, abandon).",
        f"Weights: `{WEIGHTS}`, {size:.1f} MB; {_precision(config)}.",
        f"Signal thresholds: {_thresholds(config)} "
        + (
            "(kept from the folder measured, as an earlier run chose them)."
            if args.weights and args.keep_thresholds
            else "(chosen on the dev stories so that "
            + ("with 95 % confidence " if args.confident else "")
            + f"at most {args.most_false:.0%} of hard negatives get a signal)."
        )
        + _SCORING.get(str(config.extra.get("signal_score")), ""),
        f"Trained {config.extra.get('trained')} in {config.extra.get('seconds')} s "
        f"on this machine's CPU; seed {args.seed}.",
        "",
        "Reproduce:",
        "",
        *_reproduce(args, config.settings(), defaults, _parts(config), config.members > 1),
        "",
        "## Data (sha256)",
        "",
        *[f"- `{Path(p).name}`: `{h[:16]}`" for p, h in files.items()],
        "",
        "## Split",
        "",
        "- FNC-1: bodies whose Body ID is divisible by five are held out (never trained on); "
        f"stage 1 takes up to {args.fnc1_rows} pairs of the others (all related ones and "
        f"{args.unrelated_share:.0%} of the unrelated), stage 2 {args.replay} again.",
        "- Signal corpus: the test stories (a quarter of each kind's, by hash) are never "
        "trained on; "
        + (
            "the train stories the weights never saw (those not in the corpus they were "
            "trained on, `--seen-corpus`) choose the thresholds."
            if args.weights and args.seen_corpus
            else "a fifth of the train stories (seeded) choose the thresholds."
            + (
                " The weights were trained on an earlier corpus, so some of these dev stories "
                "were trained on: the thresholds lean low, and the test figures (stories never "
                "trained on) say what they cost."
                if args.weights
                else ""
            )
        ),
        "- Emergent dev: a fifth of its claims (by hash of the claim id, "
        "`train.data.emergent_heldout`) are never trained on; "
        + (
            "the rest are not trained on either (`--no-emergent`)."
            if args.no_emergent
            else "the rest are trained on in stage 2 (`emergent_in_sample`)."
        )
        + (
            " Weights trained before 2026-12-06's split saw every claim, held-out ones too."
            if args.weights
            else ""
        ),
        "- Our labelled sentences (tests/fixtures/stance_labelled.jsonl): never trained on.",
        "",
        "## Figures",
        "",
        "On data the model did not train on, but for `emergent_in_sample` (trained on).",
        "",
    ]
    for name, report in measured.items():
        lines.append(f"### {name}")
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in report.items() if k != "table"]
        if "table" in report:
            lines += ["", "```text", report["table"], "```"]
        lines.append("")
    lines += ["## Known limits", "", LIMITS]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")


# The settings a run may change from the script's defaults, which the card's command must name:
# those of training, and those chosen when weights are measured (`--weights`).
TRAINED = (
    "seed",
    "split_seed",
    "stage1_seed",
    "fnc1_rows",
    "replay",
    "epochs",
    "lr",
    "signal_weight",
    "hard_weight",
    "swap_parties",
    "swap_share",
)
CHOSEN = (
    "joint",
    "cumulative",
    "by_side",
    "confident",
    "reported_thresholds",
    "most_false",
    "least_threshold",
)
TUNED = TRAINED + CHOSEN


def _tuned(
    settings: Mapping[str, object], names: Iterable[str], defaults: Mapping[str, object]
) -> str:
    """The flags that differ from the script's ``defaults``, of ``settings`` (a run's
    arguments, or the strings a trained folder's reader.json keeps of them)."""
    flags = []
    for name in names:
        default = defaults[name]
        value = settings.get(name, default)
        if str(value) != str(default):
            flag = "--" + name.replace("_", "-")
            flags.append(flag if str(value) == "True" else f"{flag} {value}")
    return "".join(f" {f}" for f in flags)


def _reproduce(
    args: argparse.Namespace,
    trained: Mapping[str, object],
    defaults: Mapping[str, object],
    parts: Sequence[Mapping[str, object]] = (),
    ensemble: bool = False,
) -> list[str]:
    """The commands that made the folder; ``trained``: the settings of the run that trained
    the weights, when this one only measured them; ``parts``: the settings of the runs whose
    weights were averaged into them (`train.soup`)."""
    data = "--fnc1 ../shared/train/fnc1 --emergent ../shared/eval/emergent-dev.csv"
    if not args.weights:
        out = f"--out monitor/reading/model/data{_tuned(vars(args), TUNED, defaults)}"
        return ["```sh", f"python -m train.stance {data} {out}", "```"]
    seen = f" --seen-corpus {args.seen_corpus}" if args.seen_corpus else ""
    if args.keep_thresholds:
        seen += " --keep-thresholds"
    corpus = f" --corpus {args.seen_corpus}" if args.seen_corpus else ""
    measuring = (
        f"python -m train.stance {data} --weights DIR{seen}{_tuned(vars(args), CHOSEN, defaults)} "
        "--out monitor/reading/model/data"
    )
    if parts:
        runs = [
            f"python -m train.stance {data}{corpus} --out DIR{i}{_tuned(p, TRAINED, defaults)}"
            for i, p in enumerate(parts, 1)
        ]
        folders = " ".join(f"DIR{i}" for i in range(1, len(parts) + 1))
        joined = "the probabilities of" if ensemble else "the weights of"
        tool = "train.ensemble" if ensemble else "train.soup"
        return [
            f"The mean of {joined} {len(parts)} runs (`{tool}`), measured and given "
            "its thresholds by a last run on the weights as the product loads them:",
            "",
            "```sh",
            *runs,
            f"python -m {tool} {folders} --out DIR",
            measuring,
            "```",
        ]
    return [
        "Trained by a first run"
        + (" on the corpus as it was then (`--corpus`)" if corpus else "")
        + ", measured and given its thresholds by a second run on the weights as the product "
        "loads them:",
        "",
        "```sh",
        f"python -m train.stance {data}{corpus} --out DIR{_tuned(trained, TRAINED, defaults)}",
        measuring,
        "```",
    ]


def _precision(config: NetworkConfig) -> str:
    if config.members > 1:
        return (
            f"{config.members} networks in int8 with a scale per row, read in full precision, "
            "their probabilities averaged"
        )
    return (
        "fp16, int8 linear layers at load time" if config.int8 else "fp16, read in full precision"
    )


def _parts(config: NetworkConfig) -> list[Mapping[str, object]]:
    """The training settings of the runs a soup averaged or an ensemble joins, or none."""
    parts = config.extra.get("ensemble_of", config.extra.get("soup_of"))
    if not isinstance(parts, list):
        return []
    return [
        p["settings"] for p in parts if isinstance(p, dict) and isinstance(p.get("settings"), dict)
    ]


def _thresholds(config: NetworkConfig) -> str:
    chosen = config.extra.get("signal_thresholds")
    if not isinstance(chosen, dict):
        return str(config.extra.get("signal_threshold"))
    text = ", ".join(f"{k} {v}" for k, v in chosen.items())
    reported = config.extra.get("signal_thresholds_reported")
    if isinstance(reported, dict):
        text += "; for sentences read as reported, not on record: "
        text += ", ".join(f"{k} {v}" for k, v in reported.items())
    return text
