"""The training script's choices, as pure logic: how sure the thresholds must be of few false
signals, how a signal is scored, what the model card says to reproduce a run."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from monitor.reading.model import SIGNALS, network
from monitor.reading.model.network import CONFIG, WEIGHTS, NetworkConfig
from monitor.reading.reader import CUMULATIVE, JOINT, SIDE, Passage, decide, thresholds
from monitor.reading.rules.findings import REPORTED, STATED
from train import card, ensemble, evaluate, soup
from train.data import Example
from train.options import follow_seed, parser, split_seed, stage1_seed


@pytest.mark.parametrize(
    ("wrong", "hard", "bound"),
    [(0, 449, 0.00665), (1, 449, 0.01052), (4, 449, 0.02027), (0, 300, 0.00994)],
)
def test_false_rate_bound_is_the_exact_upper_bound(wrong: int, hard: int, bound: float) -> None:
    assert evaluate.false_rate_bound(wrong, hard) == pytest.approx(bound, abs=2e-5)


def test_a_rate_under_the_bound_by_luck_is_not_within_it_when_confident() -> None:
    assert evaluate.within(0, 449, 0.01, confident=True)
    assert not evaluate.within(4, 449, 0.01, confident=True)  # 0.9 % seen, up to 2 % likely
    assert evaluate.within(4, 449, 0.01)  # as seen
    assert not evaluate.within(5, 449, 0.01)
    assert evaluate.within(4, 1000, 0.01, confident=True)
    assert evaluate.within(0, 0, 0.01, confident=True)  # nothing to be wrong on


def test_joint_score_holds_back_a_signal_its_stance_reads_as_reported() -> None:
    stance = np.array([0.02, 0.90, 0.06, 0.02], dtype=np.float32)  # reports
    signal = np.array([0.03, 0.95, 0.01, 0.005, 0.005], dtype=np.float32)  # confirm
    assert decide(stance, signal, 0.9)[1] == "confirm"
    label, act, score = decide(stance, signal, 0.9, JOINT)
    assert (label, act) == ("reports", "none")
    on_record = np.array([0.02, 0.06, 0.90, 0.02], dtype=np.float32)  # supports
    label, act, score = decide(on_record, signal, 0.9, JOINT)
    assert (label, act) == ("supports", "confirm")
    assert score == pytest.approx(np.sqrt(0.95 * 0.90), abs=1e-6)


def test_cumulative_score_lets_a_split_between_acts_count_for_the_weaker_one() -> None:
    supports = np.array([0.0, 0.02, 0.98, 0.0], dtype=np.float32)
    split = np.array([0.0, 0.5, 0.5, 0.0, 0.0], dtype=np.float32)  # confirm or formalize
    thresholds = {"confirm": 0.8, "formalize": 0.8, "deny": 0.8, "abandon": 0.8}
    assert decide(supports, split, thresholds, JOINT)[1] == "none"
    label, act, score = decide(supports, split, thresholds, CUMULATIVE)
    assert (label, act) == ("supports", "confirm")
    assert score == pytest.approx(np.sqrt(1.0 * 0.98), abs=1e-6)
    # The stronger act when it reaches its own threshold; the weaker never lends it mass.
    formal = np.array([0.0, 0.1, 0.9, 0.0, 0.0], dtype=np.float32)
    assert decide(supports, formal, thresholds, CUMULATIVE)[1] == "formalize"
    assert decide(supports, formal[[0, 2, 1, 3, 4]], thresholds, CUMULATIVE)[1] == "confirm"
    # The same on the other side: a denial or a call-off is surely a denial.
    denies = np.array([0.0, 0.02, 0.0, 0.98], dtype=np.float32)
    negative = np.array([0.0, 0.0, 0.0, 0.45, 0.55], dtype=np.float32)
    assert decide(denies, negative, thresholds, CUMULATIVE)[:2] == ("denies", "deny")
    # Unrelated text, or mass spread over both sides, moves nothing.
    unrelated = np.array([0.9, 0.05, 0.05, 0.0], dtype=np.float32)
    assert decide(unrelated, split, thresholds, CUMULATIVE)[1] == "none"
    both = np.array([0.2, 0.2, 0.2, 0.2, 0.2], dtype=np.float32)
    assert decide(supports, both, thresholds, CUMULATIVE)[1] == "none"


def test_side_score_gives_the_likelier_act_of_a_side_sure_enough_as_a_whole() -> None:
    supports = np.array([0.0, 0.02, 0.98, 0.0], dtype=np.float32)
    thresholds = {"confirm": 0.8, "formalize": 0.9, "deny": 0.8, "abandon": 0.8}
    # A signed agreement split 0.6 / 0.4: a formal act, where JOINT finds neither act sure
    # enough and CUMULATIVE settles for a confirmation.
    signed = np.array([0.0, 0.4, 0.6, 0.0, 0.0], dtype=np.float32)
    assert decide(supports, signed, thresholds, JOINT)[1] == "none"
    assert decide(supports, signed, thresholds, CUMULATIVE)[1] == "confirm"
    label, act, score = decide(supports, signed, thresholds, SIDE)
    assert (label, act) == ("supports", "formalize")
    assert score == pytest.approx(np.sqrt(1.0 * 0.98), abs=1e-6)
    assert decide(supports, signed[[0, 2, 1, 3, 4]], thresholds, SIDE)[1] == "confirm"
    # The side as a whole must still reach the likelier act's own threshold.
    unsure = np.array([0.3, 0.3, 0.4, 0.0, 0.0], dtype=np.float32)
    assert decide(supports, unsure, thresholds, SIDE)[1] == "none"
    denies = np.array([0.0, 0.02, 0.0, 0.98], dtype=np.float32)
    negative = np.array([0.0, 0.0, 0.0, 0.45, 0.55], dtype=np.float32)
    assert decide(denies, negative, thresholds, SIDE)[:2] == ("denies", "abandon")
    unrelated = np.array([0.9, 0.05, 0.05, 0.0], dtype=np.float32)
    assert decide(unrelated, signed, thresholds, SIDE)[1] == "none"


def _example(signal: str, hard: str | None) -> Example:
    return Example(Passage("c", "s"), "reports", signal, "corpus", "story:x", hard)


def test_thresholds_keep_dev_false_signals_within_the_bound() -> None:
    # 300 hard negatives, three of them read as confirmations at 0.8-0.88; true ones at 0.6-0.99.
    gold = [_example("none", "said-to") for _ in range(300)] + [
        _example("confirm", None) for _ in range(40)
    ]
    confirm = np.concatenate([np.full(297, 0.1), [0.8, 0.85, 0.88], np.linspace(0.6, 0.99, 40)])
    signal = np.zeros((len(gold), 5), dtype=np.float32)
    signal[:, 1] = confirm
    signal[:, 0] = 1 - confirm
    stance = np.tile(np.array([0.0, 0.5, 0.5, 0.0], dtype=np.float32), (len(gold), 1))
    readings = evaluate.Readings(stance, signal)
    seen = evaluate.choose_thresholds(gold, readings, 0.01)
    assert evaluate.false_alarms(gold, evaluate.decided(readings, seen)[1])[0] == 3  # 1 %
    chosen = evaluate.choose_thresholds(gold, readings, 0.01, confident=True)
    _, signals = evaluate.decided(evaluate.Readings(stance, signal), chosen)
    assert evaluate.false_alarms(gold, signals) == (0, 300)
    assert chosen["confirm"] > 0.88
    assert "confirm" in signals  # the true ones above it still count


def test_no_threshold_goes_below_the_least_one() -> None:
    # No hard negative reaches 0.5, so the dev stories alone would let confirm drop to 0.6.
    gold = [_example("none", "said-to") for _ in range(300)] + [
        _example("confirm", None) for _ in range(40)
    ]
    confirm = np.concatenate([np.full(300, 0.1), np.linspace(0.6, 0.99, 40)])
    signal = np.zeros((len(gold), 5), dtype=np.float32)
    signal[:, 1], signal[:, 0] = confirm, 1 - confirm
    stance = np.tile(np.array([0.0, 0.5, 0.5, 0.0], dtype=np.float32), (len(gold), 1))
    readings = evaluate.Readings(stance, signal, np.zeros(len(gold), bool))
    assert evaluate.choose_thresholds(gold, readings, 0.01)["confirm"] < 0.9
    floored = evaluate.choose_thresholds(gold, readings, 0.01, least=0.9)
    assert min(floored.values()) >= 0.9
    apart = evaluate.choose_reported(gold, readings, floored, 0.01, least=0.9)
    assert min([*apart.on_record.values(), *apart.reported.values()]) >= 0.9


def test_reported_sentences_get_thresholds_of_their_own() -> None:
    # Ten third-party hard negatives read as confirmations at 0.80-0.89, true on-record
    # confirmations at 0.70-0.99: one common threshold must sit above 0.89 and lose most of the
    # true ones; apart, the reported ones are held back and the on-record ones pass lower.
    gold = (
        [_example("none", "third-party") for _ in range(300)]
        + [_example("confirm", None) for _ in range(40)]
        + [_example("confirm", None) for _ in range(4)]
    )
    confirm = np.concatenate(
        [np.full(290, 0.1), np.linspace(0.8, 0.89, 10), np.linspace(0.7, 0.99, 40), [0.97] * 4]
    )
    reported = np.zeros(len(gold), bool)
    reported[290:300] = True  # the third party's sentences
    reported[-4:] = True  # reported, yet true and read as sure
    signal = np.zeros((len(gold), 5), dtype=np.float32)
    signal[:, 1] = confirm
    signal[:, 0] = 1 - confirm
    stance = np.tile(np.array([0.0, 0.5, 0.5, 0.0], dtype=np.float32), (len(gold), 1))
    readings = evaluate.Readings(stance, signal, reported)
    common = evaluate.choose_thresholds(gold, readings, 0.01, confident=True)
    assert common["confirm"] > 0.89
    apart = evaluate.choose_reported(gold, readings, common, 0.01, confident=True)
    _, signals = evaluate.decided(readings, apart)
    assert evaluate.false_alarms(gold, signals) == (0, 300)
    assert apart.reported["confirm"] > 0.89 >= apart.on_record["confirm"]
    on_record_found = sum(s == "confirm" for s in signals[300:340])
    assert on_record_found > sum(s == "confirm" for s in evaluate.decided(readings, common)[1])
    assert signals[-4:] == ["confirm"] * 4  # sure enough, even reported


def test_reported_sentences_are_never_held_to_a_lower_bar() -> None:
    # True reported confirmations read at 0.40-0.60 and no reported hard negative at all: the
    # dev stories would allow a reported threshold of 0.30, but it stays at the on-record one.
    gold = [_example("none", "third-party") for _ in range(200)]
    gold += [_example("confirm", None) for _ in range(40)]
    confirm = np.concatenate([np.full(200, 0.1), np.linspace(0.4, 0.6, 20), [0.97] * 20])
    reported = np.zeros(len(gold), bool)
    reported[200:220] = True
    signal = np.zeros((len(gold), 5), dtype=np.float32)
    signal[:, 1], signal[:, 0] = confirm, 1 - confirm
    stance = np.tile(np.array([0.0, 0.5, 0.5, 0.0], dtype=np.float32), (len(gold), 1))
    readings = evaluate.Readings(stance, signal, reported)
    on_record = dict.fromkeys(SIGNALS[1:], 0.9)
    apart = evaluate.choose_reported(gold, readings, on_record, 0.01)
    assert all(apart.reported[a] >= apart.on_record[a] for a in SIGNALS[1:])
    loaded = thresholds(
        {
            "signal_thresholds": dict.fromkeys(SIGNALS[1:], 0.8),
            "signal_thresholds_reported": dict.fromkeys(SIGNALS[1:], 0.4),
        }
    )
    assert loaded.of(REPORTED) == dict.fromkeys(SIGNALS[1:], 0.8)


def test_a_folder_without_reported_thresholds_reads_as_before() -> None:
    chosen = thresholds({"signal_thresholds": dict.fromkeys(SIGNALS[1:], 0.8)})
    assert chosen.of(REPORTED) == chosen.of("Arventa said") == dict.fromkeys(SIGNALS[1:], 0.8)
    apart = thresholds(
        {
            "signal_thresholds": dict.fromkeys(SIGNALS[1:], 0.8),
            "signal_thresholds_reported": dict.fromkeys(SIGNALS[1:], 0.95),
        }
    )
    assert apart.of(REPORTED)["deny"] == 0.95 and apart.of(STATED)["deny"] == 0.8
    assert thresholds({"signal_threshold": 0.7}).of(REPORTED)["abandon"] == 0.7


# The training script's own defaults, as the script hands them to the card.
DEFAULTS = {name: parser().get_default(name) for name in card.TUNED}


def test_the_card_names_every_setting_a_run_changed() -> None:
    args = argparse.Namespace(
        weights=None, seed=13, epochs=4, signal_weight=3.0, hard_weight=1.0, joint=True
    )
    command = "\n".join(card._reproduce(args, {}, DEFAULTS))
    assert "--signal-weight 3.0" in command and "--joint" in command
    assert "--hard-weight" not in command and "--epochs" not in command


def test_the_card_of_measured_weights_names_how_they_were_trained() -> None:
    args = argparse.Namespace(
        weights="DIR", seen_corpus=None, keep_thresholds=False, joint=True, most_false=0.01
    )
    trained = {"signal_weight": "3.0", "epochs": "4", "joint": "False", "seed": "13"}
    first, second = [
        line for line in card._reproduce(args, trained, DEFAULTS) if "train.stance" in line
    ]
    assert first.endswith("--out DIR --signal-weight 3.0")
    assert "--weights DIR --joint" in second and "--signal-weight" not in second


def test_measured_weights_are_measured_on_the_dev_stories_they_never_saw() -> None:
    # A run trained with seed 15 held out seed 15's dev fifth; seed 13's would hold stories
    # it was trained on, and its dev figures would be figures on training data.
    args = argparse.Namespace(seed=13)
    said: list[str] = []
    follow_seed(args, NetworkConfig("v", extra={"settings": {"seed": "15"}}), said.append)
    assert args.seed == 15 and "15" in said[0]
    follow_seed(args, NetworkConfig("v", extra={}), said.append)  # an old folder: as given
    assert args.seed == 15 and len(said) == 1


def test_runs_may_share_their_dev_stories_whatever_their_training_seed() -> None:
    default = argparse.Namespace(seed=14, split_seed=None)
    shared = argparse.Namespace(seed=14, split_seed=13)
    assert split_seed(default) == 14 and split_seed(shared) == 13
    # measuring weights trained so, the dev stories are the ones they held out
    args = argparse.Namespace(seed=13, split_seed=None)
    said: list[str] = []
    trained = NetworkConfig("v", extra={"settings": {"seed": "14", "split_seed": "13"}})
    follow_seed(args, trained, said.append)
    assert (args.seed, split_seed(args)) == (14, 13) and "seed 13" in said[0]
    follow_seed(args, trained, said.append)  # already the same: nothing said
    assert len(said) == 1


def test_runs_may_share_their_first_stage_whatever_their_second_stage_seed() -> None:
    assert stage1_seed(argparse.Namespace(seed=17, stage1_seed=None)) == 17
    shared = argparse.Namespace(weights=None, seed=17, stage1_seed=16, split_seed=13)
    assert stage1_seed(shared) == 16
    command = "\n".join(card._reproduce(shared, {}, DEFAULTS))
    assert "--seed 17" in command and "--stage1-seed 16" in command


def _part(folder: Path, seed: int, value: float, **settings: str) -> Path:
    from safetensors.torch import save_file

    folder.mkdir()
    tensors = {"head.weight": torch.full((2, 3), value), "head.bias": torch.zeros(2)}
    save_file({k: v.half() for k, v in tensors.items()}, str(folder / WEIGHTS))
    trained = {"seed": str(seed), "split_seed": "13", "signal_weight": "3.0", **settings}
    config = NetworkConfig("v", extra={"settings": trained})
    (folder / CONFIG).write_text(config.to_json(), encoding="utf-8")
    return folder


def test_a_soup_is_the_mean_of_its_parts_and_names_them(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    first = _part(tmp_path / "a", 16, 1.0)
    second = _part(tmp_path / "b", 17, 2.0, stage1_seed="16")
    config = soup.soup([first, second], tmp_path / "soup")
    mean = load_file(str(tmp_path / "soup" / WEIGHTS))
    assert torch.allclose(mean["head.weight"].float(), torch.full((2, 3), 1.5))
    parts = card._parts(config)
    assert [p["seed"] for p in parts] == ["16", "17"]
    args = argparse.Namespace(weights="DIR", seen_corpus=None, keep_thresholds=False, joint=True)
    command = "\n".join(card._reproduce(args, parts[0], DEFAULTS, parts))
    assert "--out DIR1 --seed 16 --split-seed 13 --signal-weight 3.0" in command
    assert "--out DIR2 --seed 17 --split-seed 13 --stage1-seed 16" in command
    assert "python -m train.soup DIR1 DIR2 --out DIR" in command


def test_a_soup_refuses_parts_that_did_not_share_stage_one_or_dev_stories(tmp_path: Path) -> None:
    first = _part(tmp_path / "a", 16, 1.0)
    other_start = _part(tmp_path / "b", 17, 2.0)  # its own stage 1: seed 17
    with pytest.raises(soup.SoupError, match=r"stage1_seed 17.*--stage1-seed"):
        soup.soup([first, other_start], tmp_path / "soup")
    with pytest.raises(soup.SoupError, match="at least two"):
        soup.soup([first], tmp_path / "soup")


def test_stage_one_is_the_same_run_after_run(tmp_path: Path) -> None:
    # Its heads used to start from unseeded random weights, so no run repeated another and the
    # model card's command could not rebuild the shipped weights.
    from train.stance import FEATURES, network_tokenizer, stage_one

    claim = "Nimbus Mobile will buy Ferro Motors"
    rows = [
        ("Nimbus Mobile agreed to buy Ferro Motors, the companies said.", "supports"),
        ("Nimbus Mobile denied it would buy Ferro Motors.", "denies"),
        ("Nimbus Mobile is said to be weighing a bid for Ferro Motors.", "reports"),
        ("Ferro Motors opened a new showroom in Lyon.", "unrelated"),
    ]
    examples = [
        Example(Passage(claim, sentence, (), 0.5), stance, None, "fnc1", f"body:{i}")
        for i, (sentence, stance) in enumerate(rows)
    ]
    config = NetworkConfig("t", layers=1, max_length=32, features=FEATURES)
    tokenizer = network_tokenizer()
    states = []
    for run in ("a", "b"):
        args = argparse.Namespace(
            seed=5, stage1_seed=None, fnc1_rows=4, unrelated_share=1.0, fnc1_epochs=1,
            max_length=32, cache=tmp_path / run,
        )  # fmt: skip
        (tmp_path / run).mkdir()
        states.append(stage_one(config, tokenizer, examples, args, lambda _line: None))
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def _matrix_part(folder: Path, seed: int, value: float) -> Path:
    from safetensors.torch import save_file

    folder.mkdir()
    rows = torch.linspace(-value, value, 128 * 64).reshape(128, 64)
    save_file(
        {"dense.weight": rows.half(), "dense.bias": torch.zeros(128).half()}, str(folder / WEIGHTS)
    )
    config = NetworkConfig("v", extra={"settings": {"seed": str(seed), "split_seed": "13"}})
    (folder / CONFIG).write_text(config.to_json(), encoding="utf-8")
    return folder


def test_an_ensemble_keeps_each_part_in_int8_and_names_them(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    first = _matrix_part(tmp_path / "a", 16, 1.0)
    second = _matrix_part(tmp_path / "b", 17, 2.0)
    config = ensemble.ensemble([first, second], tmp_path / "joined")
    assert (config.members, config.int8) == (2, False)
    stored = load_file(str(tmp_path / "joined" / WEIGHTS))
    assert stored["member0.dense.weight"].dtype == torch.int8
    assert stored["member1.dense.bias"].dtype == torch.float16  # too small to be worth it
    states = network.member_states(stored, 2)
    for state, folder in zip(states, (first, second), strict=True):
        original = load_file(str(folder / WEIGHTS))["dense.weight"].float()
        # a scale per row: within half a step of the row's largest value over 127
        assert torch.allclose(state["dense.weight"], original, atol=original.abs().max() / 254)
    parts = card._parts(config)
    args = argparse.Namespace(weights="DIR", seen_corpus=None, keep_thresholds=False, joint=True)
    command = "\n".join(card._reproduce(args, parts[0], DEFAULTS, parts, ensemble=True))
    assert "python -m train.ensemble DIR1 DIR2 --out DIR" in command
    with pytest.raises(soup.SoupError, match="already an ensemble"):
        ensemble.ensemble([tmp_path / "joined", first], tmp_path / "again")


def test_an_ensemble_reads_the_mean_of_its_members_probabilities() -> None:
    class Fixed(torch.nn.Module):
        def __init__(self, stance: list[float], signal: list[float]) -> None:
            super().__init__()
            self.stance, self.signal = torch.tensor([stance]), torch.tensor([signal])

        def forward(self, *_: object) -> tuple[torch.Tensor, torch.Tensor]:
            return self.stance.log(), self.signal.log()

    joined = network.Ensemble(
        [
            Fixed([0.7, 0.1, 0.1, 0.1], [0.9, 0.1, 0, 0, 0]),
            Fixed([0.1, 0.1, 0.7, 0.1], [0.5, 0.5, 0, 0, 0]),
        ]  # type: ignore[list-item]
    )
    stance, signal = joined(None, None, None, None)
    assert torch.allclose(torch.softmax(stance, -1), torch.tensor([[0.4, 0.1, 0.4, 0.1]]))
    assert torch.allclose(torch.softmax(signal, -1), torch.tensor([[0.7, 0.3, 0, 0, 0]]))
