"""What an alert says, and how it is written for a terminal, an email and Slack.

Pure functions over plain data: the delivery step builds an `AlertMessage` from database rows
and each channel renders it. Everything that comes from an article (title, sentence, URL) is
untrusted and escaped for the medium it lands in, so a headline cannot inject HTML into an
email or `<!channel>` pings and disguised links into Slack.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from monitor.db.models import Article, Rumour, Transition
from monitor.urls import is_web_url

MESSAGE_ID_DOMAIN = "rumour-monitor"
_NOT_ON_RECORD = ("", "reported, not on record", "stated as fact")
# Slack rejects section texts over 3000 characters; claims and sentences are cut well below.
_SLACK_FIELD_MAX = 2000
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class AlertMessage:
    """Everything one alert tells its reader about one state change of one rumour."""

    message_id: str
    rumour_id: str
    claim: str
    old_state: str
    new_state: str
    confidence_before: float
    confidence_after: float
    signal: str
    sentence: str
    article_title: str | None
    source_url: str | None
    source_name: str | None
    published_at: datetime | None
    test: bool = False
    # Why the reader moved it: who is on record, how sure the model was, which reader judged.
    on_record: str = ""
    probability: float | None = None
    reader: str = ""
    # The Message-ID of the rumour's first alert on this channel, which later ones refer to so
    # a mail client shows a rumour's alerts as one thread; None on the first one.
    thread_id: str | None = None


def message_id(alert_id: int, transition_id: int, installation: str) -> str:
    """The Message-ID of an alert: derived from ids, so a resend repeats it and can be spotted,
    and from the database's random installation id, so another database's alert 42 differs."""
    return f"<alert-{alert_id}.{transition_id}@{installation}.{MESSAGE_ID_DOMAIN}>"


def from_transition(
    transition: Transition,
    rumour: Rumour,
    article: Article | None,
    *,
    alert_id: int,
    installation: str,
    first_alert: tuple[int, int] | None = None,
) -> AlertMessage:
    """The message for one outbox row, from the transition it announces. `first_alert` is the
    (alert id, transition id) of the rumour's first alert on the same channel."""
    own = message_id(alert_id, transition.id, installation)
    thread = message_id(*first_alert, installation) if first_alert is not None else None
    return AlertMessage(
        message_id=own,
        thread_id=thread if thread != own else None,
        rumour_id=rumour.id,
        claim=rumour.claim,
        old_state=transition.from_state,
        new_state=transition.to_state,
        confidence_before=transition.confidence_before,
        confidence_after=transition.confidence_after,
        signal=transition.signal,
        sentence=transition.sentence,
        article_title=article.title if article is not None else None,
        source_url=article.url if article is not None else None,
        source_name=(article.source or None) if article is not None else None,
        published_at=article.published_at if article is not None else transition.at,
        **_why(transition),
    )


def _why(transition: Transition) -> dict[str, Any]:
    evidence = transition.evidence
    if evidence is None:
        return {}
    return {
        "on_record": evidence.on_record or "",
        "probability": evidence.probability,
        "reader": evidence.reader or "",
    }


def explanation(m: AlertMessage) -> str:
    """Who is on record and how sure the reader was: "on record: Arventa said; formalize,
    model 0.97", or "reported, not on record; ...". Empty when nothing was recorded."""
    if not (m.on_record or m.probability is not None):
        return ""
    who = f"on record: {m.on_record}" if m.on_record not in _NOT_ON_RECORD else m.on_record
    sure = f", {m.reader} {m.probability:.2f}" if m.probability is not None else ""
    return one_line(f"{who or 'on record: unknown'}; {m.signal}{sure}")


def make_test_message(now: datetime | None = None) -> AlertMessage:
    """A harmless alert for `alerts test`: fresh Message-ID, nothing in the database."""
    return AlertMessage(
        message_id=f"<test-{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>",
        rumour_id="test",
        claim="Test alert from rumour-monitor (no rumour changed state)",
        old_state="unconfirmed",
        new_state="confirmed",
        confidence_before=0.5,
        confidence_after=0.8,
        signal="confirm",
        sentence="If you can read this, alerts reach you on this channel.",
        article_title="rumour-monitor test alert",
        source_url=None,
        source_name=None,
        published_at=now or datetime.now(UTC),
        test=True,
    )


def one_line(text: str) -> str:
    """Collapse newlines and runs of spaces: headers and quotes must stay on one line."""
    return _WHITESPACE.sub(" ", text).strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown time"


def _web_url(url: str | None) -> str | None:
    """Only http(s) links are rendered as links; anything else (javascript:, data:) is not."""
    return url if is_web_url(url) else None


def email_subject(m: AlertMessage) -> str:
    return f"[rumour] {one_line(m.claim)}: {m.old_state} -> {m.new_state}"


