"""The chart's geometry: pure functions over the `history` dict."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.service import chart

AT = datetime(2021, 2, 18, 12, 0, tzinfo=UTC)


def _evidence(day: int, stance: str, signal: str, before: float, after: float) -> dict[str, Any]:
    return {
        "at": (AT + timedelta(days=day)).isoformat(),
        "url": f"https://news.example/{day}",
        "title": f"Story {day}",
        "sentence": f"Sentence of day {day}.",
        "stance": stance,
        "signal": signal,
        "similarity": 0.8,
        "source": "Wire",
        "confidence_before": before,
        "confidence_after": after,
    }


def _story() -> dict[str, Any]:
    """Drift up on reports, a drop on a denial, a jump on the formal act."""
    evidence = [
        _evidence(0, "reports", "none", 0.50, 0.52),
        _evidence(1, "reports", "none", 0.52, 0.54),
        _evidence(2, "denies", "deny", 0.54, 0.35),
        _evidence(40, "supports", "formalize", 0.35, 0.90),
    ]
    transitions = [
        {
            "from": "unconfirmed",
            "to": "denied",
            "at": evidence[2]["at"],
            "url": evidence[2]["url"],
            "title": "Story 2",
            "sentence": "Sentence of day 2.",
            "signal": "deny",
            "confidence_before": 0.54,
            "confidence_after": 0.35,
        },
        {
            "from": "denied",
            "to": "formalized",
            "at": evidence[3]["at"],
            "url": evidence[3]["url"],
            "title": "Story 40",
            "sentence": "Sentence of day 40.",
            "signal": "formalize",
            "confidence_before": 0.35,
            "confidence_after": 0.90,
        },
    ]
    return {
        "id": "acme",
        "claim": "Acme will buy Globex",
        "state": "formalized",
        "confidence": 0.9,
        "active": True,
        "state_since": None,
        "transitions": transitions,
        "evidence": evidence,
    }


def test_one_marker_per_evidence_shaped_by_signal_linking_to_its_row() -> None:
    drawn = chart.confidence_chart(_story())
    assert [m.shape for m in drawn.evidence] == ["dot", "dot", "down", "diamond"]
    assert [m.kind for m in drawn.evidence] == ["reports", "reports", "denies", "supports"]
    assert [m.href for m in drawn.evidence] == ["#e1", "#e2", "#e3", "#e4"]
    assert "Sentence of day 2." in drawn.evidence[2].title and "(Wire)" in drawn.evidence[2].title
    assert "0.54 → 0.35" in drawn.evidence[2].title
    xs = [m.x for m in drawn.evidence]
    assert xs == sorted(xs) and xs[0] >= chart.PAD * 100 and xs[-1] <= (1 - chart.PAD) * 100
    # higher confidence is higher up the chart (smaller y)
    assert drawn.evidence[3].y < drawn.evidence[0].y < drawn.evidence[2].y


def test_transitions_are_markers_and_state_bands() -> None:
    drawn = chart.confidence_chart(_story())
    assert [m.href for m in drawn.transitions] == ["#t1", "#t2"]
    assert drawn.transitions[1].title.startswith("denied → formalized (formalize)")
    assert [b.state for b in drawn.bands] == ["unconfirmed", "denied", "formalized"]
    assert drawn.bands[0].x == 0 and sum(b.width for b in drawn.bands) == chart.SPAN
    # the denied band starts where the denial's marker is
    assert abs(drawn.bands[1].x - drawn.transitions[0].x * 10) < 0.1


def test_the_line_steps_through_each_evidence() -> None:
    drawn = chart.confidence_chart(_story())
    points = [tuple(map(float, p.split(","))) for p in drawn.line.split()]
    ys = [y for _, y in points]
    level = {c: round(chart.TOP + (1 - c) * chart.PLOT, 1) for c in (0.5, 0.52, 0.35, 0.9)}
    assert ys[0] == level[0.5] and ys[-1] == level[0.9]
    assert level[0.35] in ys
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        assert x0 == x1 or y0 == y1  # only flat or upright segments: a step line
        assert x1 >= x0


def test_a_rumour_without_news_is_a_flat_line_at_its_confidence() -> None:
    quiet = _story() | {"evidence": [], "transitions": [], "state": "unconfirmed"}
    drawn = chart.confidence_chart(quiet | {"confidence": 0.5})
    assert drawn.evidence == () and [b.state for b in drawn.bands] == ["unconfirmed"]
    assert {float(p.split(",")[1]) for p in drawn.line.split()} == {chart.TOP + chart.PLOT / 2}


def test_a_long_quiet_stretch_is_cut_so_the_story_stays_readable() -> None:
    story = _story()
    early = _evidence(-7 * 365, "reports", "none", 0.5, 0.5)  # a lone report years before
    story["evidence"] = [early, *story["evidence"]]
    drawn = chart.confidence_chart(story)
    assert len(drawn.gaps) == 1
    # the 40 days of the story get most of the width, not a sliver at the right
    story_width = drawn.evidence[-1].x - drawn.evidence[1].x
    assert story_width > 60
    assert any("201" in t.label for t in drawn.ticks) and any(
        "2021" in t.label for t in drawn.ticks
    )


def test_date_ticks_are_whole_months_or_days_and_alternate_minor() -> None:
    months = chart.TimeAxis([AT, AT + timedelta(days=300)]).ticks()
    assert [t.label for t in months][:2] == ["Mar 2021", "Apr 2021"]
    assert len(months) <= chart.MAX_TICKS
    assert [t.minor for t in months[:3]] == [False, True, False]
    days = chart.TimeAxis([AT, AT + timedelta(days=5)]).ticks()
    assert days[0].label == "19 Feb 2021" and len(days) == 5
    xs = [t.x for t in days]
    assert xs == sorted(xs)


def test_sparkline_is_a_step_line_from_first_to_last_confidence() -> None:
    series = [(AT, 0.5), (AT + timedelta(days=1), 0.55), (AT + timedelta(days=9), 0.95)]
    spark = chart.sparkline(series)
    assert spark is not None
    assert (spark.first, spark.last, spark.count) == (0.5, 0.95, 2)
    points = [tuple(map(float, p.split(","))) for p in spark.points.split()]
    assert points[0] == (0.0, 10.0) and points[-1] == (100.0, 2.8)
    assert chart.sparkline([]) is None
