"""The read-only web view: HTML pages from the same read models `status`, `history` and `feeds`
print.

Pure functions from plain data to HTML strings; the status listener (monitor/service/health.py)
routes
requests and reads the database. Claims, sentences, titles and URLs come from the web, so every
value is escaped on its way into the page and only http(s) URLs become links: a `javascript:`
or `data:` URL from a hostile feed is shown as text, never followed. No scripts, no external
assets: the page works behind the strict Content-Security-Policy the listener sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from monitor.display import counted, duration, when
from monitor.polling import FeedHealth
from monitor.queries import StatusRow, seeded_state
from monitor.urls import is_web_url

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:80rem;padding:0 1rem;
color:#1b1b1b;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;
padding:.35rem .5rem;border-bottom:1px solid #ddd}th{background:#f3f3f3;font-weight:600}
td.num{text-align:right;white-space:nowrap}td.when,td.id{white-space:nowrap}
td.wrap{overflow-wrap:anywhere}td.wide{min-width:9rem}
.state{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem;
background:#e8e8e8}.s-confirmed{background:#d7e9ff}.s-formalized{background:#d3f2d8}
.s-denied{background:#ffd9d6}.s-abandoned{background:#f1dcc1}
.f-ok{background:#d3f2d8}.f-failing{background:#ffd9d6}.f-new{background:#d7e9ff}
tr.failing td{background:#fff5f4}tr.disabled td{color:#666}
.muted,nav,footer{color:#666}.bad{color:#b00020;font-weight:600}
blockquote{margin:.3rem 0 .8rem;padding-left:.8rem;border-left:3px solid #ccc}
a{color:#0645ad}footer{margin-top:2rem;font-size:.85rem}
"""

TITLE = "rumour-monitor"
RETIRED = "(retired: no longer in the seeds)"
NO_RUMOURS = "No rumours tracked yet: add seeds and run <code>rumour-monitor init</code>."
NO_FEEDS = (
    "No feeds yet: add a <code>[[feeds]]</code> table (<code>name</code>, <code>url</code>) to"
    " <code>config.toml</code> and run <code>rumour-monitor init</code>."
)


