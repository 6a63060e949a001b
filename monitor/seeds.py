"""Tracked rumours from seed files (seeds/*.toml): parse, validate, and sync into the database.

Parsing is pure (but for the clock, which refuses a `since` in the future); `sync_rumours` is
the only function that writes, and it never touches a rumour's state, confidence or history
once the rumour exists: seeds describe claims, the database owns what the news has since said
about them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.models import STATES, Rumour, Transition, utcnow
from monitor.errors import SeedError
from monitor.names import names_something, overlapping_alias

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_KEYS = {"id", "claim", "entities", "state", "confidence", "paraphrases", "since"}
# Capitalised words that start a claim without naming anything.
_NOT_NAMES = frozenset(
    {
        "The",
        "A",
        "An",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "Their",
        "There",
        "In",
        "On",
        "At",
        "By",
        "For",
        "With",
        "From",
        "Will",
        "Would",
        "Could",
        "Should",
        "May",
        "Might",
        "Can",
        "Is",
        "Are",
        "Was",
        "Were",
        "Has",
        "Have",
        "Had",
    }
)
# Last words of a name that give its legal form, not the name ("Acme Corp" is "Acme" in the news).
_LEGAL_FORMS = frozenset(
    {"Corp", "Corporation", "Inc", "Incorporated", "Ltd", "Limited", "LLC", "plc", "PLC", "AG"}
    | {"SA", "SE", "NV", "Co", "Holdings", "Group"}
)
# Capitals of the Latin, Greek and Cyrillic alphabets: "Škoda" and "Ørsted" are names as surely
# as "Tesla" (re has no class for upper-case letters beyond ASCII).
_CAP = "[" + re.escape("".join(c for c in map(chr, range(0x530)) if c.isupper())) + "]"
_NAME_RUN = re.compile(rf"\b{_CAP}[\w&'.-]*(?:\s+(?:{_CAP}[\w&'.-]*|of|de|&))*")


@dataclass(frozen=True)
class SeedRumour:
    id: str
    claim: str
    entities: tuple[str, ...]
    state: str
    confidence: float
    paraphrases: tuple[str, ...]
    file: Path
    since: datetime | None = None  # the state holds since then (aware, UTC)
    derived: bool = False  # no entities given: found in the claim by derive_entities


def derive_entities(claim: str) -> tuple[str, ...]:
    """The claim's proper nouns: runs of capitalised words, minus function words."""
    found: list[str] = []
    for match in _NAME_RUN.finditer(claim):
        for words in _split_possessives(match.group(0).split()):
            while words and words[0] in _NOT_NAMES:
                words.pop(0)
            while words and words[-1] in {"of", "de", "&"}:
                words.pop()
            name = " ".join(words).rstrip(".'")
            if name.endswith("'s"):
                name = name[:-2]
            if name and name not in found:
                found.append(name)
    return tuple(_with_short_name(name) for name in found)


def _with_short_name(name: str) -> str:
    """The name, plus itself without its legal form ("Acme Corp|Acme"), as the news writes it."""
    words = name.split()
    if len(words) > 1 and words[-1].rstrip(".") in _LEGAL_FORMS:
        return f"{name}|{' '.join(words[:-1]).rstrip(',')}"
    return name


def _split_possessives(words: list[str]) -> list[list[str]]:
    """Cut a run of capitalised words after each possessive: "Tesla's Elon Musk" names two.

    Kept whole, the run would demand the phrase "Tesla's Elon Musk" in every article, and
    "Elon Musk of Tesla" would never count as evidence.
    """
    parts: list[list[str]] = [[]]
    for word in words:
        parts[-1].append(word)
        if word.endswith("'s"):
            parts.append([])
    return [part for part in parts if part]


