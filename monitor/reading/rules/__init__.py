"""The stance rules: one sentence and one claim in, a judgement with the cues that made it out.

A lexicon of cue phrases (``data/stance.toml``) read with negation scope and attribution (who is
speaking), decided by a fixed precedence of rules and weighed by a small learned layer
(``data/stance_model.json``). Pure functions: no model, no database.
"""

from monitor.reading.rules.judge import (
    Judgement,
    judge,
    lexicon_from_mapping,
    load_lexicon,
    stance_features,
)
from monitor.reading.rules.layer import (
    CLASSES,
    REFERENCE,
    StanceModel,
    load_model,
    model_from_mapping,
    model_to_mapping,
)
from monitor.reading.rules.lexicon import Lexicon
from monitor.reading.rules.reading import Signal, Stance

__all__ = [
    "CLASSES",
    "REFERENCE",
    "Judgement",
    "Lexicon",
    "Signal",
    "Stance",
    "StanceModel",
    "judge",
    "lexicon_from_mapping",
    "load_lexicon",
    "load_model",
    "model_from_mapping",
    "model_to_mapping",
    "stance_features",
]
