"""The read-only web view: HTML pages and Atom feeds from the same read models `status`,
`history` and `feeds` print.

Pure functions from plain data to text, through Jinja2 templates (monitor/service/templates/,
one base and one per page) with autoescape on: claims, sentences, titles and URLs come from
the web, and every `{{ value }}` is escaped on its way into the page. Only http(s) URLs become
links: a `javascript:` or `data:` URL from a hostile feed is shown as text, never followed. No
scripts, no external assets: the pages (and the chart's inline SVG) work behind the strict
Content-Security-Policy the listener sends. The listener (monitor/service/health.py) routes
requests and reads the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from monitor.db.models import STATES
from monitor.display import counted, duration, when
from monitor.polling import FeedFailures, FeedHealth
from monitor.queries import StatusRow, seeded_state, why
from monitor.service import chart
from monitor.urls import is_web_url

TEMPLATES = Path(__file__).with_name("templates")
SUFFIXES = (".json", ".csv", ".atom")  # the other forms of a rumour's page


def rumour_path(rumour_id: str, suffix: str = "") -> str:
    """The page of a rumour, or with `suffix` its JSON, CSV or Atom. Slugs may contain dots,
    so the page of an id that itself ends in ".json" (or another suffix) gets a trailing slash
    to keep it apart from the JSON of a shorter id."""
    path = "/rumours/" + quote(rumour_id, safe="")
    if not suffix and rumour_id.endswith(SUFFIXES):
        return path + "/"
    return path + suffix


def _moment(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def ago(moment: datetime | str, now: datetime | None = None) -> str:
    """ "5 min ago", "3 h ago", "12 days ago": how old a time is, for a reader judging staleness."""
    seconds = ((now or datetime.now(UTC)) - _moment(moment)).total_seconds()
    if seconds < 0:
        return "in the future"
    for unit, size, noun in ((86400, 86400, "day"), (3600, 3600, "h"), (60, 60, "min")):
        if seconds >= unit:
            n = int(seconds // size)
            return f"{counted(n, noun) if noun == 'day' else f'{n} {noun}'} ago"
    return "just now"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML or XML
        undefined=StrictUndefined,  # a misspelt name fails the page (and its test), not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        moment=_moment,
        when=lambda m: when(_moment(m)),
        ago=ago,
        duration=duration,
        rumour_path=rumour_path,
        why=why,
    )
    env.tests["web_url"] = lambda url: isinstance(url, str) and is_web_url(url)
    env.globals["layout"] = {
        "span": chart.SPAN,
        "top": chart.TOP,
        "plot": chart.PLOT,
        "height": chart.HEIGHT,
    }
    return env


ENV = _environment()
STYLE = (TEMPLATES / "style.css").read_text(encoding="utf-8")


def render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


# -- the overview -------------------------------------------------------------------------------

COLUMNS = (
    ("id", "ID"),
    ("claim", "Claim"),
    ("state", "State"),
    ("confidence", "Confidence"),
    ("trend", "Trend"),
    ("evidence", "Evidence"),
    ("last_evidence", "Last evidence"),
    ("updated", "Updated"),
    ("alerts_failed", "Alerts failed"),
)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OverviewRow:
    status: StatusRow
    spark: chart.Sparkline | None


_SORT_KEYS: dict[str, Callable[[OverviewRow], Any]] = {
    "id": lambda r: r.status.id,
    "claim": lambda r: r.status.claim.casefold(),
    "state": lambda r: STATES.index(r.status.state) if r.status.state in STATES else len(STATES),
    "confidence": lambda r: r.status.confidence,
    "trend": lambda r: r.status.confidence - (r.spark.first if r.spark else r.status.confidence),
    "evidence": lambda r: r.status.evidence_count,
    "last_evidence": lambda r: r.status.last_evidence_at or _EARLIEST,
    "updated": lambda r: r.status.updated_at,
    "alerts_failed": lambda r: r.status.alerts_failed,
}
_TRUE = ("1", "true", "yes")


class QueryError(ValueError):
    """A query parameter the overview does not know; the message names it and the choices."""


@dataclass(frozen=True)
class Overview:
    """What `/` shows, from its query parameters, so a filtered and sorted view is a link:
    `state`, `q` (text in the id or claim), `sort` (a column) and `order` (asc or desc),
    `all` (retired rumours too)."""

    state: str | None = None
    search: str = ""
    sort: str = "id"
    descending: bool = False
    include_retired: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, Sequence[str]]) -> Overview:
        def last(name: str) -> str:
            return query.get(name, [""])[-1].strip()

        state, sort, order = last("state") or None, last("sort") or "id", last("order") or "asc"
        if state is not None and state not in STATES:
            raise QueryError(f"state={state!r} is not a state: use one of {', '.join(STATES)}")
        if sort not in _SORT_KEYS:
            raise QueryError(f"sort={sort!r} is not a column: use one of {', '.join(_SORT_KEYS)}")
        if order not in ("asc", "desc"):
            raise QueryError(f"order={order!r}: use asc or desc")
        return cls(
            state=state,
            search=last("q"),
            sort=sort,
            descending=order == "desc",
            include_retired=last("all").lower() in _TRUE,
        )

    def params(self) -> list[tuple[str, str]]:
        found = [("state", self.state or ""), ("q", self.search)]
        if self.sort != "id" or self.descending:
            found += [("sort", self.sort), ("order", "desc" if self.descending else "asc")]
        found.append(("all", "1" if self.include_retired else ""))
        return [(name, value) for name, value in found if value]

    def link(self, **changes: Any) -> str:
        params = replace(self, **changes).params()
        return "/?" + urlencode(params) if params else "/"

    def sort_link(self, column: str) -> str:
        """The column's header link: sorts by it, and the second click reverses the order."""
        descending = not self.descending if column == self.sort else False
        return self.link(sort=column, descending=descending)

    def json_link(self) -> str:
        return "/status.json?all=1" if self.include_retired else "/status.json"

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The view's other parameters, kept by the search form."""
        return [(name, value) for name, value in self.params() if name != "q"]

    def select(self, rows: Sequence[OverviewRow]) -> list[OverviewRow]:
        needle = self.search.casefold()
        chosen = [
            r
            for r in rows
            if (self.state is None or r.status.state == self.state)
            and (not needle or needle in f"{r.status.id}\n{r.status.claim}".casefold())
        ]
        key = _SORT_KEYS[self.sort]
        # ties keep the id order, whichever way the column runs
        chosen.sort(key=lambda r: r.status.id)
        chosen.sort(key=key, reverse=self.descending)
        return chosen


