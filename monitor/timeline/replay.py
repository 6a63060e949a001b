"""Replay: dated article files read from a folder, for backtests and the offline demo.

A replay file is a small header of `Key: value` lines, a blank line, then the article text:

    Title: Xiaomi signs agreement for Great Wall Motors to build its electric cars
    Published: 2021-09-06T20:00:00+08:00
    Source: Hong Kong Markets Desk
    URL: https://hkmarketsdesk.example/2021/09/06/xiaomi-great-wall-agreement
    Credibility: 0.85

    Xiaomi and Great Wall Motors have signed ...

`Title`, `Published` (ISO 8601 with a timezone) and `URL` are required; `Source` defaults to the
URL's host and `Credibility` (0..1) to the replay's default. `.html`/`.htm` files are extracted
like fetched pages; a header at the top of the file, or in a sidecar `NAME.html.meta` holding only
header lines, overrides what the page's own metadata says.

Parsing is pure (a file in, a ReplayArticle or a ReplayFileError out); storing the articles is
`insert_articles`, the only function here that writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.db import Database
    from monitor.reading import Embedder, TransitionReport

from monitor.db.models import Article, utcnow
from monitor.errors import ExtractError, ReplayFileError
from monitor.polling import content_hash
from monitor.urls import canonical_url

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SIDECAR_SUFFIX = ".meta"
HEADER_KEYS = ("title", "published", "source", "url", "credibility")
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z-]*)\s*:\s*(.*)$")
DEFAULT_CREDIBILITY = 0.6


@dataclass(frozen=True)
class ReplayArticle:
    path: Path
    title: str
    published_at: datetime  # aware, UTC
    source: str
    url: str
    text: str
    credibility: float | None  # None: use the replay's default


@dataclass(frozen=True)
class ReplayProblem:
    path: Path
    message: str  # names the file first, as stderr shows it

    def to_json(self) -> dict[str, str]:
        # The file has a field of its own here; a sidecar's problem keeps the sidecar's name.
        return {"file": str(self.path), "problem": self.message.removeprefix(f"{self.path}: ")}


def parse_header(lines: Sequence[str], file: Path) -> dict[str, str]:
    """`Key: value` lines into a dict with lower-case keys; unknown or repeated keys are errors."""
    header: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        match = _HEADER_LINE.match(line.strip())
        if not match:
            raise ReplayFileError(
                f"{file}: header line {number} is not 'Key: value': {line.strip()[:60]!r} "
                "(the header ends at the first blank line)"
            )
        key, value = match.group(1).lower(), match.group(2).strip()
        if key not in HEADER_KEYS:
            known = ", ".join(k.capitalize() if k != "url" else "URL" for k in HEADER_KEYS)
            raise ReplayFileError(f"{file}: unknown header key {match.group(1)!r} ({known})")
        if key in header:
            raise ReplayFileError(f"{file}: header key {match.group(1)!r} appears twice")
        header[key] = value
    return header


def split_header(content: str, file: Path) -> tuple[dict[str, str], str]:
    """The header block (up to the first blank line) and the body after it.

    A line of spaces counts as blank (editors leave them), and blank lines before the header
    are skipped, whatever the line endings.
    """
    lines = content.lstrip("\ufeff").splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ReplayFileError(f"{file}: the file is empty (write a Key: value header, then text)")
    end = next((i for i in range(first, len(lines)) if not lines[i].strip()), None)
    if end is None:
        raise ReplayFileError(
            f"{file}: no blank line after the header (write the Key: value lines, "
            "a blank line, then the text)"
        )
    return parse_header(lines[first:end], file), "".join(lines[end + 1 :]).strip()


def parse_published(value: str | None, file: Path) -> datetime:
    if not value:
        raise ReplayFileError(
            f"{file}: no publication date (add a header line such as "
            "'Published: 2021-03-30T19:45:00+08:00')"
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayFileError(
            f"{file}: Published {value!r} is not an ISO 8601 time (e.g. 2021-03-30T19:45:00+08:00)"
        ) from None
    if moment.tzinfo is None:
        raise ReplayFileError(
            f"{file}: Published {value!r} has no timezone (add one, e.g. +08:00 or Z)"
        )
    return moment.astimezone(UTC)


def _credibility(value: str | None, file: Path) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise ReplayFileError(f"{file}: Credibility must be a number from 0 to 1, got {value!r}")
    return number


def _url(value: str | None, file: Path) -> str:
    if not value:
        raise ReplayFileError(f"{file}: no URL (add a header line such as 'URL: https://...')")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReplayFileError(f"{file}: URL {value!r} is not an http:// or https:// address")
    return value


def build_article(
    file: Path, header: Mapping[str, str], text: str, *, fallback_title: str | None = None
) -> ReplayArticle:
    """A ReplayArticle from parsed header fields and body text, or the reason it is not one."""
    published = parse_published(header.get("published"), file)
    url = _url(header.get("url"), file)
    title = header.get("title") or fallback_title
    if not title:
        raise ReplayFileError(f"{file}: no title (add a header line 'Title: ...')")
    if not text.strip():
        raise ReplayFileError(f"{file}: no article text after the header")
    return ReplayArticle(
        path=file,
        title=title,
        published_at=published,
        source=header.get("source") or urlsplit(url).hostname or "",
        url=url,
        text=text.strip(),
        credibility=_credibility(header.get("credibility"), file),
    )


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayFileError(f"{file}: cannot read: {exc}") from exc


def parse_article_file(path: Path) -> ReplayArticle:
    """Parse one replay file; raise ReplayFileError naming the file and what is wrong."""
    file = Path(path)
    if file.suffix.lower() in HTML_SUFFIXES:
        return parse_html_file(file, _read(file))
    header, body = split_header(_read(file), file)
    return build_article(file, header, body)


def _html_header(file: Path, content: str) -> tuple[dict[str, str], str]:
    """Header fields from a sidecar NAME.html.meta and from a header block atop the page."""
    header: dict[str, str] = {}
    sidecar = file.with_name(file.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        lines = [line for line in _read(sidecar).splitlines() if line.strip()]
        header.update(parse_header(lines, sidecar))
    if content.lstrip("\ufeff \t\r\n").startswith("<"):
        return header, content
    inline, html = split_header(content, file)
    header.update(inline)
    return header, html


class _PageMeta(HTMLParser):
    """The page's own address and publication time (with its timezone, which the extractor
    may reduce to a bare day)."""

    TIMES = ("article:published_time", "og:published_time", "datepublished", "pubdate")

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        name = (
            values.get("property") or values.get("name") or values.get("itemprop") or ""
        ).lower()
        if tag == "link" and values.get("rel", "").lower() == "canonical" and values.get("href"):
            self.found.setdefault("canonical", values["href"])
        elif tag == "meta" and values.get("content") and (name == "og:url" or name in self.TIMES):
            self.found.setdefault(name, values["content"])
        elif tag == "time" and values.get("datetime"):
            self.found.setdefault("time", values["datetime"])

    def url(self) -> str | None:
        return self.found.get("canonical") or self.found.get("og:url")

    def published(self) -> str | None:
        return next((self.found[n] for n in (*self.TIMES, "time") if n in self.found), None)


def _page_meta(html: str) -> _PageMeta:
    parser = _PageMeta()
    parser.feed(html)
    return parser


def parse_html_file(file: Path, content: str) -> ReplayArticle:
    """An HTML page extracted like a fetched one; header or sidecar fields take precedence."""
    from monitor.polling import extract_article, parse_page_date

    header, html = _html_header(file, content)
    own = _page_meta(html)
    url = header.get("url") or own.url()
    try:
        page = extract_article(html, url or file.resolve().as_uri())
    except ExtractError as exc:
        raise ReplayFileError(f"{file}: {exc}") from exc
    meta = {
        "url": url,
        "source": page.site,
        # The page's own date is read like a fetched page's: a bare day is midnight UTC.
        "published": _iso(parse_page_date(own.published()) or page.date),
    }
    merged = {k: v for k, v in meta.items() if v} | header
    text = _drop_repeated_title(page.text, page.title)
    return build_article(file, merged, text, fallback_title=page.title)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _drop_repeated_title(text: str, title: str | None) -> str:
    first, _, rest = text.partition("\n")
    return rest if title and first.strip() == title.strip() and rest.strip() else text


def article_files(directory: Path) -> list[Path]:
    """The replay files in a folder (not its subfolders), in name order."""
    suffixes = TEXT_SUFFIXES | HTML_SUFFIXES
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def load_articles(directory: Path) -> tuple[list[ReplayArticle], list[ReplayProblem]]:
    """Every good file's article in published order, and a problem for each file skipped."""
    if not directory.is_dir():
        raise ReplayFileError(f"{directory}: not a folder of replay files")
    files = article_files(directory)
    if not files:
        # Most likely the wrong folder, or the files sit in its subfolders: say so rather
        # than "replayed 0 new articles", which reads like success.
        raise ReplayFileError(
            f"{directory}: no replay files here (.txt, .html or .htm; subfolders are not read)"
        )
    articles: list[ReplayArticle] = []
    problems: list[ReplayProblem] = []
    first_with_url: dict[str, Path] = {}
    for file in files:
        try:
            article = parse_article_file(file)
        except ReplayFileError as exc:
            problems.append(ReplayProblem(file, str(exc)))
            continue
        key = canonical_url(article.url)
        if key in first_with_url:
            problems.append(ReplayProblem(file, f"{file}: same URL as {first_with_url[key].name}"))
            continue
        first_with_url[key] = file
        articles.append(article)
    articles.sort(key=lambda a: (a.published_at, a.path.name))
    return articles, problems


