"""Read models for people and scripts: `status` and `history` in the JSON shapes of DESIGN.md."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, selectinload

from monitor.db.models import Alert, Article, Evidence, Rumour, Transition
from monitor.errors import NotFoundError

MAX_ATTEMPTS = 3  # failures before an article is set aside (see Article.process_attempts)


def is_pending() -> ColumnElement[bool]:
    """Articles the matching stage still owes: unprocessed and not set aside after failures."""
    return and_(Article.processed_at.is_(None), Article.process_attempts < MAX_ATTEMPTS)


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Article).where(is_pending())) or 0


def iso(moment: datetime | None) -> str | None:
    """The one form of a time in every `--json` and `.json`: ISO 8601 in UTC to the second,
    with its offset, `2021-09-06T12:00:00+00:00` (the SQL views write it so too)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def json_text(data: Any) -> str:
    """The text every `--json` prints and the web view's .json endpoints serve, one encoding."""
    return json.dumps(data, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class StatusRow:
    id: str
    claim: str
    state: str
    confidence: float
    evidence_count: int
    last_evidence_at: datetime | None
    updated_at: datetime
    alerts_failed: int
    active: bool = True  # False: retired, no longer in the seeds (shown by `status --all`)
    state_since: datetime | None = None  # the seed's `since`

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim": self.claim,
            "state": self.state,
            "confidence": round(self.confidence, 4),
            "evidence_count": self.evidence_count,
            "last_evidence_at": iso(self.last_evidence_at),
            "updated_at": iso(self.updated_at),
            "alerts_failed": self.alerts_failed,
            "active": self.active,
            "state_since": iso(self.state_since),
        }


def status_rows(session: Session, *, include_retired: bool = False) -> list[StatusRow]:
    evidence = (
        select(Evidence.rumour_id, func.count().label("n"), func.max(Evidence.at).label("last"))
        .group_by(Evidence.rumour_id)
        .subquery()
    )
    failed = (
        select(Transition.rumour_id, func.count().label("failed"))
        .join(Alert, Alert.transition_id == Transition.id)
        .where(Alert.status == "failed")
        .group_by(Transition.rumour_id)
        .subquery()
    )
    query = (
        select(Rumour, evidence.c.n, evidence.c.last, failed.c.failed)
        .outerjoin(evidence, evidence.c.rumour_id == Rumour.id)
        .outerjoin(failed, failed.c.rumour_id == Rumour.id)
        .order_by(Rumour.id)
    )
    if not include_retired:
        query = query.where(Rumour.active.is_(True))
    rows = []
    for rumour, count, last, failed_count in session.execute(query):
        rows.append(
            StatusRow(
                id=rumour.id,
                claim=rumour.claim,
                state=rumour.state,
                confidence=rumour.confidence,
                evidence_count=count or 0,
                last_evidence_at=last,
                updated_at=rumour.updated_at,
                alerts_failed=failed_count or 0,
                active=rumour.active,
                state_since=rumour.state_since,
            )
        )
    return rows


def _article_fields(article: Article | None) -> dict[str, Any]:
    if article is None:
        return {"url": None, "title": None, "source": None}
    return {"url": article.url, "title": article.title, "source": article.source}


def history(session: Session, rumour_id: str) -> dict[str, Any]:
    """A rumour's transitions and evidence, oldest first."""
    rumour = session.get(Rumour, rumour_id)
    if rumour is None:
        known = ", ".join(session.scalars(select(Rumour.id).order_by(Rumour.id)))
        raise NotFoundError(f"no rumour with id {rumour_id!r} (known ids: {known or 'none'})")
    transitions = session.scalars(
        select(Transition)
        .where(Transition.rumour_id == rumour_id)
        .options(selectinload(Transition.article), selectinload(Transition.evidence))
        .order_by(Transition.at, Transition.id)
    )
    evidence = session.scalars(
        select(Evidence)
        .where(Evidence.rumour_id == rumour_id)
        .options(selectinload(Evidence.article))
        .order_by(Evidence.at, Evidence.id)
    )
    return {
        "id": rumour.id,
        "claim": rumour.claim,
        "state": rumour.state,
        "confidence": round(rumour.confidence, 4),
        "active": rumour.active,
        "state_since": iso(rumour.state_since),
        "transitions": [_transition_json(t) for t in transitions],
        "evidence": [_evidence_json(e) for e in evidence],
    }


def seeded_state(data: Mapping[str, Any]) -> str:
    """The state the seed gave a rumour, from its `history` dict: what its `state_since` dates.

    Once the news has moved the rumour, its state is another, held since its last transition;
    the first transition starts from the seeded one.
    """
    transitions = data["transitions"]
    return str(transitions[0]["from"] if transitions else data["state"])


