#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 3a, single-node broadcast: keep every message and return them all on read.

The grow-only set is ``engines.gossip.Gossip``; with one node it has no peers, so nothing is sent.
"""

from common import Node
from engines.gossip import Gossip, serve_broadcast

node = Node()
serve_broadcast(node, Gossip(node))

if __name__ == "__main__":
    node.run()