def insert_articles(
    session: Session,
    articles: Iterable[ReplayArticle],
    *,
    default_credibility: float = DEFAULT_CREDIBILITY,
) -> list[ReplayArticle]:
    """Store the articles not stored yet (by canonical URL); return the ones added."""
    wanted = {canonical_url(a.url): a for a in articles}
    if not wanted:
        return []
    present = set(
        session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(wanted)))
    )
    added: list[ReplayArticle] = []
    now = utcnow()
    for key, article in wanted.items():
        if key in present:
            continue
        session.add(
            Article(
                canonical_url=key,
                url=article.url,
                source=article.source,
                credibility=(
                    article.credibility if article.credibility is not None else default_credibility
                ),
                title=article.title,
                text=article.text,
                content_hash=content_hash(article.text),
                extraction="replay",
                retry_page=False,
                published_at=article.published_at,
                fetched_at=now,
            )
        )
        added.append(article)
    return added


@dataclass(frozen=True)
class ReplayResult:
    added: list[ReplayArticle]
    already_stored: int
    problems: list[ReplayProblem]
    transitions: list[TransitionReport]

    @property
    def files(self) -> int:
        """The replay files in the folder: each was added, already stored or skipped."""
        return len(self.added) + self.already_stored + len(self.problems)

    def to_json(self) -> dict[str, Any]:
        """`replay --json` (without its `alerts`); transitions in `poll --json`'s shape."""
        return {
            "files": self.files,
            "replayed": len(self.added),
            "already_stored": self.already_stored,
            "skipped": [p.to_json() for p in self.problems],
            "transitions": [t.to_json() for t in self.transitions],
        }


def replay_folder(
    db: Database,
    config: Config,
    embedder: Embedder,
    directory: Path,
    *,
    default_credibility: float = DEFAULT_CREDIBILITY,
    on_article: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Store a folder's articles (each URL once) and process every pending one in time order."""
    articles, problems = load_articles(directory)
    return replay_articles(
        db,
        config,
        embedder,
        articles,
        problems,
        default_credibility=default_credibility,
        on_article=on_article,
    )


def replay_articles(
    db: Database,
    config: Config,
    embedder: Embedder,
    articles: Sequence[ReplayArticle],
    problems: list[ReplayProblem],
    *,
    default_credibility: float = DEFAULT_CREDIBILITY,
    on_article: Callable[[int], None] | None = None,
) -> ReplayResult:
    """`replay_folder` for articles already loaded (so bad input is found before the model)."""
    from monitor.reading import process_pending

    with db.transaction() as session:
        added = insert_articles(session, articles, default_credibility=default_credibility)
    transitions = process_pending(db, config, embedder, on_article=on_article)
    return ReplayResult(added, len(articles) - len(added), problems, transitions)
