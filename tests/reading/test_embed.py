"""The embedding cache: bulk look-ups, no sentence encoded twice, real model vectors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import event, func, select, update

from monitor.db import Database, upgrade
from monitor.db.models import SentenceEmbedding, utcnow
from monitor.reading.embed import Embedder, Encoder, ModelError, sentence_hash


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def dimension(self) -> int:
        return 3

    def encode(self, sentences: Sequence[str], batch_size: int) -> np.ndarray:
        self.calls.append(list(sentences))
        rows = np.array([[len(s), s.count("a") + 1, 1.0] for s in sentences], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_cache_encodes_each_sentence_once(db: Database) -> None:
    fake = CountingEncoder()
    embedder = Embedder(fake, "fake-model", 8)
    story = ["Acme buys Widget Works.", "The deal closes in May.", "Acme buys Widget Works."]
    with db.transaction() as session:
        first = embedder.embed(session, story)
    assert fake.calls == [["Acme buys Widget Works.", "The deal closes in May."]]
    assert first.shape == (3, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first[0], first[2])
    # the same wire story in ten feeds: no more model time
    for _ in range(10):
        with db.transaction() as session:
            again = embedder.embed(session, ["Acme  buys Widget Works.", *story[1:]])
        np.testing.assert_allclose(again, first)
    assert len(fake.calls) == 1 and embedder.encoded == 2
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SentenceEmbedding)) == 2


def test_cache_is_per_model(db: Database) -> None:
    a, b = CountingEncoder(), CountingEncoder()
    with db.transaction() as session:
        Embedder(a, "model-a").embed(session, ["One sentence."])
        Embedder(b, "model-b").embed(session, ["One sentence."])
    assert a.calls == b.calls == [["One sentence."]]


def test_bulk_lookup_over_many_sentences(sqlite_db: Database) -> None:
    fake = CountingEncoder()
    embedder = Embedder(fake, "fake", 64)
    sentences = [f"Sentence number {i}." for i in range(1200)]
    with sqlite_db.transaction() as session:
        embedder.embed(session, sentences)
    with sqlite_db.transaction() as session:
        vectors = embedder.embed(session, sentences)
    assert vectors.shape == (1200, 3) and embedder.encoded == 1200


def test_hash_ignores_spacing_only() -> None:
    assert sentence_hash(" A  b\nc ") == sentence_hash("A b c")
    assert sentence_hash("A b c") != sentence_hash("A b c.")


def test_encoder_failure_names_the_model(sqlite_db: Database) -> None:
    class Broken(CountingEncoder):
        def encode(self, sentences: Sequence[str], batch_size: int) -> np.ndarray:
            raise RuntimeError("out of memory")

    with sqlite_db.transaction() as session, pytest.raises(ModelError, match="broken-model"):
        Embedder(Broken(), "broken-model").embed(session, ["x y"])


def test_real_model_vectors(encoder: Encoder) -> None:
    vectors = encoder.encode(
        ["Nimbus will build cars with Ferro.", "Ferro will make Nimbus's cars.", "It rained."], 64
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_unknown_model_is_a_clear_error(tmp_path: object) -> None:
    from monitor.reading.embed import SentenceTransformerEncoder

    with pytest.raises(ModelError, match="no-such-model"):
        SentenceTransformerEncoder(f"{tmp_path}/no-such-model")


def _worker(
    db: Database, embedder: Embedder, sentences: list[str]
) -> tuple[Callable[[], None], list[BaseException]]:
    """A second worker caching `sentences` in a transaction of its own, run on a thread by
    the test; what it raised is collected for the test's thread to report."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with db.transaction() as session:
                embedder.embed(session, sentences)
        except BaseException as exc:
            errors.append(exc)

    return run, errors


