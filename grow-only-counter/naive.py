"""A counter that trusts seq-kv reads: read-modify-write on one shared key. Kept to show why
grow-only-counter/main.py forces seq-kv forward: this one loses adds and reads stale totals.

A stale read returns an old total; writing old + delta then overwrites the newer total on
seq-kv's newest state, so concurrent adds from other nodes vanish.
"""

from __future__ import annotations

from typing import Any

from common import Message, Node, SeqKV

node = Node()
kv = SeqKV(node)


@node.handler("add")
async def add(msg: Message) -> dict[str, Any]:
    current = await kv.read("counter", default=0)
    await kv.write("counter", current + msg.body["delta"])
    return {"type": "add_ok"}


@node.handler("read")
async def read(msg: Message) -> dict[str, Any]:
    return {"type": "read_ok", "value": await kv.read("counter", default=0)}


if __name__ == "__main__":
    node.run()
