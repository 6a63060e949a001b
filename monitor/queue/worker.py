"""`rumour-monitor worker`: one process taking jobs from the shared queue until stopped.

The process builds what its jobs share once (the Runtime: database, model, HTTP client,
channels) and runs up to `concurrency` jobs at a time, each in a thread. A model job encodes
on one core (torch is told to use one thread per job), so `--concurrency` is the number of
cores a model worker may use. Each job is logged when it starts and ends, with its id.

Stopping: SIGTERM or SIGINT sets the runtime's stop flag, which the reader looks at between
small batches of articles, and tells Procrastinate to take no new job; the jobs in hand finish
(a reader cut short queues itself again), then the process exits 0. A second signal leaves at
once: the jobs it held stay 'doing' until the scheduler sees the worker silent and queues them
again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.db import Database
from monitor.queue.app import MODEL, QUEUES, Body, build_app
from monitor.queue.tasks import BODIES, Job
from monitor.service import Metrics, Runtime, embedder

if TYPE_CHECKING:
    from procrastinate import JobContext

log = logging.getLogger(__name__)

FETCH_CONCURRENCY = 8  # fetch and alert jobs mostly wait on the network


def default_concurrency(queues: Sequence[str]) -> int:
    """One model job per core; network-bound queues alone get more."""
    if MODEL in queues:
        return len(os.sched_getaffinity(0))
    return FETCH_CONCURRENCY


def _wrap(runtime: Runtime, name: str, body: Any) -> Body:
    short = name.rsplit(".", 1)[-1]

    def run(context: JobContext, **args: Any) -> Mapping[str, Any] | None:
        job_id = int(context.job.id or 0)
        job = Job(runtime=runtime, app=context.app, id=job_id)
        log.info("job started", extra={"job": short, "job_id": job_id, **args})
        started = time.perf_counter()
        ok = False
        try:
            summary = body(job, **args) or {}
            ok = True
            took = round(time.perf_counter() - started, 3)
            log.info("job done", extra={"job": short, "job_id": job_id, **summary, "seconds": took})
            return dict(summary)
        except Exception:
            took = round(time.perf_counter() - started, 3)
            log.exception("job failed", extra={"job": short, "job_id": job_id, "seconds": took})
            raise
        finally:
            runtime.metrics.record_job(short, time.perf_counter() - started, ok=ok)

    return run


def run_worker(config: Config, database: Database, queues: Sequence[str], concurrency: int) -> int:
    """Take jobs from `queues` until stopped; the exit code."""
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}")
    if MODEL in queues:
        import torch

        torch.set_num_threads(1)  # one core per model job: concurrency is the core count
        # The tokenizer would otherwise spread each batch over every core, in each worker.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    runtime = Runtime(config, database, Metrics())
    if MODEL in queues:
        # Loaded before the first job, once for all: a job's time is then its own work.
        embedder(runtime).encode(["warm up"])
    bodies = {name: _wrap(runtime, name, body) for name, body in BODIES.items()}
    app = build_app(config, bodies, min_size=1, max_size=concurrency + 4)
    name = f"{socket.gethostname()}:{os.getpid()}"
    log.info(
        "worker starting",
        extra={"worker": name, "queues": ",".join(queues), "concurrency": concurrency},
    )
    try:
        asyncio.run(_serve(app, runtime, name, list(queues), concurrency))
    finally:
        runtime.close()
    log.info("worker stopped", extra={"worker": name})
    return 0


async def _serve(
    app: Any, runtime: Runtime, name: str, queues: list[str], concurrency: int
) -> None:
    from procrastinate.worker import Worker

    stall = runtime.config.queue.stall_timeout
    async with app.open_async():
        worker = Worker(
            app,
            queues=queues,
            name=name,
            concurrency=concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=max(1.0, stall / 6),
            stalled_worker_timeout=stall,
            fetch_job_polling_interval=2.0,
        )
        loop = asyncio.get_running_loop()

        def stop(signum: int) -> None:
            if runtime.stop.is_set():
                log.warning("second %s: leaving now", signal.Signals(signum).name)
                logging.shutdown()
                os._exit(1)
            log.info("stopping: finishing the jobs in hand", extra={"worker": name})
            runtime.stop.set()
            worker.stop()  # type: ignore[no-untyped-call]

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        await worker.run()  # type: ignore[no-untyped-call]
