"""The node's data directory (``MAELSTROM_DATA_DIR``) as a WASI preopened directory.

A node persists with ordinary file I/O: Go's ``os.OpenFile``/``Write``/``Sync`` become
``path_open``/``fd_write``/``fd_sync`` on the preopen (fd 3, named by the directory's own path, so
``os.Getenv("MAELSTROM_DATA_DIR") + "/x"`` resolves inside it; Go's ``syscall/fs_wasip1.go``
matches paths against preopen names). Files are real files in the run's node-data directory.

Durability under the simulation (``lose_unsynced``): every change to a file's content since that
file was last synced (``fd_sync``/``fd_datasync``) is journalled with what it overwrote, and a
kill undoes those changes, newest first: what a node wrote but never synced is lost, as after a
power cut. Creating, renaming and removing files and directories is durable at once (a
simplification: a real file system needs the directory synced too). In the simulation, file
times, inode and device numbers read 0, so nothing the node can stat depends on the real machine.

Layouts: preview1 witx (WebAssembly/WASI, legacy/preview1/witx/typenames.witx).
"""

from __future__ import annotations

import errno as host_errno
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DataDir"]

PREOPEN_FD = 3

# errno
SUCCESS = 0
EBADF = 8
EEXIST = 20
EINVAL = 28
EIO = 29
EISDIR = 31
ENOENT = 44
ENOTDIR = 54
ENOTEMPTY = 55
ESPIPE = 70
ENOTCAPABLE = 76

_ERRNO = {
    host_errno.ENOENT: ENOENT,
    host_errno.EEXIST: EEXIST,
    host_errno.EISDIR: EISDIR,
    host_errno.ENOTDIR: ENOTDIR,
    host_errno.ENOTEMPTY: ENOTEMPTY,
    host_errno.EBADF: EBADF,
    host_errno.EINVAL: EINVAL,
}

FILETYPE_DIRECTORY = 3
FILETYPE_REGULAR = 4
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = 1, 2, 4, 8
FDFLAG_APPEND = 1
WHENCE_SET, WHENCE_CUR, WHENCE_END = 0, 1, 2

_FILESTAT = struct.Struct("<QQB7xQQQQQ")  # dev, ino, filetype, nlink, size, atim, mtim, ctim


def _wasi_errno(e: OSError) -> int:
    return _ERRNO.get(e.errno or 0, EIO)


@dataclass
class _Open:
    path: Path
    is_dir: bool
    fd: int = -1  # the host fd of a regular file
    pos: int = 0
    append: bool = False
    flags: int = 0


