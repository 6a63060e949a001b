"""Counterfactual hard negatives for training: the claim's other party swapped out."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from monitor.reading.reader import Passage
from train import swap
from train.data import Example, VectorCache

CLAIM = "Loddon Bakeries will supply Greenaway Grocers' own-label bread"


def _vectors(tmp_path: Path) -> VectorCache:
    # A stand-in for the bi-encoder (pure logic under test): a unit vector per text length.
    def encode(texts: list[str]) -> list[np.ndarray]:
        return [np.array([len(t) % 7 + 1.0, 1.0]) / np.hypot(len(t) % 7 + 1.0, 1.0) for t in texts]

    return VectorCache(tmp_path, encode)


def _example(sentence: str, signal: str | None, claim: str = CLAIM) -> Example:
    passage = Passage(claim, sentence, ("Greenaway signs bread deal",), 0.8)
    return Example(passage, "supports", signal, "corpus", "story:loddon", None)


def test_parties_are_the_claims_names_in_order() -> None:
    assert swap.parties(CLAIM) == ["Loddon Bakeries", "Greenaway Grocers"]
    assert swap.parties("Imara Nwosu will become chief executive of Wickmoor Logistics") == [
        "Imara Nwosu",
        "Wickmoor Logistics",
    ]


def test_a_swap_replaces_the_full_name_and_the_short_one() -> None:
    text = "Loddon signed with Greenaway Grocers; Greenaway said the deal runs three years."
    swapped = swap.swap(text, "Greenaway Grocers", "Tamholt Grocers")
    assert swapped == "Loddon signed with Tamholt Grocers; Tamholt said the deal runs three years."
    assert swap.stand_in("Greenaway Grocers", random.Random(1)).endswith(" Grocers")


def test_each_signal_sentence_naming_the_other_party_gets_an_unrelated_twin(
    tmp_path: Path,
) -> None:
    examples = [
        _example("Loddon Bakeries has signed a contract to supply Greenaway Grocers.", "formalize"),
        _example("Loddon Bakeries said the contract starts in May.", "formalize"),  # no Greenaway
        _example("Greenaway Grocers is said to be close to a deal.", "none"),  # no signal
        _example("Analysts expect a deal.", None),  # no signal label
        _example("Tollan will buy it.", "confirm", claim="Tollan will buy a bakery"),  # one name
    ]
    twins = swap.swapped(examples, _vectors(tmp_path), seed=3)
    assert len(twins) == 1
    (twin,) = twins
    assert "Greenaway" not in twin.passage.sentence
    assert twin.passage.sentence.startswith("Loddon Bakeries has signed a contract to supply ")
    assert "Greenaway" not in twin.passage.context[0]
    assert (twin.stance, twin.signal, twin.hard) == ("unrelated", "none", "other-deal")
    assert twin.group == "story:loddon"  # a twin stays in its story's split
    assert twin.passage.similarity != 0.8  # measured anew for the new sentence
    assert swap.swapped(examples, _vectors(tmp_path), seed=3) == twins  # seeded


def test_a_share_keeps_that_part_of_the_twins_seeded(tmp_path: Path) -> None:
    examples = [
        _example(f"Loddon Bakeries signed contract {i} with Greenaway Grocers.", "formalize")
        for i in range(200)
    ]
    every = swap.swapped(examples, _vectors(tmp_path), seed=5)
    some = swap.swapped(examples, _vectors(tmp_path), seed=5, share=0.3)
    assert len(every) == 200
    assert 40 <= len(some) <= 80  # about 60: a third of the twins, not all, not none
    assert swap.swapped(examples, _vectors(tmp_path), seed=5, share=0.3) == some
    kept = {t.passage.sentence.split(" with ")[0] for t in some}
    assert kept < {t.passage.sentence.split(" with ")[0] for t in every}
