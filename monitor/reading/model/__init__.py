"""The trained reader's network and weights (see `network`); torch loads only when it is used.

``data/`` holds what the training run (``train/stance.py``) wrote: ``reader.safetensors``,
``reader.json`` and ``MODEL_CARD.md``.
"""

from pathlib import Path

STANCES = ("unrelated", "reports", "supports", "denies")
SIGNALS = ("none", "confirm", "formalize", "deny", "abandon")
PACKAGED = Path(__file__).with_name("data")

__all__ = ["PACKAGED", "SIGNALS", "STANCES"]
