"""Elle's ``wr-txns`` micro-op stream, shared by the txn-rw-register and kafka generators.

Each micro-op is a read or a write (50/50) of a key from a pool of ``key_count`` active keys,
chosen with Elle's exponential distribution (base 2: active position i has weight 2^i, so the
last position is picked about half the time). Writes to a key take the values 1, 2, 3, ...;
once a key would exceed ``max_writes`` it is retired, a fresh key (the largest so far + 1) takes
its place in the pool, and the micro-op is drawn again.
"""

from __future__ import annotations

import math
import random

KEY_DIST_BASE = 2


class KeyPool:
    def __init__(self, rng: random.Random, key_count: int, max_writes: int) -> None:
        self.rng = rng
        self.active = list(range(key_count))
        self.next_value: dict[int, int] = {}
        self.max_writes = max_writes
        # rand * scale + base spans [base, base^(count+1)), so floor(log_base(..)) - 1 is a
        # position in [0, count) with weight base^i (Elle's key-dist-scale)
        self.scale = (KEY_DIST_BASE**key_count - 1) * KEY_DIST_BASE / (KEY_DIST_BASE - 1)

    def rand_key(self) -> int:
        x = self.rng.random() * self.scale + KEY_DIST_BASE
        i = math.floor(math.log(x, KEY_DIST_BASE) - 1)
        return self.active[min(max(i, 0), len(self.active) - 1)]

    def next(self) -> tuple[str, int, int | None]:
        """The next micro-op as ``(f, key, value)``: ``("r", k, None)`` or ``("w", k, v)``."""
        while True:
            f = self.rng.choice(("r", "w"))
            k = self.rand_key()
            if f == "r":
                return f, k, None
            v = self.next_value.get(k, 1)
            if v > self.max_writes:
                self.active[self.active.index(k)] = max(self.active) + 1
                continue
            self.next_value[k] = v + 1
            return f, k, v
