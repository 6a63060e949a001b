"""Replay files: the header format, HTML pages, folder loading and storing (no model needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.db import Database
from monitor.db.models import Article
from monitor.errors import ReplayFileError
from monitor.timeline.replay import insert_articles, load_articles, parse_article_file

GOOD = """Title: Acme signs deal for Widget Works
Published: 2021-03-30T19:45:00+08:00
Source: Example Wire
URL: https://wire.example/acme#top
Credibility: 0.8

Acme Corp has signed a definitive agreement to buy Widget Works.

The deal closes next year.
"""

PAGE = """<!DOCTYPE html>
<html><head>
<title>Widget Works agrees to sale | Example Wire</title>
<meta property="og:title" content="Widget Works agrees to sale">
<meta property="og:site_name" content="Example Wire">
<meta property="article:published_time" content="2021-04-01T10:00:00+02:00">
<link rel="canonical" href="https://wire.example/widget-sale">
</head><body><nav><a href="/">Home</a></nav>
<article><h1>Widget Works agrees to sale</h1>
<p>Widget Works said on Thursday that its board had approved the sale of the company to Acme
Corp, ending months of speculation about the future of the family-owned business.</p>
<p>The two companies did not disclose the price, which analysts put at several hundred million
dollars. The transaction still needs the approval of regulators in two countries.</p>
</article><footer>Copyright Example Wire</footer></body></html>
"""


# How an unknown header key's problem ends: the keys a header may hold.
KEYS = "Title, Published, Source, URL, Credibility)"


def _write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def test_parses_header_and_text(tmp_path: Path) -> None:
    article = parse_article_file(_write(tmp_path, "a.txt", GOOD))
    assert article.title == "Acme signs deal for Widget Works"
    assert article.published_at == datetime(2021, 3, 30, 11, 45, tzinfo=UTC)
    assert article.source == "Example Wire"
    assert article.url == "https://wire.example/acme#top"
    assert article.credibility == 0.8
    assert article.text.startswith("Acme Corp has signed")
    assert article.text.endswith("The deal closes next year.")


def test_source_defaults_to_the_url_host_and_keys_ignore_case(tmp_path: Path) -> None:
    content = "title: T\nPUBLISHED: 2021-01-01T00:00:00Z\nurl: https://x.example/p\n\nBody.\n"
    article = parse_article_file(_write(tmp_path, "a.txt", content))
    assert article.source == "x.example"
    assert article.credibility is None
    assert article.published_at == datetime(2021, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (GOOD.replace("Published: 2021-03-30T19:45:00+08:00\n", ""), "no publication date"),
        (GOOD.replace("+08:00", ""), "has no timezone"),
        (GOOD.replace("2021-03-30T19:45:00+08:00", "30 March 2021"), "not an ISO 8601 time"),
        (GOOD.replace("Source: Example Wire", "Source Example Wire"), "header line 3"),
        (GOOD.replace("Source:", "Outlet:"), "unknown header key 'Outlet'"),
        (GOOD.replace("Title: Acme", "URL: https://b.example/\nTitle: Acme"), "appears twice"),
        (GOOD.replace("\n\nAcme Corp", "\nAcme Corp"), "header line 6"),
        (GOOD.split("\n\n")[0], "no blank line after the header"),
        (GOOD.split("\n\n")[0] + "\n\n  \n", "no article text"),
        (GOOD.replace("https://wire.example/acme#top", "wire.example/acme"), "not an http"),
        (GOOD.replace("Credibility: 0.8", "Credibility: high"), "Credibility must be"),
        (GOOD.replace("Title: Acme signs deal for Widget Works\n", ""), "no title"),
        (" \n\n", "the file is empty"),
    ],
)
def test_bad_files_raise_an_error_naming_the_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = _write(tmp_path, "bad.txt", content)
    with pytest.raises(ReplayFileError) as caught:
        parse_article_file(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        GOOD.replace("Credibility: 0.8\n\n", "Credibility: 0.8\n  \t\n"),  # a line of spaces
        "\n\n" + GOOD,  # blank lines before the header
        GOOD.replace("\n", "\r\n"),  # Windows line endings
        "\ufeff" + GOOD.replace("\n", "\r\n"),  # and a byte-order mark
    ],
)
def test_header_ends_at_the_first_blank_looking_line(tmp_path: Path, content: str) -> None:
    article = parse_article_file(_write(tmp_path, "a.txt", content))
    assert article.title == "Acme signs deal for Widget Works"
    assert article.credibility == 0.8
    assert article.text.startswith("Acme Corp has signed")
    assert article.text.endswith("The deal closes next year.")


def test_html_page_takes_title_date_source_and_url_from_its_metadata(tmp_path: Path) -> None:
    article = parse_article_file(_write(tmp_path, "page.html", PAGE))
    assert article.title == "Widget Works agrees to sale"
    assert article.published_at == datetime(2021, 4, 1, 8, 0, tzinfo=UTC)
    assert article.source == "Example Wire"
    assert article.url == "https://wire.example/widget-sale"
    assert "board had approved the sale" in article.text
    assert "Copyright" not in article.text and "Home" not in article.text


def test_html_header_and_sidecar_override_the_page(tmp_path: Path) -> None:
    inline = "Published: 2021-05-05T05:00:00+00:00\nTitle: Own title\n\n" + PAGE
    article = parse_article_file(_write(tmp_path, "inline.htm", inline))
    assert article.title == "Own title"
    assert article.published_at == datetime(2021, 5, 5, 5, 0, tzinfo=UTC)
    page = _write(tmp_path, "side.html", PAGE)
    _write(tmp_path, "side.html.meta", "URL: https://other.example/x\nSource: Other\n")
    article = parse_article_file(page)
    assert (article.url, article.source) == ("https://other.example/x", "Other")
    assert article.title == "Widget Works agrees to sale"


def test_html_page_without_any_date_is_refused(tmp_path: Path) -> None:
    undated = PAGE.replace(
        '<meta property="article:published_time" content="2021-04-01T10:00:00+02:00">', ""
    )
    path = _write(tmp_path, "undated.html", undated)
    with pytest.raises(ReplayFileError, match="no publication date"):
        parse_article_file(path)


def test_html_page_dated_by_day_only_is_read_like_a_fetched_page(tmp_path: Path) -> None:
    # <time datetime="2021-04-01">: a fetched page gets midnight UTC; replay refused the file
    day_only = PAGE.replace('content="2021-04-01T10:00:00+02:00"', 'content="2021-04-01"')
    article = parse_article_file(_write(tmp_path, "day.html", day_only))
    assert article.published_at == datetime(2021, 4, 1, tzinfo=UTC)


def test_load_articles_sorts_by_time_and_reports_bad_files_by_name(tmp_path: Path) -> None:
    _write(tmp_path, "b-late.txt", GOOD)
    _write(tmp_path, "a-early.txt", GOOD.replace("2021-03-30", "2020-01-01").replace("acme", "e"))
    _write(tmp_path, "c-page.html", PAGE)
    _write(tmp_path, "d-undated.txt", GOOD.replace("Published:", "Title2:"))
    _write(tmp_path, "e-same-url.txt", GOOD.replace("#top", ""))
    _write(tmp_path, "notes.md", "not an article")
    articles, problems = load_articles(tmp_path)
    assert [a.path.name for a in articles] == ["a-early.txt", "b-late.txt", "c-page.html"]
    assert [p.path.name for p in problems] == ["d-undated.txt", "e-same-url.txt"]
    assert "d-undated.txt" in problems[0].message
    assert "same URL as b-late.txt" in problems[1].message


def test_a_skipped_file_in_json_names_the_file_apart_and_keeps_a_sidecar_named(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "a.txt", GOOD.replace("Published:", "Date:"))
    _write(tmp_path, "b.html", PAGE)
    _write(tmp_path, "b.html.meta", "Author: someone\n")
    _, problems = load_articles(tmp_path)
    assert [p.to_json() for p in problems] == [
        {"file": str(tmp_path / "a.txt"), "problem": "unknown header key 'Date' (" + KEYS},
        {
            "file": str(tmp_path / "b.html"),
            "problem": f"{tmp_path / 'b.html.meta'}: unknown header key 'Author' (" + KEYS,
        },
    ]


def test_load_articles_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ReplayFileError, match="not a folder"):
        load_articles(tmp_path / "nope")


def test_a_folder_without_replay_files_is_an_error_not_an_empty_success(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    (tmp_path / "articles" / "2021").mkdir(parents=True)
    _write(tmp_path / "articles" / "2021", "a.txt", GOOD)  # in a subfolder: not read
    _write(tmp_path / "articles", "notes.md", "not an article")
    with pytest.raises(ReplayFileError, match="no replay files here"):
        load_articles(tmp_path / "articles")
    config = write_config()
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["--config", str(config), "replay", str(tmp_path / "articles")]
    )
    assert result.exit_code == 2
    assert "no replay files here (.txt, .html or .htm; subfolders are not read)" in result.stderr
    assert "replayed" not in result.stdout


def test_insert_articles_stores_each_url_once(db: Database, tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", GOOD)
    _write(tmp_path, "b.txt", GOOD.replace("acme#top", "other").replace("Credibility: 0.8\n", ""))
    articles, _ = load_articles(tmp_path)
    with db.transaction() as s:
        assert len(insert_articles(s, articles, default_credibility=0.4)) == 2
    with db.transaction() as s:
        assert insert_articles(s, articles) == []
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 2
        rows = {a.canonical_url: a for a in s.scalars(select(Article))}
    first = rows["https://wire.example/acme"]
    assert first.extraction == "replay"
    assert first.processed_at is None
    assert first.credibility == 0.8
    assert rows["https://wire.example/other"].credibility == 0.4
    assert first.published_at == datetime(2021, 3, 30, 11, 45, tzinfo=UTC)


def test_a_folder_whose_files_are_all_skipped_exits_1_and_says_what_to_fix(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    _write(folder, "undated.txt", GOOD.replace("Published:", "Date:"))
    (folder / "latin1.txt").write_bytes(GOOD.replace("Acme Corp", "Acmé Corp").encode("latin-1"))
    config = write_config()
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config), "replay", str(folder)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert "latin1.txt: cannot read" in lines[0]  # in name order
    assert "undated.txt: unknown header key 'Date'" in lines[1]
    assert lines[-1].startswith(f"error: {folder}: none of its 2 replay files could be read")
    assert "Title, Published (ISO 8601 with a timezone) and URL" in lines[-1]
    assert "rumour-monitor replay --help" in lines[-1]
    assert "replayed" not in result.stdout
    db = Database(f"sqlite:///{tmp_path / 'state' / 'rumours.db'}", create=False)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 0
    db.dispose()


def test_all_skipped_with_json_still_prints_the_json_with_each_file_and_its_problem(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    _write(folder, "undated.txt", GOOD.replace("Published:", "Date:"))
    _write(folder, "no-url.txt", GOOD.replace("URL:", "Link:"))
    config = write_config()
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config), "replay", str(folder), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "files": 2,
        "replayed": 0,
        "already_stored": 0,
        "skipped": [
            {"file": str(folder / "no-url.txt"), "problem": "unknown header key 'Link' (" + KEYS},
            {"file": str(folder / "undated.txt"), "problem": "unknown header key 'Date' (" + KEYS},
        ],
        "transitions": [],
        "alerts": None,
        "queued_alerts": [],
    }
    lines = result.stderr.strip().splitlines()  # people still read it all on stderr
    assert lines[0] == f"skipped: {folder / 'no-url.txt'}: unknown header key 'Link' (" + KEYS
    assert lines[-1].startswith(f"error: {folder}: none of its 2 replay files could be read")


def test_some_files_skipped_still_exits_0_and_ends_with_the_count_skipped(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    _write(folder, "a-good.txt", GOOD)
    _write(folder, "b-undated.txt", GOOD.replace("Published:", "Date:").replace("acme", "b"))
    config = write_config()
    assert CliRunner().invoke(cli, ["--config", str(config), "init"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config), "replay", str(folder)])
    assert result.exit_code == 0, result.output
    assert "replayed 1 new article (0 already stored, 1 skipped)" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert "skipped: " in lines[0] and "b-undated.txt" in lines[0]
    assert lines[-1].startswith("1 of 2 files skipped (named above): each needs a header")
