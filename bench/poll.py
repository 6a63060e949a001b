"""Benchmark the polling stage: N local feeds x M entries on a loopback HTTP server.

Prints entries/s for a first poll (feed GET, page GET, extraction, storage) and the wall time
of a re-poll when nothing changed (conditional GETs answered 304: no parsing, no page fetched,
nothing new for the matching stage to embed). Target: 1,000 unchanged feeds re-polled in under
10 s on loopback.

The server runs in a separate process so it does not share the poller's GIL. Politeness is
off (host_delay 0) because every feed lives on 127.0.0.1 here; in production they are on
different hosts and the per-host delay does not serialise them.

    PYTHONPATH=. python bench/poll.py --feeds 1000 --entries 3
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from monitor.config import load_config
from monitor.db import Database, upgrade
from monitor.db.models import Article
from monitor.polling.fetch import Fetcher
from monitor.polling.poller import poll_feeds
from monitor.polling.subscriptions import sync_feeds

PARAGRAPH = (
    "Northwind Motors said on {day} that feed {feed} story {entry} covers a battery plant, "
    "a supply contract and the cost of lithium, which analysts expect to keep falling. "
)


def _feed_xml(port: int, feed: int, entries: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {feed} story {e}</title><guid>f{feed}-e{e}</guid>"
        f"<link>http://127.0.0.1:{port}/page/{feed}/{e}</link>"
        f"<pubDate>Tue, 14 May 2024 06:{e % 60:02d}:00 GMT</pubDate>"
        f"<description>Brief for feed {feed} story {e}.</description></item>"
        for e in range(entries)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"{items}</channel></rss>"
    ).encode()


def _page_html(feed: int, entry: int) -> bytes:
    body = "".join(
        f"<p>{PARAGRAPH.format(day=day, feed=feed, entry=entry)}</p>"
        for day in ("Monday", "Tuesday", "Wednesday")
    )
    return (
        f"<html><head><title>Feed {feed} story {entry}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>Story {entry}</h1>{body}</article>"
        "</body></html>"
    ).encode()


def _serve(port_out: Any, counters: Any, entries: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "feed":
                body = _feed_xml(self.server.server_port, int(parts[1]), entries)
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                with counters.get_lock():
                    counters[0] += 1
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", etag=etag)
                    return
                self._send(200, body, "application/rss+xml", etag)
            elif parts[0] == "page":
                with counters.get_lock():
                    counters[1] += 1
                self._send(200, _page_html(int(parts[1]), int(parts[2])), "text/html")
            else:
                self._send(404, b"")

        def _send(self, status: int, body: bytes, ctype: str = "", etag: str = "") -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.value = server.server_port
    server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds (default 1000)")
    parser.add_argument("--entries", type=int, default=3, help="entries per feed (default 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="[polling] concurrency")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    port = multiprocessing.Value("i", 0)
    counters = multiprocessing.Array("l", [0, 0])  # feed requests, page requests
    server = multiprocessing.Process(
        target=_serve, args=(port, counters, args.entries), daemon=True
    )
    server.start()
    while port.value == 0:
        time.sleep(0.01)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        feeds = "".join(
            f'[[feeds]]\nname = "feed-{i:05d}"\nurl = "http://127.0.0.1:{port.value}/feed/{i}"\n'
            for i in range(args.feeds)
        )
        path = Path(tmp) / "config.toml"
        path.write_text(
            f'[database]\nurl = "{url}"\n[seeds]\npaths = []\n'
            f'[polling]\nhost_delay = "0s"\nhost_concurrency = {args.concurrency}\n'
            f'concurrency = {args.concurrency}\ntimeout = "20s"\n{feeds}',
            encoding="utf-8",
        )
        config = load_config(path)
        db = Database(config.database.url)
        upgrade(db.engine)
        with db.transaction() as session:
            sync_feeds(session, config.feeds)
        try:
            _run(db, config, counters, args)
        finally:
            db.dispose()
            server.terminate()
    return 0


def _run(db: Database, config: Any, counters: Any, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    with Fetcher(config.polling) as fetcher:
        started = time.perf_counter()
        first = poll_feeds(db, config, fetcher, due_only=True, now=now)
        first_s = time.perf_counter() - started
        new = sum(r.new_articles for r in first)
        errors = sum(r.outcome == "error" for r in first)
        print(
            f"feeds: {args.feeds}, entries per feed: {args.entries}, concurrency: "
            f"{args.concurrency}"
        )
        print(
            f"first poll: {new} articles stored in {first_s:.2f} s = {new / first_s:.0f} "
            f"entries/s ({counters[1]} pages fetched, {errors} feed errors)"
        )

        pages_before, feeds_before = counters[1], counters[0]
        with db.sessions() as s:
            unprocessed_before = s.scalar(select(func.count(Article.id)))
        later = now + timedelta(hours=1)  # every feed is due again
        started = time.perf_counter()
        again = poll_feeds(db, config, fetcher, due_only=True, now=later)
        again_s = time.perf_counter() - started
        with db.sessions() as s:
            articles_after = s.scalar(select(func.count(Article.id)))
        not_modified = sum(r.outcome == "not-modified" for r in again)
        print(
            f"re-poll, nothing changed: {len(again)} feeds in {again_s:.2f} s "
            f"({not_modified} not modified, {counters[0] - feeds_before} feed requests, "
            f"{counters[1] - pages_before} pages fetched, "
            f"{articles_after - unprocessed_before} new articles for the matching stage "
            "= 0 sentences to embed)"
        )
        target = "met" if again_s < 10 * len(again) / 1000 else "MISSED"
        print(f"target (1,000 unchanged feeds in < 10 s, scaled to {len(again)}): {target}")


if __name__ == "__main__":
    sys.exit(main())
