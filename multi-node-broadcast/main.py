#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 3b, multi-node broadcast: flood new values over the topology Maelstrom gives.

Each node sends a value it has not seen before to every neighbour except the one it came from,
at once and without acks: with no faults every message arrives, so this is enough.
"""

from common import Node
from common.gossip import Gossip, serve_broadcast

node = Node()
serve_broadcast(node, Gossip(node), use_topology=True)

if __name__ == "__main__":
    node.run()
