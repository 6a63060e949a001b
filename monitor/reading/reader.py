"""The stance and signal reader: (claim, sentence and its neighbours) in, a verdict out.

The trained model (``monitor.reading.model``) gives the probabilities and decides; the rules
(``monitor.reading.rules``) give it their reading as features and give people the reasons: the
cues they found and who is on record. A signal is given only when the model is sure enough of
it (the threshold the training run chose on held-out stories, in ``reader.json``), because every
signal may move a rumour's state and alert someone.

`RulesReader` reads by the rules alone: for comparison (``[model] reader = "rules"``) and for
the figures of the rules on their own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from monitor.errors import MonitorError
from monitor.reading.model import PACKAGED, SIGNALS, STANCES
from monitor.reading.rules import Lexicon, Signal, Stance, judge, load_lexicon
from monitor.reading.rules.findings import REPORTED, Findings, find

BUNDLED = "bundled"
RULES = "rules"
# The cosine spans a few hundredths between related and not: stretched for the model's head.
COSINE_SCALE = 5.0
# How a training run chose to score signals (``signal_score`` in reader.json): by the signal's
# probability alone, by it and its stance's together, so that a weaker act also counts the
# stronger act's probability, or by both acts of a side together (see `decide`).
SIGNAL = "signal"
JOINT = "signal and stance"
CUMULATIVE = "signal and stance, weaker acts counting stronger"
SIDE = "signal and stance, each side's acts together"
# Each side's acts, the stronger first: a formal act is also a confirmation, a call-off also a
# denial that the claim will come true.
_SIDES: tuple[tuple[Signal, Signal], ...] = (("formalize", "confirm"), ("abandon", "deny"))
# The stance each signal belongs to.
_SIGNAL_STANCE: dict[str, Stance] = {
    "confirm": "supports",
    "formalize": "supports",
    "deny": "denies",
    "abandon": "denies",
}


class ReaderError(MonitorError):
    """The trained reader could not be loaded."""


@dataclass(frozen=True)
class Passage:
    """One candidate sentence for one claim, with what surrounds it in its article."""

    claim: str
    sentence: str
    context: tuple[str, ...] = ()  # the headline and neighbouring sentences
    similarity: float = 0.0  # the bi-encoder cosine of sentence and claim


@dataclass(frozen=True)
class Verdict:
    stance: Stance
    signal: Signal
    strength: float  # 0..1: how firmly it moves the rumour (the reader's probability)
    probability: float  # the model's probability of the stance (of the signal, when one)
    cues: tuple[str, ...]  # what the rules found, for people
    on_record: str  # who speaks: the party's words, "reported, not on record", "stated as fact"
    reader: str  # which reader and version judged it


@dataclass(frozen=True)
class Thresholds:
    """The signal thresholds a training run chose (``reader.json``): one per signal for what a
    party to the claim says on record or the writer states as fact, and one per signal for what
    the rules read as reported, not on record (a third party speaking, "said to", a hedge).
    A state change needs a party on record: second-hand words need more certainty to move one.
    """

    on_record: Mapping[str, float]
    reported: Mapping[str, float]

    def of(self, on_record: str) -> Mapping[str, float]:
        """The thresholds for a sentence whose rules' reading says ``on_record``."""
        return self.reported if on_record == REPORTED else self.on_record


class Reader(Protocol):
    version: str

    def read(self, passages: Sequence[Passage]) -> list[Verdict]: ...


