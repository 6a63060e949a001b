"""Scores for a reader's verdicts: per-class precision, recall and F1, macro-F1, confusion, and
FNC-1's weighted score. Pure functions over label lists, shared by the training run, the
benchmarks and the quality gates in the test suite."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

STANCES = ("unrelated", "reports", "supports", "denies")
SIGNALS = ("none", "confirm", "formalize", "deny", "abandon")


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


def per_class(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, ClassScore]:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    table = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        predicted, actual = sum(p == label for p in pred), sum(g == label for g in gold)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = ClassScore(precision, recall, f1, actual)
    return table


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    scores = per_class(gold, pred, labels)
    return sum(s.f1 for s in scores.values()) / len(labels)


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def confusion(gold: Sequence[str], pred: Sequence[str]) -> Counter[tuple[str, str]]:
    return Counter(zip(gold, pred, strict=True))


def fnc_score(gold: Sequence[str], pred: Sequence[str]) -> float:
    """FNC-1's measure as a share of the best possible: 0.25 for a right related/unrelated call,
    0.75 more for the right stance on a related pair (labels in the monitor's stance names)."""

    def points(g: str, p: str) -> float:
        score = 0.25 if (g == "unrelated") == (p == "unrelated") else 0.0
        if g != "unrelated" and g == p:
            score += 0.75
        return score

    best = sum(points(g, g) for g in gold)
    return sum(points(g, p) for g, p in zip(gold, pred, strict=True)) / best if best else 0.0


def table(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> str:
    """Per-class figures and the confusion matrix as text, for reports and model cards."""
    scores = per_class(gold, pred, labels)
    lines = [f"{'class':<11} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}"]
    for label, s in scores.items():
        lines.append(f"{label:<11} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}")
    lines.append(f"{'macro-F1':<11} {'':>6} {'':>6} {macro_f1(gold, pred, labels):6.3f}")
    counts = confusion(gold, pred)
    lines.append("")
    lines.append("gold \\ read " + " ".join(f"{p[:9]:>9}" for p in labels))
    for g in labels:
        lines.append(f"{g:<11} " + " ".join(f"{counts[(g, p)]:>9}" for p in labels))
    return "\n".join(lines)
