"""A broken txn-list-append store for the shrinking tests: dirty reads, so G1c.

Each append goes into the one shared store the moment its micro-op runs, and a txn that has
appended pauses before it reads another key, so two concurrent txns can each read the other's
append before either completes: T1 appends x then reads y, T2 appends y then reads x, each sees
the other's: a cycle of write-read dependencies (G1c, cyclic information flow). Runs of appends
never pause, so with txns of at most two micro-ops (--max-txn-length 2) there is no write cycle
(G0). Correct with one client at a time.
"""

import asyncio

from common import Node

node = Node()
store: dict[int, list[int]] = {}


@node.handler("txn")
async def txn(msg):
    out = []
    wrote: set[int] = set()
    for f, k, v in msg.body["txn"]:
        if f == "r":
            if wrote and k not in wrote:
                await asyncio.sleep(0.01)  # the bug: other txns run here and see this one's appends
            out.append([f, k, list(store.get(k, []))])
        else:
            store.setdefault(k, []).append(v)
            wrote.add(k)
            out.append([f, k, v])
    return {"type": "txn_ok", "txn": out}


node.run()
