"""Why main.py's final reads are exact: its sync schedule on the runner's seq-kv model (no processes).

    .venv/bin/python grow-only-counter/forcing_sim.py [--trials N] [--seed S]

A timed model of a run at Fly.io's flags: 3 nodes take adds (about 11 a second each, as at
``--rate 100``) for 20 s, then the 10 s quiet window, then every node's final read. Each node runs
main.py's rounds: every ``interval`` while its round saw a change, doubling up to ``idle_max`` when
it saw none. A round writes the node's own count if it changed, else (with the forcing write on) a
value never written before to ``sync-<node>``; then it reads the two peers' counts into a cache
that keeps the maximum. The nodes' first rounds start at random phases; seq-kv is
``harness.services.SeqKV``, the rule the runner and Maelstrom use. A trial fails when some
node's final read misses some peer's last add. RPCs are instantaneous here (they take about a
millisecond in a run) and rounds never fail; a failed round counts as a change in main.py, so it
only brings the next round closer.

Why the forcing write makes the outcome certain rather than likely: a write that changes seq-kv's
state runs on the newest state, and seq-kv serves that node's later requests from that state or
a newer one. A peer writes its final count in its first round after its last add, at most one
``interval`` later (its rounds are at ``interval`` while adds keep coming). Every node then has
a round within ``idle_max`` of that (rounds are never further apart), and that round's forcing
write comes after the peer's final write, so its reads see it. With ``interval`` + ``idle_max``
= 6 s inside the 10 s window, every final read is exact. Without the forcing write a node k
states behind reaches the newest state only with probability 1/(k+1) per read, so some final
reads miss: the table shows how many.
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import random
from pathlib import Path

from harness.services import SeqKV

NODES = ("n0", "n1", "n2")
BUSY = 20.0  # --time-limit
QUIET = 10.0  # the quiet window before the final reads
ADD_RATE = 100 / 3 / len(NODES)  # adds per second per node: a third of the ops are adds


def _main_py_schedule() -> tuple[float, float]:
    """main.py's INTERVAL and IDLE_MAX (the folder name has dashes, so load it by path)."""
    spec = importlib.util.spec_from_file_location("counter_main", Path(__file__).with_name("main.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.INTERVAL, module.IDLE_MAX


def trial(rng: random.Random, interval: float, idle_max: float, forcing: bool) -> bool:
    """True if some node's final read misses some peer's last add."""
    kv = SeqKV(rng)
    added = dict.fromkeys(NODES, 0)
    flushed = dict.fromkeys(NODES, 0)
    cache: dict[str, dict[str, int]] = {n: {} for n in NODES}
    delay = dict.fromkeys(NODES, interval)
    nonce = 0
    events: list[tuple[float, int, str, str]] = []  # (time, tiebreak, kind, node)
    for n in NODES:
        t = rng.expovariate(ADD_RATE)
        while t < BUSY:
            heapq.heappush(events, (t, rng.getrandbits(32), "add", n))
            t += rng.expovariate(ADD_RATE)
        heapq.heappush(events, (rng.uniform(0, interval), rng.getrandbits(32), "round", n))
    while events:
        t, _, kind, n = heapq.heappop(events)
        if t >= BUSY + QUIET:
            break
        if kind == "add":
            added[n] += 1
            continue
        changed = False
        if added[n] != flushed[n]:
            kv.handle(n, {"type": "write", "key": f"count-{n}", "value": added[n]})
            flushed[n] = added[n]
            changed = True
        elif forcing:
            nonce += 1
            kv.handle(n, {"type": "write", "key": f"sync-{n}", "value": nonce})
        for peer in NODES:
            if peer != n:
                value = kv.handle(n, {"type": "read", "key": f"count-{peer}"}).get("value", 0)
                if value > cache[n].get(peer, 0):
                    cache[n][peer] = value
                    changed = True
        delay[n] = interval if changed else min(delay[n] * 2, idle_max)
        heapq.heappush(events, (t + delay[n], rng.getrandbits(32), "round", n))
    return any(cache[n].get(p, 0) != added[p] for n in NODES for p in NODES if p != n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    interval, idle_max = _main_py_schedule()
    schedules = [(interval, idle_max, "main.py's"), (1.0, 2.0, "the earlier 1 s / 2 s")]
    for interval, idle_max, name in schedules:
        for forcing in (True, False):
            bad = sum(trial(rng, interval, idle_max, forcing) for _ in range(args.trials))
            print(
                f"{name} schedule ({interval:g} s, idle up to {idle_max:g} s), forcing write "
                f"{'on ' if forcing else 'off'}: {bad} of {args.trials} runs end with an inexact "
                f"final read ({100 * bad / args.trials:.2f}%)"
            )


if __name__ == "__main__":
    main()
