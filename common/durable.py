"""Durable node state: an append-only, fsynced journal per node, replayed on restart.

A program that acknowledges state keeps it in memory as before and also appends one record per
change to a ``Journal``. The node never lets a reply (or any other line) out before the records
appended so far are on disk: ``Node`` calls ``Journal.commit`` before every stdout write, so one
write + fdatasync covers every record of that event-loop turn (group commit). A SIGKILLed node
restarted with the same node id replays its journal in ``init`` before it answers ``init_ok``.
So whatever a node said, to a client or a peer, it still knows after a crash.

Record format (``encode_record`` / ``decode_records``, sans-I/O): a 4-byte little-endian payload
length, the payload's 4-byte CRC-32, then the payload, a JSON value (msgspec): JSON, not msgpack,
because a record holds what clients sent, and JSON integers may exceed msgpack's 64 bits. Replay stops at
the first record that is incomplete or fails its CRC (a torn last write) and the file is cut
back there, so the next append follows a whole record.

Where the files live (``node_dir``): ``<dir>/<node id>/<name>.journal`` with ``<dir>``:

1. ``node.data_dir`` when a program (or a test) set it;
2. else ``$MAELSTROM_DATA_DIR``: our runner sets it to ``<run dir>/node-data`` for every run, so
   a restarted node finds its files and the next run (or the next ``--test-count`` test) starts
   clean;
3. else (real Maelstrom, which gives no such directory) a directory under the system temp dir
   keyed by the parent process, i.e. the test runner: ``gossip-glomers-<uid>/run-<ppid>-<start
   time of ppid>``. Nodes restarted by the same runner share it; a later runner is another
   process and starts clean. Directories of runners that are gone are deleted when a node opens
   its journal. Trade-off: one runner process running several tests in a row (Maelstrom's
   ``--test-count``) would carry state from one test to the next; set ``MAELSTROM_DATA_DIR``
   per test there.

Compaction: a journal given a ``snapshot`` callback is rewritten once it holds at least
``compact_bytes`` and at least ``compact_ratio`` times what ``snapshot()`` encodes to. The
snapshot is records that ``apply`` rebuilds the live state from (so replay has one path, and a
compacted file is an ordinary journal). Steps, each safe to die after: write the records to
``<name>.journal.tmp`` and fsync it; rename it over the journal (atomic: a reader sees the old
file or the new one, each whole); fsync the directory (the rename survives a machine crash);
append to the new file from then on (and log the sizes on stderr, so a run's node logs show every
compaction). A ``.tmp`` left by a death before the rename is deleted at open. It runs inside
``commit``, right after the records are on disk, so the live state is what the journal holds.
The default threshold (``COMPACT_BYTES``, 64 MiB) is some hundred times what a node writes in a
60 s run at the official parameters, so no run compacts; ``MAELSTROM_COMPACT_BYTES`` sets
another. Every journal but Raft's has a snapshot (``engines.gossip``, ``engines.kafka``,
``engines.txn``, the g-counter's count); a journal whose records are little more than the state
they build (gossip's, kafka's) passes a lower ``compact_ratio``.

Durability: ``write`` alone survives SIGKILL (the page cache belongs to the kernel); ``fdatasync``
also survives a machine crash and costs about 0.2 ms per commit here. ``MAELSTROM_FSYNC=0`` skips
it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from common.node import Node

__all__ = [
    "COMPACT_BYTES",
    "COMPACT_RATIO",
    "Journal",
    "decode_records",
    "encode_record",
    "lose_as_sigkill",
    "node_dir",
]

#: a journal is compacted only from this size on (the largest one of the 14 reference runs and the
#: kill runs of issue 15 is 0.5 MB: txn 6a, n0)
COMPACT_BYTES = 64 << 20
#: ... and only when it is this many times the size of its snapshot
COMPACT_RATIO = 4.0
#: a snapshot that did not lead to a compaction is taken again only once the journal is this many
#: times larger: snapshots are then taken at sizes at least this factor apart, so those between two
#: compactions encode together at most 1 / (1 - 1 / CHECK_GROWTH) = 3 times the journal's size at
#: the last of them (for a snapshot no larger than the journal)
CHECK_GROWTH = 1.5

_HEADER = struct.Struct("<II")  # payload length, crc32(payload)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def encode_record(record: Any) -> bytes:
    """One framed record."""
    payload = _encode(record)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_records(data: bytes | memoryview) -> tuple[list[Any], int]:
    """The whole records at the start of ``data`` and the length they take (the rest is torn)."""
    view = memoryview(data)
    records: list[Any] = []
    pos = 0
    while pos + _HEADER.size <= len(view):
        length, crc = _HEADER.unpack_from(view, pos)
        end = pos + _HEADER.size + length
        if end > len(view):
            break
        payload = view[pos + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        try:
            records.append(_decode(payload))
        except msgspec.DecodeError:
            break
        pos = end
    return records, pos


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux: field 22 of /proc/pid/stat); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(run: str) -> bool:
    """Whether the runner a ``run-<pid>[-<start>]`` directory belongs to still runs."""
    parts = run.split("-")
    try:
        pid = int(parts[1])
    except (IndexError, ValueError):
        return True  # not ours to judge
    start = _start_time(pid)
    if start is not None:
        return len(parts) < 3 or parts[2] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _default_root() -> Path:
    base = Path(tempfile.gettempdir()) / f"gossip-glomers-{os.getuid() if hasattr(os, 'getuid') else 0}"
    ppid = os.getppid()
    start = _start_time(ppid)
    root = base / (f"run-{ppid}-{start}" if start else f"run-{ppid}")
    with contextlib.suppress(OSError):
        for old in base.iterdir():
            if old.name.startswith("run-") and old != root and not _alive(old.name):
                shutil.rmtree(old, ignore_errors=True)
    return root


def node_dir(node: Node) -> Path:
    """The directory for ``node``'s files (see the module docstring); created if missing."""
    if node.data_dir is not None:
        root = Path(node.data_dir)
    elif os.environ.get("MAELSTROM_DATA_DIR"):
        root = Path(os.environ["MAELSTROM_DATA_DIR"])
    else:
        root = _default_root()
    node_id = node.node_id
    if not node_id or "/" in node_id or node_id in (".", ".."):
        raise ValueError(f"no directory for node id {node_id!r}")
    path = root / node_id
    path.mkdir(parents=True, exist_ok=True)
    return path


