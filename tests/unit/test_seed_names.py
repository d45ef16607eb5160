"""The seed's name picker draws exactly what ``random.choice`` would (the same data as before)."""

from __future__ import annotations

import random

from assignment_reminders.seed import FIRST_NAMES, LAST_NAMES, chooser


def test_chooser_draws_what_random_choice_draws() -> None:
    ours, reference = random.Random(5), random.Random(5)
    first, last = chooser(ours, FIRST_NAMES), chooser(ours, LAST_NAMES)
    picked = [(first(), last()) for _ in range(5000)]
    expected = [(reference.choice(FIRST_NAMES), reference.choice(LAST_NAMES)) for _ in range(5000)]
    assert picked == expected
    assert ours.random() == reference.random()  # and leaves the generator where choice would
