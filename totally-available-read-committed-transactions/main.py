#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 6c, totally available read-committed transactions under partitions.

Local, atomic execution (no G1a, G1b), Lamport versions so that ww and wr dependencies always
point forward (no G0, G1c), and batched last-writer-wins replication with retries (``engines.txn``).
"""

from common import Node
from engines.txn import serve_txns

node = Node()
serve_txns(node)

if __name__ == "__main__":
    node.run()