def render_text(m: AlertMessage) -> str:
    """Plain text for the console and the text/plain part of an email."""
    lines = [
        f"[rumour] {m.rumour_id}: {m.old_state} -> {m.new_state}",
        f"  claim:      {one_line(m.claim)}",
        f"  confidence: {m.confidence_before:.2f} -> {m.confidence_after:.2f} ({m.signal})",
        f'  sentence:   "{one_line(m.sentence)}"',
        *([f"  why:        {explanation(m)}"] if explanation(m) else []),
        f"  article:    {one_line(m.article_title or '(untitled)')}",
        f"  source:     {m.source_url or '(no link)'}"
        + (f" ({m.source_name})" if m.source_name else ""),
        f"  published:  {_time(m.published_at)}",
    ]
    return "\n".join(lines) + "\n"


def render_line(m: AlertMessage) -> str:
    """The whole alert on one line, for the journal, where every line is an entry of its own."""
    source = m.source_url or "(no link)"
    return (
        f"[rumour] {m.rumour_id}: {m.old_state} -> {m.new_state}"
        f" | confidence {m.confidence_before:.2f} -> {m.confidence_after:.2f} ({m.signal})"
        f' | "{one_line(m.sentence)}"'
        + (f" | {explanation(m)}" if explanation(m) else "")
        + f" | {one_line(m.article_title or '(untitled)')} {source}"
        + (f" ({one_line(m.source_name)})" if m.source_name else "")
        + f" | published {_time(m.published_at)}"
        f" | claim: {one_line(m.claim)}"
    )


def render_html(m: AlertMessage) -> str:
    """The text/html part of an email; every value is escaped, only http(s) links are links."""

    def e(value: str) -> str:
        return html.escape(value, quote=True)

    title = e(one_line(m.article_title or "(untitled)"))
    url = _web_url(m.source_url)
    link = f'<a href="{e(url)}">{title}</a>' if url else title
    source = f" ({e(m.source_name)})" if m.source_name else ""
    return (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<p><strong>{e(m.rumour_id)}</strong>: {e(one_line(m.claim))}</p>\n"
        f"<p>State: <strong>{e(m.old_state)} &rarr; {e(m.new_state)}</strong><br>\n"
        f"Confidence: {m.confidence_before:.2f} &rarr; {m.confidence_after:.2f}"
        f" ({e(m.signal)})</p>\n"
        f"<blockquote>{e(one_line(m.sentence))}</blockquote>\n"
        + (f"<p>{e(explanation(m))}</p>\n" if explanation(m) else "")
        + f"<p>{link}{source}<br>\nPublished {e(_time(m.published_at))}</p>\n"
        "</body></html>\n"
    )


def slack_escape(text: str) -> str:
    """Slack's rule: only &, < and > are control characters; escaped they are shown as-is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str) -> str:
    # "|" separates URL from label in Slack's <url|label>; percent-encoding keeps it in the URL.
    # The label is ours: text from the article inside it would be read as mrkdwn.
    target = slack_escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~"))
    return f"<{target}|open the article>"


def _mrkdwn(text: str) -> dict[str, str]:
    """Our own markup (labels, states, the link); never text from an article."""
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> dict[str, Any]:
    """Text from an article or a seed, shown as written. mrkdwn has no escape for *, _, ~ and
    ` (Slack documents escaping for &, < and > only): plain_text is how Slack shows text
    unformatted, with no mention, link or :emoji: parsing, so nothing in it is escaped."""
    return {"type": "plain_text", "text": text, "emoji": False}


def slack_payload(m: AlertMessage) -> dict[str, Any]:
    """An incoming-webhook body: a `text` fallback for notifications, and blocks for the app.

    The fallback is plain (`mrkdwn: false`) with &, < and > escaped, so a headline can neither
    ping `<!channel>`, hide a link, nor turn *bold*; in the blocks, text from the article and
    the seed is plain_text and the markup is ours."""
    claim = _cut(one_line(m.claim), _SLACK_FIELD_MAX)
    states = f"{m.old_state} -> {m.new_state}"
    title = _cut(one_line(m.article_title or "(untitled)"), 300)
    context: list[dict[str, Any]] = [_plain(title)]
    url = _web_url(m.source_url)
    if url is not None:
        context.append(_mrkdwn(_slack_link(url)))
    where = " · ".join(
        part for part in (one_line(m.source_name or ""), _time(m.published_at)) if part
    )
    context.append(_plain(where))
    blocks = [
        {"type": "section", "text": _mrkdwn(f"*Rumour* `{slack_escape(m.rumour_id)}`")},
        {"type": "section", "text": _plain(claim)},
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*State*\n{slack_escape(states)}"),
                _mrkdwn(
                    f"*Confidence*\n{m.confidence_before:.2f} -&gt; {m.confidence_after:.2f}"
                    f" ({slack_escape(m.signal)})"
                ),
            ],
        },
        {"type": "section", "text": _plain(f"“{_cut(one_line(m.sentence), _SLACK_FIELD_MAX)}”")},
        *([{"type": "context", "elements": [_plain(explanation(m))]}] if explanation(m) else []),
        {"type": "context", "elements": context},
    ]
    return {"text": slack_escape(f"[rumour] {claim}: {states}"), "mrkdwn": False, "blocks": blocks}