STALE_INTERVALS = 2  # the last good poll is stale after this many of the longest interval


def status_page(
    rows: Sequence[StatusRow],
    *,
    include_retired: bool = False,
    view: Overview | None = None,
    series: Mapping[str, Sequence[tuple[datetime, float]]] | None = None,
    failures: FeedFailures | None = None,
    now: datetime | None = None,
) -> str:
    """`/`: one row per rumour, as `status` prints them, with a sparkline of its confidence,
    filtered and sorted as `view` says; retired ones only with ?all=1."""
    view = view or Overview(include_retired=include_retired)
    every = [OverviewRow(r, chart.sparkline((series or {}).get(r.id, ()))) for r in rows]
    shown = view.select(every)
    states = {state: sum(1 for r in rows if r.state == state) for state in STATES}
    return render(
        "overview.html",
        view=view,
        rows=shown,
        shown=counted(len(shown), "rumour"),
        shown_count=len(shown),
        total_count=len(rows),
        state_counts=[(state, n) for state, n in states.items() if n or state == view.state],
        columns=COLUMNS,
        failures=failures,
        stale=_stale(failures, now or datetime.now(UTC)),
    )


def _stale(failures: FeedFailures | None, now: datetime) -> bool:
    if failures is None or failures.last_success_at is None:
        return False
    age = (now - failures.last_success_at).total_seconds()
    return age > STALE_INTERVALS * failures.longest_interval_seconds


# -- a rumour, the feeds, messages --------------------------------------------------------------


def rumour_page(data: Mapping[str, Any], failures: FeedFailures | None = None) -> str:
    """`/rumours/ID`: the claim and state, the confidence chart, then transitions and evidence,
    oldest first, from the very dict `history --json` prints."""
    return render(
        "rumour.html",
        data=data,
        seeded=seeded_state(data),
        chart=chart.confidence_chart(data),
        failures=failures,
    )


def feed_status(row: FeedHealth) -> str:
    """disabled, failing (errors since its last success), new (never checked) or ok: the
    statuses of the `rumour_monitor_feeds` metric, plus `new` so an unpolled feed is not "ok"."""
    if not row.enabled:
        return "disabled"
    if row.error_count:
        return "failing"
    return "new" if row.last_checked_at is None else "ok"


def feeds_page(rows: Sequence[FeedHealth]) -> str:
    """`/feeds`: each feed's health, as `feeds` prints it, failing and disabled ones marked."""
    statuses = [feed_status(row) for row in rows]
    return render(
        "feeds.html",
        rows=list(zip(rows, statuses, strict=True)),
        shown=counted(len(rows), "feed"),
        failing=statuses.count("failing"),
        disabled=statuses.count("disabled"),
    )


def external_link(url: str | None, text: str | None) -> str:
    """`text` linked to `url` when it is an http(s) URL; otherwise both shown as plain text."""
    return str(ENV.get_template("macros.html").module.link(url, text))  # type: ignore[attr-defined]


def message_page(title: str, message: str) -> str:
    """A 400, 404 or 503 page: what went wrong, in words, and the way back."""
    return render("message.html", title=title, message=message)


# -- Atom ---------------------------------------------------------------------------------------

ATOM = "application/atom+xml; charset=utf-8"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/rumour-monitor")


def _urn(*parts: str) -> str:
    """A permanent entry id: the same change gets the same id on every render and replay."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(parts)).urn


def changes_feed(
    changes: Sequence[Mapping[str, Any]], *, rumour_id: str | None = None, now: datetime
) -> str:
    """The Atom feed of state changes, newest first: `/changes.atom`, or one rumour's."""
    entries = [
        dict(c) | {"entry_id": _urn("transition", c["rumour"], c["from"], c["to"], c["at"])}
        for c in changes
    ]
    updated = max((c["recorded_at"] for c in changes), default=None) or now.isoformat()
    if rumour_id is None:
        title, subject = "rumour-monitor: state changes", "every tracked rumour"
        self_path, page_path, feed_id = "/changes.atom", "/", _urn("changes")
    else:
        title, subject = f"rumour-monitor: {rumour_id}", rumour_id
        self_path, page_path = rumour_path(rumour_id, ".atom"), rumour_path(rumour_id)
        feed_id = _urn("rumour", rumour_id)
    return render(
        "changes.atom",
        title=title,
        subject=subject,
        feed_id=feed_id,
        updated=updated,
        self_path=self_path,
        page_path=page_path,
        changes=entries,
    )
