#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 3b, multi-node broadcast: flood new values over the topology Maelstrom gives.

Each node sends a value it has not seen before to every neighbour except the one it came from.
With no faults every message arrives and fire-and-forget would do; acks (riding on regular traffic)
and retries make it survive kills and partitions too: a value a killed node had read from its
stdin but not yet passed on is sent to it again. Values and the topology are journaled before
they are acknowledged (``engines.gossip``).
"""

from common import Node
from engines.gossip import Gossip, serve_broadcast

ACK_DELAY = 0.05  # s
RETRY_AFTER = 0.5  # s

node = Node()
serve_broadcast(node, Gossip(node, ack_delay=ACK_DELAY, retry_after=RETRY_AFTER), use_topology=True)

if __name__ == "__main__":
    node.run()
