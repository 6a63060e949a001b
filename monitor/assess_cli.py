"""The I/O side of `assess`: read the article (text, file or URL), print verdicts.

Kept out of cli.py so the command stays a thin parser; the judging is in monitor.assess.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
import httpx

from monitor.assess import Assessment, Pair, PairError, assess_pairs, parse_pair
from monitor.config import Config
from monitor.embed import Embedder
from monitor.errors import ExtractError, FetchError, MonitorError


def read_text(config: Config, *, text: str | None, file: Path | None, url: str | None) -> str:
    if text is not None:
        return text
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MonitorError(f"{file}: cannot read article text: {exc}") from exc
    assert url is not None
    return fetch_text(config, url)


def fetch_text(config: Config, url: str) -> str:
    """The main text of the page at `url` (plain httpx for now; the poller's fetcher later)."""
    try:
        response = httpx.get(
            url,
            timeout=config.polling.timeout,
            follow_redirects=True,
            headers={"User-Agent": config.polling.user_agent},
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch the article: {exc}", url=url) from exc
    import trafilatura

    body = trafilatura.extract(response.text, include_comments=False) or ""
    title = trafilatura.extract_metadata(response.text)
    heading = title.title if title is not None and title.title else ""
    if not body.strip() and not heading:
        raise ExtractError(f"{url}: no article text found on the page")
    return f"{heading}\n{body}" if heading else body


def run_one(
    config: Config, claim: str, text: str, entities: tuple[str, ...] | None, *, as_json: bool
) -> None:
    embedder = Embedder.from_config(config.model)
    pair = Pair(None, claim, text, entities)
    (result,) = assess_pairs([pair], embedder, config.matching)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    click.echo(_readable(result))


def _readable(a: Assessment) -> str:
    lines = [
        f"related     {'yes' if a.related else 'no'}",
        f"stance      {a.stance}",
        f"signal      {a.signal}",
        f"similarity  {a.similarity:.2f}",
        f"entities    {', '.join(a.entities) or '(none found in the claim)'}",
    ]
    if a.cues:
        lines.append(f"cues        {', '.join(a.cues)}")
    if a.sentence:
        label = "sentence" if a.related else "closest"
        lines.append(f'{label:<11} "{a.sentence}"')
    return "\n".join(lines)


def run_pairs(config: Config, source: TextIO) -> int:
    """Assess every pair, one JSON line out per line in; bad lines are reported, not fatal.

    Returns the exit code: 0 when every line was a usable pair, 1 otherwise.
    """
    embedder = Embedder.from_config(config.model)
    bad: list[str] = []
    progress = sys.stderr.isatty()
    done = 0
    for result in assess_pairs(_pairs(source, bad), embedder, config.matching):
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        done += 1
        if progress and done % 100 == 0:
            click.echo(f"\rassessed {done} pairs", err=True, nl=False)
    if progress:
        click.echo(f"\rassessed {done} pairs", err=True)
    for problem in bad:
        click.echo(f"error: {getattr(source, 'name', 'pairs')}: {problem}", err=True)
    return 1 if bad else 0


def _pairs(source: TextIO, bad: list[str]) -> Iterator[Pair]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield parse_pair(line, number)
        except PairError as exc:
            bad.append(str(exc))
