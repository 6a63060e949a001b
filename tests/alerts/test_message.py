from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.console import ConsoleChannel
from monitor.alerts.message import (
    AlertMessage,
    email_subject,
    message_id,
    render_html,
    render_line,
    render_text,
    slack_escape,
    slack_payload,
)

EVIL_TITLE = '<script>alert(1)</script> <!channel> <http://evil.example|click> & "co"'
EVIL_SENTENCE = "Great Wall <b>confirmed</b> it <@U123> & <!here> will build the cars."


def _message(**changes: object) -> AlertMessage:
    base = AlertMessage(
        message_id=message_id(7, 3, "a1b2c3"),
        rumour_id="xiaomi-gwm",
        claim="Xiaomi will build its cars with Great Wall Motors",
        old_state="unconfirmed",
        new_state="formalized",
        confidence_before=0.55,
        confidence_after=0.93,
        signal="formalize",
        sentence="Xiaomi signed an agreement to build its cars at a Great Wall plant.",
        article_title="Xiaomi signs deal with Great Wall",
        source_url="https://news.example/xiaomi-gwm?a=1&b=2",
        source_name="Example News",
        published_at=datetime(2021, 3, 30, 9, 15, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_subject_names_the_claim_and_the_change() -> None:
    assert (
        email_subject(_message())
        == "[rumour] Xiaomi will build its cars with Great Wall Motors: unconfirmed -> formalized"
    )
    # a newline in a claim must not become a second header line
    assert "\n" not in email_subject(_message(claim="Xiaomi\nBcc: everyone@example.org"))


def test_message_id_is_stable_and_distinct_per_alert() -> None:
    assert message_id(7, 3, "a1") == message_id(7, 3, "a1") == "<alert-7.3@a1.rumour-monitor>"
    assert message_id(8, 3, "a1") != message_id(7, 3, "a1")
    assert message_id(7, 3, "b2") != message_id(7, 3, "a1")  # another installation's alert 7


FIELDS = (
    "xiaomi-gwm",
    "Xiaomi will build its cars with Great Wall Motors",
    "unconfirmed -> formalized",
    "0.55 -> 0.93",
    "Xiaomi signed an agreement to build its cars at a Great Wall plant.",
    "Xiaomi signs deal with Great Wall",
    "https://news.example/xiaomi-gwm?a=1&b=2",
    "2021-03-30 09:15 UTC",
)


def test_plain_text_carries_every_field() -> None:
    text = render_text(_message())
    assert all(part in text for part in FIELDS)


def test_the_journal_line_carries_every_field_on_one_line() -> None:
    line = render_line(_message(sentence="Xiaomi signed\nan agreement", article_title="A\nB"))
    assert "\n" not in line
    assert "Xiaomi signed an agreement" in line and "A B" in line
    assert all(part in render_line(_message()) for part in FIELDS)


def test_the_console_writes_one_line_per_alert_only_to_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w+", encoding="utf-8") as journal:
        info = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        ConsoleChannel(journal).send(_message())
        with (tmp_path / "terminal").open("w+", encoding="utf-8") as other:
            ConsoleChannel(other).send(_message())  # stdout redirected elsewhere: the full form
            other.seek(0)
            assert other.read() == render_text(_message()) + "\n"
        journal.seek(0)
        assert journal.read() == render_line(_message()) + "\n"


def test_html_escapes_everything_from_the_article() -> None:
    page = render_html(
        _message(
            article_title=EVIL_TITLE,
            sentence=EVIL_SENTENCE,
            source_url='https://news.example/x?"><script>x</script>',
        )
    )
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;confirmed&lt;/b&gt;" in page
    assert 'href="https://news.example/x?&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page


def test_html_links_only_web_urls() -> None:
    page = render_html(_message(source_url="javascript:alert(1)"))
    assert "href" not in page and "javascript:" not in page


def test_slack_escapes_control_characters() -> None:
    assert slack_escape("a & <b> <!channel>") == "a &amp; &lt;b&gt; &lt;!channel&gt;"


def _texts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Every text object of the blocks, as (type, text)."""
    found: list[tuple[str, str]] = []
    for block in payload["blocks"]:
        objects = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        found += [(o["type"], o["text"]) for o in objects if o is not None]
    return found


def test_slack_payload_has_fallback_and_blocks_with_every_field() -> None:
    payload = slack_payload(_message())
    assert payload["text"] == (
        "[rumour] Xiaomi will build its cars with Great Wall Motors: unconfirmed -&gt; formalized"
    )
    assert payload["mrkdwn"] is False
    texts = _texts(payload)
    assert ("mrkdwn", "*Rumour* `xiaomi-gwm`") in texts
    assert ("plain_text", "Xiaomi will build its cars with Great Wall Motors") in texts
    assert ("mrkdwn", "*Confidence*\n0.55 -&gt; 0.93 (formalize)") in texts
    sentence = "“Xiaomi signed an agreement to build its cars at a Great Wall plant.”"
    assert ("plain_text", sentence) in texts
    title, link, where = payload["blocks"][4]["elements"]
    assert title == {
        "type": "plain_text",
        "text": "Xiaomi signs deal with Great Wall",
        "emoji": False,
    }
    assert link["text"] == "<https://news.example/xiaomi-gwm?a=1&amp;b=2|open the article>"
    assert where["text"] == "Example News · 2021-03-30 09:15 UTC"


def test_slack_payload_defuses_mentions_and_disguised_links() -> None:
    payload = slack_payload(
        _message(
            article_title=EVIL_TITLE,
            sentence=EVIL_SENTENCE,
            source_url="https://news.example/a|b>c",
        )
    )
    assert "<!channel>" not in payload["text"] and payload["mrkdwn"] is False
    # Text from the article is plain_text, which Slack never parses for mentions or links;
    # every mrkdwn text is ours, and its only "<" opens the source link.
    plain = [text for kind, text in _texts(payload) if kind == "plain_text"]
    assert EVIL_TITLE in plain and f"“{EVIL_SENTENCE}”" in plain
    mrkdwn = [text for kind, text in _texts(payload) if kind == "mrkdwn"]
    assert "".join(mrkdwn).count("<") == 1
    (link,) = [text for text in mrkdwn if text.startswith("<")]
    # with | and > kept inside the URL
    assert link == "<https://news.example/a%7Cb%3Ec|open the article>"


def test_slack_shows_formatting_characters_from_articles_as_written() -> None:
    # *bold*, _italic_, ~strike~ and `code` in a headline must not render in the channel.
    marked = "Acme *wins* _big_ ~deal~ `now` > quoted"
    payload = slack_payload(
        _message(article_title=marked, sentence=marked, claim=marked, source_name=marked)
    )
    for kind, text in _texts(payload):
        if marked in text:
            assert kind == "plain_text", text
        else:
            assert not any(c in text for c in "_~") and "wins" not in text, text
    assert sum(marked in text for _, text in _texts(payload)) == 4
    assert payload["mrkdwn"] is False and "*wins*" in payload["text"]


def test_slack_cuts_a_huge_sentence_below_the_block_limit() -> None:
    payload = slack_payload(_message(sentence="word " * 2000))
    assert len(payload["blocks"][3]["text"]["text"]) <= 3000
