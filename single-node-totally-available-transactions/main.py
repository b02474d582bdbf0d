"""Challenge 6a, single-node totally available transactions: run each txn atomically in memory.

With one node, ``common.txn`` has no peers and never replicates; each txn runs inside one handler.
"""

from common import Node
from common.txn import serve_txns

node = Node()
serve_txns(node)

if __name__ == "__main__":
    node.run()