def _transition_json(t: Transition) -> dict[str, Any]:
    fields = _article_fields(t.article)
    return {
        "from": t.from_state,
        "to": t.to_state,
        "at": iso(t.at),
        "url": fields["url"],
        "title": fields["title"],
        "sentence": t.sentence,
        "signal": t.signal,
        "confidence_before": round(t.confidence_before, 4),
        "confidence_after": round(t.confidence_after, 4),
        **_reading(t.evidence),
    }


def _reading(e: Evidence | None) -> dict[str, Any]:
    """Why the reader judged as it did: who is on record, the model's probability, the cues
    the rules found, and which reader (and version) it was. Null before the trained reader."""
    if e is None:
        return {"on_record": None, "probability": None, "cues": [], "reader": None}
    probability = round(e.probability, 4) if e.probability is not None else None
    return {
        "on_record": e.on_record,
        "probability": probability,
        "cues": list(e.cues or []),
        "reader": e.reader,
    }


def _evidence_json(e: Evidence) -> dict[str, Any]:
    fields = _article_fields(e.article)
    return {
        "at": iso(e.at),
        "url": fields["url"],
        "title": fields["title"],
        "sentence": e.sentence,
        "stance": e.stance,
        "signal": e.signal,
        "similarity": round(e.similarity, 4),
        "source": fields["source"],
        "confidence_before": round(e.confidence_before, 4),
        "confidence_after": round(e.confidence_after, 4),
        **_reading(e),
    }


def confidence_series(session: Session) -> dict[str, list[tuple[datetime, float]]]:
    """Each rumour's confidence over time, for the overview's sparklines: where its first
    evidence found it, then where each evidence left it, oldest first."""
    query = select(
        Evidence.rumour_id, Evidence.at, Evidence.confidence_before, Evidence.confidence_after
    ).order_by(Evidence.rumour_id, Evidence.at, Evidence.id)
    series: dict[str, list[tuple[datetime, float]]] = {}
    for rumour_id, at, before, after in session.execute(query):
        points = series.setdefault(rumour_id, [])
        if not points:
            points.append((at, before))
        points.append((at, after))
    return series


CHANGES_LIMIT = 50  # entries in a feed of changes: enough for a reader that polls daily


def recent_changes(
    session: Session, rumour_id: str | None = None, *, limit: int = CHANGES_LIMIT
) -> list[dict[str, Any]]:
    """The latest transitions, newest recorded first, each as in `history` plus the rumour,
    its claim, the source and when the monitor recorded it: the entries of the Atom feeds."""
    query = (
        select(Transition, Rumour.claim)
        .join(Rumour, Rumour.id == Transition.rumour_id)
        .options(selectinload(Transition.article))
        .order_by(Transition.created_at.desc(), Transition.id.desc())
        .limit(limit)
    )
    if rumour_id is not None:
        query = query.where(Transition.rumour_id == rumour_id)
    changes = []
    for transition, claim in session.execute(query):
        source = transition.article.source if transition.article else None
        changes.append(
            _transition_json(transition)
            | {
                "rumour": transition.rumour_id,
                "claim": claim,
                "source": source,
                "recorded_at": iso(transition.created_at),
            }
        )
    return changes


EVIDENCE_CSV_COLUMNS = (
    "at",
    "stance",
    "signal",
    "similarity",
    "confidence_before",
    "confidence_after",
    "source",
    "title",
    "url",
    "sentence",
)
# A cell that starts like a formula runs as one in a spreadsheet; news text can start so.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def evidence_csv(data: Mapping[str, Any]) -> str:
    """A rumour's evidence timeline as CSV (RFC 4180, a header row, oldest first) from its
    `history` dict: what `history ID --csv` prints and `/rumours/ID.csv` serves."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EVIDENCE_CSV_COLUMNS)
    for e in data["evidence"]:
        writer.writerow([_csv_cell(e[column]) for column in EVIDENCE_CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def why(row: Mapping[str, Any]) -> str:
    """One line for people from a `history` transition or evidence entry: who was on record,
    how sure the reader was, and the cues the rules found ("" before the trained reader)."""
    parts = []
    if row.get("on_record"):
        who = str(row["on_record"])
        parts.append(
            who if who in ("reported, not on record", "stated as fact") else f"on record: {who}"
        )
    if row.get("probability") is not None:
        parts.append(f"{row.get('reader') or 'reader'} {row['probability']:.2f}")
    cues = [c for c in row.get("cues") or [] if not str(c).startswith("model:")]
    if cues:
        parts.append("cues: " + ", ".join(str(c) for c in cues[:4]))
    return "; ".join(parts)
