"""`assess`: judge one article, or a batch of claim/text pairs, against a claim.

No database is needed: the model is loaded once however many pairs are given, and the
judging itself lives in monitor.reading.assess.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import click

from monitor.cli.app import App, cli, handle_errors
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.names import names_something, overlapping_alias
from monitor.progress import Progress
from monitor.reading import (
    Assessment,
    Embedder,
    Pair,
    PairError,
    assess_pairs,
    parse_pair,
    shared_reader,
)


@cli.command(name="assess")
@click.option("--claim", help="The claim to judge the text against.")
@click.option("--text", "text", help="The article text itself.")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file holding the article text; an .html or .htm page is extracted like a fetched one.",
)
@click.option("--url", help="Fetch the article at this URL and judge its main text.")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    metavar="NAME[|ALIAS...]",
    help="An entity the text must name (repeatable). Default: the claim's proper nouns.",
)
@click.option(
    "--pairs",
    type=click.File("r", encoding="utf-8"),
    help='JSON lines {"id","claim","text"} ("-" for stdin); prints one JSON line per pair.',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@handle_errors
def assess_cmd(
    app: App,
    claim: str | None,
    text: str | None,
    file: Path | None,
    url: str | None,
    entities: tuple[str, ...],
    pairs: Any,
    as_json: bool,
) -> None:
    """Judge whether a text speaks to a claim, and how.

    Prints whether it is related, the stance (unrelated, reports, supports, denies), the signal
    (none, confirm, formalize, deny, abandon), the similarity and the deciding sentence. No
    database is needed; the model is loaded once however many pairs are given.

    \b
    Examples:
      rumour-monitor assess --claim "Acme will buy Widget Works" --file story.txt
      rumour-monitor assess --claim "Acme will buy Widget Works" --url https://example.org/a
      rumour-monitor assess --pairs pairs.jsonl > verdicts.jsonl
    """
    if pairs is not None:
        if claim or text or file or url or entities:
            raise click.UsageError("--pairs takes its claims and texts from the file alone")
        sys.exit(run_pairs(app.config_or_defaults, pairs))
    if claim is None:
        raise click.UsageError("give --claim TEXT with --text, --file or --url, or --pairs FILE")
    if sum(x is not None for x in (text, file, url)) != 1:
        raise click.UsageError("give exactly one of --text, --file or --url")
    _check_inputs(claim, entities, url)
    body = read_text(app.config_or_defaults, text=text, file=file, url=url)
    if not body.strip():
        where = "--text" if text is not None else "--file" if file is not None else "--url"
        raise click.BadParameter("no text to judge: it is empty", param_hint=where)
    run_one(app.config_or_defaults, claim, body, entities or None, as_json=as_json)


def _check_inputs(claim: str, entities: tuple[str, ...], url: str | None) -> None:
    """Refuse, before the model loads, what would give an empty or meaningless verdict.

    An empty entity would make the entity gate pass any text, as --pairs already refuses.
    """
    if not claim.strip():
        raise click.BadParameter("the claim is empty", param_hint="--claim")
    if not all(names_something(name) for name in entities):
        raise click.BadParameter(
            "an entity names nothing (give a name, e.g. 'Acme|Acme Corp')", param_hint="--entity"
        )
    if overlap := overlapping_alias(entities):
        raise click.BadParameter(overlap, param_hint="--entity")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise click.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="--url")


def read_text(config: Config, *, text: str | None, file: Path | None, url: str | None) -> str:
    if text is not None:
        return text
    if file is not None:
        try:
            if file.suffix.lower() in (".html", ".htm"):
                # a saved page: its markup, menus and footer are not the article
                return page_text(file.read_bytes(), "", file.resolve().as_uri())
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MonitorError(f"{file}: cannot read article text: {exc}") from exc
    assert url is not None
    return fetch_text(config, url)


def fetch_text(config: Config, url: str) -> str:
    """The title and main text of the page at `url`, fetched like any article page."""
    from monitor.polling import Fetcher

    with Fetcher(config.polling) as fetcher:
        page = fetcher.fetch(url, allow_private=config.polling.allow_private_networks)
    return page_text(page.body, page.content_type, page.final_url)


def page_text(body: bytes, content_type: str, url: str) -> str:
    """The title and main text of an HTML page, extracted as the poller extracts pages."""
    from monitor.polling import decode_html, extract_article

    extracted = extract_article(decode_html(body, content_type), url)
    return f"{extracted.title}\n{extracted.text}" if extracted.title else extracted.text


def run_one(
    config: Config, claim: str, text: str, entities: tuple[str, ...] | None, *, as_json: bool
) -> None:
    embedder = Embedder.from_config(config.model)
    pair = Pair(None, claim, text, entities)
    (result,) = assess_pairs([pair], embedder, config.matching, shared_reader(config.model.reader))
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
    if a.related:
        lines.append(f"probability {a.probability:.2f} ({a.reader})")
        lines.append(f"on record   {a.on_record}")
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
    with Progress("assessed pairs") as bar:
        reader = shared_reader(config.model.reader)
        for result in assess_pairs(_pairs(source, bad), embedder, config.matching, reader):
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            bar.advance()
    for problem in bad:
        click.echo(f"error: {getattr(source, 'name', 'pairs')}: {problem}", err=True)
    return 1 if bad else 0


def _pairs(source: TextIO, bad: list[str]) -> Iterator[Pair]:
    try:
        yield from _parsed_pairs(source, bad)
    except UnicodeDecodeError as exc:  # the stream cannot be read on past a bad byte
        name = getattr(source, "name", "pairs")
        raise MonitorError(f"{name}: not UTF-8 text: {exc}") from exc


def _parsed_pairs(source: TextIO, bad: list[str]) -> Iterator[Pair]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield parse_pair(line, number)
        except PairError as exc:
            bad.append(str(exc))
