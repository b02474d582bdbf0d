"""Key-value nodes for the lin-kv tests, built on common; the first argument picks one.

local    a correct single-node store: one dict (valid with one node; with more, each node is its
         own store, so it is not linearizable)
stale    every node applies writes and cas locally and tells the others every 0.5 s, and serves
         reads from its local copy: with two or more nodes, reads are stale (invalid)
proxy    forwards every request to Maelstrom's lin-kv service (valid at any node count)
"""

import sys

from common import KeyDoesNotExist, LinKV, Node, PreconditionFailed

mode = sys.argv[1] if len(sys.argv) > 1 else "local"
node = Node()
store: dict[str, object] = {}
unsent: dict[str, object] = {}  # stale mode: local updates not yet told to the others
service = LinKV(node)


def apply(msg):
    body = msg.body
    key = str(body["key"])
    if body["type"] == "read":
        if key not in store:
            raise KeyDoesNotExist("not found")
        return {"type": "read_ok", "value": store[key]}
    if body["type"] == "write":
        store[key] = unsent[key] = body["value"]
        return {"type": "write_ok"}
    if key not in store:
        raise KeyDoesNotExist("not found")
    if store[key] != body["from"]:
        raise PreconditionFailed(f"expected {body['from']}, had {store[key]}")
    store[key] = unsent[key] = body["to"]
    return {"type": "cas_ok"}


async def proxy(msg):
    body = msg.body
    if body["type"] == "read":
        return {"type": "read_ok", "value": await service.read(body["key"])}
    if body["type"] == "write":
        await service.write(body["key"], body["value"])
        return {"type": "write_ok"}
    await service.cas(body["key"], body["from"], body["to"])
    return {"type": "cas_ok"}


for kind in ("read", "write", "cas"):
    node.handler(kind)(proxy if mode == "proxy" else apply)


@node.handler("update")
def update(msg):
    store.update(msg.body["values"])


def tell_others():
    if unsent:
        for peer in node.node_ids:
            if peer != node.node_id:
                node.send(peer, {"type": "update", "values": dict(unsent)})
        unsent.clear()


@node.on_init
def init():
    if mode == "stale":
        node.every(0.5, tell_others)


node.run()
