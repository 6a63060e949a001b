"""The training loop: seeded, length-bucketed batches, AdamW with warm-up and linear decay, a
class-weighted loss per head, each masked to the rows that have its label."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from monitor.reading.model import SIGNALS, STANCES
from monitor.reading.model.network import WORD_EMBEDDINGS, CrossEncoder, passage
from train.data import Example

S = {name: i for i, name in enumerate(STANCES)}
G = {name: i for i, name in enumerate(SIGNALS)}


@dataclass(frozen=True)
class Settings:
    epochs: int = 1
    lr: float = 4e-5
    head_lr: float = 1e-3
    batch_size: int = 16
    max_length: int = 128
    class_weight_power: float = 0.5  # 0: no weighting, 1: inverse frequency
    signal_weight: float = 1.0
    hard_weight: float = 1.0  # a hard negative's signal loss against an ordinary row's


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def freeze_word_embeddings(model: CrossEncoder) -> None:
    """The word embeddings stay the bundled package's, so they need not ship."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name != WORD_EMBEDDINGS


def _weights(labels: Sequence[int], size: int, power: float) -> torch.Tensor:
    counts = Counter(label for label in labels if label >= 0)
    top = max(counts.values(), default=1)
    return torch.tensor(
        [(top / counts[i]) ** power if counts.get(i) else 1.0 for i in range(size)],
        dtype=torch.float32,
    )


def _batches(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled, then sorted by length within chunks of 50 batches (little padding), then the
    batches shuffled: seeded, so a run is repeatable."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), size * 50):
        chunk = sorted(order[start : start + size * 50], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def _collate(
    encoded: dict[str, list[list[int]]], features: np.ndarray, rows: Sequence[int]
) -> dict[str, torch.Tensor]:
    width = max(len(encoded["input_ids"][i]) for i in rows)
    out = {k: torch.zeros(len(rows), width, dtype=torch.long) for k in encoded}
    for j, i in enumerate(rows):
        n = len(encoded["input_ids"][i])
        for key in ("input_ids", "token_type_ids"):
            out[key][j, :n] = torch.tensor(encoded[key][i])
        out["attention_mask"][j, :n] = 1
    out["features"] = torch.from_numpy(features[rows])
    return out


def train(
    model: CrossEncoder,
    tokenizer: object,
    examples: Sequence[Example],
    features: np.ndarray,
    settings: Settings,
    seed: int,
    log: Callable[[str], None],
    tag: str,
) -> float:
    """Train in place; returns the seconds it took."""
    seed_all(seed)
    rng = random.Random(seed)
    encoded = tokenizer(  # type: ignore[operator]
        [e.passage.claim for e in examples],
        [passage(e.passage.sentence, e.passage.context) for e in examples],
        truncation="only_second",
        max_length=settings.max_length,
    )
    encoded = {k: encoded[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    stance = torch.tensor([S[e.stance] for e in examples])
    signal = torch.tensor([G[e.signal] if e.signal is not None else -1 for e in examples])
    ws = _weights(stance.tolist(), len(STANCES), settings.class_weight_power)
    wg = _weights(signal.tolist(), len(SIGNALS), settings.class_weight_power)
    # Hard negatives ("said to", third parties, recaps) weigh more: a false alert costs trust.
    row_g = torch.tensor([settings.hard_weight if e.hard else 1.0 for e in examples])
    log(
        f"[{tag}] {len(examples)} rows {dict(Counter(e.source for e in examples))}, "
        f"signal rows {int((signal >= 0).sum())}"
    )
    head = [p for n, p in model.named_parameters() if p.requires_grad and "_head" in n]
    body = [p for n, p in model.named_parameters() if p.requires_grad and "_head" not in n]
    optimiser = torch.optim.AdamW(
        [
            {"params": head, "lr": settings.head_lr, "weight_decay": 0.0},
            {"params": body, "lr": settings.lr, "weight_decay": 0.01},
        ]
    )
    total = math.ceil(len(examples) / settings.batch_size) * settings.epochs
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    loss_s = nn.CrossEntropyLoss(weight=ws, ignore_index=-1, reduction="sum")
    loss_g = nn.CrossEntropyLoss(weight=wg, ignore_index=-1, reduction="none")
    lengths = [len(ids) for ids in encoded["input_ids"]]
    started, step, running = time.perf_counter(), 0, 0.0
    for epoch in range(settings.epochs):
        model.train()
        for rows in _batches(lengths, settings.batch_size, rng):
            batch = _collate(encoded, features, rows)
            ys, yg = stance[rows], signal[rows]
            logits_s, logits_g = model(**batch)
            loss = torch.zeros(())
            norm_s = ws[ys.clamp(min=0)][ys >= 0].sum()
            rw = row_g[rows]
            norm_g = (wg[yg.clamp(min=0)] * rw)[yg >= 0].sum()
            if norm_s > 0:
                loss = loss + loss_s(logits_s, ys) / norm_s
            if norm_g > 0:
                weighted = (loss_g(logits_g, yg) * rw).sum()
                loss = loss + settings.signal_weight * weighted / norm_g
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(head + body, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            running += float(loss.item())
            if step % 50 == 0:
                seconds = time.perf_counter() - started
                log(
                    f"[{tag}] epoch {epoch + 1} step {step}/{total} loss {running / 50:.4f} "
                    f"{seconds:.0f}s ({step * settings.batch_size / seconds:.1f} pairs/s)"
                )
                running = 0.0
    model.eval()
    return time.perf_counter() - started
