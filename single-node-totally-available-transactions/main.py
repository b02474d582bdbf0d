#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 6a, single-node totally available transactions: run each txn atomically in memory.

With one node, ``engines.txn`` has no peers and never replicates; each txn runs inside one handler.
"""

from common import Node
from engines.txn import serve_txns

node = Node()
serve_txns(node)

if __name__ == "__main__":
    node.run()
