"""Text for people: aligned tables and short human times. Scripts use --json instead."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 feed", "3 feeds": a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, wrap_last: bool = True
) -> str:
    """Left-aligned columns; the last column is cut to the terminal width so rows stay one line."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    if wrap_last and widths:
        room = (
            shutil.get_terminal_size((120, 24)).columns - sum(widths[:-1]) - 2 * (len(widths) - 1)
        )
        widths[-1] = max(len(headers[-1]), min(widths[-1], room))
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    lines.extend(_line(row, widths) for row in cells)
    return "\n".join(lines)


def _line(values: Sequence[str], widths: Sequence[int]) -> str:
    parts = []
    for value, width in zip(values, widths, strict=True):
        text = value if len(value) <= width else value[: max(width - 1, 0)] + "…"
        parts.append(text.ljust(width))
    return "  ".join(parts).rstrip()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    # a row is one line: an error quoting a server's multi-line reply would break the table
    return " ".join(str(value).split())


def when(moment: datetime | None) -> str:
    """A compact UTC time for tables: 2021-03-30 14:05Z."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration(seconds: float) -> str:
    """An interval the way config.toml writes one: 30m, 2h, 1d, 45s (the largest whole unit)."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
