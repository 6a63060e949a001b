"""Average the weights of readers trained from the same first stage: one network, no slower.

    python -m train.soup DIR1 DIR2 [...] --out DIR

Runs that share stage 1 (``train.stance --stage1-seed``) and differ only in stage 2's seed end
near each other, so the mean of their weights is a working network; the hope is that it keeps
their shared readings and drops the confident mistakes each makes alone, which are what set
the signal thresholds on the dev stories. Measured three times (README, "What the retrains
read"): on the tenth batch, seeds 16 + 17 read the test stories no better than the better part;
on the eleventh, seeds 16 + 17 kept seed 17's few false signals and read our labelled sentences
best of all runs, and seeds 16 + 17 + 18 were no better than their parts.
Writes ``reader.safetensors`` and a ``reader.json`` naming its parts; measure it and choose its
thresholds with ``train.stance --weights DIR``, which draws the dev stories the parts held out
(they must share ``--split-seed``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from monitor.reading.model import network
from train.options import split_seed, stage1_seed, trained_seeds

# What the parts must agree on, beside their tensor names and shapes.
SAME = ("layers", "pooling", "max_length", "features", "base_sha256")
# Of the parts' training settings: equal, or the dev stories or stage 1 differ.
SHARED = ("split_seed", "stage1_seed", "corpus")


class SoupError(ValueError):
    """The folders cannot be averaged; the message names the one at fault."""


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parts", type=Path, nargs="+", help="folders train.stance wrote")
    parser.add_argument("--out", type=Path, required=True, help="where the average is written")
    return parser.parse_args(argv)


def same_network(configs: Sequence[network.NetworkConfig], folders: Sequence[Path]) -> None:
    """SoupError unless every part is one network (not an ensemble), the same (layers,
    features, base...)."""
    for config, folder in zip(configs, folders, strict=True):
        if config.members != 1:
            raise SoupError(f"{folder}: already an ensemble")
    for config, folder in zip(configs[1:], folders[1:], strict=True):
        for name in SAME:
            if getattr(config, name) != getattr(configs[0], name):
                raise SoupError(f"{folder}: its {name} differs from {folders[0]}'s")


def check(configs: Sequence[network.NetworkConfig], folders: Sequence[Path]) -> None:
    """SoupError unless every part is the same network from the same stage 1 and dev split."""
    same_network(configs, folders)
    first = configs[0]
    for config, folder in zip(configs[1:], folders[1:], strict=True):
        ours, theirs = _shared(config), _shared(first)
        for name in SHARED:
            if ours[name] != theirs[name]:
                raise SoupError(
                    f"{folder}: trained with {name} {ours[name]}, {folders[0]} with "
                    f"{theirs[name]}: train both with the same --{name.replace('_', '-')}"
                )


def _shared(config: network.NetworkConfig) -> dict[str, object]:
    """The SHARED settings as the run used them: an unset seed follows --seed."""
    seeds = trained_seeds(config)
    return {
        "split_seed": seeds and split_seed(seeds),
        "stage1_seed": seeds and stage1_seed(seeds),
        "corpus": config.settings().get("corpus"),
    }


def average(
    states: Sequence[dict[str, torch.Tensor]], folders: Sequence[Path]
) -> dict[str, torch.Tensor]:
    """The element-wise mean, in fp32, of tensors that must match by name and shape."""
    names = set(states[0])
    for state, folder in zip(states[1:], folders[1:], strict=True):
        if set(state) != names:
            raise SoupError(f"{folder}: its tensors are not {folders[0]}'s")
    mean: dict[str, torch.Tensor] = {}
    for name in sorted(names):
        tensors = [state[name].float() for state in states]
        if any(t.shape != tensors[0].shape for t in tensors):
            raise SoupError(f"tensor {name} differs in shape between the parts")
        mean[name] = torch.stack(tensors).mean(0)
    return mean


def soup(folders: Sequence[Path], out: Path) -> network.NetworkConfig:
    """Average the parts' weights into ``out``; the config is the first part's, naming all."""
    from safetensors.torch import load_file, save_file

    if len(folders) < 2:
        raise SoupError("a soup needs at least two folders")
    configs = [network.read_config(folder) for folder in folders]
    check(configs, folders)
    states = [load_file(str(folder / network.WEIGHTS)) for folder in folders]
    mean = average(states, folders)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.to(torch.float16).contiguous() for k, v in mean.items()}, str(out / network.WEIGHTS)
    )
    first = configs[0]
    parts = described(folders, configs)
    config = network.NetworkConfig(**{**first.__dict__, "extra": {**first.extra, "soup_of": parts}})
    (out / network.CONFIG).write_text(config.to_json(), encoding="utf-8")
    return config


def described(
    folders: Sequence[Path], configs: Sequence[network.NetworkConfig]
) -> list[dict[str, object]]:
    """What reader.json keeps of each part: its folder, version and training settings."""
    return [
        {"folder": str(folder), "version": config.version, "settings": config.settings()}
        for folder, config in zip(folders, configs, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    try:
        soup(args.parts, args.out)
    except (SoupError, OSError) as exc:
        raise SystemExit(f"train.soup: {exc}") from exc
    print(f"{len(args.parts)} readers averaged -> {args.out}")


if __name__ == "__main__":
    main()
