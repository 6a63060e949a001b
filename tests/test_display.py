"""Tables for people: one line per row, whatever the cells hold."""

from __future__ import annotations

from monitor.display import counted, duration, table


def test_a_multi_line_cell_keeps_its_row_on_one_line() -> None:
    # An SMTP server's multi-line reply or a proxy's error page ends up in LAST ERROR.
    out = table(["ID", "LAST ERROR"], [[1, "550 5.1.1 no such user\n550 try later"], [2, None]])
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("1   550 5.1.1 no such user 550 try later")
    assert lines[3] == "2   -"


def test_durations_read_as_config_writes_them() -> None:
    assert [duration(s) for s in (1800, 900, 3600, 5400, 86400, 45, 0.5)] == [
        "30m",
        "15m",
        "1h",
        "90m",
        "1d",
        "45s",
        "0.5s",
    ]


def test_counts_take_the_noun_in_the_right_number() -> None:
    assert [counted(n, "feed") for n in (0, 1, 2)] == ["0 feeds", "1 feed", "2 feeds"]
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"