@dataclass
class DataDir:
    """The preopened directory and the files the program opened in it."""

    root: Path
    #: journal changes until synced, so that :meth:`lose_unsynced` can undo them (simulation)
    simulated: bool
    files: dict[int, _Open] = field(default_factory=dict)
    #: per file: (offset, bytes overwritten, size before) of each change since its last sync
    unsynced: dict[Path, list[tuple[int, bytes, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.name = str(self.root).encode()

    # -- descriptors ----------------------------------------------------------------------------

    def opened(self, fd: int) -> _Open | None:
        if fd == PREOPEN_FD:
            return _Open(self.root, True)
        return self.files.get(fd)

    def resolve(self, dirfd: int, raw: bytes) -> Path | int:
        """The host path for ``raw`` relative to the directory ``dirfd``, or an errno; nothing
        outside the data directory is reachable."""
        base = self.opened(dirfd)
        if base is None:
            return EBADF
        if not base.is_dir:
            return ENOTDIR
        text = raw.decode("utf-8", "surrogateescape")
        if text.startswith("/"):
            return ENOTCAPABLE
        path = Path(os.path.normpath(base.path / text))
        if path != self.root and self.root not in path.parents:
            return ENOTCAPABLE
        return path

    def open(self, dirfd: int, raw: bytes, oflags: int, fdflags: int, writable: bool) -> tuple[int, int]:
        """(errno, new fd)."""
        path = self.resolve(dirfd, raw)
        if isinstance(path, int):
            return path, -1
        try:
            if path.is_dir():
                if oflags & (OFLAG_CREAT | OFLAG_EXCL) == OFLAG_CREAT | OFLAG_EXCL:
                    return EEXIST, -1
                entry = _Open(path, True)
            else:
                if oflags & OFLAG_DIRECTORY:
                    return (ENOTDIR if path.exists() else ENOENT), -1
                flags = os.O_RDWR if writable else os.O_RDONLY
                if oflags & OFLAG_CREAT:
                    flags |= os.O_CREAT
                if oflags & OFLAG_EXCL:
                    flags |= os.O_EXCL
                existed = path.exists()
                if oflags & OFLAG_TRUNC and existed:
                    self._change(path, 0, b"", truncate_to=0)
                    flags |= os.O_TRUNC
                elif not existed and oflags & OFLAG_CREAT and self.simulated:
                    self.unsynced.setdefault(path, [])
                entry = _Open(path, False, os.open(path, flags, 0o644), append=bool(fdflags & FDFLAG_APPEND))
                entry.flags = fdflags
        except OSError as e:
            return _wasi_errno(e), -1
        fd = PREOPEN_FD + 1
        while fd in self.files:
            fd += 1
        self.files[fd] = entry
        return SUCCESS, fd

    def close(self, fd: int) -> int:
        entry = self.files.pop(fd, None)
        if entry is None:
            return EBADF
        if entry.fd >= 0:
            os.close(entry.fd)
        return SUCCESS

    def close_all(self) -> None:
        for fd in list(self.files):
            self.close(fd)

    # -- content --------------------------------------------------------------------------------

    def _change(self, path: Path, offset: int, data: bytes, truncate_to: int | None = None) -> None:
        """Record what a write of ``data`` at ``offset`` (or a truncation) overwrites."""
        if not self.simulated:
            return
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if truncate_to is not None:
                    f.seek(truncate_to)
                    old = f.read()
                    offset = truncate_to
                else:
                    f.seek(offset)
                    old = f.read(len(data))
        except FileNotFoundError:
            size, old = 0, b""
        self.unsynced.setdefault(path, []).append((offset, old, size))

    def read(self, fd: int, size: int, offset: int | None) -> bytes | int:
        entry = self.files.get(fd)
        if entry is None:
            return EBADF
        if entry.is_dir:
            return EISDIR
        at = entry.pos if offset is None else offset
        data = os.pread(entry.fd, size, at)
        if offset is None:
            entry.pos += len(data)
        return data

    def write(self, fd: int, data: bytes, offset: int | None) -> int:
        entry = self.files.get(fd)
        if entry is None:
            return EBADF
        if entry.is_dir:
            return EISDIR
        if offset is not None:
            at = offset
        elif entry.append:
            at = os.fstat(entry.fd).st_size
        else:
            at = entry.pos
        self._change(entry.path, at, data)
        os.pwrite(entry.fd, data, at)
        if offset is None:
            entry.pos = at + len(data)
        return SUCCESS

    def seek(self, fd: int, delta: int, whence: int) -> int | tuple[int, int]:
        entry = self.files.get(fd)
        if entry is None:
            return EBADF
        if entry.is_dir:
            return ESPIPE
        base = {WHENCE_SET: 0, WHENCE_CUR: entry.pos, WHENCE_END: os.fstat(entry.fd).st_size}.get(whence)
        if base is None or base + delta < 0:
            return EINVAL
        entry.pos = base + delta
        return SUCCESS, entry.pos

    def set_size(self, fd: int, size: int) -> int:
        entry = self.files.get(fd)
        if entry is None or entry.is_dir:
            return EBADF
        self._change(entry.path, 0, b"", truncate_to=size)
        os.ftruncate(entry.fd, size)
        return SUCCESS

    def sync(self, fd: int) -> int:
        entry = self.opened(fd)
        if entry is None:
            return EBADF
        if entry.fd >= 0:
            if self.simulated:
                self.unsynced.pop(entry.path, None)  # durable now; a real fsync would only cost time
            else:
                os.fsync(entry.fd)
        return SUCCESS

    def lose_unsynced(self) -> None:
        """A kill: undo every change not synced, newest first; close the files."""
        self.close_all()
        for path, changes in self.unsynced.items():
            for offset, old, size in reversed(changes):
                try:
                    with open(path, "r+b") as f:
                        f.seek(offset)
                        f.write(old)
                        f.truncate(size)
                except FileNotFoundError:
                    pass
        self.unsynced.clear()

    # -- metadata -----------------------------------------------------------------------------------

    def filestat(self, path: Path, pack: Callable[[bytes], None]) -> int:
        try:
            st = os.stat(path)
        except OSError as e:
            return _wasi_errno(e)
        kind = FILETYPE_DIRECTORY if stat.S_ISDIR(st.st_mode) else FILETYPE_REGULAR
        if self.simulated:
            pack(_FILESTAT.pack(0, 0, kind, 1, st.st_size, 0, 0, 0))
        else:
            pack(
                _FILESTAT.pack(
                    st.st_dev,
                    st.st_ino,
                    kind,
                    st.st_nlink,
                    st.st_size,
                    st.st_atime_ns,
                    st.st_mtime_ns,
                    st.st_ctime_ns,
                )
            )
        return SUCCESS

    def readdir(self, fd: int, cookie: int) -> list[bytes] | int:
        """The directory's entries (dirent + name each) from ``cookie`` on, in name order."""
        entry = self.opened(fd)
        if entry is None:
            return EBADF
        if not entry.is_dir:
            return ENOTDIR
        names = sorted(os.listdir(entry.path))
        out = []
        for k, name in enumerate([".", "..", *names]):
            if k < cookie:
                continue
            kind = FILETYPE_DIRECTORY if k < 2 or (entry.path / name).is_dir() else FILETYPE_REGULAR
            raw = name.encode("utf-8", "surrogateescape")
            out.append(struct.pack("<QQIB3x", k + 1, 0, len(raw), kind) + raw)
        return out

    def mkdir(self, dirfd: int, raw: bytes) -> int:
        return self._path_op(dirfd, raw, os.mkdir)

    def rmdir(self, dirfd: int, raw: bytes) -> int:
        return self._path_op(dirfd, raw, os.rmdir)

    def unlink(self, dirfd: int, raw: bytes) -> int:
        def remove(path: Path) -> None:
            if path.is_dir():
                raise IsADirectoryError(host_errno.EISDIR, "is a directory")
            os.unlink(path)
            self.unsynced.pop(path, None)

        return self._path_op(dirfd, raw, remove)

    def rename(self, dirfd: int, old: bytes, newdirfd: int, new: bytes) -> int:
        src, dst = self.resolve(dirfd, old), self.resolve(newdirfd, new)
        if isinstance(src, int):
            return src
        if isinstance(dst, int):
            return dst
        try:
            os.rename(src, dst)
        except OSError as e:
            return _wasi_errno(e)
        if src in self.unsynced:
            self.unsynced[dst] = self.unsynced.pop(src)
        for entry in self.files.values():
            if entry.path == src:
                entry.path = dst
        return SUCCESS

    def _path_op(self, dirfd: int, raw: bytes, op: Callable[[Path], None]) -> int:
        path = self.resolve(dirfd, raw)
        if isinstance(path, int):
            return path
        try:
            op(path)
        except OSError as e:
            return _wasi_errno(e)
        return SUCCESS
