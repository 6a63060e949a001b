"""Polling: feeds in, stored articles out.

Takes the configured feeds (`config.toml`), fetches the due ones over HTTP, reads RSS, Atom, RDF
and JSON Feed, fetches each new entry's page, extracts its main text and stores every article
once, unprocessed, for the reading stage. Feed health (errors, back-off, next check) is kept here.
"""

from monitor.polling.articles import content_hash
from monitor.polling.extract import decode_html, extract_article, parse_page_date
from monitor.polling.feeds import parse_feed
from monitor.polling.fetch import ACCEPT_FEED, Fetcher
from monitor.polling.outcome import FeedReport
from monitor.polling.poller import poll_feed, poll_feeds
from monitor.polling.subscriptions import (
    FeedFailures,
    FeedHealth,
    feed_failures,
    feed_health,
    sync_feeds,
)

__all__ = [
    "ACCEPT_FEED",
    "FeedFailures",
    "FeedHealth",
    "FeedReport",
    "Fetcher",
    "content_hash",
    "decode_html",
    "extract_article",
    "feed_failures",
    "feed_health",
    "parse_feed",
    "parse_page_date",
    "poll_feed",
    "poll_feeds",
    "sync_feeds",
]
