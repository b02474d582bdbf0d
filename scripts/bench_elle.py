"""How fast is the list-append checker? A strict-serializable 20,000-txn history, checked.

The history is simulated, seeded: ``--concurrency`` processes (10n with n = 5 nodes: 50) each keep
one txn in flight; at every step a random in-flight txn completes and takes effect atomically at
that moment (so the history is strict serializable: each txn's effect lies inside its interval).
Txns come from the workload's own generator (Elle's wr-txns, ``--max-txn-length`` 5 micro-ops at
most). Then ``list_append.check`` runs under strict-serializable and the time is printed; the
verdict must be valid. Target: under 20 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from harness.checkers import list_append
from harness.history import OK, Op, kw
from harness.options import TestOptions
from harness.workloads.txn_list_append import TxnListAppend

R = kw("r")


def simulated_history(txns: int, concurrency: int, max_txn_length: int, seed: int) -> list[Op]:
    rng = random.Random(seed)
    test = TestOptions(workload="txn-list-append", max_txn_length=max_txn_length)
    workload = TxnListAppend(test, rng)
    store: dict[int, list[int]] = {}
    history: list[Op] = []
    in_flight: dict[int, list[list[object]]] = {}
    started = 0

    def invoke(p: int) -> None:
        nonlocal started
        txn = workload.next_op(p, 0)["value"]
        in_flight[p] = txn
        history.append(Op("invoke", "txn", p, txn, time=len(history), index=len(history)))
        started += 1

    for p in range(min(concurrency, txns)):
        invoke(p)
    while in_flight:
        p = rng.choice(list(in_flight))
        out = []
        for f, k, v in in_flight.pop(p):
            if f == R:
                out.append([f, k, list(store.get(k, [])) or None])
            else:
                store.setdefault(k, []).append(v)
                out.append([f, k, v])
        history.append(Op(OK, "txn", p, out, time=len(history), index=len(history)))
        if started < txns:
            invoke(p)
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txns", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50, help="processes (10n with 5 nodes)")
    parser.add_argument("--max-txn-length", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    history = simulated_history(args.txns, args.concurrency, args.max_txn_length, args.seed)
    t1 = time.perf_counter()
    result = list_append.check(TestOptions(workload="txn-list-append"), history)
    t2 = time.perf_counter()
    print(
        f"history: {args.txns} txns, concurrency {args.concurrency}, <= {args.max_txn_length} micro-ops ({t1 - t0:.1f} s to simulate)"
    )
    print(
        f"list-append check (strict-serializable): {t2 - t1:.2f} s (target < 20 s); valid? {result['valid?']}"
    )
    return 0 if result["valid?"] is True and t2 - t1 < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
