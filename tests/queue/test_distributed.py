"""Distributed mode against the real PostgreSQL, with real `run` and `worker` subprocesses.

The feeds, pages and a Slack webhook are served on 127.0.0.1; the workers load the real
bundled model. The story is the invented one of tests/story.py (two rumours, eight articles,
five state changes when read in order), listed by two feeds that share four stories.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, text
from werkzeug import Request, Response

from monitor.db.models import Alert, Article, Evidence, StoredVerdict, Transition
from monitor.queries import status_rows
from monitor.queue.app import DELIVER, EMBED, POLL, READ
from tests.queue.cluster import Cluster, page, rss
from tests.story import SEEDS, TIMELINE

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

FINAL = {"nimbus-ferro": TIMELINE[-1][4], "nimbus-kestrel": TIMELINE[-1][5]}
FILLER = "\n".join(
    f"Paragraph {n} of the weather report says the rain will stop by evening in district {n}."
    for n in range(300)
)


class Site:
    def __init__(self, server: HTTPServer, *, poison: bool = False, long: bool = False) -> None:
        self.server = server
        self.posts: list[dict[str, Any]] = []
        base = server.url_for("").rstrip("/")
        items = [(f"/news/{key}", published, title) for key, published, title, *_ in TIMELINE]
        for key, _, title, body, *_ in TIMELINE:
            server.expect_request(f"/news/{key}").respond_with_data(
                page(title, body), content_type="text/html"
            )
        extra = []
        if poison:
            extra.append(("/news/poison", TIMELINE[0][1], "Poison pill for Nimbus Mobile"))
            server.expect_request("/news/poison").respond_with_data(
                page("Poison pill for Nimbus Mobile", "Nimbus Mobile and Ferro Motors."),
                content_type="text/html",
            )
        if long:
            extra.append(("/news/weather", TIMELINE[0][1], "A long weather report"))
            server.expect_request("/news/weather").respond_with_data(
                page("A long weather report", FILLER), content_type="text/html"
            )
        server.expect_request("/a.xml").respond_with_data(
            rss(base, items + extra), content_type="application/rss+xml"
        )
        server.expect_request("/b.xml").respond_with_data(
            rss(base, items[2:6]), content_type="application/rss+xml"
        )

        def hook(request: Request) -> Response:
            self.posts.append(json.loads(request.get_data()))
            return Response("ok")

        server.expect_request("/hooks/slack", method="POST").respond_with_handler(hook)
        self.config = f"""
[polling]
host_delay = "0s"
allow_private_networks = true

[alerts.slack]
webhook_url = "{base}/hooks/slack"

[[feeds]]
name = "A"
url = "{base}/a.xml"

