"""What the forcing write of main.py's sync round buys, on the runner's seq-kv model (no processes).

    .venv/bin/python grow-only-counter/forcing_sim.py [--trials N] [--seed S]

A model of the end of a run: the 3 nodes' count keys go through 30 flushes in random order (the
busy phase), then each node flushes its final count once, then every node does ``rounds`` sync
rounds (the 10 s quiet window: 5 rounds at the 2 s idle interval), each reading the 2 peers'
counts into a cache that keeps the maximum, as main.py does, with or without a forcing write
first. A trial fails when some node's cache misses some peer's final count: an inexact final read.
"""

from __future__ import annotations

import argparse
import random

from harness.services import SeqKV

NODES = ("n0", "n1", "n2")


def trial(rng: random.Random, rounds: int, forcing: bool) -> bool:
    """True if some node ends with a peer's final count missing from its cache."""
    kv = SeqKV(rng)
    for i in range(30):
        node = rng.choice(NODES)
        kv.handle(node, {"type": "write", "key": f"count-{node}", "value": i + 1})
    final = {}
    for node in rng.sample(NODES, len(NODES)):
        final[node] = 1000 + len(final)
        kv.handle(node, {"type": "write", "key": f"count-{node}", "value": final[node]})
    cache: dict[str, dict[str, int]] = {node: {} for node in NODES}
    nonce = 0
    for _ in range(rounds):
        for node in rng.sample(NODES, len(NODES)):
            if forcing:  # a value never written before: the write lands on the newest state
                nonce += 1
                kv.handle(node, {"type": "write", "key": f"sync-{node}", "value": nonce})
            for peer in NODES:
                if peer != node:
                    value = kv.handle(node, {"type": "read", "key": f"count-{peer}"}).get("value", 0)
                    cache[node][peer] = max(cache[node].get(peer, 0), value)
    return any(cache[n][p] != final[p] for n in NODES for p in NODES if p != n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for rounds in (3, 5, 8):
        for forcing in (False, True):
            bad = sum(trial(rng, rounds, forcing) for _ in range(args.trials))
            print(
                f"{rounds} quiet rounds, forcing write {'on ' if forcing else 'off'}: "
                f"{bad} of {args.trials} runs end with an inexact final read ({100 * bad / args.trials:.2f}%)"
            )


if __name__ == "__main__":
    main()
