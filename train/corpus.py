"""The signal corpus (``train/corpus/*.jsonl``): invented deal-news sentences with their claim,
headline, neighbours, stance, signal, hard-negative kind and split (see its README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from train.metrics import SIGNALS, STANCES

FOLDER = Path(__file__).with_name("corpus")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Row:
    story: str
    kind: str
    split: str
    claim: str
    title: str
    context: tuple[str, ...]
    sentence: str
    stance: str
    signal: str
    hard: str | None

    @property
    def neighbours(self) -> list[str]:
        """What the reader sees around the sentence: the headline (unless it is the sentence)
        and the sentences before it."""
        around = [c for c in self.context if c]
        if self.title and self.title != self.sentence:
            around.insert(0, self.title)
        return around


def _row(data: dict[str, object], where: str) -> Row:
    try:
        row = Row(
            story=str(data["story"]),
            kind=str(data["kind"]),
            split=str(data["split"]),
            claim=str(data["claim"]),
            title=str(data["title"]),
            context=tuple(str(c) for c in data["context"]),  # type: ignore[attr-defined]
            sentence=str(data["sentence"]),
            stance=str(data["stance"]),
            signal=str(data["signal"]),
            hard=None if data["hard"] is None else str(data["hard"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{where}: not a corpus row: {exc}") from exc
    if row.stance not in STANCES or row.signal not in SIGNALS or row.split not in SPLITS:
        raise ValueError(f"{where}: unknown label in {data}")
    return row


def load_corpus(folder: Path = FOLDER, split: str | None = None) -> list[Row]:
    """Every row of every ``*.jsonl`` in ``folder``, in file order; only one split if given."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append(_row(json.loads(line), f"{path.name}:{number}"))
    return [r for r in rows if split is None or r.split == split]