[[feeds]]
name = "B"
url = "{base}/b.xml"
"""


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, threaded_server: HTTPServer) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(**site_options: bool) -> tuple[Cluster, Site]:
        site = Site(threaded_server, **site_options)
        made.append(Cluster(tmp_path, pg_url, site.config, SEEDS))
        return made[0], site

    yield make
    for c in made:
        c.close()


def _feed_ids(cluster: Cluster) -> list[int]:
    with cluster.db.sessions() as s:
        return [int(i) for (i,) in s.execute(text("SELECT id FROM feeds ORDER BY id"))]


def _evidence_reads(cluster: Cluster) -> Counter[str]:
    """How often any worker wrote a (rumour, article) reading into the log."""
    reads: Counter[str] = Counter()
    for process in cluster.processes:
        for event in process.events():
            if re.match(r"^[\w-]+: evidence \(", event.get("message", "")):
                reads[event["message"].split(",")[0] + event["message"].split(" from ")[1]] += 1
    return reads


def _check_once_each(cluster: Cluster, site: Site) -> list[Transition]:
    with cluster.db.sessions() as s:
        transitions = list(s.scalars(select(Transition)))
        per_article = Counter((t.rumour_id, t.article_id) for t in transitions)
        alerts = s.execute(select(Alert.transition_id, Alert.channel, Alert.status)).all()
        evidence = s.scalar(select(func.count()).select_from(Evidence))
    assert transitions, "the story moved no rumour"
    assert max(per_article.values()) == 1  # no transition doubled
    assert sorted((a[0], a[1]) for a in alerts) == sorted((t.id, "slack") for t in transitions)
    assert {a[2] for a in alerts} == {"sent"}
    assert len(site.posts) == len(transitions)  # the webhook heard each exactly once
    assert len({json.dumps(p, sort_keys=True) for p in site.posts}) == len(site.posts)
    reads = _evidence_reads(cluster)
    assert reads and max(reads.values()) == 1  # each article read once, whoever read it
    assert sum(reads.values()) == evidence
    return transitions


def test_three_racing_workers_read_each_article_once_and_set_a_poisoned_one_aside(
    cluster: Any,
) -> None:
    c, site = cluster(poison=True)
    c.start("run", "run")
    for n in range(3):
        c.worker(f"worker{n}", poisoned=True)
    for feed_id in _feed_ids(c):  # every job three times over, with no lock to stop a race
        c.defer(POLL, copies=3, feed_id=feed_id)
    c.wait(lambda: _stored(c) == len(TIMELINE) + 1, "the articles stored")
    with c.db.sessions() as s:
        ids = [int(i) for i in s.scalars(select(Article.id))]
    c.defer(EMBED, copies=3, article_ids=ids)
    c.defer(READ, copies=3)
    c.wait(c.settled, "all work done")
    c.defer(DELIVER, copies=3)
    c.wait(c.settled, "the extra deliveries done")
    _check_once_each(c, site)
    with c.db.sessions() as s:
        articles = {a.title: a for a in s.scalars(select(Article))}
        states = {r.id: r.state for r in status_rows(s)}
    poison = articles.pop("Poison pill for Nimbus Mobile")
    assert poison.processed_at is None and poison.process_attempts == 3
    assert poison.process_error == "RuntimeError: poisoned article"
    assert all(a.processed_at is not None for a in articles.values())
    assert states == FINAL
    statuses = c.job_statuses()
    assert statuses.get("failed", 0) == 0 and not {"todo", "doing"} & set(statuses)
    for process in c.processes:
        assert process.stop() == 0  # SIGTERM: finish the jobs in hand, exit 0


def _stored(c: Cluster) -> int:
    with c.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Article)) or 0)


def test_kill_9_of_a_worker_mid_model_job_and_of_the_scheduler_loses_and_doubles_nothing(
    cluster: Any,
) -> None:
    c, site = cluster(long=True)
    scheduler = c.start("run1", "run")
    c.worker("fetcher", queues="fetch:alerts")  # as a systemd instance name gives it
    doomed = c.worker("model1", queues="model")
    c.wait(lambda: doomed.started("embed_articles"), "a model job started")
    doomed.kill9()
    scheduler.kill9()
    with c.db.sessions() as s:
        stalled = s.execute(
            text(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND queue_name = 'model'"
            )
        ).all()
    assert stalled, "the killed worker's job should be left running"
    c.start("run2", "run")  # the lock died with the first scheduler
    c.worker("model2", queues="model")
    c.wait(lambda: c.settled() and _stored(c) == len(TIMELINE) + 1, "all work done")
    with c.db.sessions() as s:
        retried = s.execute(
            text("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = ANY(:ids)"),
            {"ids": [job_id for (job_id,) in stalled]},
        ).all()
        states = {r.id: r.state for r in status_rows(s)}
    # put back by the new scheduler once the dead worker's heartbeat was old, then done
    assert {status for status, _ in retried} == {"succeeded"}
    assert min(attempts for _, attempts in retried) >= 1
    assert any("stopped answering" in e["message"] for e in c.processes[-2].events())
    transitions = _check_once_each(c, site)
    assert states == FINAL
    assert len(transitions) == 5  # the story's five changes, read in order


def test_the_xiaomi_timeline_through_scheduler_and_workers_matches_the_single_process_run(
    tmp_path: Path, pg_url: str
) -> None:
    import io
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from monitor.timeline.demo import RUMOURS, batches, run_demo
    from monitor.timeline.demo import TIMELINE as XIAOMI
    from monitor.timeline.newssite import FeedServer
    from monitor.timeline.replay import load_articles

    single = io.StringIO()
    reference = run_demo(single, batch_size=4)  # poller, pipeline and delivery in one process
    articles, _ = load_articles(XIAOMI)
    with FeedServer(articles) as site:
        feeds = "".join(
            f'[[feeds]]\nname = "{s}"\nurl = "{site.feed_url(s)}"\ninterval = "1h"\n'
            for s in site.sources
        )
        body = '[polling]\nhost_delay = "0s"\nallow_private_networks = true\n' + feeds
        c = Cluster(tmp_path, pg_url, body, RUMOURS.read_text(encoding="utf-8"))
        try:
            c.start("run", "run")
            c.worker("fetcher", queues="fetch,alerts")
            c.worker("model", queues="model")
            published: list[Any] = []
            for batch in batches(articles, 4):  # the demo's polls, each a scheduler round
                published += batch
                site.publish(published)
                start = datetime.now(UTC)
                with c.db.transaction() as s:
                    s.execute(text("UPDATE feeds SET next_check_at = now()"))
                c.wait(lambda start=start: _round_done(c, start), "a round of polls read")
            with c.db.sessions() as s:
                states = {r.id: r.state for r in status_rows(s)}
                # the model worker read the candidates while embedding, for the reading job
                judged_ahead = s.scalar(select(func.count()).select_from(StoredVerdict))
                rows = s.execute(
                    select(Transition, Article.url)
                    .join(Article, Article.id == Transition.article_id)
                    .order_by(Transition.id)
                ).all()
            alerts = [
                line
                for p in c.processes
                for line in p.out.read_text(encoding="utf-8").splitlines()
                if line.startswith("[rumour]")
            ]
        finally:
            c.close()
    assert states == reference.states
    assert judged_ahead
    assert [
        (t.rumour_id, t.from_state, t.to_state, t.signal, urlsplit(url).path) for t, url in rows
    ] == [
        (r.rumour_id, r.from_state, r.to_state, r.signal, urlsplit(r.url).path)
        for r in reference.transitions
    ]
    expected = [line for line in single.getvalue().splitlines() if line.startswith("[rumour]")]
    assert len(expected) == len(reference.transitions) >= 4
    assert sorted(alerts) == sorted(expected)  # one console alert per transition, no more


def _round_done(c: Cluster, start: Any) -> bool:
    with c.db.sessions() as s:
        behind = s.execute(
            text(
                "SELECT count(*) FROM feeds WHERE last_checked_at IS NULL OR last_checked_at < :t"
            ),
            {"t": start.replace(tzinfo=None)},
        ).scalar_one()
    return not behind and c.settled()
