from __future__ import annotations

import io

from monitor.progress import Progress


def test_draws_a_counter_and_ends_the_line_when_enabled() -> None:
    out = io.StringIO()
    with Progress("polling feeds", total=3, stream=out, enabled=True, interval=0) as bar:
        for _ in range(3):
            bar.advance()
    text = out.getvalue()
    assert "\rpolling feeds [" in text and "3/3" in text
    assert text.endswith("\n")


def test_silent_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()  # isatty() is False, as for a pipe or the journal
    with Progress("processing articles", total=2, stream=out) as bar:
        bar.advance(2)
    assert out.getvalue() == ""


def test_without_a_total_it_counts() -> None:
    out = io.StringIO()
    with Progress("assessed pairs", stream=out, enabled=True, interval=0) as bar:
        bar.advance(5)
    assert "assessed pairs 5" in out.getvalue()
