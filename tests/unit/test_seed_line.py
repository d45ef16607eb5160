"""``reminders seed``'s one line counts in words that agree with the numbers."""

from __future__ import annotations

from assignment_reminders.cli.job import seeded_line
from assignment_reminders.dev.seed import SeedResult


def test_one_of_a_kind_is_singular_and_large_counts_are_grouped() -> None:
    result = SeedResult(
        organizations=1,
        coordinators=1,
        peer_mentors=13,
        contacts=100,
        assignments=100000,
        first_assignment_id=1,
    )
    assert seeded_line(result, 0.25) == (
        "seeded 100,000 assignments, 13 peer mentors, 1 coordinator, 1 organization in 0.2 s"
    )
