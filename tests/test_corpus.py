"""The signal corpus as committed, and how a new batch of stories joins it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from train.corpus import FOLDER, add_batch, check, held_out_stories, load_corpus, main


def _story(slug: str, kind: str, rows: int = 3, **change: object) -> list[dict[str, object]]:
    base = {
        "story": slug,
        "kind": kind,
        "split": "train",
        "claim": f"{slug} will happen",
        "title": "A headline",
        "context": [],
        "sentence": "A sentence.",
        "stance": "reports",
        "signal": "none",
        "hard": "said-to",
    }
    return [{**base, "sentence": f"Sentence {i} of {slug}.", **change} for i in range(rows)]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "corpus"
    copy.mkdir()
    for name in ("takeover.jsonl", "settlement-recall.jsonl"):
        shutil.copy(FOLDER / name, copy / name)
    return copy


def test_the_corpus_is_split_by_story_and_sound() -> None:
    rows = load_corpus()
    check(rows)
    splits: dict[str, set[str]] = {}
    for row in rows:
        splits.setdefault(row.story, set()).add(row.split)
    assert all(len(s) == 1 for s in splits.values())
    assert len(rows) >= 1500 and sum(bool(r.hard) for r in rows) >= len(rows) / 3
    kinds = Counter((r.kind, r.split) for r in rows)
    assert all(kinds[(kind, "test")] > 0 for kind, _ in kinds)


def test_a_batch_joins_with_a_quarter_of_each_kinds_stories_held_out(folder: Path) -> None:
    before = {r.story: r.split for r in load_corpus(folder)}
    batch = [r for i in range(8) for r in _story(f"takeover-new-{i}", "takeover")]
    batch += [r for i in range(4) for r in _story(f"recall-new-{i}", "recall")]
    added = add_batch([_write(folder.parent / "batch.jsonl", batch)], folder)
    assert added == {"takeover.jsonl": 24, "settlement-recall.jsonl": 12}
    after = {r.story: r.split for r in load_corpus(folder)}
    assert {s: after[s] for s in before} == before  # no earlier story moves
    new = Counter((s.split("-")[0], v) for s, v in after.items() if "-new-" in s)
    assert new == {
        ("takeover", "test"): 2,
        ("takeover", "train"): 6,
        ("recall", "test"): 1,
        ("recall", "train"): 3,
    }
    held = held_out_stories({s: s.split("-")[0] for s in after if "-new-" in s})
    assert held == {s for s, v in after.items() if "-new-" in s and v == "test"}


@pytest.mark.parametrize(
    ("rows", "fault"),
    [
        (_story("EXISTING", "takeover"), "already in"),
        (_story("takeover-x-y", "takeover", signal="confirm"), "hard negative with signal"),
        (_story("takeover-x-y", "takeover", stance="maybe"), "unknown label"),
        (_story("takeover-x-y", "takeover") + _story("takeover-x-y", "plant"), "disagree"),
    ],
)
def test_a_faulty_batch_names_the_fault_and_adds_nothing(
    folder: Path, rows: list[dict[str, object]], fault: str
) -> None:
    if rows[0]["story"] == "EXISTING":  # a story the corpus holds already
        rows = [{**r, "story": load_corpus(folder)[0].story} for r in rows]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match=fault):
        add_batch([_write(folder.parent / "batch.jsonl", rows)], folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_the_command_says_what_went_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    assert main(["add", str(broken)]) == 1
    assert "broken.jsonl:1: not JSON" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["add"]) == 2  # no batch named
    assert "usage:" in capsys.readouterr().err
    assert main(["add", "--help"]) == 0
    assert "JSON-lines files of new stories" in capsys.readouterr().out
