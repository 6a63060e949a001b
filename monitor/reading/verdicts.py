"""Verdicts judged ahead, for distributed mode.

The reading job runs one at a time, so that the news is tracked in the order it was published;
with the trained reader the model's reading is most of its work, and a second worker could not
help. So the model workers read each article's candidates while they embed it, side by side,
and store the verdicts; the reading job then finds them here and runs the model only for what
it does not find (an article whose embedding job failed, a claim edited in between).

A verdict is stored under a hash of the reader's version and of all it read: the claim, the
sentence, its context and the similarity to four places. A changed claim, reader or article
simply misses, and the reading job reads it itself, so a stored verdict can never be stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.db import Database
from monitor.db.models import StoredVerdict, utcnow
from monitor.reading.reader import Passage, Reader, Verdict


def passage_key(version: str, passage: Passage) -> str:
    text = json.dumps(
        [
            version,
            passage.claim,
            passage.sentence,
            list(passage.context),
            round(passage.similarity, 4),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dump(verdict: Verdict) -> str:
    return json.dumps(
        [
            verdict.stance,
            verdict.signal,
            verdict.strength,
            verdict.probability,
            list(verdict.cues),
            verdict.on_record,
            verdict.reader,
        ],
        ensure_ascii=False,
    )


def _load(text: str) -> Verdict:
    stance, signal, strength, probability, cues, on_record, reader = json.loads(text)
    return Verdict(stance, signal, strength, probability, tuple(cues), on_record, reader)


class StoredVerdicts:
    """A reader that answers from the stored verdicts and reads the rest with ``reader``.

    With ``store`` (the model workers), what it reads is kept until `flush`; without (the
    reading job), nothing is written.
    """

    def __init__(self, reader: Reader, db: Database, *, store: bool = False) -> None:
        self.reader = reader
        self.version = reader.version
        self.db = db
        self.store = store
        self.pending: dict[str, str] = {}
        self.found = 0  # verdicts answered from the store
        self.read_here = 0  # passages the model read in this process

    def read(self, passages: Sequence[Passage]) -> list[Verdict]:
        keys = [passage_key(self.version, p) for p in passages]
        known = self._lookup(set(keys))
        missing = [i for i, key in enumerate(keys) if key not in known]
        fresh = self.reader.read([passages[i] for i in missing]) if missing else []
        for i, verdict in zip(missing, fresh, strict=True):
            known[keys[i]] = verdict
            if self.store:
                self.pending[keys[i]] = _dump(verdict)
        self.found += len(passages) - len(missing)
        self.read_here += len(missing)
        return [known[key] for key in keys]

    def _lookup(self, keys: set[str]) -> dict[str, Verdict]:
        if not keys:
            return {}
        with self.db.sessions() as session:
            rows = session.execute(
                select(StoredVerdict.key, StoredVerdict.verdict).where(StoredVerdict.key.in_(keys))
            )
            return {key: _load(text) for key, text in rows}

    def flush(self) -> int:
        """Write what was read since the last flush; a verdict another worker stored first is
        left as it is (it read the same passage). Returns how many were new here."""
        if not self.pending:
            return 0
        rows = [{"key": k, "verdict": v, "created_at": utcnow()} for k, v in self.pending.items()]
        with self.db.transaction() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(StoredVerdict).values(rows).on_conflict_do_nothing())
        self.pending.clear()
        return len(rows)


def forget_verdicts(db: Database, before: datetime) -> int:
    """Drop verdicts stored before ``before``: they serve only the reading job just behind."""
    with db.transaction() as session:
        result = session.execute(delete(StoredVerdict).where(StoredVerdict.created_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
