"""Measuring a trained network on examples it never saw: stance and signal as the product
decides them (`monitor.reading.reader.decide`), FNC-1's score, false alarms on hard negatives,
and the signal thresholds that keep those false alarms rare."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.reading.model import STANCES
from monitor.reading.model.network import Network, NetworkConfig, passage, predict
from monitor.reading.reader import SIGNAL, Thresholds, decide, feature_matrix
from monitor.reading.rules.findings import REPORTED, Findings
from train.data import EMERGENT, Example
from train.metrics import SIGNALS, accuracy, fnc_score, macro_f1, per_class, table

# The thresholds tried: in twentieths, and finer near 1, where a confident network's false
# alarms are told apart.
GRID = np.round(np.concatenate([np.arange(0.30, 0.951, 0.05), [0.97, 0.98, 0.99]]), 2)
# One signal threshold for all, one per signal, or one per signal for on-record sentences and
# one for reported ones.
Threshold = float | Mapping[str, float] | Thresholds


@dataclass(frozen=True)
class Readings:
    """The network's two distributions for a list of examples, and which of them the rules read
    as reported, not on record (None: none)."""

    stance: np.ndarray
    signal: np.ndarray
    reported: np.ndarray | None = None


def read(
    model: Network,
    tokenizer: Any,
    config: NetworkConfig,
    examples: Sequence[Example],
    found: Sequence[Findings],
) -> Readings:
    claims = [e.passage.claim for e in examples]
    texts = [passage(e.passage.sentence, e.passage.context) for e in examples]
    features = feature_matrix([e.passage for e in examples], found, config.features)
    stance, signal = predict(model, tokenizer, config, claims, texts, features, batch_size=64)
    return Readings(stance, signal, np.array([f.on_record == REPORTED for f in found], bool))


def decided(
    readings: Readings, threshold: Threshold, scoring: str = SIGNAL
) -> tuple[list[str], list[str]]:
    reported = readings.reported
    if reported is None:
        reported = np.zeros(len(readings.stance), bool)
    pairs = [
        decide(s, g, _of(threshold, bool(r)), scoring)
        for s, g, r in zip(readings.stance, readings.signal, reported, strict=True)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _of(threshold: Threshold, reported: bool) -> float | Mapping[str, float]:
    if isinstance(threshold, Thresholds):
        return threshold.of(REPORTED if reported else "")
    return threshold


def false_alarms(examples: Sequence[Example], signals: Sequence[str]) -> tuple[int, int]:
    """(hard negatives given a signal, hard negatives)."""
    hard = [s for e, s in zip(examples, signals, strict=True) if e.hard]
    return sum(s != "none" for s in hard), len(hard)


def signal_report(
    examples: Sequence[Example], readings: Readings, threshold: Threshold, scoring: str = SIGNAL
) -> dict[str, Any]:
    stances, signals = decided(readings, threshold, scoring)
    gold_signal = [e.signal or "none" for e in examples]
    wrong, hard = false_alarms(examples, signals)
    return {
        "rows": len(examples),
        "signal_macro_f1": round(macro_f1(gold_signal, signals, SIGNALS), 4),
        "stance_accuracy": round(accuracy([e.stance for e in examples], stances), 4),
        "false_signals_on_hard": f"{wrong}/{hard}",
        "false_signal_rate": round(wrong / hard, 4) if hard else 0.0,
        "per_signal": {
            k: [round(v.precision, 3), round(v.recall, 3), round(v.f1, 3), v.support]
            for k, v in per_class(gold_signal, signals, SIGNALS).items()
        },
        "table": table(gold_signal, signals, SIGNALS),
    }


def false_rate_bound(wrong: int, hard: int, confidence: float = 0.95) -> float:
    """The one-sided upper confidence bound of a false-signal rate seen as ``wrong`` of
    ``hard`` (Clopper-Pearson): the dev stories hold a few hundred hard negatives, so 4 of 449
    (0.9 %) is no evidence that new stories stay under 1 %, while none of 449 is (0.67 %)."""
    if hard == 0 or wrong >= hard:
        return 1.0
    low, high = wrong / hard, 1.0
    for _ in range(60):  # bisection: P(X <= wrong | rate) falls as the rate grows
        mid = (low + high) / 2
        tail = sum(
            math.exp(
                math.lgamma(hard + 1)
                - math.lgamma(i + 1)
                - math.lgamma(hard - i + 1)
                + i * math.log(mid)
                + (hard - i) * math.log1p(-mid)
            )
            for i in range(wrong + 1)
        )
        low, high = (mid, high) if tail > 1 - confidence else (low, mid)
    return high


def within(wrong: int, hard: int, most_false: float, confident: bool = False) -> bool:
    """Whether false signals on ``hard`` negatives are at most ``most_false`` of them: as seen,
    or (``confident``) with 95 % confidence."""
    if not hard:
        return True
    return (false_rate_bound(wrong, hard) if confident else wrong / hard) <= most_false


def _score(
    examples: Sequence[Example],
    readings: Readings,
    threshold: Threshold,
    most_false: float,
    scoring: str,
    confident: bool,
) -> float | None:
    """The signal macro-F1 at ``threshold``, or None when its false alarms break the bound."""
    _, signals = decided(readings, threshold, scoring)
    if not within(*false_alarms(examples, signals), most_false, confident):
        return None
    return macro_f1([e.signal or "none" for e in examples], signals, SIGNALS)


def choose_threshold(
    examples: Sequence[Example],
    readings: Readings,
    most_false: float,
    scoring: str = SIGNAL,
    confident: bool = False,
    least: float = 0.5,
) -> float:
    """The lowest signal threshold (``least``-0.99, at least 0.50) whose false alarms on hard
    negatives stay within ``most_false`` (`within`), ties going to the best signal macro-F1: a
    missed act costs a late alert, a false one costs trust."""
    best: tuple[float, float] | None = None
    for threshold in GRID[max(0.5, least) <= GRID]:
        score = _score(examples, readings, float(threshold), most_false, scoring, confident)
        if score is not None and (best is None or score > best[1] + 1e-9):
            best = (float(threshold), score)
    return round(best[0], 2) if best else float(GRID[-1])


def choose_thresholds(
    examples: Sequence[Example],
    readings: Readings,
    most_false: float,
    scoring: str = SIGNAL,
    confident: bool = False,
    least: float = 0.3,
) -> dict[str, float]:
    """One threshold per signal, from the common one (`choose_threshold`): each signal in turn
    takes the threshold (``least``-0.99) that gives the best signal macro-F1 while all false
    alarms together stay within ``most_false``; ties keep the higher, more cautious one. Two
    rounds, since one signal's threshold moves what the others may spend."""
    common = choose_threshold(examples, readings, most_false, scoring, confident, least)
    chosen = dict.fromkeys(SIGNALS[1:], common)

    def score(candidate: dict[str, float]) -> float | None:
        return _score(examples, readings, candidate, most_false, scoring, confident)

    for _ in range(2):
        for act in SIGNALS[1:]:
            best = (chosen[act], score(chosen) or 0.0)
            for value in GRID[least <= GRID][::-1]:
                got = score({**chosen, act: round(float(value), 2)})
                if got is not None and got > best[1] + 1e-9:
                    best = (round(float(value), 2), got)
            chosen[act] = best[0]
    return chosen


