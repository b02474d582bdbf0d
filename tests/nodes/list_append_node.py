"""Small txn-list-append nodes for the workload tests; the first argument picks one.

serial          correct on one node: each txn runs alone against one in-memory store
echo            broken: answers the request as it came (reads stay null): internal anomalies
local           broken with several nodes: each node keeps its own store: incompatible orders
read-committed  each read sees the latest committed state (not even the txn's own appends);
                appends are buffered and committed together at the end, and txns pause between
                micro-ops, so concurrent txns interleave: read committed, not serializable
"""

import asyncio
import sys

from common import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "serial"
node = Node()
store: dict[int, list[int]] = {}


def run_serial(txn):
    out = []
    for f, k, v in txn:
        if f == "r":
            out.append([f, k, list(store.get(k, []))])
        else:
            store.setdefault(k, []).append(v)
            out.append([f, k, v])
    return out


@node.handler("txn")
async def txn(msg):
    request = msg.body["txn"]
    if mode == "echo":
        return {"type": "txn_ok", "txn": request}
    if mode in ("serial", "local"):
        return {"type": "txn_ok", "txn": run_serial(request)}
    own: dict[int, list[int]] = {}
    out = []
    for f, k, v in request:
        if f == "r":
            out.append([f, k, list(store.get(k, []))])
        else:
            own.setdefault(k, []).append(v)
            out.append([f, k, v])
        await asyncio.sleep(0.002)
    for k, vs in own.items():  # commit: all appends at once
        store[k] = store.get(k, []) + vs
    return {"type": "txn_ok", "txn": out}


node.run()
