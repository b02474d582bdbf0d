"""Challenge 5a, single-node Kafka-style log: every log and committed offset lives in memory.

Offsets are list indices, so a poll is a slice. Keys with nothing at or after the requested offset
are left out of ``poll_ok`` (an empty list for a key nobody ever wrote trips Jepsen's checker).
"""

from common import Node

MAX_POLL = 100  # messages per key per poll: bounds reply size; clients simply poll again

node = Node()
logs: dict[str, list] = {}
committed: dict[str, int] = {}


@node.handler("send")
def send(msg):
    log = logs.setdefault(msg.body["key"], [])
    log.append(msg.body["msg"])
    return {"type": "send_ok", "offset": len(log) - 1}


@node.handler("poll")
def poll(msg):
    out = {}
    for key, start in msg.body["offsets"].items():
        log = logs.get(key, ())
        start = max(0, start)
        if start < len(log):
            out[key] = [[o, log[o]] for o in range(start, min(len(log), start + MAX_POLL))]
    return {"type": "poll_ok", "msgs": out}


@node.handler("commit_offsets")
def commit_offsets(msg):
    for key, offset in msg.body["offsets"].items():
        if offset > committed.get(key, -1):
            committed[key] = offset
    return {"type": "commit_offsets_ok"}


@node.handler("list_committed_offsets")
def list_committed_offsets(msg):
    found = {k: committed[k] for k in msg.body["keys"] if k in committed}
    return {"type": "list_committed_offsets_ok", "offsets": found}


if __name__ == "__main__":
    node.run()
