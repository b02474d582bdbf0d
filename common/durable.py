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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from common.node import Node

__all__ = ["Journal", "decode_records", "encode_record", "node_dir"]

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
    record; the node commits the buffer before it writes anything to stdout.
    """

    def __init__(
        self, node: Node, name: str, apply: Callable[[Any], Any], *, fsync: bool | None = None
    ) -> None:
        self.node = node
        self.name = name
        self.apply = apply
        self.fsync = os.environ.get("MAELSTROM_FSYNC", "1") != "0" if fsync is None else fsync
        self.path: Path | None = None
        self.replayed = 0  # records read back at init (0 on a fresh start)
        self._fd = -1
        self._buffer = bytearray()
        node.on_init(self.open)
        node.add_commit_hook(self.commit)

    def open(self) -> None:
        if self._fd >= 0:  # a second init: the records are replayed already
            return
        self.path = node_dir(self.node) / f"{self.name}.journal"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        for record in self._read_back():
            self.apply(record)
            self.replayed += 1

    def _read_back(self) -> Iterator[Any]:
        with open(self._fd, "rb", closefd=False) as f:
            data = f.read()
        records, valid = decode_records(data)
        if valid < len(data):
            os.ftruncate(self._fd, valid)  # a torn last record: cut it off before appending
        yield from records

    def append(self, record: Any) -> None:
        if self._fd < 0:
            raise RuntimeError(f"journal {self.name!r} is not open yet (it opens at init)")
        self._buffer += encode_record(record)

    def commit(self) -> None:
        """Write and sync every buffered record (the node calls this before each stdout write)."""
        if not self._buffer:
            return
        view = memoryview(self._buffer)
        while view:
            view = view[os.write(self._fd, view) :]
        del view
        self._buffer.clear()
        if self.fsync:
            (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.commit()
            os.close(self._fd)
            self._fd = -1
