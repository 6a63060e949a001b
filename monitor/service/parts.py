"""The costly parts a process builds once and its jobs share: HTTP client, model, channels.

`run`'s jobs and the queue's workers both ask for them through the Runtime, so a worker loads
the model once for all the jobs it takes, however many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.service.metrics import TimedEncoder
from monitor.service.scheduler import Runtime

if TYPE_CHECKING:
    from monitor.alerts import Channel
    from monitor.polling import Fetcher
    from monitor.reading import Embedder


def fetcher(runtime: Runtime) -> Fetcher:
    from monitor.polling import Fetcher

    return runtime.shared("fetcher", lambda: Fetcher(runtime.config.polling))


def embedder(runtime: Runtime) -> Embedder:
    """The model, loaded on first need and kept for the life of the process."""
    from monitor.reading import Embedder, shared_encoder

    model = runtime.config.model

    def build() -> Embedder:
        encoder = TimedEncoder(shared_encoder(model.name), runtime.metrics)
        return Embedder(encoder, model.name, model.batch_size)

    return runtime.shared("embedder", build)


def channels(runtime: Runtime) -> dict[str, Channel]:
    from monitor.alerts import channels_from_config

    return runtime.shared("channels", lambda: channels_from_config(runtime.config.alerts))