class ModelReader:
    """The trained cross-encoder, weighing the rules' findings with the text."""

    def __init__(self, folder: Path, lexicon: Lexicon | None = None) -> None:
        from monitor.reading.model import network  # torch: only when the model is used

        self.network = network
        try:
            self.model, self.tokenizer, self.config = network.load(folder)
        except (OSError, ValueError, KeyError) as exc:
            raise ReaderError(
                f"cannot load the stance reader from {folder}: {exc} "
                "(check [model] reader in config: 'bundled', 'rules' or a trained folder)"
            ) from exc
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.thresholds = thresholds(self.config.extra)
        self.score = str(self.config.extra.get("signal_score", SIGNAL))
        self.version = f"model {self.config.version}"
        self._lock = threading.Lock()  # torch modules are not safe across threads at once

    def read(self, passages: Sequence[Passage]) -> list[Verdict]:
        if not passages:
            return []
        found = [find(p.sentence, p.claim, p.context, self.lexicon) for p in passages]
        features = feature_matrix(passages, found, self.config.features)
        texts = [self.network.passage(p.sentence, p.context) for p in passages]
        with self._lock:
            stance, signal = self.network.predict(
                self.model,
                self.tokenizer,
                self.config,
                [p.claim for p in passages],
                texts,
                features,
            )
        verdicts = []
        for s, g, f in zip(stance, signal, found, strict=True):
            label, act, p = decide(s, g, self.thresholds.of(f.on_record), self.score)
            cues = [*f.judgement.cues, f"model:{label}:{float(s.max()):.2f}"]
            if act != "none":
                cues.append(f"model:{act}:{p:.2f}")
            verdicts.append(Verdict(label, act, p, p, tuple(cues), f.on_record, self.version))
        return verdicts


def decide(
    stance: npt.NDArray[np.float32],
    signal: npt.NDArray[np.float32],
    threshold: float | Mapping[str, float],
    score: str = SIGNAL,
) -> tuple[Stance, Signal, float]:
    """(stance, signal, probability) from the model's two distributions: the likeliest stance,
    and the likeliest signal only when it reaches its threshold (one for all, or one per
    signal) and the text is related; a signal brings the stance it belongs to.

    With JOINT the signal is scored by the geometric mean of its probability and that of its
    stance: a signal the stance head reads as merely reported ("said to", a third party)
    scores low, where the signal head alone can be sure of it. With CUMULATIVE, scored the same
    way, a weaker act also counts the stronger one's probability: a signed agreement the
    network splits half and half between confirm and formalize is surely at least a
    confirmation, where the likeliest act alone (0.5) would pass no threshold. With SIDE the
    side's two acts together say whether the party acted (scored as JOINT), and the likelier
    of the two says which act: that signed agreement is a formal act when formalize is the
    likelier, not a confirmation for want of certainty about which act it is."""
    label: Stance = STANCES[int(np.argmax(stance))]  # type: ignore[assignment]
    if score in (CUMULATIVE, SIDE):
        pick = _cumulative if score == CUMULATIVE else _by_side
        found = pick(stance, signal, threshold) if label != "unrelated" else None
        return found if found is not None else (label, "none", float(stance.max()))
    best = 1 + int(np.argmax(signal[1:]))
    act: Signal = SIGNALS[best]  # type: ignore[assignment]
    value = float(signal[best])
    if score == JOINT:
        value = _joint(value, stance, act)
    if label != "unrelated" and value >= _least(threshold, act):
        return _SIGNAL_STANCE[act], act, value
    return label, "none", float(stance.max())


def _joint(value: float, stance: npt.NDArray[np.float32], act: str) -> float:
    return float(np.sqrt(value * float(stance[STANCES.index(_SIGNAL_STANCE[act])])))


def _least(threshold: float | Mapping[str, float], act: str) -> float:
    return float(threshold) if isinstance(threshold, float | int) else threshold[act]


def _by_side(
    stance: npt.NDArray[np.float32],
    signal: npt.NDArray[np.float32],
    threshold: float | Mapping[str, float],
) -> tuple[Stance, Signal, float] | None:
    """The likelier act of the side whose two acts together reach that act's threshold."""
    tried: list[tuple[Signal, float]] = []
    for strong, weak in _SIDES:
        p_strong, p_weak = float(signal[SIGNALS.index(strong)]), float(signal[SIGNALS.index(weak)])
        tried.append((strong if p_strong >= p_weak else weak, p_strong + p_weak))
    return _best(stance, tried, threshold)


