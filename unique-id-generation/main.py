#!/usr/bin/env -S sh -c 'r=$(dirname "$0")/..; [ -x "$r/.venv/bin/python" ] || "$r/scripts/setup.sh" >&2 || exit 1; exec "$r/.venv/bin/python" "$0" "$@"'
"""Challenge 2: globally unique ids, available under partitions.

Two backends, chosen by a bare word argument (``main.py local``), ``--backend`` or the
``UNIQUE_IDS_BACKEND`` environment variable:

``redis`` (default)
    ``INCR`` on one Redis key gives numeric ids. Redis is reached at ``REDIS_URL`` (default
    ``redis://127.0.0.1:6379/0``) through redis-py's asyncio client, so a slow Redis never blocks
    the node. The node fetches ids ahead (``--block``/``UNIQUE_IDS_BLOCK`` ids per ``INCRBY``,
    default 16, refilled in the background once half are used) so that a request rarely waits on
    Redis. When it has no id left and Redis cannot answer, it replies error 11
    (temporarily-unavailable) and keeps serving. The increment runs in a Lua script that first
    checks a dataset token the nodes adopted when they first reached Redis: a Redis that restarted
    without its data has no token, so the node refuses (error 11) instead of handing out ids from 1
    again.

``local`` (coordination-free)
    ``<node id>-<boot epoch>-<sequence>``: node ids are unique within a cluster, the boot epoch
    (wall-clock microseconds at start plus 24 random bits, base 36) differs between two starts of the
    same node, and the sequence counts up within one start. No messages, no shared state.

The node writes only protocol lines to stdout; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from common import ErrorCode, Message, Node, RPCError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_KEY = "gossip-glomers:unique-ids"
DEFAULT_BLOCK = 16
#: How long one Redis call may take before the node answers error 11 (well under the client's 5 s).
REDIS_TIMEOUT_S = 0.5

# KEYS[1] counter, KEYS[2] dataset token; ARGV[1] the token this node adopted, ARGV[2] block size.
# Returns the last id of the new block, or -1 when the dataset is not the one the node started with.
_INCRBY_IF_SAME_DATASET = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return redis.call('INCRBY', KEYS[1], ARGV[2])
end
return -1
"""
# Adopt the dataset token, creating it if this is the first node to reach this Redis.
_ADOPT_TOKEN = """
local token = redis.call('GET', KEYS[1])
if not token then
  redis.call('SET', KEYS[1], ARGV[1])
  token = ARGV[1]
end
return token
"""


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(digits[r])
        if n == 0:
            return "".join(reversed(out))