def seed_files(paths: Iterable[Path]) -> list[Path]:
    """Every *.toml under the given files and folders, in a stable order, each file once.

    A file reached twice (named, and again through its folder; or one folder written two
    ways) is read once: reading it again would report its own rumours as duplicate ids.
    """
    files: dict[Path, Path] = {}  # resolved -> as named, so messages keep the user's spelling
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.toml") if p.is_file())
        elif path.is_file():
            found = [path]
        else:
            raise SeedError(f"{path}: seed path does not exist (check [seeds] paths in config)")
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def parse_seed_file(file: Path) -> list[SeedRumour]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{file}: cannot read seed file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{file}: TOML syntax error: {exc}") from exc
    extra = set(data) - {"rumour"}
    if extra:
        raise SeedError(f"{file}: unknown top-level key {sorted(extra)[0]!r} (use [[rumour]])")
    items = data.get("rumour", [])
    if not isinstance(items, list):
        raise SeedError(f"{file}: 'rumour' must be an array of tables ([[rumour]])")
    return [_parse_rumour(file, index, item) for index, item in enumerate(items)]


def _parse_rumour(file: Path, index: int, item: Any) -> SeedRumour:
    if not isinstance(item, dict):
        raise SeedError(f"{file}: rumour #{index + 1} must be a table")
    rid = item.get("id")
    where = f"{file}: rumour {rid!r}" if isinstance(rid, str) else f"{file}: rumour #{index + 1}"
    if not isinstance(rid, str) or not _SLUG.match(rid):
        raise SeedError(f"{where}: id must be a lower-case slug like 'xiaomi-great-wall'")
    unknown = set(item) - _KEYS
    if unknown:
        raise SeedError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    claim = item.get("claim")
    if not isinstance(claim, str) or not claim.strip():
        raise SeedError(f"{where}: claim is missing or empty")
    state = item.get("state", "unconfirmed")
    if state not in STATES:
        raise SeedError(f"{where}: unknown state {state!r} (one of {', '.join(STATES)})")
    confidence = item.get("confidence", _default_confidence(state))
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise SeedError(f"{where}: confidence must be a number between 0 and 1")
    if not 0.0 < float(confidence) < 1.0:
        raise SeedError(f"{where}: confidence must be strictly between 0 and 1")
    given = _strings(item, "entities", where)
    entities = given or derive_entities(claim)
    if not entities:
        raise SeedError(f"{where}: no entities given and none found in the claim; add entities")
    for entity in entities:
        if not names_something(entity):
            raise SeedError(
                f'{where}: entity {entity!r} names nothing (give a name, "|" between aliases,'
                ' e.g. "Great Wall Motors|GWM")'
            )
    if given and (overlap := overlapping_alias(given)):
        raise SeedError(f"{where}: {overlap}")
    return SeedRumour(
        id=rid,
        claim=claim.strip(),
        entities=entities,
        state=state,
        confidence=float(confidence),
        paraphrases=_strings(item, "paraphrases", where),
        file=file,
        since=_since(item.get("since"), where),
        derived=not given,
    )


