"""What a worker does for each kind of job, on the same functions the single process uses.

* `poll_feed` (fetch queue): claim the feed if it is still due, poll it, store its new
  articles, and queue their embedding. A second copy of the job finds the feed claimed or no
  longer due and does nothing.
* `embed_articles` (model queue): encode the articles' sentences into the embedding cache,
  then match them and read the candidates, storing the verdicts (monitor.reading.verdicts).
  This is nearly all of the model's time, and any number of workers do it side by side.
* `read_pending` (model queue, one at a time by its lock): match, judge and track the pending
  articles, oldest published first, as `run` does. The encoding and the verdicts are already
  stored, so this part is short; keeping it to one reader keeps the order of the news, which
  decides the state changes, the same as in one process. It first waits for the feed polls
  queued before it, as `run` reads only once a round of polls is stored, and stops before an
  article whose embedding job has not run yet, queueing itself again to go on once it has.
* `deliver` (alerts queue): send the outbox's due alerts, exactly as `run` does.
* `maintenance` (fetch queue): the daily upkeep, and forgetting old finished jobs.

Every body takes the process's Runtime and the job's id, and returns a small summary that the
worker logs with the job id.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update

from monitor.db.models import Article, Feed
from monitor.queries import is_pending
from monitor.queue.app import DELIVER, EMBED, MAINTENANCE, POLL, READ, defer
from monitor.queue.state import delete_finished, embedding_ahead, last_job_id, outstanding
from monitor.service import Runtime, channels, embedder, fetcher, run_maintenance

if TYPE_CHECKING:
    from procrastinate import App

log = logging.getLogger(__name__)

EMBED_CHUNK = 16  # articles per embedding job: full model batches, yet spread over workers
RECHECK = 1.0  # seconds before a reader that had to wait looks again
BARRIER_WAIT = 600.0  # a reader waits at most this long for the polls queued before it


@dataclass
class Job:
    """What a task body gets besides its arguments."""

    runtime: Runtime
    app: App
    id: int


def poll_feed(job: Job, feed_id: int) -> dict[str, Any]:
    runtime = job.runtime
    if not _claim_feed(job, feed_id):
        return {"feed_id": feed_id, "skipped": "not due (polled by another job)"}
    from monitor.polling import poll_feeds

    reports = poll_feeds(
        runtime.database, runtime.config, fetcher(runtime), due_only=False, feed_ids=[feed_id]
    )
    new: list[int] = []
    for report in reports:
        if report.outcome != "skipped":
            runtime.metrics.record_poll(report.outcome)
        new += [*report.article_ids, *report.updated_article_ids]
    for start in range(0, len(new), EMBED_CHUNK):
        defer(job.app, EMBED, article_ids=new[start : start + EMBED_CHUNK])
    if new:
        defer(job.app, READ)
    first = reports[0] if reports else None
    return {
        "feed": first.feed if first else feed_id,
        "outcome": first.outcome if first else "gone",
        "new_articles": len(new),
    }


def _claim_feed(job: Job, feed_id: int) -> bool:
    """Take the feed if it is due, moving its next check a lease ahead: a copy of this job, on
    any machine, then finds it not due. The poll itself sets the real next check; a worker
    that dies mid-poll leaves the lease, after which the feed is due again."""
    now = datetime.now(UTC)
    lease = timedelta(seconds=max(600.0, 10 * job.runtime.config.polling.timeout))
    with job.runtime.database.transaction() as session:
        claimed = session.execute(
            update(Feed)
            .where(Feed.id == feed_id, Feed.enabled.is_(True))
            .where(or_(Feed.next_check_at.is_(None), Feed.next_check_at <= now))
            .values(next_check_at=now + lease)
            .returning(Feed.id)
            .execution_options(synchronize_session=False)
        ).first()
    return claimed is not None


def embed_articles(job: Job, article_ids: list[int]) -> dict[str, Any]:
    from monitor.reading import embed_articles as embed

    runtime = job.runtime
    model = embedder(runtime)
    try:
        sentences = embed(runtime.database, runtime.config, model, article_ids)
    except Exception:
        # One article may be what fails: encode them one by one and leave the bad one to the
        # reader, which records its error and sets it aside after a few tries.
        log.warning("job %d: embedding the batch failed; one article at a time", job.id)
        sentences = 0
        for article_id in article_ids:
            try:
                sentences += embed(runtime.database, runtime.config, model, [article_id])
            except Exception as exc:
                log.warning("job %d: article %d not embedded: %r", job.id, article_id, exc)
    return {"articles": len(article_ids), "sentences": sentences, **_judge_ahead(job, article_ids)}


def _judge_ahead(job: Job, article_ids: list[int]) -> dict[str, Any]:
    """Read the articles' candidates here, side by side with the other model workers, and
    store the verdicts for the one ordered reading job. A failure costs only the head start:
    the reading job reads what it does not find."""
    from monitor.reading import judge_ahead, shared_reader
    from monitor.reading.verdicts import StoredVerdicts

    runtime = job.runtime
    reader = StoredVerdicts(
        shared_reader(runtime.config.model.reader), runtime.database, store=True
    )
    try:
        judge_ahead(runtime.database, runtime.config, embedder(runtime), article_ids, reader)
        stored = reader.flush()
    except Exception as exc:
        log.warning("job %d: judging ahead failed, the reader will do it: %r", job.id, exc)
        return {"verdicts_stored": 0}
    return {"verdicts_stored": stored}


def read_pending(
    job: Job,
    barrier: int | None = None,
    since: float | None = None,
    retry_failed: bool = False,
) -> dict[str, Any]:
    runtime = job.runtime
    db = runtime.database
    with db.sessions() as session:
        barrier = last_job_id(session, POLL) if barrier is None else barrier
        since = time.time() if since is None else since
        polls = outstanding(session, POLL, up_to=barrier)
    if polls and time.time() - since < BARRIER_WAIT:
        defer(job.app, READ, delay=RECHECK, barrier=barrier, since=since, retry_failed=retry_failed)
        return {"waiting_for_polls": polls}
    ids, held = _readable(job, retry_failed)
    reports, done = _read(job, ids)
    if reports:
        defer(job.app, DELIVER)
    if held or done < len(ids):  # wait for the embeddings, or go on after a stop
        defer(job.app, READ, delay=RECHECK)
    return {"read": done, "transitions": len(reports), "waiting_for_embedding": held}


def _readable(job: Job, retry_failed: bool) -> tuple[list[int], int]:
    """Pending articles in the order the pipeline takes them, up to the first one whose
    embedding job has not run; and how many were held back that way.

    An article that failed before is retried only by the scheduler's reader, once per tick,
    so a passing hiccup cannot spend all its attempts within a second.
    """
    with job.runtime.database.sessions() as session:
        query = select(Article.id, Article.process_attempts).where(is_pending())
        rows = session.execute(query.order_by(Article.published_at, Article.id)).all()
        ahead = embedding_ahead(session)
    ids: list[int] = []
    for index, (article_id, attempts) in enumerate(rows):
        if article_id in ahead:
            return ids, len(rows) - index
        if attempts == 0 or retry_failed:
            ids.append(article_id)
    return ids, 0


def _read(job: Job, ids: list[int]) -> tuple[list[Any], int]:
    from monitor.reading import process_ids, shared_reader
    from monitor.reading.verdicts import StoredVerdicts

    runtime = job.runtime
    done: list[int] = []
    reader = StoredVerdicts(shared_reader(runtime.config.model.reader), runtime.database)
    reports = process_ids(
        runtime.database,
        runtime.config,
        embedder(runtime),
        ids,
        failed=set(),
        on_article=done.append,
        stop=runtime.stop.is_set,  # SIGTERM: the article in hand finishes, the rest waits
        reader=reader,
    )
    if ids:
        log.info(
            "job %d: %d verdicts found stored, %d read here",
            job.id,
            reader.found,
            reader.read_here,
            extra={"job_id": job.id},
        )
    for change in reports:
        log.info("rumour changed state", extra={"job_id": job.id, **change.log_fields()})
    return reports, len(done)


def deliver(job: Job) -> dict[str, Any]:
    from monitor.alerts import deliver_pending

    runtime = job.runtime
    return deliver_pending(runtime.database, runtime.config, channels(runtime)).counts()


def maintenance(job: Job) -> dict[str, Any]:
    runtime = job.runtime
    report = run_maintenance(runtime.database, runtime.config)
    with runtime.database.transaction() as session:
        forgotten = delete_finished(session, runtime.config.queue.keep_jobs_days)
    return {
        "pruned_articles": report.pruned_articles,
        "pruned_embeddings": report.pruned_embeddings,
        "optimised": report.optimised,
        "forgotten_jobs": forgotten,
    }


BODIES = {
    POLL: poll_feed,
    EMBED: embed_articles,
    READ: read_pending,
    DELIVER: deliver,
    MAINTENANCE: maintenance,
}