def _cumulative(
    stance: npt.NDArray[np.float32],
    signal: npt.NDArray[np.float32],
    threshold: float | Mapping[str, float],
) -> tuple[Stance, Signal, float] | None:
    """The best-scoring act that reaches its threshold, each side tried strongest first: the
    stronger act on its own probability, else the weaker on both."""
    tried: list[tuple[Signal, float]] = []
    for strong, weak in _SIDES:
        p_strong, p_weak = float(signal[SIGNALS.index(strong)]), float(signal[SIGNALS.index(weak)])
        alone = _joint(p_strong, stance, strong) >= _least(threshold, strong)
        tried.append((strong, p_strong) if alone else (weak, p_strong + p_weak))
    return _best(stance, tried, threshold)


def _best(
    stance: npt.NDArray[np.float32],
    tried: Sequence[tuple[Signal, float]],
    threshold: float | Mapping[str, float],
) -> tuple[Stance, Signal, float] | None:
    """Of (act, probability mass) pairs, the best-scoring one that reaches its act's threshold."""
    scored = [(_joint(mass, stance, act), act) for act, mass in tried]
    passed = [(value, act) for value, act in scored if value >= _least(threshold, act)]
    if not passed:
        return None
    value, act = max(passed)
    return _SIGNAL_STANCE[act], act, value


def feature_matrix(
    passages: Sequence[Passage], found: Sequence[Findings], names: Sequence[str]
) -> npt.NDArray[np.float32]:
    """The numbers the model weighs beside the text, one row per passage, in ``names`` order:
    the bi-encoder cosine and the rules' findings."""
    rows = [[_feature(n, p, f) for n in names] for p, f in zip(passages, found, strict=True)]
    return np.array(rows, dtype=np.float32).reshape(len(passages), len(names))


def _feature(name: str, passage: Passage, found: Findings) -> float:
    if name == "cosine":
        return passage.similarity * COSINE_SCALE
    return float(found.features.get(name, 0.0))


def thresholds(extra: Mapping[str, object]) -> Thresholds:
    """The signal thresholds a training run chose: one per signal (newer runs) or one for all,
    and those for reported sentences when the run chose them apart (else the same), never below
    the on-record ones: second-hand words need more certainty to move a state, not less."""
    on_record = _per_signal(extra.get("signal_thresholds"))
    if on_record is None:
        value = extra.get("signal_threshold", 0.5)
        common = float(value) if isinstance(value, int | float | str) else 0.5
        on_record = dict.fromkeys(SIGNALS[1:], common)
    reported = _per_signal(extra.get("signal_thresholds_reported")) or on_record
    return Thresholds(on_record, {a: max(v, on_record[a]) for a, v in reported.items()})


def _per_signal(chosen: object) -> dict[str, float] | None:
    if isinstance(chosen, dict) and set(chosen) == set(SIGNALS[1:]):
        return {str(k): float(v) for k, v in chosen.items()}
    return None


class RulesReader:
    """The rules and their small learned layer alone, as before the trained model."""

    version = "rules"

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else load_lexicon()

    def read(self, passages: Sequence[Passage]) -> list[Verdict]:
        verdicts = []
        for p in passages:
            judged = judge(p.sentence, p.claim, context=list(p.context), lexicon=self.lexicon)
            on_record = find(p.sentence, p.claim, p.context, self.lexicon).on_record
            verdicts.append(
                Verdict(
                    judged.stance,
                    judged.signal,
                    judged.strength,
                    judged.strength,
                    judged.cues,
                    on_record,
                    self.version,
                )
            )
        return verdicts


_READERS: dict[str, Reader] = {}
_READERS_LOCK = threading.Lock()


def shared_reader(name: str = BUNDLED) -> Reader:
    """The process-wide reader for a `[model] reader` setting: loaded once, on first use."""
    with _READERS_LOCK:
        if name not in _READERS:
            if name == RULES:
                _READERS[name] = RulesReader()
            else:
                _READERS[name] = ModelReader(PACKAGED if name == BUNDLED else Path(name))
        return _READERS[name]