def test_two_writers_caching_the_same_sentences_in_other_orders_do_not_deadlock(
    pg_url: str,
) -> None:
    """Two articles with the same two sentences in opposite orders, embedded by two workers
    at once: each insert waits for the other's uncommitted row. Inserting in one global order
    (by key) makes the second writer wait for the first instead of deadlocking with it."""
    db = Database(pg_url)
    upgrade(db.engine)
    low, high = sorted(["Acme buys Widget Works.", "The deal closes in May."], key=sentence_hash)
    first, second = Embedder(CountingEncoder(), "m", 8), Embedder(CountingEncoder(), "m", 8)
    other_worker, errors = _worker(db, second, [high, low])

    try:
        with db.transaction() as session:
            first.embed(session, [low])  # holds `low` until commit
            worker = threading.Thread(target=other_worker)
            worker.start()
            time.sleep(0.5)  # the other worker is now waiting on `low`, not holding `high`
            first.embed(session, [high])
        worker.join(timeout=30)
        assert not worker.is_alive()
        assert errors == []
        with db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(SentenceEmbedding)) == 2
    finally:
        db.dispose()


@contextmanager
def _updates(db: Database) -> Iterator[list[str]]:
    """The UPDATE statements sent to the database inside the block."""
    seen: list[str] = []

    def record(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("UPDATE"):
            seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _last_used(db: Database) -> dict[str, datetime | None]:
    with db.sessions() as session:
        rows = session.execute(
            select(SentenceEmbedding.sentence_hash, SentenceEmbedding.last_used_at)
        )
        return {key: used for key, used in rows}


def _mark_used(db: Database, sentence: str, at: datetime) -> None:
    with db.transaction() as session:
        session.execute(
            update(SentenceEmbedding)
            .where(SentenceEmbedding.sentence_hash == sentence_hash(sentence))
            .values(last_used_at=at)
        )


def test_a_cache_hit_refreshes_last_used_only_when_a_day_stale(db: Database) -> None:
    embedder = Embedder(CountingEncoder(), "m", 8)
    stale, fresh, new = "Acme buys Widget Works.", "The deal closes in May.", "Shares rose."
    before = utcnow()
    with db.transaction() as session:
        embedder.embed(session, [stale, fresh])
    assert all(used is not None and used >= before for used in _last_used(db).values())
    long_ago, lately = before - timedelta(days=3), before - timedelta(hours=20)
    _mark_used(db, stale, long_ago)
    _mark_used(db, fresh, lately)
    with _updates(db) as updates, db.transaction() as session:
        embedder.embed(session, [fresh, stale, new, stale])
    assert len(updates) == 1  # the stale hits of a batch in one statement
    used = _last_used(db)
    assert used[sentence_hash(stale)] is not None and used[sentence_hash(stale)] >= before
    assert used[sentence_hash(fresh)] == lately  # fresh enough: not rewritten
    assert used[sentence_hash(new)] is not None and used[sentence_hash(new)] >= before
    with _updates(db) as updates, db.transaction() as session:
        embedder.embed(session, [fresh, stale, new])
    assert updates == []  # every hit fresh: the common case writes nothing


def test_a_refresh_does_not_wait_for_rows_another_worker_holds(pg_url: str) -> None:
    """Two workers hitting the same stale rows in other orders: the refresh skips a row the
    other holds (that one refreshes it) instead of waiting, so neither can deadlock."""
    db = Database(pg_url)
    upgrade(db.engine)
    low, high = sorted(["Acme buys Widget Works.", "The deal closes in May."], key=sentence_hash)
    first, second = Embedder(CountingEncoder(), "m", 8), Embedder(CountingEncoder(), "m", 8)
    other_worker, errors = _worker(db, second, [high, low])

    try:
        with db.transaction() as session:
            first.embed(session, [low, high])
        long_ago = utcnow() - timedelta(days=3)
        _mark_used(db, low, long_ago)
        _mark_used(db, high, long_ago)
        with db.transaction() as session:
            first.embed(session, [low])  # refreshes `low` and holds it until commit
            worker = threading.Thread(target=other_worker)
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive()  # finished while `low` is still held
        assert errors == []
        assert all(used is not None and used > long_ago for used in _last_used(db).values())
    finally:
        db.dispose()