class Journal:
    """An append-only journal of records for one node, opened and replayed at ``init``.

    ``apply(record)`` is called for every record on disk, in order, before ``init_ok``; create the
    journal before registering init hooks that need the replayed state. ``append`` buffers a
    record; the node commits the buffer before it writes anything to stdout. ``snapshot()``, if
    given, returns records from which ``apply`` rebuilds the live state; with it the journal is
    compacted (see the module docstring).
    """

    def __init__(
        self,
        node: Node,
        name: str,
        apply: Callable[[Any], Any],
        *,
        fsync: bool | None = None,
        snapshot: Callable[[], Iterable[Any]] | None = None,
        compact_bytes: int | None = None,
        compact_ratio: float = COMPACT_RATIO,
    ) -> None:
        self.node = node
        self.name = name
        self.apply = apply
        self.fsync = os.environ.get("MAELSTROM_FSYNC", "1") != "0" if fsync is None else fsync
        self.snapshot = snapshot
        if compact_bytes is None:  # MAELSTROM_COMPACT_BYTES: for tests, and to try it on a run
            compact_bytes = int(os.environ.get("MAELSTROM_COMPACT_BYTES", COMPACT_BYTES))
        self.compact_bytes = compact_bytes
        self.compact_ratio = compact_ratio
        self.path: Path | None = None
        self.replayed = 0  # records read back at init (0 on a fresh start)
        #: bytes in the journal file; compactions done by this process
        self.size = 0
        self.compactions = 0
        # the size at which to look at the snapshot next (it is not taken at every commit)
        self._check_at = compact_bytes
        self._fd = -1
        self._buffer = bytearray()
        node.on_init(self.open)
        node.add_commit_hook(self.commit)

    def open(self) -> None:
        if self._fd >= 0:  # a second init: the records are replayed already
            return
        self.path = node_dir(self.node) / f"{self.name}.journal"
        # a compaction that died before its rename: the journal itself is whole
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp_path())
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        for record in self._read_back():
            self.apply(record)
            self.replayed += 1

    def _tmp_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".tmp")

    def _read_back(self) -> Iterator[Any]:
        with open(self._fd, "rb", closefd=False) as f:
            data = f.read()
        records, valid = decode_records(data)
        if valid < len(data):
            os.ftruncate(self._fd, valid)  # a torn last record: cut it off before appending
        self.size = valid
        yield from records

    def append(self, record: Any) -> None:
        if self._fd < 0:
            raise RuntimeError(f"journal {self.name!r} is not open yet (it opens at init)")
        self._buffer += encode_record(record)

    def commit(self) -> None:
        """Write and sync every buffered record (the node calls this before each stdout write)."""
        if not self._buffer:
            return
        _write_all(self._fd, self._buffer)
        self.size += len(self._buffer)
        self._buffer.clear()
        if self.fsync:
            (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(self._fd)
        if self.snapshot is not None and self.size >= self._check_at:
            self._maybe_compact(self.snapshot)

    def _maybe_compact(self, snapshot: Callable[[], Iterable[Any]]) -> None:
        """Rewrite the journal as ``snapshot()`` if it is ``compact_ratio`` times larger."""
        data = b"".join(encode_record(r) for r in snapshot())
        # look again when the journal is ratio times this snapshot (the state may grow with the
        # journal: then the checks are geometrically apart and cost O(1) a byte) ...
        self._check_at = max(self.compact_bytes, int(self.compact_ratio * len(data)) + 1)
        if self.size < self.compact_ratio * len(data):
            # and not before it is CHECK_GROWTH times larger: a journal that stays just under
            # ratio times its growing snapshot would otherwise be snapshotted every few percent
            self._check_at = max(self._check_at, int(CHECK_GROWTH * self.size) + 1)
            return
        assert self.path is not None
        tmp = self._tmp_path()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as e:
            # the journal is untouched and whole: compaction is only an economy, so go on
            # appending (a full disk, say) and try again at twice the size
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._check_at = 2 * self.size
            self.node.log(f"journal {self.name}: compaction failed, journal kept as is: {e}")
            return
        if self.fsync:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        new_fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        old_fd, self._fd = self._fd, new_fd
        os.close(old_fd)
        # on stderr: rare (geometrically spaced), and what tells a run's node logs it happened
        self.node.log(f"journal {self.name}: compacted {self.size} -> {len(data)} bytes")
        self.size = len(data)
        self.compactions += 1

    def close(self) -> None:
        if self._fd >= 0:
            self.commit()
            os.close(self._fd)
            self._fd = -1

    def abandon(self) -> None:
        """What a SIGKILL does to the journal: records not yet written are gone, the fd is closed."""
        self._buffer.clear()  # in the process's memory only: gone with it
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _write_all(fd: int, data: bytes | bytearray) -> None:
    """``os.write`` until all of ``data`` is written (a write may take only part of it)."""
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view) :]


def lose_as_sigkill(node: Node) -> None:
    """For in-process kills (tests, the runner's simulation): every journal of ``node`` is
    abandoned as SIGKILL would leave it, and nothing more is committed."""
    for hook in node._commit_hooks:
        journal = getattr(hook, "__self__", None)
        if isinstance(journal, Journal):
            journal.abandon()
    node._commit_hooks.clear()
