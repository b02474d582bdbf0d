#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 5b, multi-node Kafka-style log with lin-kv as the single source of truth.

* Offsets: each key's next offset lives in one of 64 lin-kv *buckets* (``bucket/<crc32(key) % 64>``,
  a map ``{"next": {key: n}, "committed": {key: offset}}``) and is taken with read + CAS, retried on
  conflict. Buckets rather than one lin-kv key per log because lin-kv's ``create_if_not_exists``
  always succeeds on a missing key: two nodes could both create a counter and hand out offset 0
  twice. Only n0 creates buckets, so creation never races.
* Messages: written once each, to ``msg/<key>/<offset>``. A poll returns, per key, the messages from
  the requested offset up to the first slot not written yet, so a slow writer can delay a later
  message but never make a poll skip it. Written messages never change, so every node caches them.
* Committed offsets: raised (never lowered) in the bucket with the same read + CAS loop.
"""

import asyncio
import contextlib
import zlib

from common import KeyDoesNotExist, LinKV, Node, PreconditionFailed
from common.kafka import CommitOffsets, ListCommittedOffsets, Poll, Send, entries_from, raise_offsets
from common.requests import parse, taking_effect

BUCKETS = 64
MAX_POLL = 32  # messages per key per poll
node = Node()
kv = LinKV(node)
cache: dict[str, list] = {}  # key -> contiguous messages from offset 0 known to be written


def bucket_of(key: str) -> str:
    return f"bucket/{zlib.crc32(key.encode()) % BUCKETS}"


async def update_bucket(name: str, change) -> tuple[dict, dict]:
    """Apply ``change(bucket) -> new bucket`` with read + CAS until it sticks; (old, new)."""
    while True:
        try:
            current = await kv.read(name)
        except KeyDoesNotExist:
            if node.node_id == node.node_ids[0]:
                with contextlib.suppress(PreconditionFailed):
                    await kv.cas(name, None, {"next": {}, "committed": {}}, create_if_not_exists=True)
            else:
                await asyncio.sleep(0.01)  # n0 creates it
            continue
        new = change(current)
        if new == current:
            return current, current
        try:
            await kv.cas(name, current, new)
            return current, new
        except PreconditionFailed:
            continue


@node.handler("send")
async def send(msg):
    request = parse(msg, Send)
    key = request.key

    def take(bucket):
        nxt = dict(bucket["next"])
        nxt[key] = nxt.get(key, 0) + 1
        return {**bucket, "next": nxt}

    with taking_effect("send"):  # once the offset is taken, no error is definite
        old, _ = await update_bucket(bucket_of(key), take)
        offset = old["next"].get(key, 0)
        await kv.write(f"msg/{key}/{offset}", request.msg)
    return {"type": "send_ok", "offset": offset}


async def read_from(key: str, start: int) -> list:
    start = max(0, start)
    log = cache.setdefault(key, [])
    # fill the cache up to start + MAX_POLL, stopping at the first slot not written yet
    while len(log) < start + MAX_POLL:
        i = len(log)
        try:
            value = await kv.read(f"msg/{key}/{i}")
        except KeyDoesNotExist:
            break
        # a concurrent poll may have filled slot i meanwhile (with the same, immutable message)
        if len(log) == i:
            log.append(value)
    return entries_from(log, start, MAX_POLL)


@node.handler("poll")
async def poll(msg):
    offsets = parse(msg, Poll).offsets
    results = await asyncio.gather(*(read_from(k, o) for k, o in offsets.items()))
    return {"type": "poll_ok", "msgs": {k: pairs for k, pairs in zip(offsets, results, strict=True) if pairs}}


@node.handler("commit_offsets")
async def commit_offsets(msg):
    by_bucket: dict[str, dict[str, int]] = {}
    for key, offset in parse(msg, CommitOffsets).offsets.items():
        by_bucket.setdefault(bucket_of(key), {})[key] = offset

    def raise_to(wanted):
        def change(bucket):
            committed = dict(bucket["committed"])
            raise_offsets(committed, wanted)
            return {**bucket, "committed": committed}

        return change

    with taking_effect("commit_offsets"):  # one bucket may be raised and the next one fail
        await asyncio.gather(*(update_bucket(b, raise_to(w)) for b, w in by_bucket.items()))
    return {"type": "commit_offsets_ok"}


@node.handler("list_committed_offsets")
async def list_committed_offsets(msg):
    keys = parse(msg, ListCommittedOffsets).keys
    names = sorted({bucket_of(k) for k in keys})
    buckets = await asyncio.gather(*(kv.read(n, default=None) for n in names))
    by_name = dict(zip(names, buckets, strict=True))
    found = {}
    for k in keys:
        bucket = by_name[bucket_of(k)]
        if bucket and k in bucket["committed"]:
            found[k] = bucket["committed"][k]
    return {"type": "list_committed_offsets_ok", "offsets": found}


if __name__ == "__main__":
    node.run()
