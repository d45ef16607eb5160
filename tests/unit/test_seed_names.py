"""The seed's own draws take exactly what ``random.choice``, ``randrange`` and ``expovariate``
would (the same data as before they were written out)."""

from __future__ import annotations

import random

from assignment_reminders.dev.seed import FIRST_NAMES, LAST_NAMES, below, chooser, expovariate


def test_the_draws_are_those_of_the_random_module() -> None:
    ours, reference = random.Random(5), random.Random(5)
    first, last = chooser(ours, FIRST_NAMES), chooser(ours, LAST_NAMES)
    started, ended, gap = below(ours, 706), below(ours, 9), expovariate(ours, 1 / 9)
    picked = [(first(), last(), 14 + started(), 1 + ended(), gap()) for _ in range(5000)]
    expected = [
        (
            reference.choice(FIRST_NAMES),
            reference.choice(LAST_NAMES),
            reference.randrange(14, 720),
            reference.randrange(1, 10),
            reference.expovariate(1 / 9),
        )
        for _ in range(5000)
    ]
    assert picked == expected
    assert ours.random() == reference.random()  # and leave the generator where they would
