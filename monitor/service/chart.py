"""The geometry of a rumour's confidence chart and of the overview's sparklines.

Pure functions from the `history` dict to numbers; the templates (templates/chart.html) turn
them into inline SVG, so every title is escaped by Jinja and the page needs no script and
nothing from elsewhere. The chart must read at 390 px and at 1280 px without two drawings: the
lines and bands live in a stretched layer (a fixed viewBox with preserveAspectRatio="none" and
non-scaling strokes), while markers and labels sit at percentage x positions in the outer SVG,
so their size and text stay in CSS pixels whatever the width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

# The stretched layer's coordinate system: x 0..1000 across, y 0..HEIGHT down.
SPAN = 1000.0
TOP, PLOT = 12.0, 180.0  # px: the plot's top edge and height; the axis labels go below
HEIGHT = TOP + PLOT + 26.0
PAD = 0.025  # of the width, either side, so the first and last markers are not cut in half
GAP_SHARE = 0.3  # a quiet stretch longer than this share of the whole span is cut out...
BREAK = 0.03  # ...and drawn this wide
MIN_PIECE = 0.06  # the narrowest a stretch of evidence is drawn, even a single day

# How an evidence marker is drawn, by its signal: a plain report is a dot; the stronger the act,
# the more distinct the shape (see the legend under the chart).
SHAPES = {
    "none": "dot",
    "confirm": "square",
    "formalize": "diamond",
    "deny": "down",
    "abandon": "cross",
}


@dataclass(frozen=True)
class Band:
    """A stretch of time in one state, in stretched-layer units."""

    x: float
    width: float
    state: str


@dataclass(frozen=True)
class Marker:
    """One evidence or transition on the chart: where, how it looks, what it says, where it
    links (the row of the same item in the page's tables)."""

    x: float  # percent of the chart's width
    y: float  # px from the top
    shape: str
    kind: str  # CSS class: the stance for evidence, "transition" for a state change
    title: str
    href: str


@dataclass(frozen=True)
class Tick:
    x: float  # percent
    label: str
    minor: bool  # hidden on narrow screens, where every other label would collide


@dataclass(frozen=True)
class Chart:
    bands: tuple[Band, ...]
    line: str  # polyline points in stretched-layer units
    evidence: tuple[Marker, ...]
    transitions: tuple[Marker, ...]
    ticks: tuple[Tick, ...]
    grid: tuple[tuple[float, str], ...]  # (y px, label) for 0, 50 and 100 %
    gaps: tuple[tuple[float, float], ...]  # (x, width) of each quiet stretch cut out
    start: datetime
    end: datetime


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _level(confidence: float) -> float:
    return TOP + (1.0 - min(max(confidence, 0.0), 1.0)) * PLOT


Piece = tuple[datetime, datetime, float, float]  # a stretch of time and where it is drawn


class TimeAxis:
    """Time to a share of the chart's width, padded at both ends.

    A long quiet stretch (a lone report years before the story, say) would squeeze the story
    into a sliver, so a gap longer than GAP_SHARE of the whole span is cut out: it takes BREAK
    of the width, and the template marks it. Within each piece the axis stays linear.
    """

    def __init__(self, moments: Sequence[datetime]) -> None:
        ordered = sorted(set(moments))
        if len(ordered) == 1:  # a single moment: a day either side
            ordered = [ordered[0] - timedelta(days=1), ordered[0] + timedelta(days=1)]
        self.start, self.end = ordered[0], ordered[-1]
        cut = (self.end - self.start) * GAP_SHARE
        runs = [[ordered[0]]]
        for before, moment in pairwise(ordered):
            if moment - before > cut:
                runs.append([])
            runs[-1].append(moment)
        if all(len(set(run)) == 1 for run in runs):  # lone moments, no stretch to keep
            runs = [ordered]
        self.pieces: list[Piece] = self._place([(run[0], run[-1]) for run in runs])
        self.gaps = [(a[3], b[2]) for a, b in pairwise(self.pieces)]  # (x0, x1) shares

    @staticmethod
    def _place(
        runs: list[tuple[datetime, datetime]],
    ) -> list[tuple[datetime, datetime, float, float]]:
        room = 1 - 2 * PAD - BREAK * (len(runs) - 1)
        total = sum((end - start).total_seconds() for start, end in runs) or 1.0
        # each piece at least MIN_PIECE wide; the rest shared by how long each lasts
        spare = room - MIN_PIECE * len(runs)
        x, placed = PAD, list[Piece]()
        for start, end in runs:
            width = MIN_PIECE + spare * (end - start).total_seconds() / total
            placed.append((start, end, x, x + width))
            x += width + BREAK
        return placed

    def share(self, moment: datetime) -> float:
        for start, end, x0, x1 in self.pieces:
            if moment <= end:
                if start == end:  # a single day's evidence: in the middle of its piece
                    return (x0 + x1) / 2
                if moment <= start:
                    return x0 if start == self.start or moment == start else x0 - BREAK / 2
                seconds = (end - start).total_seconds()
                return x0 + (x1 - x0) * (moment - start).total_seconds() / seconds
        return self.pieces[-1][3]

    def ticks(self) -> list[Tick]:
        """Dated labels at whole days or months, at most MAX_TICKS in all, every other one
        minor (hidden on narrow screens)."""
        moments: list[tuple[datetime, str]] = []
        for start, end, x0, x1 in self.pieces:
            budget = max(1, round(MAX_TICKS * (x1 - x0)))
            if start == end:
                moments.append((start, start.strftime("%b %Y")))
            else:
                moments += _tick_moments(start, end, budget)
        return [
            Tick(round(self.share(m) * 100, 3), label, minor=i % 2 == 1)
            for i, (m, label) in enumerate(moments)
        ]


def confidence_chart(data: Mapping[str, Any]) -> Chart:
    """The chart of one rumour from its `history` dict: a step line through each evidence's
    confidence, the states as bands, a marker per evidence and per transition."""
    evidence = data["evidence"]
    transitions = data["transitions"]
    moments = [_moment(e["at"]) for e in evidence] + [_moment(t["at"]) for t in transitions]
    if data.get("state_since"):
        moments.append(_moment(data["state_since"]))
    if not moments:
        moments = [datetime.now(UTC)]
    scale = TimeAxis(moments)
    return Chart(
        bands=tuple(_bands(data, scale)),
        line=_line(evidence, float(data["confidence"]), scale),
        evidence=tuple(_evidence_marker(i, e, scale) for i, e in enumerate(evidence, 1)),
        transitions=tuple(_transition_marker(i, t, scale) for i, t in enumerate(transitions, 1)),
        ticks=tuple(scale.ticks()),
        gaps=tuple((x0 * SPAN, (x1 - x0) * SPAN) for x0, x1 in scale.gaps),
        grid=tuple((_level(c), f"{c:.0%}") for c in (1.0, 0.5, 0.0)),
        start=scale.start,
        end=scale.end,
    )


def _bands(data: Mapping[str, Any], scale: TimeAxis) -> list[Band]:
    transitions = data["transitions"]
    state = str(transitions[0]["from"]) if transitions else str(data["state"])
    edges: list[tuple[float, str]] = [(0.0, state)]
    for t in transitions:
        edges.append((scale.share(_moment(t["at"])) * SPAN, str(t["to"])))
    edges.append((SPAN, ""))
    return [Band(x, next_x - x, state) for (x, state), (next_x, _) in pairwise(edges) if next_x > x]


def _line(evidence: Sequence[Mapping[str, Any]], now: float, scale: TimeAxis) -> str:
    """A step line: flat until an evidence moves the confidence, then straight to the new
    level. Without evidence, the current confidence across the whole chart."""
    level = float(evidence[0]["confidence_before"]) if evidence else now
    points = [(0.0, _level(level))]
    for e in evidence:
        x = scale.share(_moment(e["at"])) * SPAN
        points.append((x, _level(level)))
        level = float(e["confidence_after"])
        points.append((x, _level(level)))
    points.append((SPAN, _level(level)))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _evidence_marker(n: int, e: Mapping[str, Any], scale: TimeAxis) -> Marker:
    source = e["source"] or e["url"] or "unknown source"
    change = f"{float(e['confidence_before']):.2f} → {float(e['confidence_after']):.2f}"
    title = f"{e['stance']} / {e['signal']}, {change}: “{e['sentence']}” ({source})"
    return Marker(
        x=round(scale.share(_moment(e["at"])) * 100, 3),
        y=round(_level(float(e["confidence_after"])), 1),
        shape=SHAPES.get(str(e["signal"]), "dot"),
        kind=str(e["stance"]),
        title=title,
        href=f"#e{n}",
    )


def _transition_marker(n: int, t: Mapping[str, Any], scale: TimeAxis) -> Marker:
    source = t.get("title") or t["url"] or "no article"
    sentence = f": “{t['sentence']}”" if t["sentence"] else ""
    return Marker(
        x=round(scale.share(_moment(t["at"])) * 100, 3),
        y=TOP,
        shape="flag",
        kind="transition",
        title=f"{t['from']} → {t['to']} ({t['signal']}){sentence} ({source})",
        href=f"#t{n}",
    )


_MONTHS = (1, 2, 3, 6, 12, 24, 60)
_DAYS = (1, 2, 7, 14)
MAX_TICKS = 10  # at most half of them (the minor ones) show on a phone


def _tick_moments(start: datetime, end: datetime, budget: int) -> list[tuple[datetime, str]]:
    """Whole days or months between start and end, at most about `budget` of them."""
    days = (end - start).total_seconds() / 86400
    moments: list[datetime]
    if days > 62:
        step = next((m for m in _MONTHS if days / (m * 30.4) <= budget), _MONTHS[-1])
        moments = _month_steps(start, end, step)
        fmt = "%Y" if step >= 12 else "%b %Y"
    else:
        step = next((d for d in _DAYS if days / d <= budget), _DAYS[-1])
        first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        moments = [first + timedelta(days=step * i) for i in range(int(days / step) + 2)]
        fmt = "%d %b"
    inside = [m for m in moments if start <= m <= end]
    # the year once, on the first label of a run of days
    return [
        (m, m.strftime(fmt + (" %Y" if fmt == "%d %b" and i == 0 else "")))
        for i, m in enumerate(inside)
    ]


def _month_steps(start: datetime, end: datetime, step: int) -> list[datetime]:
    start = start.astimezone(UTC)
    month = (start.year * 12 + start.month - 1) // step * step  # aligned: Jan, Apr, Jul, ...
    found: list[datetime] = []
    while True:
        moment = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
        if moment > end:
            return found
        found.append(moment)
        month += step


@dataclass(frozen=True)
class Sparkline:
    points: str  # polyline points in a 100 x 20 box
    first: float
    last: float
    count: int


def sparkline(series: Sequence[tuple[datetime, float]]) -> Sparkline | None:
    """A rumour's confidence as a small step line over its own time span, for the overview;
    None for a rumour without evidence."""
    if not series:
        return None
    scale = TimeAxis([moment for moment, _ in series])
    points = [(0.0, series[0][1])]
    for moment, confidence in series[1:]:
        x = scale.share(moment) * 100
        points += [(x, points[-1][1]), (x, confidence)]
    points.append((100.0, points[-1][1]))
    text = " ".join(f"{x:.1f},{2 + (1 - c) * 16:.1f}" for x, c in points)
    return Sparkline(text, series[0][1], series[-1][1], len(series) - 1)
