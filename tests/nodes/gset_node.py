"""A tiny g-set node for the kill tests; the first argument picks how it keeps its set.

memory        the set lives only in memory, gossiped to every peer once a second: a kill loses
              every element the node acknowledged and had not yet gossiped
durable DIR   each element is appended to DIR/<node id>.log and fsynced before add_ok, and the
              file is read back at init, so a kill loses nothing acknowledged; DIR "-" is the
              directory the runner names in $MAELSTROM_DATA_DIR
stuck DIR N   like memory, but every process after the first N (counted in DIR/starts) hangs
              before reading anything: a node that never comes back after a kill
"""

import os
import sys
import time

from common import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "memory"
if mode == "stuck":
    with open(os.path.join(sys.argv[2], "starts"), "a+") as starts:
        starts.write("x")
        starts.seek(0)
        started = len(starts.read())
    if started > int(sys.argv[3]):
        while True:
            time.sleep(60)
node = Node()
elements: set[int] = set()
journal = None


@node.handler("add")
def add(msg):
    element = msg.body["element"]
    if journal is not None and element not in elements:
        journal.write(f"{element}\n")
        journal.flush()
        os.fsync(journal.fileno())
    elements.add(element)
    return {"type": "add_ok"}


@node.handler("read")
def read(msg):
    return {"type": "read_ok", "value": sorted(elements)}


@node.handler("merge")
def merge(msg):
    elements.update(msg.body["state"])


def gossip():
    for peer in node.node_ids:
        if peer != node.node_id:
            node.send(peer, {"type": "merge", "state": sorted(elements)})


@node.on_init
def init():
    global journal
    if mode == "durable":
        directory = os.environ["MAELSTROM_DATA_DIR"] if sys.argv[2] == "-" else sys.argv[2]
        path = os.path.join(directory, f"{node.node_id}.log")
        if os.path.exists(path):
            with open(path) as f:
                elements.update(int(line) for line in f if line.strip())
        journal = open(path, "a")  # noqa: SIM115 (lives as long as the node)
    node.every(1.0, gossip)


node.run()