def page(title: str, body: str) -> str:
    """A complete HTML5 document; `title` is plain text, `body` is HTML built by this module."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        '<footer><a href="/">rumours</a> · <a href="/feeds">feeds</a> · '
        '<a href="/status.json">status.json</a> · <a href="/feeds.json">feeds.json</a> · '
        '<a href="/healthz">healthz</a> · <a href="/metrics">metrics</a></footer>\n'
        "</body></html>\n"
    )


def rumour_path(rumour_id: str, suffix: str = "") -> str:
    """The page of a rumour. Slugs may contain dots, so an id that itself ends in ".json"
    gets a trailing slash to keep its page apart from the JSON of a shorter id."""
    path = "/rumours/" + quote(rumour_id, safe="")
    if not suffix and rumour_id.endswith(".json"):
        return path + "/"
    return path + suffix


def external_link(url: str | None, text: str | None) -> str:
    """`text` linked to `url` when it is an http(s) URL; otherwise both shown as plain text."""
    label = text or url or ""
    if not url:
        return escape(label)
    if not is_web_url(url):
        shown = escape(label) if label == url else f"{escape(label)} ({escape(url)})"
        return f'<span class="muted">{shown}</span>'
    return f'<a href="{escape(url)}" rel="noopener noreferrer">{escape(label)}</a>'


_NONE = '<span class="muted">-</span>'


def _time(moment: datetime | str | None) -> str:
    if moment is None:
        return _NONE
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f'<time datetime="{escape(parsed.isoformat())}">{escape(when(parsed))}</time>'


def _state(state: str) -> str:
    return f'<span class="state s-{escape(state)}">{escape(state)}</span>'


def status_page(rows: Sequence[StatusRow], *, include_retired: bool) -> str:
    """`/`: one row per rumour, as `status` prints them; retired ones only with ?all=1."""
    toggle = (
        '<a href="/">hide retired</a>' if include_retired else '<a href="/?all=1">show retired</a>'
    )
    nav = f"<nav>{counted(len(rows), 'rumour')} · {toggle}</nav>"
    if not rows:
        return page(TITLE, f"<h1>Rumours</h1>\n{nav}\n<p>{NO_RUMOURS}</p>")
    head = (
        "<tr><th>ID</th><th>Claim</th><th>State</th><th>Confidence</th><th>Evidence</th>"
        "<th>Last evidence</th><th>Updated</th><th>Alerts failed</th></tr>"
    )
    body = "\n".join(_status_row(row) for row in rows)
    table = f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    return page(TITLE, f"<h1>Rumours</h1>\n{nav}\n{table}")


def _status_row(row: StatusRow) -> str:
    ident = f'<a href="{escape(rumour_path(row.id))}">{escape(row.id)}</a>'
    if not row.active:
        ident += ' <span class="muted">(retired)</span>'
    failed = f'<span class="bad">{row.alerts_failed}</span>' if row.alerts_failed else "0"
    return (
        f'<tr><td class="id">{ident}</td><td>{escape(row.claim)}</td>'
        f"<td>{_state(row.state)}</td>"
        f'<td class="num">{row.confidence:.2f}</td><td class="num">{row.evidence_count}</td>'
        f'<td class="when">{_time(row.last_evidence_at)}</td>'
        f'<td class="when">{_time(row.updated_at)}</td>'
        f'<td class="num">{failed}</td></tr>'
    )


def rumour_page(data: Mapping[str, Any]) -> str:
    """`/rumours/ID`: the claim and state, then transitions and evidence, oldest first, from
    the very dict `history --json` prints."""
    rid = str(data["id"])
    notes = ""
    if data.get("state_since"):  # a seeded state: articles published before it cannot move it
        seeded = f"seeded {_state(seeded_state(data))} since"
        notes += f' <span class="muted">{seeded}</span> {_time(data["state_since"])}'
    if not data["active"]:
        notes += f' <span class="muted">{RETIRED}</span>'
    head = (
        f'<nav><a href="/">all rumours</a> · <a href="{escape(rumour_path(rid, ".json"))}">'
        f"JSON</a></nav>\n<h1>{escape(rid)}</h1>\n<blockquote>{escape(str(data['claim']))}"
        f"</blockquote>\n<p>{_state(str(data['state']))} confidence "
        f"<strong>{float(data['confidence']):.2f}</strong>{notes}</p>"
    )
    sections = [head, "<h2>Transitions</h2>", _transitions(data["transitions"])]
    sections += ["<h2>Evidence</h2>", _evidence(data["evidence"])]
    return page(f"{rid} · {TITLE}", "\n".join(sections))


def _transitions(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return '<p class="muted">none yet</p>'
    head = (
        "<tr><th>When</th><th>Change</th><th>Signal</th><th>Confidence</th>"
        "<th>Sentence</th><th>Source</th></tr>"
    )
    rows = [
        f'<tr><td class="when">{_time(t["at"])}</td>'
        f"<td>{_state(t['from'])} → {_state(t['to'])}</td><td>{escape(t['signal'])}</td>"
        f'<td class="num">{_change(t)}</td><td>{escape(t["sentence"] or "")}</td>'
        f"<td>{external_link(t['url'], t['title'])}</td></tr>"
        for t in items
    ]
    return _table(head, rows)


def _evidence(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return '<p class="muted">none yet</p>'
    head = (
        "<tr><th>When</th><th>Stance / signal</th><th>Similarity</th><th>Confidence</th>"
        "<th>Sentence</th><th>Source</th></tr>"
    )
    rows = []
    for e in items:
        source = f"{escape(e['source'])}: " if e["source"] else ""
        rows.append(
            f'<tr><td class="when">{_time(e["at"])}</td>'
            f"<td>{escape(e['stance'])} / {escape(e['signal'])}</td>"
            f'<td class="num">{float(e["similarity"]):.2f}</td><td class="num">{_change(e)}</td>'
            f"<td>{escape(e['sentence'])}</td><td>{source}{external_link(e['url'], e['title'])}"
            "</td></tr>"
        )
    return _table(head, rows)


def _change(item: Mapping[str, Any]) -> str:
    return f"{float(item['confidence_before']):.2f} → {float(item['confidence_after']):.2f}"


def _table(head: str, rows: Sequence[str]) -> str:
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


def message_page(title: str, message: str) -> str:
    """A 404 or 503 page: what went wrong, in words, and the way back."""
    body = (
        f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>\n"
        '<p><a href="/">Back to all rumours</a></p>'
    )
    return page(title, body)


def feeds_page(rows: Sequence[FeedHealth]) -> str:
    """`/feeds`: each feed's health, as `feeds` prints it, failing and disabled ones marked."""
    counts = [counted(len(rows), "feed")]
    for status in ("failing", "disabled"):
        n = sum(1 for row in rows if feed_status(row) == status)
        if n:
            counts.append(
                f'<span class="{"bad" if status == "failing" else "muted"}">{n} {status}</span>'
            )
    nav = f'<nav>{" · ".join(counts)} · <a href="/feeds.json">JSON</a></nav>'
    if not rows:
        return page(f"feeds · {TITLE}", f"<h1>Feeds</h1>\n{nav}\n<p>{NO_FEEDS}</p>")
    head = (
        "<tr><th>Feed</th><th>Status</th><th>URL</th><th>Credibility</th><th>Interval</th>"
        "<th>Last success</th><th>Errors</th><th>Next check</th><th>Entries</th>"
        "<th>Last error</th></tr>"
    )
    table = _table(head, [_feed_row(row) for row in rows])
    return page(f"feeds · {TITLE}", f"<h1>Feeds</h1>\n{nav}\n{table}")


def feed_status(row: FeedHealth) -> str:
    """disabled, failing (errors since its last success), new (never checked) or ok: the
    statuses of the `rumour_monitor_feeds` metric, plus `new` so an unpolled feed is not "ok"."""
    if not row.enabled:
        return "disabled"
    if row.error_count:
        return "failing"
    return "new" if row.last_checked_at is None else "ok"


def _feed_row(row: FeedHealth) -> str:
    status = feed_status(row)
    badge = f'<span class="state f-{status}">{status}</span>'
    reason = ""
    if status == "disabled":  # no reason: paused with `enabled = false` in config.toml
        reason = row.disabled_reason or "enabled = false in config"
        badge += f' <span class="muted">{escape(reason)}</span>'
    errors = f'<span class="bad">{row.error_count}</span>' if row.error_count else "0"
    # a disabled feed keeps its last next_check_at, but nothing will check it then
    upcoming = '<span class="muted">not checked</span>' if not row.enabled else None
    return (
        f'<tr class="{status}"><td>{escape(row.name)}</td>'
        f'<td class="wrap{" wide" if reason else ""}">{badge}</td>'
        f'<td class="wrap wide">{external_link(row.url, row.url)}</td>'
        f'<td class="num">{row.credibility:.2f}</td>'
        f'<td class="num">{escape(duration(row.interval_seconds))}</td>'
        f'<td class="when">{_time(row.last_success_at)}</td><td class="num">{errors}</td>'
        f'<td class="when">{upcoming or _time(row.next_check_at)}</td>'
        f'<td class="num">{row.entries}</td>'
        f'<td class="wrap wide">{escape(row.last_error) if row.last_error else _NONE}</td></tr>'
    )
