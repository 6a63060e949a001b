"""Article pages to main text and metadata, through trafilatura.

Pure: bytes and a Content-Type in, `Extracted` out. Settings lean to precision: a sentence of
navigation, a cookie banner, a "most read" list or a reader's comment that reaches the text can
later be matched against a claim as if the article had said it, which is worse than missing a
paragraph.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trafilatura
from charset_normalizer import from_bytes

from monitor.errors import ExtractError

# Fewer words than this is a menu or a "page not found" line, not an article.
MIN_WORDS = 12
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Declared names that browsers (WHATWG) read as a superset: pages labelled with the narrow one
# routinely contain characters only the wider one has.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc-kr": "cp949",
}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_DATE_PARAMS = {
    "extensive_search": True,
    "original_date": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None
    date: datetime | None  # aware; midnight UTC when the page gives only a day
    author: str | None
    site: str | None


def is_html(content_type: str) -> bool:
    """True for an HTML page, or for a response that did not say what it is."""
    media = content_type.split(";", 1)[0].strip().lower()
    return not media or media in HTML_TYPES


def decode_html(body: bytes, content_type: str = "") -> str:
    """Text of an HTML page, whatever its label says.

    Order: a byte-order mark; UTF-8 when the bytes are valid UTF-8 (other encodings almost
    never are by accident); the charset of the header or of <meta>, read as browsers read it;
    a guess that is trusted for multi-byte (CJK) encodings; else windows-1252, the web's
    de-facto default for Latin text. A declared charset that cannot decode the bytes is
    ignored, so a page that says utf-8 but is windows-1252 still reads correctly.
    """
    for encoding in _candidates(body, content_type):
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    guess = from_bytes(body[:65536]).best()
    if guess is not None and guess.encoding in _MULTIBYTE:
        return body.decode(guess.encoding, errors="replace")
    return body.decode("cp1252", errors="replace")


_MULTIBYTE = frozenset(
    {"gb18030", "gb2312", "gbk", "big5", "big5hkscs", "shift_jis", "cp932", "euc_jp"}
    | {"euc_kr", "cp949", "iso2022_jp", "hz", "utf_16", "utf_32"}
)


def _candidates(body: bytes, content_type: str) -> list[str]:
    if body.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    names = ["utf-8"]
    header = _HEADER_CHARSET.search(content_type)
    if header:
        names.append(header.group(1))
    meta = _CHARSET.search(body[:4096])
    if meta:
        names.append(meta.group(1).decode("ascii", "replace"))
    return [_SUPERSETS.get(n.lower(), n.lower()) for n in names]


def extract_article(html: str, url: str) -> Extracted:
    """Main text and metadata of a page; ExtractError naming the URL when there is no text."""
    try:
        doc: Any = trafilatura.bare_extraction(
            html,
            url=url,
            favor_precision=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            with_metadata=True,
            date_extraction_params=_DATE_PARAMS,
        )
    except Exception as exc:  # trafilatura raises assorted lxml and value errors on junk
        raise ExtractError(f"{url}: cannot read the page: {exc}") from exc
    if doc is None:
        raise ExtractError(f"{url}: no article text found")
    data: dict[str, Any] = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    if len(text.split()) < MIN_WORDS:
        raise ExtractError(f"{url}: no article text found ({len(text.split())} words)")
    return Extracted(
        text=text,
        title=_clean(data.get("title")),
        date=parse_page_date(data.get("date")),
        author=_clean(data.get("author")),
        site=_clean(data.get("sitename")),
    )


def parse_page_date(value: str | None) -> datetime | None:
    """An aware datetime from trafilatura's date ("2024-05-14T08:30:00+0200" or "2024-05-14")."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None
