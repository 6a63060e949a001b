"""Fit the stance classifier's learned layer and estimate it honestly on held-out claims.

    python bench/stance_fit.py PATH [--write monitor/reading/rules/data/stance_model.json] [--l2
    1.0]

PATH is an Emergent-format CSV (claimId, claimHeadline, articleHeadline, articleHeadlineStance),
read from where it lies and never copied. Only the features of
``monitor.reading.rules.judge.stance_features``
are used (properties of the lexicon's reading, no word identities): 2 x 30 global weights.

Prints in-sample figures and held-out ones: two halves split by claim (fit on one, score the
other, both ways) and 5 folds grouped by claim. ``--write`` stores the weights fitted on all rows.
The packaged weights were made, deterministically, with:

    python bench/stance_fit.py emergent-dev.csv --balanced \
        --labelled tests/fixtures/stance_labelled.jsonl --labelled-weight 1 \
        --write monitor/reading/rules/data/stance_model.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitor.reading.rules.judge import stance_features
from monitor.reading.rules.layer import CLASSES, REFERENCE, StanceModel, model_to_mapping

FROM_EMERGENT = {"for": "supports", "against": "denies", "observing": REFERENCE}
Matrix = npt.NDArray[np.float64]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_labelled(path: Path) -> list[dict[str, str]]:
    """Our own labelled set (JSON lines: claim, sentence, stance, context) in the CSV's shape."""
    to_emergent = {
        "supports": "for",
        "denies": "against",
        "reports": "observing",
        "unrelated": "observing",
    }
    with path.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [
        {
            "claimHeadline": i["claim"],
            "articleHeadline": i["sentence"],
            "context": i.get("context", ""),
            "articleHeadlineStance": to_emergent[i["stance"]],
        }
        for i in items
    ]


def design(rows: Sequence[dict[str, str]]) -> tuple[list[str], Matrix, npt.NDArray[np.int64]]:
    feats = [
        stance_features(r["articleHeadline"], r["claimHeadline"], context=r.get("context", ""))
        for r in rows
    ]
    names = list(feats[0])
    x = np.array([[f[n] for n in names] for f in feats], dtype=np.float64)
    y = np.array([CLASSES.index(FROM_EMERGENT[r["articleHeadlineStance"]]) for r in rows])
    return names, x, y


def fit(
    x: Matrix, y: npt.NDArray[np.int64], l2: float, balanced: bool, extra: Matrix | None = None
) -> Matrix:
    """Softmax regression, the reference class pinned at zero; full-batch gradient descent."""
    counts = np.eye(len(CLASSES))[y].sum(axis=0)
    sample = (len(y) / (len(CLASSES) * counts))[y] if balanced else np.ones(len(y))
    if extra is not None:  # our own labelled rows: (features, label, weight) appended
        x = np.concatenate([x, extra[:, :-2]])
        y = np.concatenate([y, extra[:, -2].astype(np.int64)])
        sample = np.concatenate([sample, extra[:, -1]])
    n, d = x.shape
    k = len(CLASSES) - 1
    w = np.zeros((d, k))
    onehot = np.eye(len(CLASSES))[y]
    penalty = np.full(d, l2)
    penalty[0] = 0.0  # the bias is not shrunk
    for _ in range(4000):
        scores = np.concatenate([x @ w, np.zeros((n, 1))], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = x.T @ ((probs - onehot)[:, :k] * sample[:, None]) / n + penalty[:, None] * w / n
        w -= 1.0 * grad
    return w


def predict(x: Matrix, w: Matrix) -> npt.NDArray[np.int64]:
    scores = np.concatenate([x @ w, np.zeros((x.shape[0], 1))], axis=1)
    return np.asarray(scores.argmax(axis=1), dtype=np.int64)


def figures(y: npt.NDArray[np.int64], p: npt.NDArray[np.int64]) -> tuple[float, float]:
    f1s = []
    for c in range(len(CLASSES)):
        tp = float(np.sum((y == c) & (p == c)))
        prec = tp / max(1, int(np.sum(p == c)))
        rec = tp / max(1, int(np.sum(y == c)))
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(y == p)), float(np.mean(f1s))


def held_out(
    x: Matrix, y: npt.NDArray[np.int64], groups: Sequence[int], folds: int, args: argparse.Namespace
) -> tuple[float, float]:
    """Pooled predictions of models that never saw the claims they predict."""
    fold_of = np.array([g % folds for g in groups])
    pred = np.zeros_like(y)
    for f in range(folds):
        test = fold_of == f
        w = fit(x[~test], y[~test], args.l2, args.balanced, args.extra_rows)
        pred[test] = predict(x[test], w)
    return figures(y, pred)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="Emergent-format CSV")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--balanced", action="store_true", help="weigh classes equally")
    parser.add_argument("--labelled", type=Path, help="our own labelled JSON lines, fitted too")
    parser.add_argument("--labelled-weight", type=float, default=3.0)
    parser.add_argument("--write", type=Path, help="store the weights fitted on all rows here")
    args = parser.parse_args(argv)
    rows = read_rows(args.path)
    names, x, y = design(rows)
    # Claims are dealt to folds in order of first appearance, so a claim never straddles folds.
    ids = list(dict.fromkeys(r["claimId"] for r in rows))
    groups = [ids.index(r["claimId"]) for r in rows]
    args.extra_rows = None
    if args.labelled:
        _, lx, ly = design(read_labelled(args.labelled))
        weight = np.full((len(ly), 1), args.labelled_weight)
        args.extra_rows = np.concatenate([lx, ly[:, None].astype(np.float64), weight], axis=1)
    w = fit(x, y, args.l2, args.balanced, args.extra_rows)
    for label, (acc, f1) in (
        ("in-sample", figures(y, predict(x, w))),
        ("held-out, 2 halves by claim", held_out(x, y, groups, 2, args)),
        ("held-out, 5 folds by claim", held_out(x, y, groups, 5, args)),
    ):
        print(f"{label:<30} accuracy {acc:.3f}  macro-F1 {f1:.3f}")
    if args.write:
        model = StanceModel(tuple(names), {c: tuple(w[:, i]) for i, c in enumerate(CLASSES[:-1])})
        meta = {
            "fitted_by": "bench/stance_fit.py",
            "l2": args.l2,
            "balanced": args.balanced,
            "rows": len(rows),
            "labelled": str(args.labelled or ""),
            "labelled_weight": args.labelled_weight,
        }
        args.write.write_text(json.dumps(model_to_mapping(model, **meta), indent=1) + "\n")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
