"""The trained network reads a pair the same whatever else is read with it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from monitor.reading.model import PACKAGED, network

Loaded = tuple[network.CrossEncoder, object, network.NetworkConfig]
CLAIM = "Hollerby will close its plant in Tarnwick"
SENTENCES = [
    "Hollerby confirmed on Monday that the Tarnwick plant will shut next year.",
    "A union spokesman said workers feared the plant could close.",
    "Shares in Hollerby rose 3% in early trading.",
    "Hollerby denied reports that it plans to close Tarnwick.",
    "The company, which employs 1,200 people in the town, declined to comment.",
    "Analysts at Brellin Securities said a closure was likely within two years, citing weak "
    "demand for the heavy trucks assembled at the site and rising energy costs across the region.",
]


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return network.load(PACKAGED)


@pytest.fixture(scope="module")
def full_precision(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The shipped weights with `"int8": false`: read in batches."""
    folder = tmp_path_factory.mktemp("reader")
    shutil.copy(PACKAGED / network.WEIGHTS, folder)
    config = json.loads((PACKAGED / network.CONFIG).read_text(encoding="utf-8"))
    (folder / network.CONFIG).write_text(json.dumps({**config, "int8": False}), encoding="utf-8")
    return network.load(folder)


def _read(loaded: Loaded, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    model, tokenizer, config = loaded
    features = np.zeros((len(sentences), len(config.features)), dtype=np.float32)
    passages = [network.passage(s, ("Hollerby shares rose.",)) for s in sentences]
    return network.predict(model, tokenizer, config, [CLAIM] * len(sentences), passages, features)


def test_the_shipped_network_is_int8(loaded: Loaded) -> None:
    assert network.quantized(loaded[0])


@pytest.mark.parametrize("reading", ["loaded", "full_precision"])
def test_a_pair_reads_the_same_alone_among_others_and_in_another_order(
    reading: str, request: pytest.FixtureRequest
) -> None:
    loaded: Loaded = request.getfixturevalue(reading)
    many = SENTENCES * 4  # 24 pairs of different lengths, read in one call
    stance_many, signal_many = _read(loaded, many)
    stance_back, signal_back = _read(loaded, many[::-1])
    for i, sentence in enumerate(SENTENCES):
        stance_alone, signal_alone = _read(loaded, [sentence])
        np.testing.assert_allclose(stance_many[i], stance_alone[0], atol=1e-5)
        np.testing.assert_allclose(signal_many[i], signal_alone[0], atol=1e-5)
        np.testing.assert_allclose(stance_back[-1 - i], stance_alone[0], atol=1e-5)
        np.testing.assert_allclose(signal_back[-1 - i], signal_alone[0], atol=1e-5)
    assert np.allclose(stance_many.sum(1), 1.0, atol=1e-4)
