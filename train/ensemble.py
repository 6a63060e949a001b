"""Join trained readers into one that averages their probabilities: an ensemble.

    python -m train.ensemble DIR1 DIR2 [...] --out DIR

Each part's confident mistakes are partly its own, so the mean of their probabilities reads
the dev stories with fewer near-certain false signals than a part alone, and the signal
thresholds chosen on them can sit lower. The parts are stored in int8 with one scale per row
(`network.int8_state`), so two fit in the size one fp16 network took, and are read in full
precision, batched: point ``[model] reader`` at the folder to use it. Writes
``reader.safetensors`` and a ``reader.json`` naming its parts; measure it and choose its
thresholds with ``train.stance --weights DIR`` (the parts should share ``--split-seed``, so
that the dev stories are held out by both; the card says when a part was trained on an earlier
corpus, whose dev fifth differs). Measured in README, "What the retrains read".
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from monitor.reading.model import network
from train.soup import SoupError, described, same_network


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parts", type=Path, nargs="+", help="folders train.stance wrote")
    parser.add_argument("--out", type=Path, required=True, help="where the ensemble is written")
    return parser.parse_args(argv)


def ensemble(folders: Sequence[Path], out: Path) -> network.NetworkConfig:
    """The parts' weights side by side in ``out``; the config is the first part's, naming all."""
    from safetensors.torch import load_file, save_file

    if len(folders) < 2:
        raise SoupError("an ensemble needs at least two folders")
    configs = [network.read_config(folder) for folder in folders]
    same_network(configs, folders)
    stored: dict[str, torch.Tensor] = {}
    for i, folder in enumerate(folders):
        state = load_file(str(folder / network.WEIGHTS))
        stored.update({f"member{i}.{k}": v for k, v in network.int8_state(state).items()})
    out.mkdir(parents=True, exist_ok=True)
    save_file(stored, str(out / network.WEIGHTS))
    parts = described(folders, configs)
    first = configs[0]
    config = network.NetworkConfig(
        **{
            **first.__dict__,
            "members": len(folders),
            "int8": False,
            "extra": {**first.extra, "ensemble_of": parts},
        }
    )
    (out / network.CONFIG).write_text(config.to_json(), encoding="utf-8")
    return config


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(argv)
    try:
        ensemble(args.parts, args.out)
    except (SoupError, OSError) as exc:
        raise SystemExit(f"train.ensemble: {exc}") from exc
    print(f"{len(args.parts)} readers joined -> {args.out}")


if __name__ == "__main__":
    main()
