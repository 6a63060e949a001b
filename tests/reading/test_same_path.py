"""`assess` runs the pipeline's own path: the same gate, reader and thresholds as `poll`, so an
article judged one way by `assess --url` moves a rumour the same way when it is polled."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Evidence

CLAIM = "Quillmark Robotics will acquire Tavener Sensors"
PAGE = """<html><head><title>Quillmark agrees to buy Tavener for $800 million</title></head>
<body><article><h1>Quillmark agrees to buy Tavener for $800 million</h1>
<p>Quillmark Robotics said on Monday it had signed a definitive agreement to acquire Tavener
Sensors, the Leeds-based maker of lidar units, for $800 million in cash.</p>
<p>The deal, approved by both boards, is expected to close in the second quarter. Tavener's
founder will join Quillmark's executive team.</p>
<p>Shares of Quillmark rose 4 percent in early trading.</p></article></body></html>"""


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout


@pytest.mark.parametrize("entities", [None, ["Quillmark Robotics|Quillmark", "Tavener"]])
def test_assess_agrees_with_poll_on_the_same_article(
    write_config: Callable[..., Path],
    db_url: str,
    threaded_server: HTTPServer,
    encoder: object,
    entities: list[str] | None,
) -> None:
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/story").respond_with_data(PAGE, content_type="text/html")
    threaded_server.expect_request("/feed").respond_with_data(
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<link>{base}/</link><description>d</description><item><title>Quillmark agrees to buy Tavener
for $800 million</title><link>{base}/story</link><guid>{base}/story</guid>
<pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate><description>Quillmark buys Tavener.
</description></item></channel></rss>""",
        content_type="application/rss+xml",
    )
    seed = f'[[rumour]]\nid = "quillmark"\nclaim = "{CLAIM}"\n'
    if entities is not None:
        seed += "entities = " + json.dumps(entities) + "\n"
    config = write_config(
        f'[polling]\nallow_private_networks = true\nhost_delay = "0s"\n'
        f'[[feeds]]\nname = "Wire"\nurl = "{base}/feed"\n',
        seeds=seed,
        db_url=db_url,
    )
    assert _run(config, "init")[0] == 0
    assert _run(config, "poll")[0] == 0
    db = Database(db_url)
    try:
        with db.sessions() as session:
            polled = session.scalars(select(Evidence)).one()
            polled_view = (polled.stance, polled.signal, polled.sentence, polled.reader)
            polled_similarity = polled.similarity
    finally:
        db.dispose()
    args = ["assess", "--claim", CLAIM, "--url", f"{base}/story", "--json"]
    for entity in entities or []:
        args += ["--entity", entity]
    code, out = _run(config, *args)
    assert code == 0
    assessed = json.loads(out)
    assert (
        assessed["stance"],
        assessed["signal"],
        assessed["sentence"],
        assessed["reader"],
    ) == polled_view
    assert assessed["similarity"] == pytest.approx(polled_similarity, abs=1e-3)
    assert polled_view[1] == "formalize"
