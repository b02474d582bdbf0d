"""The challenge engines several programs share, each a node-side algorithm on ``common``'s I/O.

- :mod:`engines.gossip`: the broadcast challenges' grow-only set with acked, batched gossip over
  an overlay (3a-3e).
- :mod:`engines.txn`: the transaction challenges' key-value store with local, atomic execution and
  last-writer-wins replication (6a-6c).
- :mod:`engines.kafka`: the kafka-style-log challenges' request shapes, log slices and in-memory
  logs (5a-5c).

``common`` is protocol I/O only (messages, the node, errors, requests, KV clients, durability and
the clock); what a challenge decides lives here or in its own folder (raft-lin-kv keeps its Raft
in ``raft-lin-kv/raft.py``, beside its only user). Nothing here imports ``harness``.
"""
