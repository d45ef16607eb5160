"""benchmarks/versus.py: the two sides take turns, and the table says which side is which."""

from __future__ import annotations

from pathlib import Path

from benchmarks.versus import Figures, Side, table, turns

A, B = Side("this (abc1234)", Path("/a")), Side("def5678", Path("/b"))


def test_the_side_going_first_alternates_from_round_to_round() -> None:
    assert list(turns(3, [A, B])) == [A, B, B, A, A, B]


def test_the_table_gives_each_round_the_medians_and_this_side_over_the_other() -> None:
    mine = Figures({"first run": [20.0, 19.0, 21.0], "next day": [1.5, 1.6, 1.4]})
    other = Figures({"first run": [16.0, 18.0, 17.0], "next day": [1.5, 1.3, 1.4]})
    rows = table([A, B], [mine, other]).splitlines()
    assert rows[0] == "| phase | this (abc1234) (s) | def5678 (s) | ratio of medians |"
    assert rows[2] == (
        "| first run | 20.00, 19.00, 21.00 (median 20.00) | 16.00, 18.00, 17.00 (median 17.00)"
        " | 1.18x |"
    )
    assert rows[3].endswith("| 1.07x |")  # 1.5 / 1.4
