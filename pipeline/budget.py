"""A time budget per article: long work checks it between steps and stops with OverBudget.

The checks are cooperative (a call to :func:`check` between sentences, paragraphs and clauses),
so they work in any thread or process and cost a clock read each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import OverBudget

#: Seconds one article may take from reading to extraction, by default.
DEFAULT_SECONDS = 30.0

_local = threading.local()


@contextmanager
def limit(seconds: float | None) -> Iterator[None]:
    """Within the block, :func:`check` raises OverBudget once ``seconds`` have passed (None: no limit)."""
    before = getattr(_local, "deadline", None)
    _local.deadline = None if seconds is None else time.monotonic() + seconds
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.deadline = before


def check() -> None:
    """Raise OverBudget if the current block's time is up."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise OverBudget(f"over the time budget of {_local.seconds:g} s per article")
