"""Training and measuring examples, built the way the product reads: one candidate sentence of
an article, its headline and the sentence before, the bi-encoder cosine, the rules' findings.

- FNC-1 (headline, body): the body is split with the product's splitter and its sentences most
  similar to the headline become the candidates (the product reads the closest few); each
  carries the body's label. Held out: every body whose Body ID is divisible by five.
- Emergent (claim, headline): the headline is the whole text, one candidate.
- The signal corpus (``train/corpus``): one sentence with its headline and neighbours, with a
  signal label as well.

The data are read from where they lie and never copied; sentence vectors are cached on disk
(``--cache``), keyed by the text's hash.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from monitor.reading.candidates import context as product_context
from monitor.reading.reader import Passage
from monitor.reading.text import article_sentences
from train.corpus import Row

FNC_STANCES = {"agree": "supports", "disagree": "denies", "discuss": "reports"}
FNC_STANCES["unrelated"] = "unrelated"
EMERGENT_STANCES = {"for": "supports", "against": "denies", "observing": "reports"}
EMERGENT = {ours: theirs for theirs, ours in EMERGENT_STANCES.items()}  # our stance, in Emergent's
Vectors = npt.NDArray[np.float32]
T = TypeVar("T")


@dataclass
class Example:
    passage: Passage
    stance: str
    signal: str | None = None  # None: the source has no signal label
    source: str = ""  # fnc1 | emergent | corpus
    group: str = ""  # what a split must keep whole: a body, a claim, a story
    hard: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class VectorCache:
    """The bundled bi-encoder's sentence vectors, on disk between runs."""

    def __init__(self, folder: Path, encode: object) -> None:
        self.file = folder / "vectors.npz"
        self.encode = encode
        self.vectors: dict[str, Vectors] = {}
        if self.file.exists():
            stored = np.load(self.file)
            self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def get(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self.vectors))
        if missing:
            found = self.encode(missing)  # type: ignore[operator]
            for text, vector in zip(missing, found, strict=True):
                self.vectors[self.key(text)] = np.asarray(vector, dtype=np.float32)
        return (
            np.stack([self.vectors[self.key(t)] for t in texts])
            if texts
            else np.zeros((0, 1), dtype=np.float32)
        )

    def save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors))
        np.savez(self.file, keys=keys, vectors=np.stack(list(self.vectors.values())))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fnc1_heldout(body_id: str) -> bool:
    return int(body_id) % 5 == 0


def emergent_heldout(claim_id: str) -> bool:
    """A fifth of Emergent's claims, by hash, that training never sees (the card's
    ``emergent_heldout_claims``)."""
    return hashlib.sha256(claim_id.encode()).digest()[0] % 5 == 0


def cosines(
    pairs: Sequence[tuple[str, str]], encode: Callable[[list[str]], Vectors]
) -> list[float]:
    """The bi-encoder cosine of each (claim, sentence) pair, each distinct text encoded once
    (``encode`` gives normalized vectors)."""
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    vectors = encode(texts)
    row = {t: i for i, t in enumerate(texts)}
    return [float(vectors[row[a]] @ vectors[row[b]]) for a, b in pairs]


def fnc1_heldout_pairs(folder: Path) -> list[tuple[str, str, str, str]]:
    """The held-out pairs whole, for the product's path: (headline, body text, stance in our
    names, Body ID)."""
    bodies = {r["Body ID"]: r["articleBody"] for r in read_csv(folder / "train_bodies.csv")}
    return [
        (r["Headline"], bodies[r["Body ID"]], FNC_STANCES[r["Stance"]], r["Body ID"])
        for r in read_csv(folder / "train_stances.csv")
        if fnc1_heldout(r["Body ID"])
    ]


def sample_groups(rows: Sequence[T], group: Callable[[T], str], size: int, seed: int) -> list[T]:
    """Whole groups (bodies, claims), seeded, added until there are about ``size`` rows."""
    groups = sorted({group(r) for r in rows})
    random.Random(seed).shuffle(groups)
    chosen: set[str] = set()
    count = 0
    for name in groups:
        if count >= size:
            break
        chosen.add(name)
        count += sum(group(r) == name for r in rows)
    return [r for r in rows if group(r) in chosen]


def fnc1_examples(
    folder: Path, vectors: VectorCache, *, heldout: bool, per_body: int = 2
) -> list[Example]:
    """FNC-1 pairs of the training (or held-out) bodies as candidates: the ``per_body`` body
    sentences closest to the headline, each with the pair's label (``per_body`` 1 when
    measuring: the product counts an article by one sentence)."""
    bodies = {r["Body ID"]: r["articleBody"] for r in read_csv(folder / "train_bodies.csv")}
    split = {b: article_sentences("", text) for b, text in bodies.items()}
    pairs = read_csv(folder / "train_stances.csv")
    # One big encoding call (full batches) instead of one per pair.
    vectors.get([s for sents in split.values() for s in sents] + [r["Headline"] for r in pairs])
    examples = []
    for row in pairs:
        body = row["Body ID"]
        if fnc1_heldout(body) != heldout or not split[body]:
            continue
        sentences = split[body]
        claim = row["Headline"]
        sims = vectors.get(sentences) @ vectors.get([claim])[0]
        for i in np.argsort(-sims)[:per_body].tolist():
            passage = Passage(claim, sentences[i], product_context(sentences, i), float(sims[i]))
            examples.append(
                Example(passage, FNC_STANCES[row["Stance"]], None, "fnc1", f"body:{body}")
            )
    return examples


def emergent_examples(path: Path, vectors: VectorCache) -> list[Example]:
    rows = read_csv(path)
    vectors.get([r["claimHeadline"] for r in rows] + [r["articleHeadline"] for r in rows])
    examples = []
    for row in rows:
        claim, headline = row["claimHeadline"], row["articleHeadline"]
        sim = float(vectors.get([headline])[0] @ vectors.get([claim])[0])
        examples.append(
            Example(
                Passage(claim, headline, (), sim),
                EMERGENT_STANCES[row["articleHeadlineStance"]],
                None,
                "emergent",
                f"claim:{row['claimId']}",
            )
        )
    return examples


def corpus_examples(rows: Sequence[Row], vectors: VectorCache) -> list[Example]:
    vectors.get([r.sentence for r in rows] + [r.claim for r in rows])
    examples = []
    for row in rows:
        sim = float(vectors.get([row.sentence])[0] @ vectors.get([row.claim])[0])
        passage = Passage(row.claim, row.sentence, tuple(row.neighbours), sim)
        examples.append(
            Example(passage, row.stance, row.signal, "corpus", f"story:{row.story}", row.hard)
        )
    return examples


def by_group(
    examples: Sequence[Example], share: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """A seeded split that keeps every group (body, claim, story) whole: (rest, share)."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    taken = set(groups[: round(len(groups) * share)])
    return [e for e in examples if e.group not in taken], [e for e in examples if e.group in taken]