def _strings(item: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SeedError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _since(value: Any, where: str) -> datetime | None:
    """The seed's `since`: a TOML date or date-time, or the same written as a string.

    A bare date is midnight UTC. A time of day must carry its zone: read as UTC, a time
    written in Beijing would be eight hours off and let a day's articles through or not.
    """
    if value is None:
        return None
    example = "e.g. 2021-03-30 or 2021-03-30T19:45:00+08:00"
    moment = _moment(value)
    if moment is None:
        # A string quoted, a TOML time of day as written ("19:45:00", not datetime.time(...)).
        shown = repr(value) if isinstance(value, str) else str(value)
        raise SeedError(f"{where}: since {shown} is not an ISO 8601 date or time ({example})")
    if moment.tzinfo is None:
        raise SeedError(
            f"{where}: since {value!s} has no timezone (add one, e.g. Z or +08:00, "
            "or give a bare date for midnight UTC)"
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise SeedError(f"{where}: since {value!s} is out of range ({example})") from None
    if moment > utcnow():
        raise SeedError(
            f"{where}: since {moment.isoformat()} is in the future; it says since when the "
            "seed's state already holds (give a past time, or remove it)"
        )
    return moment


def _moment(value: Any) -> datetime | None:
    """A datetime (naive when written without a zone) from a TOML value, or None."""
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _default_confidence(state: str) -> float:
    return {"confirmed": 0.8, "formalized": 0.95, "denied": 0.2, "abandoned": 0.1}.get(state, 0.5)


def load_seeds(paths: Iterable[Path]) -> list[SeedRumour]:
    """All rumours from all seed files; an id may appear only once across them."""
    rumours: list[SeedRumour] = []
    first_file: dict[str, Path] = {}
    for file in seed_files(paths):
        for rumour in parse_seed_file(file):
            if rumour.id in first_file:
                raise SeedError(
                    f"{file}: rumour {rumour.id!r}: duplicate id "
                    f"(already in {first_file[rumour.id]})"
                )
            first_file[rumour.id] = file
            rumours.append(rumour)
    return rumours


@dataclass(frozen=True)
class KeptState:
    """A seed whose `state` was edited after its rumour was added: not applied."""

    id: str
    seed_state: str  # what the seed file says now
    added_as: str  # the state the rumour was added with, which its `since` dates
    state: str  # its state now


@dataclass(frozen=True)
class SyncReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    retired: tuple[str, ...]
    kept_states: tuple[KeptState, ...] = ()


def sync_rumours(session: Session, seeds: Sequence[SeedRumour]) -> SyncReport:
    """Add new rumours, update changed claims, retire rumours gone from the seeds."""
    return _sync(session, seeds, write=True)


def plan_sync(session: Session, seeds: Sequence[SeedRumour]) -> SyncReport:
    """What `sync_rumours` would do now, changing nothing (for `check`)."""
    return _sync(session, seeds, write=False)


def _sync(session: Session, seeds: Sequence[SeedRumour], *, write: bool) -> SyncReport:
    existing = {r.id: r for r in session.scalars(select(Rumour))}
    added_as = _added_as(session)
    added: list[str] = []
    updated: list[str] = []
    kept: list[KeptState] = []
    for seed in seeds:
        row = existing.pop(seed.id, None)
        if row is None:
            if write:
                session.add(_new_row(seed))
            added.append(seed.id)
            continue
        if _changed(row, seed):
            updated.append(seed.id)
        if write:
            _apply(row, seed)
        first = added_as.get(row.id, row.state)
        if seed.state != first:  # edited in the seed: say so rather than ignore it silently
            kept.append(KeptState(row.id, seed.state, first, row.state))
    retired = [r.id for r in existing.values() if r.active]
    if write:
        for rid in retired:
            existing[rid].active = False
    return SyncReport(tuple(added), tuple(updated), tuple(retired), tuple(kept))


def _added_as(session: Session) -> dict[str, str]:
    """Each moved rumour's state before its first transition: the one it was added with."""
    moves = select(Transition.rumour_id, Transition.from_state).order_by(
        Transition.at.desc(), Transition.id.desc()
    )
    # The earliest is written last and wins.
    return {rid: state for rid, state in session.execute(moves)}


def _new_row(seed: SeedRumour) -> Rumour:
    now = utcnow()
    return Rumour(
        id=seed.id,
        claim=seed.claim,
        entities=list(seed.entities),
        entities_derived=seed.derived,
        paraphrases=list(seed.paraphrases),
        state=seed.state,
        confidence=seed.confidence,
        active=True,
        seed_file=str(seed.file),
        state_since=seed.since,
        created_at=now,
        updated_at=now,
    )


def _changed(row: Rumour, seed: SeedRumour) -> bool:
    """Whether the seed describes the rumour otherwise than its row (or revives it)."""
    return (
        row.claim != seed.claim
        or list(row.entities) != list(seed.entities)
        or row.entities_derived != seed.derived
        or list(row.paraphrases) != list(seed.paraphrases)
        or row.state_since != seed.since
        or not row.active
    )


def _apply(row: Rumour, seed: SeedRumour) -> None:
    """Update the descriptive fields; state and confidence belong to the tracker now.

    `since` is updated too (and cleared when the key is gone): it only says which evidence
    may move the state, and changes neither the state nor the confidence.
    """
    if _changed(row, seed):
        row.claim = seed.claim
        row.entities = list(seed.entities)
        row.entities_derived = seed.derived
        row.paraphrases = list(seed.paraphrases)
        row.state_since = seed.since
        row.active = True
        row.updated_at = utcnow()
    row.seed_file = str(seed.file)
