#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 3c, fault-tolerant broadcast: 3b plus acks and retries, so partitions lose nothing.

Every value sent to a neighbour stays pending until that neighbour acks it; after ``RETRY_AFTER``
without an ack it is sent again, so values cross a partition as soon as it heals. Acks ride on
regular traffic when there is some and go alone after ``ACK_DELAY`` when there is not.
"""

from common import Node
from engines.gossip import Gossip, serve_broadcast

ACK_DELAY = 0.05  # s
RETRY_AFTER = 0.5  # s

node = Node()
serve_broadcast(node, Gossip(node, ack_delay=ACK_DELAY, retry_after=RETRY_AFTER), use_topology=True)

if __name__ == "__main__":
    node.run()
