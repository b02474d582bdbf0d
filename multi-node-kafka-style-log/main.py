#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 5b, multi-node Kafka-style log with lin-kv as the single source of truth.

* Offsets: each key's next offset lives in one of 64 lin-kv *buckets* (``bucket/<crc32(key) % 64>``,
  a map ``{"next": {key: n}, "committed": {key: offset}}``) and is taken with read + CAS, retried on
  conflict. A missing bucket is created by whichever node needs it with a create-only CAS (from
  ``NEVER``, a value no key holds: on a missing key lin-kv creates it, on a present one the CAS
  fails), so two creators never both win, and no node waits for another (which a killed n0
  would make it do).
* Messages: written once each, to ``msg/<key>/<offset>`` as ``[msg]``, with a CAS that only
  creates (``from`` a value no slot holds), so a slot is decided once. A poll returns, per key, the
  messages from the requested offset up to the first slot not written yet, so a slow writer can
  delay a later message but never make a poll skip it. Decided slots never change, so every node
  caches them.
* Holes: a node killed between taking an offset and writing its slot leaves the slot empty for
  good, which would stall that key's polls. A slot seen empty for ``HOLE_AFTER`` while the bucket
  says its offset was taken is closed with a tombstone (``"hole"``, by the same create-only CAS);
  polls skip it. A writer that was only slow loses that CAS and takes a new offset, so no message
  is acknowledged at a slot polls skipped. Nothing else lives in a node: a restarted node re-reads
  lin-kv.
* Committed offsets: raised (never lowered) in the bucket with the same read + CAS loop.
"""

import asyncio
import contextlib
import zlib

from common import KeyDoesNotExist, LinKV, Node, PreconditionFailed
from common.requests import parse, taking_effect
from engines.kafka import CommitOffsets, ListCommittedOffsets, Poll, Send, raise_offsets

BUCKETS = 64
MAX_POLL = 32  # messages per key per poll
HOLE_AFTER = 1.0  # s a taken offset's slot may stay empty before it is closed as a hole
HOLE = "hole"  # a closed slot; a message slot holds [msg]
NEVER = {"no slot": "holds this"}  # CAS from this: only creates
node = Node()
kv = LinKV(node)
cache: dict[str, list] = {}  # key -> contiguous decided slots from offset 0 ([msg] or HOLE)
empty_since: dict[str, tuple[int, float]] = {}  # key -> (first empty slot, when first seen empty)


def bucket_of(key: str) -> str:
    return f"bucket/{zlib.crc32(key.encode()) % BUCKETS}"


async def update_bucket(name: str, change) -> tuple[dict, dict]:
    """Apply ``change(bucket) -> new bucket`` with read + CAS until it sticks; (old, new)."""
    while True:
        try:
            current = await kv.read(name)
        except KeyDoesNotExist:
            with contextlib.suppress(PreconditionFailed):  # another node created it first
                await kv.cas(name, NEVER, {"next": {}, "committed": {}}, create_if_not_exists=True)
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
        while True:
            old, _ = await update_bucket(bucket_of(key), take)
            offset = old["next"].get(key, 0)
            try:
                await kv.cas(f"msg/{key}/{offset}", NEVER, [request.msg], create_if_not_exists=True)
                break
            except PreconditionFailed:  # a poller closed our slot as a hole: take another
                continue
    return {"type": "send_ok", "offset": offset}


async def close_if_hole(key: str, i: int) -> bool:
    """Slot ``i`` of ``key`` is empty: close it if it stayed so for HOLE_AFTER and its offset is
    taken. True if the slot is decided now (either way), so the caller reads it again."""
    now = node.now()
    seen = empty_since.get(key)
    if seen is None or seen[0] != i:
        empty_since[key] = (i, now)
        return False
    if now - seen[1] < HOLE_AFTER:
        return False
    bucket = await kv.read(bucket_of(key), default=None)
    if not bucket or bucket["next"].get(key, 0) <= i:  # the end of the log, not a hole
        empty_since[key] = (i, now)
        return False
    with contextlib.suppress(PreconditionFailed):  # a slow writer may just have written it
        await kv.cas(f"msg/{key}/{i}", NEVER, HOLE, create_if_not_exists=True)
    empty_since.pop(key, None)
    return True


async def read_from(key: str, start: int) -> list:
    start = max(0, start)
    log = cache.setdefault(key, [])
    # fill the cache up to start + MAX_POLL, stopping at the first slot not written yet
    while len(log) < start + MAX_POLL:
        i = len(log)
        try:
            value = await kv.read(f"msg/{key}/{i}")
        except KeyDoesNotExist:
            if await close_if_hole(key, i):
                continue
            break
        # a concurrent poll may have filled slot i meanwhile (with the same, immutable slot)
        if len(log) == i:
            log.append(value)
    entries = []
    for offset in range(start, len(log)):
        if log[offset] != HOLE:
            entries.append([offset, log[offset][0]])
            if len(entries) == MAX_POLL:
                break
    return entries


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
