"""Small g-set and pn-counter nodes for the workload tests; the first argument picks one.

gset            correct: a set, the whole set sent to every peer every 0.1 s, merged by union
gset-replace    broken: a node *replaces* its set with the one a peer sends, so concurrent adds
                on the two sides of a partition overwrite each other and acknowledged values vanish
pn              correct: per-node increments and decrements, merged by max per node
pn-max          broken: one per-node count of the net sum, merged by max (a G-counter), so a
                node's decrements are undone by any peer that saw a larger, earlier count
"""

import sys

from common import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "gset"
node = Node()
elements: set[int] = set()
counts: dict[str, dict[str, int]] = {"inc": {}, "dec": {}}


def state() -> object:
    return sorted(elements) if mode.startswith("gset") else counts


@node.handler("add")
def add(msg):
    if mode.startswith("gset"):
        elements.add(msg.body["element"])
    else:
        delta = msg.body["delta"]
        if mode == "pn-max":
            counts["inc"][node.node_id] = counts["inc"].get(node.node_id, 0) + delta
        else:
            side = "inc" if delta >= 0 else "dec"
            counts[side][node.node_id] = counts[side].get(node.node_id, 0) + abs(delta)
    return {"type": "add_ok"}


@node.handler("read")
def read(msg):
    if mode.startswith("gset"):
        return {"type": "read_ok", "value": sorted(elements)}
    return {"type": "read_ok", "value": sum(counts["inc"].values()) - sum(counts["dec"].values())}


@node.handler("merge")
def merge(msg):
    other = msg.body["state"]
    if mode == "gset":
        elements.update(other)
    elif mode == "gset-replace":
        elements.clear()
        elements.update(other)
    else:
        for side in ("inc", "dec"):
            for n, c in other[side].items():
                counts[side][n] = max(counts[side].get(n, 0), c)


def gossip():
    for peer in node.node_ids:
        if peer != node.node_id:
            node.send(peer, {"type": "merge", "state": state()})


@node.on_init
def init():
    node.every(0.1, gossip)


node.run()
