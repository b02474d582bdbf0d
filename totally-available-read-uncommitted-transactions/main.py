#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 6b, totally available read-uncommitted transactions over two or more nodes.

Local, atomic execution plus batched last-writer-wins replication with retries (``engines.txn``).
That design already gives read committed (no G0, G1a, G1b, G1c); read uncommitted asks only G0.
"""

from common import Node
from engines.txn import serve_txns

node = Node()
serve_txns(node)

if __name__ == "__main__":
    node.run()
