"""Verdicts judged ahead (distributed mode): stored once, found by the reading job, and never
answered for a passage that differs in anything the reader reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from monitor.db import Database
from monitor.db.models import StoredVerdict, utcnow
from monitor.reading.reader import Passage, Verdict
from monitor.reading.verdicts import StoredVerdicts, forget_verdicts


class CountingReader:
    """Pure logic under test: a reader that says how often it was asked."""

    version = "counting 1"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def read(self, passages: Sequence[Passage]) -> list[Verdict]:
        self.asked += [p.sentence for p in passages]
        return [
            Verdict("supports", "confirm", 0.9, 0.9, ("cue",), "Acme said", self.version)
            if "confirmed" in p.sentence
            else Verdict("reports", "none", 0.6, 0.6, (), "reported, not on record", self.version)
            for p in passages
        ]


CLAIM = "Acme will buy Widget Works"
PASSAGES = [
    Passage(CLAIM, "Acme confirmed the talks.", ("Acme in talks",), 0.71234),
    Passage(CLAIM, "Acme is said to be in talks.", ("Acme in talks",), 0.65),
]


def _stored(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(StoredVerdict)) or 0)


def test_the_reading_job_finds_what_a_model_worker_stored(sqlite_db: Database) -> None:
    worker = StoredVerdicts(CountingReader(), sqlite_db, store=True)
    ahead = worker.read(PASSAGES)
    assert worker.flush() == 2 and _stored(sqlite_db) == 2
    inner = CountingReader()
    reading_job = StoredVerdicts(inner, sqlite_db)
    assert reading_job.read(PASSAGES) == ahead
    assert inner.asked == [] and reading_job.found == 2
    assert ahead[0].cues == ("cue",) and ahead[0].on_record == "Acme said"


def test_a_passage_that_differs_in_anything_read_is_read_again(sqlite_db: Database) -> None:
    worker = StoredVerdicts(CountingReader(), sqlite_db, store=True)
    worker.read(PASSAGES)
    worker.flush()
    first = PASSAGES[0]
    changed = [
        Passage("Acme will buy Gadget Co", first.sentence, first.context, first.similarity),
        Passage(first.claim, first.sentence, ("another headline",), first.similarity),
        Passage(first.claim, first.sentence, first.context, 0.7124),
    ]
    inner = CountingReader()
    StoredVerdicts(inner, sqlite_db).read(changed)
    assert len(inner.asked) == 3
    newer = CountingReader()
    newer.version = "counting 2"
    StoredVerdicts(newer, sqlite_db).read(PASSAGES)
    assert len(newer.asked) == 2


def test_the_reading_job_writes_nothing_and_two_workers_may_store_the_same(
    sqlite_db: Database,
) -> None:
    StoredVerdicts(CountingReader(), sqlite_db).read(PASSAGES)
    assert _stored(sqlite_db) == 0
    for _ in range(2):  # another worker read the same passages first
        worker = StoredVerdicts(CountingReader(), sqlite_db, store=True)
        worker.read(PASSAGES)
        worker.flush()
    assert _stored(sqlite_db) == 2


def test_old_verdicts_are_forgotten(sqlite_db: Database) -> None:
    worker = StoredVerdicts(CountingReader(), sqlite_db, store=True)
    worker.read(PASSAGES)
    worker.flush()
    assert forget_verdicts(sqlite_db, utcnow() - timedelta(days=1)) == 0
    assert forget_verdicts(sqlite_db, utcnow() + timedelta(seconds=1)) == 2
    assert _stored(sqlite_db) == 0
