"""A small local news site for the demo: one RSS feed per source, one HTML page per article.

The demo publishes the timeline in steps: `publish(articles)` decides what the feeds list, so
each poll of the real poller sees the next batch of dated stories, as it would on the web.
Rendering is pure; the server binds to 127.0.0.1 only and runs on a daemon thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape as xml_escape

from monitor.timeline.replay import ReplayArticle


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def article_path(article: ReplayArticle) -> str:
    return f"/articles/{slug(article.path.stem)}.html"


def feed_path(source: str) -> str:
    return f"/feeds/{slug(source)}.xml"


def render_page(article: ReplayArticle) -> str:
    """The article as a plain news page, with the metadata an extractor looks for."""
    paragraphs = "\n".join(
        f"<p>{escape(block.strip())}</p>" for block in article.text.split("\n\n") if block.strip()
    )
    title = escape(article.title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {escape(article.source)}</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{escape(article.source)}">
<meta property="article:published_time" content="{article.published_at.isoformat()}">
</head><body>
<header><nav><a href="/">{escape(article.source)}</a> | <a href="/autos">Autos</a></nav></header>
<article><h1>{title}</h1>
{paragraphs}
</article>
<footer><p>Demo site for rumour-monitor. Stories are written for the demo.</p></footer>
</body></html>
"""


def render_feed(source: str, base_url: str, articles: Sequence[ReplayArticle]) -> str:
    """An RSS 2.0 document listing the articles newest first, as news sites do."""
    items = []
    for article in sorted(articles, key=lambda a: a.published_at, reverse=True):
        link = base_url + article_path(article)
        first = article.text.split("\n\n", 1)[0]
        items.append(
            "<item>"
            f"<title>{xml_escape(article.title)}</title>"
            f"<link>{xml_escape(link)}</link>"
            f'<guid isPermaLink="false">{xml_escape(article.url)}</guid>'
            f"<pubDate>{format_datetime(article.published_at)}</pubDate>"
            f"<description>{xml_escape(first)}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{xml_escape(source)}</title><link>{xml_escape(base_url)}/</link>"
        f"<description>{xml_escape(source)} (rumour-monitor demo)</description>"
        + "".join(items)
        + "</channel></rss>\n"
    )


class FeedServer:
    """Serves the published articles on http://127.0.0.1:<port>/ until closed."""

    def __init__(self, articles: Iterable[ReplayArticle]) -> None:
        self.articles = list(articles)
        self.sources = sorted({a.source for a in self.articles})
        self._visible: list[ReplayArticle] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def feed_url(self, source: str) -> str:
        return self.base_url + feed_path(source)

    def publish(self, articles: Iterable[ReplayArticle]) -> None:
        """From now on the feeds list exactly these articles (pages of all stay reachable)."""
        with self._lock:
            self._visible = list(articles)

    def _respond(self, path: str) -> tuple[int, str, str]:
        with self._lock:
            visible = list(self._visible)
        for source in self.sources:
            if path == feed_path(source):
                body = render_feed(
                    source, self.base_url, [a for a in visible if a.source == source]
                )
                return 200, "application/rss+xml; charset=utf-8", body
        for article in self.articles:
            if path == article_path(article):
                return 200, "text/html; charset=utf-8", render_page(article)
        return 404, "text/plain; charset=utf-8", "not found\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, kind, body = server._respond(self.path.split("?", 1)[0])
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo's output is the timeline, not an access log

        return Handler

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
