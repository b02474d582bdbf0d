"""Waiting in tests for something that happens soon (a process gone, a file written): poll until
it holds, bounded generously, so a loaded machine only makes the test slower, never red.

    assert until(lambda: live_processes_with(marker), lambda found: not found) == []
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: long enough for any scheduling delay on a loaded machine; a wait only takes this long when
#: the awaited thing never happens, i.e. when the test fails anyway
WITHIN_S = 60.0


def until(probe: Callable[[], T], done: Callable[[T], bool] = bool, within: float = WITHIN_S) -> T:
    """``probe()``, polled until ``done`` holds for its value or ``within`` seconds pass; the last value."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(0.05)