def choose_reported(
    examples: Sequence[Example],
    readings: Readings,
    on_record: Mapping[str, float],
    most_false: float,
    scoring: str = SIGNAL,
    confident: bool = False,
    least: float = 0.3,
) -> Thresholds:
    """Thresholds for the sentences the rules read as reported, beside ``on_record`` (from
    `choose_thresholds`): each signal's reported threshold starts at its on-record one and
    takes the value that gives the best signal macro-F1 within the bound; ties keep the one it
    has. Then the on-record ones are chosen again beside them, since the false alarms the
    reported sentences no longer spend may be spent on on-record ones. None goes below
    ``least``, and no reported threshold below its on-record one: second-hand words are never
    held to a lower bar than the party's own, however few of them the dev stories hold."""
    chosen = Thresholds(dict(on_record), dict(on_record))

    def score(candidate: Thresholds) -> float | None:
        return _score(examples, readings, candidate, most_false, scoring, confident)

    def allowed(side: str, act: str) -> npt.NDArray[np.float64]:
        if side == "reported":
            return GRID[max(least, chosen.on_record[act]) <= GRID]
        return GRID[(least <= GRID) & (chosen.reported[act] >= GRID)]

    for _ in range(2):
        for side in ("reported", "on_record"):
            for act in SIGNALS[1:]:
                best = (getattr(chosen, side)[act], score(chosen) or 0.0)
                for value in allowed(side, act)[::-1]:
                    trial = {**getattr(chosen, side), act: round(float(value), 2)}
                    got = score(replace(chosen, **{side: trial}))
                    if got is not None and got > best[1] + 1e-9:
                        best = (round(float(value), 2), got)
                chosen = replace(chosen, **{side: {**getattr(chosen, side), act: best[0]}})
    return chosen


def fnc_report(examples: Sequence[Example], readings: Readings) -> dict[str, Any]:
    """Pair level: each held-out pair by its closest body sentence, as `assess` would count a
    body with one candidate (the benchmark through `assess --pairs` counts by the decisive one)."""
    gold = [e.stance for e in examples]
    pred = [STANCES[int(i)] for i in readings.stance.argmax(1)]
    return {
        "pairs": len(examples),
        "fnc_score": round(fnc_score(gold, pred), 4),
        "macro_f1": round(macro_f1(gold, pred, STANCES), 4),
        "related_accuracy": round(
            accuracy([str(g != "unrelated") for g in gold], [str(p != "unrelated") for p in pred]),
            4,
        ),
        "table": table(gold, pred, STANCES),
    }


def emergent_report(examples: Sequence[Example], readings: Readings) -> dict[str, Any]:
    """Emergent has no unrelated class: the likeliest related stance counts."""
    related = readings.stance.copy()
    related[:, STANCES.index("unrelated")] = -1.0
    pred = [EMERGENT[STANCES[int(i)]] for i in related.argmax(1)]
    gold = [EMERGENT[e.stance] for e in examples]
    labels = ("for", "against", "observing")
    return {
        "pairs": len(examples),
        "accuracy": round(accuracy(gold, pred), 4),
        "macro_f1": round(macro_f1(gold, pred, labels), 4),
        "table": table(gold, pred, labels),
    }
