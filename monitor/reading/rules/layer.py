"""The learned layer of the stance classifier: a small logistic regression over rule features.

The rules in ``monitor.reading.rules.judge`` read a sentence into named, interpretable features
(which cue
roles fire, whether a negation reaches the claim's content, how the headline is sourced, how much
of the claim it restates, the rules' own verdict). Headlines often take a side without any cue a
rule can name, and often merely relay a claim in the same flat words that would assert it; a few
global weights over those features weigh the evidence better than a fixed precedence.

The weights are package data (``data/stance_model.json``), fitted by ``bench/stance_fit.py``.
There are no word-identity features: every feature is a property of the lexicon's reading.
Prediction is plain Python: a dot product over ~30 numbers costs less than numpy's call overhead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

# The class every other class's scores are relative to (its weights are fixed at zero).
REFERENCE = "reports"
CLASSES = ("supports", "denies", REFERENCE)


@dataclass(frozen=True)
class StanceModel:
    """Multinomial logistic regression: one weight per feature for each non-reference class."""

    features: tuple[str, ...]
    weights: Mapping[str, tuple[float, ...]]

    def __post_init__(self) -> None:
        for label, row in self.weights.items():
            if label not in CLASSES or label == REFERENCE:
                raise ValueError(f"stance model: unknown class {label!r}")
            if len(row) != len(self.features):
                raise ValueError(
                    f"stance model: {label} has {len(row)} weights, expected {len(self.features)}"
                )


def model_from_mapping(data: Mapping[str, Any]) -> StanceModel:
    features = tuple(str(name) for name in data["features"])
    weights = {str(k): tuple(float(w) for w in v) for k, v in data["weights"].items()}
    return StanceModel(features, weights)


def model_to_mapping(model: StanceModel, **meta: Any) -> dict[str, Any]:
    return {
        **meta,
        "features": list(model.features),
        "weights": {k: [round(w, 5) for w in v] for k, v in model.weights.items()},
    }


@lru_cache(maxsize=8)
def _load_cached(path: Path | None) -> StanceModel:
    if path is None:
        raw = (
            resources.files("monitor.reading.rules")
            .joinpath("data/stance_model.json")
            .read_text("utf-8")
        )
    else:
        raw = path.read_text(encoding="utf-8")
    return model_from_mapping(json.loads(raw))


def load_model(path: Path | None = None) -> StanceModel:
    """The model at ``path``, or the packaged one; parsed once per path."""
    return _load_cached(path.resolve() if path is not None else None)


def probabilities(model: StanceModel, values: Mapping[str, float]) -> dict[str, float]:
    """Class probabilities for one feature mapping; missing features count as zero."""
    x = [values.get(name, 0.0) for name in model.features]
    scores = {label: _dot(row, x) for label, row in model.weights.items()}
    scores[REFERENCE] = 0.0
    top = max(scores.values())
    exp = {label: math.exp(s - top) for label, s in scores.items()}
    total = sum(exp.values())
    return {label: e / total for label, e in exp.items()}


def _dot(row: Sequence[float], x: Sequence[float]) -> float:
    return sum(w * v for w, v in zip(row, x, strict=True))


def best(probs: Mapping[str, float]) -> tuple[str, float]:
    label = max(CLASSES, key=lambda c: probs.get(c, 0.0))
    return label, probs.get(label, 0.0)
