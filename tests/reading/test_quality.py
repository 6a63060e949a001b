"""Quality gates for the shipped reader, on data it was never trained on.

- The signal corpus's test stories (train/corpus, split "test"): signal macro-F1 and false
  signals on hard negatives, the figures issue-level users act on.
- Our labelled sentences (tests/fixtures/stance_labelled.jsonl): stance accuracy.
- Held-out FNC-1 bodies and Emergent claims, a small seeded sample each, through `assess`
  (the product path), when the data sets' paths are given: RUMOUR_MONITOR_FNC1 (the folder
  of train_stances.csv) and RUMOUR_MONITOR_EMERGENT (the CSV). CI sets both.

The floors sit a margin below what the shipped reader measured (the figures beside them; the
whole held-out sets are in README, "Measured figures"), not at what would pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from monitor.config import default_config
from monitor.reading.assess import Pair, assess_pairs
from monitor.reading.embed import Embedder
from monitor.reading.reader import Passage, Reader, shared_reader
from tests.helpers import FIXTURES
from train.corpus import load_corpus
from train.data import EMERGENT, cosines, fnc1_heldout_pairs, read_csv, sample_groups
from train.metrics import SIGNALS, STANCES, accuracy, fnc_score, macro_f1

MATCHING = default_config("config.toml").matching  # the product's own, as `assess` uses it
SEED = 7  # of the held-out samples
# Floors a margin below what the shipped reader measured on these same samples (in brackets),
# so a worse model fails. The issues' other targets are higher and not reached yet: signal
# macro-F1 0.90 (issue 14), stance on our labelled set 0.95 (issue 13).
SIGNAL_F1_FLOOR = 0.74  # (0.803 on the 1,981 test sentences; the reader before: 0.678)
# (7 of 1,183: 0.59%; the reader before: 22 of 1,071, 2.1%): issue 14's bound, which it holds
FALSE_SIGNALS_MOST = 0.01
LABELLED_STANCE_FLOOR = 0.80  # (0.855; the rules alone: 0.957, tests/reading/test_stance.py)
# Through the product's matching (similarity floor 0.35; at 0.55: 0.781 / 0.576, 0.741 / 0.780)
FNC_SCORE_FLOOR = 0.82  # (0.885 of the best score; 261 pairs)
FNC_F1_FLOOR = 0.58  # (0.641)
EMERGENT_ACCURACY_FLOOR = 0.77  # (0.833; 263 pairs)
EMERGENT_F1_FLOOR = 0.78  # (0.840)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return shared_reader("bundled")


def test_signals_on_the_corpus_test_stories(reader: Reader, embedder: Embedder) -> None:
    rows = load_corpus(split="test")
    sims = cosines([(r.claim, r.sentence) for r in rows], embedder.encode)
    passages = [
        Passage(r.claim, r.sentence, tuple(r.neighbours), s)
        for r, s in zip(rows, sims, strict=True)
    ]
    verdicts = reader.read(passages)
    gold = [r.signal for r in rows]
    read = [v.signal for v in verdicts]
    hard = [v.signal for r, v in zip(rows, verdicts, strict=True) if r.hard]
    false = sum(s != "none" for s in hard)
    assert len(rows) > 500 and len(hard) > 300
    assert macro_f1(gold, read, SIGNALS) >= SIGNAL_F1_FLOOR
    assert false / len(hard) <= FALSE_SIGNALS_MOST, f"{false} of {len(hard)} hard negatives"


def test_stance_on_our_labelled_sentences(reader: Reader, embedder: Embedder) -> None:
    rows = [
        json.loads(line)
        for line in (FIXTURES / "stance_labelled.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    sims = cosines([(r["claim"], r["sentence"]) for r in rows], embedder.encode)
    verdicts = reader.read(
        [Passage(r["claim"], r["sentence"], (), s) for r, s in zip(rows, sims, strict=True)]
    )
    assert accuracy([r["stance"] for r in rows], [v.stance for v in verdicts]) >= (
        LABELLED_STANCE_FLOOR
    )


def _data(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"{variable} not set: the held-out sample is not checked")
    path = Path(value)
    assert path.exists(), f"{variable}={value} does not exist"
    return path


def test_fnc1_heldout_bodies_sample(reader: Reader, embedder: Embedder) -> None:
    held = fnc1_heldout_pairs(_data("RUMOUR_MONITOR_FNC1"))
    rows = sample_groups(held, lambda r: r[3], 250, SEED)
    pairs = [Pair(i, headline, body) for i, (headline, body, _, _) in enumerate(rows)]
    gold = [r[2] for r in rows]
    read = [a.stance for a in assess_pairs(pairs, embedder, MATCHING, reader)]
    assert fnc_score(gold, read) >= FNC_SCORE_FLOOR
    assert macro_f1(gold, read, STANCES) >= FNC_F1_FLOOR


def test_emergent_claims_sample(reader: Reader, embedder: Embedder) -> None:
    rows = read_csv(_data("RUMOUR_MONITOR_EMERGENT"))
    rows = sample_groups(rows, lambda r: r["claimId"], 250, SEED)
    pairs = [Pair(i, r["claimHeadline"], r["articleHeadline"]) for i, r in enumerate(rows)]
    read = [
        EMERGENT.get(a.stance, "unrelated") for a in assess_pairs(pairs, embedder, MATCHING, reader)
    ]
    gold = [r["articleHeadlineStance"] for r in rows]
    assert accuracy(gold, read) >= EMERGENT_ACCURACY_FLOOR
    assert macro_f1(gold, read, ("for", "against", "observing")) >= EMERGENT_F1_FLOOR
