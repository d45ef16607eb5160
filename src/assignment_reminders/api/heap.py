"""The server's garbage collector, set for request latency once start-up is over.

CPython's collector stops the whole process while it runs. A full (generation 2) collection
walks every tracked object, and after start-up `reminders serve` holds tens of thousands of them
(FastAPI, pydantic, psycopg, the routes' models) that will live as long as the process: under a
steady load one came every few seconds and was the p99 of the whole run; young collections (the
default threshold of 700 allocations is reached inside a single request) came tens of times a
second (docs/benchmarks.md#figures-behind-design-choices). So, once the app has started:

- ``gc.collect()`` then ``gc.freeze()``: what start-up built moves to the permanent generation,
  which no collection walks again;
- generation 0 is collected after 50,000 net allocations instead of 700: a request's garbage is
  freed by reference counting, and only cycles wait for the collector, which still runs (at
  most 50,000 objects waiting, a few MB; a request left fewer than 17 behind in the benchmark).
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000


def settle() -> None:
    """Freeze what start-up built and collect the young generation less often (process-wide:
    `reminders serve` calls it once, from the app's start-up)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
