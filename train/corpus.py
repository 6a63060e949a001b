"""The signal corpus (``train/corpus/*.jsonl``): invented deal-news sentences with their claim,
headline, neighbours, stance, signal, hard-negative kind and split (see its README)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
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
    rows = [r for path in sorted(folder.glob("*.jsonl")) for r in load_file(path)]
    return [r for r in rows if split is None or r.split == split]


def load_file(path: Path) -> list[Row]:
    return [_row(data, where) for where, data in _objects(path)]


def _objects(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """Each non-blank line of a JSON-lines file as an object, with where it stands."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{where}: not a JSON object")
        yield where, data


def check(rows: list[Row]) -> None:
    """What the writers' guide asks of every story: its rows share one claim and one kind, and
    a hard negative never carries a signal."""
    claims: dict[str, tuple[str, str]] = {}
    for row in rows:
        first = claims.setdefault(row.story, (row.claim, row.kind))
        if first != (row.claim, row.kind):
            raise ValueError(f"story {row.story}: rows disagree on claim or kind")
        if row.hard and row.signal != "none":
            raise ValueError(f"story {row.story}: hard negative with signal {row.signal}")


def held_out_stories(stories: dict[str, str]) -> set[str]:
    """Of one batch's stories (slug -> kind), those held out: within each kind, the quarter
    (rounded) whose slugs have the smallest SHA-256. Drawn within the batch, so a new batch never
    moves an earlier story between splits."""
    held: set[str] = set()
    for kind in set(stories.values()):
        slugs = sorted((s for s, k in stories.items() if k == kind), key=_digest)
        held.update(slugs[: round(len(slugs) / 4)])
    return held


def _digest(slug: str) -> str:
    return hashlib.sha256(slug.encode()).hexdigest()


def add_batch(paths: list[Path], folder: Path = FOLDER) -> dict[str, int]:
    """Append a batch of new stories to the corpus, with its test quarter drawn; returns rows
    added per file. Nothing is written unless the whole batch is sound."""
    corpus = {path: load_file(path) for path in sorted(folder.glob("*.jsonl"))}
    known = {r.story for rows in corpus.values() for r in rows}
    files = {r.kind: path for path, rows in corpus.items() for r in rows}
    batch: list[tuple[dict[str, object], Row]] = []
    for path in paths:
        for where, data in _objects(path):
            row = _row({**data, "split": "train"}, where)
            if row.story in known:
                raise ValueError(f"{where}: story {row.story} is already in")
            batch.append((data, row))
    check([row for _, row in batch])
    held = held_out_stories({row.story: row.kind for _, row in batch})
    lines: dict[Path, list[str]] = {}
    for data, row in batch:
        split = "test" if row.story in held else "train"
        target = files.get(row.kind, folder / f"{row.kind}.jsonl")
        lines.setdefault(target, []).append(
            json.dumps({**data, "split": split}, ensure_ascii=False)
        )
    for target, new in lines.items():
        with target.open("a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in new))
    return {target.name: len(new) for target, new in lines.items()}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.corpus",
        description="Manage the signal corpus (train/corpus/README.md is the writers' guide).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser(
        "add",
        help="add a batch of new stories, a quarter of each kind's held out as test",
        description="Check every row of the batch files (labels, one claim and kind per "
        "story, no signal on a hard negative, no story already in) and append them to the "
        "corpus, a quarter of each kind's new stories held out as test. Nothing is written "
        "unless the whole batch is sound.",
    )
    add.add_argument("batch", nargs="+", type=Path, help="JSON-lines files of new stories")
    return parser


def main(argv: list[str]) -> int:
    """``python -m train.corpus add BATCH.jsonl ...``: new stories in, their split drawn."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return int(exc.code or 0)
    try:
        added = add_batch(args.batch)
    except (OSError, ValueError) as exc:
        print(f"corpus: nothing added: {exc}", file=sys.stderr)
        return 1
    for name, count in sorted(added.items()):
        print(f"{name}: {count} rows added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
