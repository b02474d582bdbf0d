"""A node's stderr log with a size limit: its beginning and its end, and a marker for what is dropped.

A node that writes stderr as fast as it can fills gigabytes in seconds (3.1 GB in a 10 s echo
run); Maelstrom keeps all of it. ``NodeLog`` keeps at most ``limit`` bytes on disk per node: the
first half of the limit goes straight to ``node-logs/<id>.log``; after that, the bytes go to two
rotating segment files beside it (``<id>.log.tail-a``/``-b``, each a quarter of the limit), so the
last quarter to half of the limit is always on disk and the memory used is one write buffer. At
``close`` the segments are appended to the log after one marker line that says how many bytes
were dropped, and removed. ``limit`` 0 means unlimited (the log is a plain file).

The limit comes from ``--node-log-limit`` or ``MAELSTROM_NODE_LOG_LIMIT`` (bytes, or with a
K/M/G suffix: binary units), default ``DEFAULT_LIMIT``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

__all__ = [
    "DEFAULT_LIMIT",
    "ENV_VAR",
    "TRUNCATED_FILE",
    "NodeLog",
    "default_limit",
    "format_size",
    "parse_size",
]

#: bytes kept per node log unless --node-log-limit or the environment says otherwise
DEFAULT_LIMIT = 64 << 20
ENV_VAR = "MAELSTROM_NODE_LOG_LIMIT"
#: in a run directory: {node id: {"total", "kept", "dropped", "limit"}} for each node log that was cut
TRUNCATED_FILE = "node-logs/truncated.json"
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    """``"64M"`` -> 67108864; ``"0"`` -> 0 (unlimited). Raises ValueError."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if m is None:
        raise ValueError(f"{text!r} is not a size (bytes, or a number with K, M or G)")
    return int(m[1]) * _UNITS[m[2].lower()]


def format_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def default_limit() -> int:
    """The limit from ``MAELSTROM_NODE_LOG_LIMIT``, else ``DEFAULT_LIMIT``. Raises ValueError."""
    text = os.environ.get(ENV_VAR)
    return DEFAULT_LIMIT if text in (None, "") else parse_size(text)


class NodeLog:
    """An append-only log file that keeps at most ``limit`` bytes (0: no limit); see the module."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.limit = limit
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 (closed in close)
        #: bytes written to this log, kept or not
        self.total = self._file.tell()
        self._head = limit - 2 * (limit // 4) if limit else 0
        self._segment_size = max(1, limit // 4)
        self._segments = [path.with_name(path.name + ".tail-a"), path.with_name(path.name + ".tail-b")]
        self._current: IO[bytes] | None = None  # the segment being written, once past the head
        self._current_index = 0
        self._current_bytes = 0
        #: whether the last byte written ends a line
        self.ends_line = True
        #: the last byte written into the head (the marker starts on a line of its own)
        self._head_last = b"\n"

    @property
    def truncating(self) -> bool:
        return self._current is not None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        self.ends_line = data[-1:] == b"\n"
        if self._current is None:
            room = self._head - self._file.tell() if self.limit else len(data)
            if len(data) <= room:
                self._file.write(data)
                self._file.flush()
                self._head_last = data[-1:]
                return
            if room > 0:
                self._file.write(data[:room])
                self._file.flush()
                self._head_last = data[room - 1 : room]
            data = data[room:]
            self._current = open(self._segments[0], "wb")  # noqa: SIM115 (closed in close)
        while data:
            room = self._segment_size - self._current_bytes
            if room <= 0:  # the older segment is now older than a whole segment: overwrite it
                self._current.close()
                self._current_index ^= 1
                self._current = open(self._segments[self._current_index], "wb")  # noqa: SIM115
                self._current_bytes = 0
                room = self._segment_size
            part = data[:room]
            self._current.write(part)
            self._current_bytes += len(part)
            data = data[room:]
        self._current.flush()

    def close(self) -> dict[str, int] | None:
        """Close the log; when bytes were dropped, put the kept end after a marker line and return
        ``{"total": written, "kept": on disk, "dropped": bytes dropped, "limit": limit}``."""
        if self._file.closed:
            return None
        if self._current is None:
            self._file.close()
            return None
        self._current.close()
        older = self._segments[self._current_index ^ 1]
        newer = self._segments[self._current_index]
        tail = (older.read_bytes() if older.exists() else b"") + newer.read_bytes()
        head = self._file.tell()
        if head + len(tail) == self.total:  # within the limit after all: nothing was dropped
            self._file.write(tail)
            self._file.close()
            for seg in self._segments:
                seg.unlink(missing_ok=True)
            return None
        cut = tail.find(b"\n")  # start the kept end at a line
        if 0 <= cut < len(tail) - 1:
            tail = tail[cut + 1 :]
        dropped = self.total - head - len(tail)
        newline = "" if self._head_last == b"\n" else "\n"
        marker = (
            f"{newline}--- node log truncated: {dropped} bytes ({format_size(dropped)}) dropped here, of "
            f"{self.total} written; kept the first {head} and the last {len(tail)} bytes "
            f"(--node-log-limit {self.limit}) ---\n"
        ).encode()
        self._file.write(marker)
        self._file.write(tail)
        self._file.close()
        for seg in self._segments:
            seg.unlink(missing_ok=True)
        return {
            "total": self.total,
            "kept": head + len(marker) + len(tail),
            "dropped": dropped,
            "limit": self.limit,
        }
