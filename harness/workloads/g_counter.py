"""g-counter: Maelstrom's pn-counter workload with negative deltas filtered out.

Generator ([M] pn_counter.clj + g_counter.clj): ``gen/mix`` of adds (``delta = rand-int(10) - 5``)
and reads, wrapped in a filter that drops negative adds. A rejected op makes the filter ask the mix
again, and the mix re-picks its branch after every op it emits, so each draw is an add with
probability 1/2 and passes with probability 1/2 only for deltas 0..4. The emitted stream is about
1/3 adds (delta uniform in 0..4, zero included) and 2/3 reads.

Everything else (client, schemas, final phase, checker) is pn-counter's
(``harness/workloads/pn_counter.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.workloads.base import register
from harness.workloads.pn_counter import PNCounter


@register
class GCounter(PNCounter):
    name: ClassVar[str] = "g-counter"

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        while True:
            op = super().next_op(thread, now_ns)
            if op is None or op["f"] != "add" or op["value"] >= 0:  # the g-counter filter
                return op
