from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Alert, Article, Evidence, Rumour, Transition
from monitor.service import webview
from monitor.service.health import HealthCheck, StatusServer
from monitor.service.metrics import Metrics
from monitor.service.webview import external_link, rumour_path

AT = datetime(2021, 3, 30, 9, 0, tzinfo=UTC)
EVIL_CLAIM = "Evil Corp will buy <script>alert('claim')</script> Widget Works"
EVIL_SENTENCE = 'Evil Corp confirmed it <script>alert("sentence")</script> today.'
EVIL_URL = "javascript:alert(document.cookie)"
EVIL_TITLE = '<img src=x onerror="alert(1)">'


def cli_stdout(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _article(n: int, url: str, title: str, source: str) -> Article:
    return Article(
        canonical_url=url,
        url=url,
        title=title,
        source=source,
        content_hash=str(n) * 64,
        published_at=AT,
    )


def _evidence(rumour: str, article: Article, sentence: str, signal: str, at: datetime) -> Evidence:
    return Evidence(
        rumour_id=rumour,
        article_id=article.id,
        sentence=sentence,
        stance="supports",
        signal=signal,
        similarity=0.8,
        confidence_before=0.5,
        confidence_after=0.9,
        at=at,
    )


def _seed(db: Database) -> None:
    """After `init`: acme-widgets formalized by a signed deal (one failed alert), an earlier
    hedged report, a rumour whose claim, sentence, title and URL are hostile, a retired one."""
    with db.transaction() as s:
        s.add(Rumour(id="evil", claim=EVIL_CLAIM, state="confirmed", confidence=0.7))
        s.add(Rumour(id="gone", claim="Acme will buy Gadget Co", state="denied", active=False))
        deal = _article(1, "https://news.example/acme", "Acme signs deal", "Example News")
        report = _article(2, "https://news.example/early", "Acme in talks", "Rumour Mill")
        evil = _article(3, EVIL_URL, EVIL_TITLE, "Hostile <b>Feed</b>")
        s.add_all([deal, report, evil])
        s.flush()
        signed = "Acme signed a deal to buy Widget Works."
        s.add(
            _evidence(
                "acme-widgets",
                report,
                "Acme is said to be in talks.",
                "none",
                AT - timedelta(days=3),
            )
        )
        ev = _evidence("acme-widgets", deal, signed, "formalize", AT)
        s.add_all([ev, _evidence("evil", evil, EVIL_SENTENCE, "confirm", AT)])
        s.flush()
        moved = Transition(
            rumour_id="acme-widgets",
            evidence_id=ev.id,
            article_id=deal.id,
            from_state="unconfirmed",
            to_state="formalized",
            signal="formalize",
            sentence=signed,
            confidence_before=0.5,
            confidence_after=0.9,
            at=AT,
        )
        s.add(moved)
        s.flush()
        s.add(Alert(transition_id=moved.id, channel="slack", status="failed", attempts=8))
        s.get(Rumour, "acme-widgets").state = "formalized"  # type: ignore[union-attr]


@contextmanager
def serve(database: Database, page_deadline: float = 10.0) -> Iterator[httpx.Client]:
    health = HealthCheck(database, scheduler_running=lambda: True)
    server = StatusServer("127.0.0.1:0", health, Metrics(), page_deadline=page_deadline).start()
    try:
        with httpx.Client(base_url=f"http://{server.address}", timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def site(write_config: Callable[..., Path], db_url: str) -> Iterator[tuple[httpx.Client, Path]]:
    """The real listener over an `init`-ed database (SQLite and PostgreSQL), and its config."""
    config = write_config(db_url=db_url)
    cli_stdout(config, "init")
    database = Database(db_url)
    _seed(database)
    with serve(database) as client:
        yield client, config
    database.dispose()


def _row(html: str, rumour_id: str) -> str:
    start = html.index(f'<tr><td class="id"><a href="/rumours/{rumour_id}">')
    return html[start : html.index("</tr>", start)]


def test_index_lists_active_rumours_with_their_state(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.startswith("<!doctype html>")
    acme = _row(html, "acme-widgets")
    assert "formalized" in acme and "Acme Corp will buy Widget Works" in acme
    assert '<td class="num" data-label="Evidence">2</td>' in acme  # evidence count
    assert '<span class="bad">1</span>' in acme  # the failed alert
    assert "2021-03-30 09:00Z" in acme  # last evidence
    assert "confirmed" in _row(html, "globex-ev") and "0.70" in _row(html, "globex-ev")
    assert "/rumours/gone" not in html  # retired: hidden, as `status` hides it
    everything = client.get("/", params={"all": "1"}).text
    assert "(retired)" in _row(everything, "gone") and "denied" in _row(everything, "gone")


def test_rumour_page_shows_transitions_and_evidence_oldest_first(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    response = client.get("/rumours/acme-widgets")
    assert response.status_code == 200
    html = response.text
    assert "<h1>acme-widgets</h1>" in html and "Acme Corp will buy Widget Works" in html
    transitions = html[html.index("<h2>Transitions</h2>") : html.index("<h2>Evidence</h2>")]
    assert "unconfirmed</span> → <span" in transitions and "formalized" in transitions
    assert "Acme signed a deal to buy Widget Works." in transitions
    link = '<a href="https://news.example/acme" rel="noopener noreferrer">Acme signs deal</a>'
    assert link in transitions
    evidence = html[html.index("<h2>Evidence</h2>") :]
    assert evidence.index("Acme is said to be in talks.") < evidence.index("Acme signed a deal")
    assert "Rumour Mill: " in evidence
    assert "(retired: no longer in the seeds)" in client.get("/rumours/gone").text


def test_text_from_the_web_is_escaped_and_unsafe_urls_are_not_links(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    for path in ("/?all=1", "/rumours/evil"):
        html = client.get(path).text
        assert "<script" not in html.lower() and "<img" not in html.lower()
        assert 'href="javascript:' not in html.lower()
        assert "&lt;script&gt;alert(&#39;claim&#39;)&lt;/script&gt;" in html
    html = client.get("/rumours/evil").text
    assert "&lt;script&gt;alert(&#34;sentence&#34;)&lt;/script&gt;" in html
    assert "Hostile &lt;b&gt;Feed&lt;/b&gt;" in html
    assert (
        "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; (javascript:alert(document.cookie))" in html
    )


def test_external_links_only_for_http_urls() -> None:
    assert external_link('https://a.example/?x=1&y="2"', "T") == (
        '<a href="https://a.example/?x=1&amp;y=&#34;2&#34;" rel="noopener noreferrer">T</a>'
    )
    assert external_link("HTTP://a.example/", None).startswith('<a href="HTTP://a.example/"')
    for unsafe in (" JavaScript:alert(1)", "data:text/html,<b>x</b>", "http://[::1", "//a.b/c"):
        assert "<a " not in external_link(unsafe, "title"), unsafe
    assert external_link(None, None) == ""
    assert rumour_path("a b") == "/rumours/a%20b"


def test_unknown_ids_and_paths_are_404_pages_that_link_home(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    response = client.get("/rumours/no-such-rumour")
    assert response.status_code == 404
    assert "no rumour with id &#39;no-such-rumour&#39;" in response.text
    assert '<a href="/">' in response.text
    response = client.get("/rumours/no-such-rumour.json")
    assert response.status_code == 404
    assert response.json() == {"error": "no rumour with id 'no-such-rumour'"}
    response = client.get("/wp-login.php")
    assert response.status_code == 404 and '<a href="/">' in response.text


def test_read_only_get_and_head_answer_other_methods_405(
    site: tuple[httpx.Client, Path],
) -> None:
    client, _ = site
    for method, path in (("POST", "/"), ("PUT", "/rumours/evil"), ("DELETE", "/status.json")):
        response = client.request(method, path, content=b"state=denied")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"
    got, head = client.get("/"), client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert client.get("/rumours/evil").headers["x-content-type-options"] == "nosniff"


def test_json_endpoints_equal_the_cli_output(site: tuple[httpx.Client, Path]) -> None:
    client, config = site
    assert client.get("/status.json").text == cli_stdout(config, "status", "--json")
    assert client.get("/status.json?all=1").text == cli_stdout(config, "status", "--all", "--json")
    for rid in ("acme-widgets", "evil", "gone"):
        web = client.get(f"/rumours/{rid}.json")
        assert web.headers["content-type"] == "application/json"
        assert web.text == cli_stdout(config, "history", rid, "--json")
    assert [r["id"] for r in client.get("/status.json").json()] == [
        "acme-widgets",
        "evil",
        "globex-ev",
    ]


def test_every_answer_carries_the_security_headers(site: tuple[httpx.Client, Path]) -> None:
    client, _ = site
    for response in (
        client.get("/"),
        client.get("/rumours/acme-widgets"),
        client.get("/rumours/nope"),
        client.post("/"),
        client.get("/status.json"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_an_id_ending_in_json_keeps_its_page(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        s.add(Rumour(id="odd.json", claim="Odd Corp will list on Nasdaq"))
    with serve(sqlite_db) as client:
        index = client.get("/").text
        assert f'href="{rumour_path("odd.json")}"' in index and rumour_path("odd.json").endswith(
            "/"
        )
        assert "<h1>odd.json</h1>" in client.get(rumour_path("odd.json")).text
        assert client.get("/rumours/odd.json.json").json()["id"] == "odd.json"


def test_an_empty_database_says_what_to_do(sqlite_db: Database) -> None:
    with serve(sqlite_db) as client:
        response = client.get("/")
    assert response.status_code == 200 and "rumour-monitor init" in response.text
    assert "<table>" not in response.text


def test_a_database_failure_is_a_503_page_naming_it() -> None:
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with serve(dead) as client:
        page = client.get("/rumours/acme")
        data = client.get("/status.json")
    dead.dispose()
    assert page.status_code == 503 and "database unreachable: OperationalError" in page.text
    assert "Traceback" not in page.text and '<a href="/">' in page.text
    assert data.status_code == 503 and data.json()["error"].startswith("database unreachable")


def test_a_silent_database_cannot_hold_a_page_past_its_deadline() -> None:
    with socket.socket() as listener:  # accepts connections, never answers: a hung server
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        silent = Database(f"postgresql+psycopg://monitor@127.0.0.1:{port}/rumours")
        with serve(silent, page_deadline=0.5) as client:
            started = time.monotonic()
            response = client.get("/")
            took = time.monotonic() - started
    silent.dispose()
    assert response.status_code == 503
    assert "no answer within 0.5s" in response.text
    assert took < 5  # the connect timeout is 10 s: the deadline cut it short


def test_a_seeded_state_shows_since_when_it_holds() -> None:
    data = {
        "id": "acme",
        "claim": "Acme will buy Globex",
        "state": "formalized",
        "confidence": 0.95,
        "active": True,
        "state_since": "2021-03-30T00:00:00+00:00",
        "transitions": [],
        "evidence": [],
    }
    page = webview.rumour_page(data)
    assert '>formalized</span> since</span> <time datetime="2021-03-30T00:00:00+00:00">' in page
    assert "seeded" not in webview.rumour_page(data | {"state_since": None})


def test_since_names_the_seeded_state_once_the_news_moved_it() -> None:
    # "abandoned ... seeded state since March" read as if abandoned held since March.
    moved = {
        "id": "acme",
        "claim": "Acme will buy Globex",
        "state": "abandoned",
        "confidence": 0.15,
        "active": True,
        "state_since": "2021-03-30T00:00:00+00:00",
        "transitions": [
            {
                "from": "formalized",
                "to": "abandoned",
                "at": "2021-05-20T09:00:00+00:00",
                "url": "https://news.example/acme-calls-off",
                "title": "Acme calls off Globex deal",
                "sentence": "Acme said it has terminated the agreement to buy Globex.",
                "signal": "abandon",
                "confidence_before": 0.9,
                "confidence_after": 0.15,
            }
        ],
        "evidence": [],
    }
    page = webview.rumour_page(moved)
    head = page[page.index("<h1>") : page.index("<h2>")]
    seeded = '<span class="muted">seeded <span class="state s-formalized">formalized</span> since'
    assert seeded in head
    assert head.index("abandoned") < head.index(seeded)
