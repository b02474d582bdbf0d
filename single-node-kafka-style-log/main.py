#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 5a, single-node Kafka-style log: every log and committed offset, in memory and on disk.

All of it is ``engines.kafka.LocalLogs``: offsets are list indices, a poll is a slice, and keys with
nothing at or after the requested offset are left out of ``poll_ok``. Every send and commit is
journaled before its reply, so a killed and restarted node still has them.
"""

from common import Node
from common.requests import parse
from engines.kafka import CommitOffsets, ListCommittedOffsets, LocalLogs, Poll, Send

MAX_POLL = 100  # messages per key per poll: bounds reply size; clients simply poll again

node = Node()
local = LocalLogs(MAX_POLL, node)


@node.handler("send")
def send(msg):
    request = parse(msg, Send)
    return {"type": "send_ok", "offset": local.append(request.key, request.msg)}


@node.handler("poll")
def poll(msg):
    return {"type": "poll_ok", "msgs": local.poll(parse(msg, Poll).offsets)}


@node.handler("commit_offsets")
def commit_offsets(msg):
    local.commit(parse(msg, CommitOffsets).offsets)
    return {"type": "commit_offsets_ok"}


@node.handler("list_committed_offsets")
def list_committed_offsets(msg):
    keys = parse(msg, ListCommittedOffsets).keys
    return {"type": "list_committed_offsets_ok", "offsets": local.committed_offsets(keys)}


if __name__ == "__main__":
    node.run()