class LocalIds:
    """Coordination-free ids: unique across nodes (node id) and across restarts (boot epoch)."""

    def __init__(self, node: Node) -> None:
        # The start time makes a later start differ (a restart takes far longer than 1 µs); the
        # random bits cover a clock stepped backwards onto the very microsecond of an earlier start.
        epoch = _base36((node.wall_ns() // 1000 << 24) | node.random.getrandbits(24))
        node_id = node.node_id
        self.prefix = f"{node_id}-{epoch}-"
        self.sequence = itertools.count()

    def next_id(self) -> str:
        return f"{self.prefix}{next(self.sequence)}"


class RedisIds:
    """Numeric ids from ``INCRBY`` on one Redis key; error 11 whenever Redis cannot vouch for one.

    The node keeps a reserve of ids: each Redis call takes a block of ``block`` ids, and a new
    block is fetched in the background once half the reserve is used, so a request is answered
    without waiting for Redis. With ``block=1`` this is plain ``INCR`` with one id fetched ahead.
    Ids left in the reserve when the node stops are never handed out (gaps, never duplicates).
    """

    def __init__(self, url: str, key: str, block: int) -> None:
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            # one immediate retry covers a pooled connection that a Redis restart closed; more
            # would only delay the error 11 the client should get while Redis is down
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
        )
        self.counter_key = key
        self.token_key = f"{key}:dataset"
        self.token: bytes | None = None
        self.block = block
        self._adopt = self.client.register_script(_ADOPT_TOKEN)
        self._incr = self.client.register_script(_INCRBY_IF_SAME_DATASET)
        self._adopting: asyncio.Lock = asyncio.Lock()
        #: reserved ids: closed ranges [lo, hi], in the order Redis handed them out
        self._reserve: deque[list[int]] = deque()
        self._available = 0
        #: the block fetch in flight (its result is an error text, or None on success)
        self._fetching: asyncio.Task[str | None] | None = None

    async def adopt_dataset(self) -> None:
        async with self._adopting:
            if self.token is None:
                self.token = await self._adopt(keys=[self.token_key], args=[secrets.token_hex(16)])

    async def _fetch_block(self) -> str | None:
        try:
            if self.token is None:
                await self.adopt_dataset()
            hi = await self._incr(keys=[self.counter_key, self.token_key], args=[self.token, self.block])
        except (TimeoutError, RedisError, OSError) as e:
            # A lost reply may have burnt a block; none of its ids was handed out, so every
            # observer sees at most a gap: "did not happen" holds, which error 11 claims.
            return f"redis unavailable: {e}"
        finally:
            self._fetching = None
        if hi < 0:
            return "redis lost the id counter (restarted without its data); refusing to repeat ids"
        self._reserve.append([hi - self.block + 1, hi])
        self._available += self.block
        return None

    def _start_fetch(self) -> asyncio.Task[str | None]:
        if self._fetching is None:
            self._fetching = asyncio.ensure_future(self._fetch_block())
        return self._fetching

    async def prefetch(self) -> str | None:
        """Fetch a block now unless ids are reserved; the error text if that failed."""
        return None if self._available else await self._start_fetch()

    async def next_id(self) -> int:
        while not self._available:
            error = await self._start_fetch()
            if error is not None:
                raise RPCError(ErrorCode.TEMPORARILY_UNAVAILABLE, error)
        first = self._reserve[0]
        value = first[0]
        first[0] += 1
        if first[0] > first[1]:
            self._reserve.popleft()
        self._available -= 1
        if self._available * 2 <= self.block:
            self._start_fetch()  # refill in the background; a failure shows up when it is needed
        return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    backends = ["redis", "local"]
    # The runner passes only words that do not start with "-" to the node, so the backend is also
    # accepted as a bare word: `--bin main.py local`.
    parser.add_argument("backend_word", nargs="?", choices=backends, metavar="{redis,local}")
    parser.add_argument("--backend", choices=backends, default=os.environ.get("UNIQUE_IDS_BACKEND", "redis"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--redis-key", default=os.environ.get("UNIQUE_IDS_REDIS_KEY", DEFAULT_KEY))
    parser.add_argument(
        "--block",
        type=int,
        default=int(os.environ.get("UNIQUE_IDS_BLOCK", DEFAULT_BLOCK)),
        help="ids taken from Redis per call (1: one INCR per id, fetched one id ahead)",
    )
    args = parser.parse_args(argv)
    if args.block < 1:
        parser.error("--block must be at least 1")
    backend = args.backend_word or args.backend

    node = Node()
    if backend == "local":
        local: LocalIds | None = None

        @node.on_init
        def init() -> None:
            nonlocal local
            local = LocalIds(node)

        @node.handler("generate")
        def generate_local(msg: Message) -> dict[str, Any]:
            assert local is not None  # init always comes first
            return {"type": "generate_ok", "id": local.next_id()}

    else:
        ids = RedisIds(args.redis_url, args.redis_key, args.block)

        @node.on_init
        def init() -> None:
            # Adopt the dataset token and reserve the first ids before the first request.
            async def prefetch() -> None:
                error = await ids.prefetch()
                if error is not None:
                    node.log(f"{error}; will retry on demand")

            node.spawn(prefetch())

        @node.handler("generate")
        async def generate_redis(msg: Message) -> dict[str, Any]:
            return {"type": "generate_ok", "id": await ids.next_id()}

    node.run()


if __name__ == "__main__":
    main()
