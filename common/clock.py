"""The clock a simulated run's nodes run on: :class:`VirtualTimeLoop`, an asyncio loop on virtual time.

Its clock jumps to the next timer whenever nothing is ready, so ``sleep``, ``call_later`` and
periodic tasks cost no wall time and every timestamp is exact (like trio's ``MockClock`` with
``autojump_threshold=0``). The runner's deterministic simulation (``harness.sim.SimLoop``) is built
on it; tests get it from ``common.testing`` (as trio re-exports ``MockClock`` from trio.testing).
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import selectors
from collections.abc import Callable
from typing import Any

__all__ = ["VirtualTimeLoop"]


class _AutojumpSelector(selectors.SelectSelector):
    """Real I/O readiness, but a wait with a timeout and nothing ready advances the clock instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop
        #: with callbacks ready, look at real I/O only every this many turns (1: every turn)
        self.poll_every = 1
        self._turns = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # no timer pending: only real I/O can wake the loop
            return super().select(None)
        if timeout == 0 and self.poll_every > 1:
            self._turns += 1
            if self._turns % self.poll_every:
                return []
        ready = super().select(0) if self.get_map() else []
        if not ready and timeout > 0:
            self._loop._jump(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: ``time()`` starts at 0 and moves only when every task waits.

    The clock is kept in whole ns and jumps to the next timer's due time (to the nearest ns), so
    every timestamp is exact and repeatable.
    Real I/O (pipes, sockets) still works and is waited for without moving the clock.
    """

    def __init__(self) -> None:
        self._now_ns = 0
        self._autojump = _AutojumpSelector(self)
        super().__init__(self._autojump)
        # Timers are due at whole ns (see call_at), so a timer is ready exactly when the clock has
        # reached its ns; 0.1 ns only absorbs float error (1e-13 s at 1000 s of virtual time).
        self._clock_resolution = 1e-10

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """As asyncio's, but a timer due later than now is due at a later whole ns.

        On a real clock time moves while code runs, so code like ``while (left := deadline -
        now()) > 0: await wait(timeout=left)`` ends. Here time moves only between timers: a
        timer a fraction of a ns ahead would be run at once (asyncio runs what is due within the
        clock's resolution) with the clock unchanged, and such a loop would spin for ever.
        """
        if when > self.time():  # in seconds: a float a few ulps ahead may be the same ns
            when = max(math.ceil(when * 1e9 - 1e-3), self._now_ns + 1) / 1e9  # 1e-3 ns: float error
        return super().call_at(when, callback, *args, context=context)

    def time(self) -> float:
        return self._now_ns / 1e9

    def time_ns(self) -> int:
        """The virtual time in ns (a clock for code that takes one, e.g. the harness's Network)."""
        return self._now_ns

    def _jump(self, timeout: float) -> None:
        # to the earliest timer's due time (asyncio computed ``timeout`` from it), to the nearest
        # ns: asyncio runs a timer due within its clock resolution (1 ns) of time(), and a due
        # time given in whole ns (the harness's clocks) comes back exactly
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled", [])
        when = scheduled[0].when() if scheduled else self.time() + timeout
        self._now_ns = max(self._now_ns + 1, round(when * 1e9))
