"""The WASI preview1 functions a node program imports, answered by the runner itself.

A WebAssembly node observes the world only through these calls: the clocks, stdin, stdout and
stderr, randomness, its arguments and environment, and waiting (``poll_oneoff``). :class:`WasiHost`
defines them over wasmtime's ``Linker``; what "now", "wait" and "write" mean is its subclass's:
the simulation (:mod:`harness.wasm.simnode`: virtual time, the simulation's network) or a real
process (:mod:`harness.wasm.__main__`: the real clock, the process's own fds).

Layouts and numbers follow the preview1 witx (WebAssembly/WASI, legacy/preview1/witx/
typenames.witx and wasi_snapshot_preview1.witx). Why stdin must be non-blocking for Go: Go's
``syscall/fs_wasip1.go`` sets fds 0-2 non-blocking at start, and ``runtime/netpoll_wasip1.go``
then waits for stdin and its next timer in one ``poll_oneoff``; a host that refuses
``fd_fdstat_set_flags`` (as stock WASI does for stdio) leaves a Go node deaf until stdin closes.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from harness.wasm.files import FILETYPE_DIRECTORY, FILETYPE_REGULAR, PREOPEN_FD, DataDir

__all__ = ["NodeExit", "WasiHost"]

# errno (typenames.witx)
SUCCESS = 0
EAGAIN = 6
EBADF = 8
EINVAL = 28
ENOSYS = 52
ESPIPE = 70

_U64 = (1 << 64) - 1

#: a call that waits: called again (with whether its deadline passed) until it returns an errno
Step = Callable[[bool], "int | None"]
RIGHT_FD_WRITE = 1 << 6

# clockid
CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME = 2
CLOCK_THREAD_CPUTIME = 3

# eventtype / subscription tags
EVENT_CLOCK = 0
EVENT_FD_READ = 1
EVENT_FD_WRITE = 2
SUBCLOCK_ABSTIME = 1
EVENTRWFLAGS_HANGUP = 1

FDFLAG_NONBLOCK = 4
FILETYPE_CHARACTER_DEVICE = 2
ALL_RIGHTS = (1 << 30) - 1

#: a monotonic clock that never reads zero: Go's runtime throws "nanotime returning zero"
#: (runtime/proc.go, main) if its first reading is 0, which virtual time 0 would be
MONOTONIC_ORIGIN_NS = 1_000_000_000

_SUBSCRIPTION = struct.Struct("<QB7xIxxxxQQH6x")  # userdata, tag, (clock id | fd), timeout, precision, flags
_SUB_SIZE = 48
_EVENT = struct.Struct("<QHB5xQH6x")  # userdata, error, type, nbytes, flags
_EVENT_SIZE = 32

_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()
I32 = wasmtime.ValType.i32()
I64 = wasmtime.ValType.i64()


class NodeExit(Exception):
    """The program called ``proc_exit``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"proc_exit({code})")
        self.code = code


class WasiHost:
    """One program instance's WASI world. Subclasses give the clock, waiting and output:
    :meth:`now_ns`, :meth:`wall_ns`, :meth:`wait`, :meth:`write`, and feed :attr:`stdin`."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        random_bytes: Callable[[int], bytes],
        data_dir: DataDir | None = None,
    ) -> None:
        self.args = [a.encode() + b"\0" for a in argv]
        self.environ = [f"{k}={v}".encode() + b"\0" for k, v in env.items()]
        self.random_bytes = random_bytes
        #: the preopened data directory (fd 3), if any
        self.files = data_dir
        #: bytes delivered to stdin and not yet read
        self.stdin = bytearray()
        self.stdin_closed = False
        self.fdflags = {0: 0, 1: 0, 2: 0}
        self.memory: wasmtime.Memory | None = None
        self.store: wasmtime.Store | None = None
        #: names of imported functions this host does not implement that the program called
        self.unsupported_calls: list[str] = []
        #: what a host function raised (it reached the program as a trap)
        self.raised: BaseException | None = None
        self._callbacks: list[Any] = []
        self._ctx: Any = None
        self._memory_ref: Any = None
        self._view = memoryview(b"")
        self._view_size = -1

    # -- what a subclass gives ----------------------------------------------------------------

    def now_ns(self) -> int:
        """Monotonic time in ns."""
        raise NotImplementedError

    def wall_ns(self) -> int:
        """Wall-clock time in ns since the Unix epoch."""
        raise NotImplementedError

    def wait(self, deadline_ns: int | None, for_input: bool) -> bool:
        """Return once stdin has bytes (or closed) if ``for_input``, or ``deadline_ns`` (monotonic)
        has come: True in that case. May return early (the caller looks again)."""
        raise NotImplementedError

    def write(self, fd: int, data: bytes) -> None:
        """What the program wrote to stdout (1) or stderr (2)."""
        raise NotImplementedError

    def refill(self) -> None:
        """Take in whatever input is there now, without waiting (a real process reads its fd)."""

    def on_unsupported(self, name: str) -> None:
        """The program called an imported WASI function this host answers with ENOSYS."""

    # -- wiring ---------------------------------------------------------------------------------

    IMPLEMENTED: tuple[tuple[str, tuple[wasmtime.ValType, ...], tuple[wasmtime.ValType, ...]], ...] = (
        ("args_get", (I32, I32), (I32,)),
        ("args_sizes_get", (I32, I32), (I32,)),
        ("environ_get", (I32, I32), (I32,)),
        ("environ_sizes_get", (I32, I32), (I32,)),
        ("clock_res_get", (I32, I32), (I32,)),
        ("clock_time_get", (I32, I64, I32), (I32,)),
        ("fd_close", (I32,), (I32,)),
        ("fd_fdstat_get", (I32, I32), (I32,)),
        ("fd_fdstat_set_flags", (I32, I32), (I32,)),
        ("fd_prestat_get", (I32, I32), (I32,)),
        ("fd_prestat_dir_name", (I32, I32, I32), (I32,)),
        ("fd_read", (I32, I32, I32, I32), (I32,)),
        ("fd_write", (I32, I32, I32, I32), (I32,)),
        ("poll_oneoff", (I32, I32, I32, I32), (I32,)),
        ("proc_exit", (I32,), ()),
        ("random_get", (I32, I32), (I32,)),
        ("sched_yield", (), (I32,)),
        # the data directory
        ("fd_pread", (I32, I32, I32, I64, I32), (I32,)),
        ("fd_pwrite", (I32, I32, I32, I64, I32), (I32,)),
        ("fd_seek", (I32, I64, I32, I32), (I32,)),
        ("fd_tell", (I32, I32), (I32,)),
        ("fd_sync", (I32,), (I32,)),
        ("fd_datasync", (I32,), (I32,)),
        ("fd_filestat_get", (I32, I32), (I32,)),
        ("fd_filestat_set_size", (I32, I64), (I32,)),
        ("fd_readdir", (I32, I32, I32, I64, I32), (I32,)),
        ("path_open", (I32, I32, I32, I32, I32, I64, I64, I32, I32), (I32,)),
        ("path_filestat_get", (I32, I32, I32, I32, I32), (I32,)),
        ("path_create_directory", (I32, I32, I32), (I32,)),
        ("path_remove_directory", (I32, I32, I32), (I32,)),
        ("path_unlink_file", (I32, I32, I32), (I32,)),
        ("path_rename", (I32, I32, I32, I32, I32, I32), (I32,)),
    )

    def linker(self, engine: wasmtime.Engine, module: wasmtime.Module) -> wasmtime.Linker:
        """A linker that answers every function ``module`` imports from WASI preview1 with this
        host's (ENOSYS for those it does not implement). Raises ValueError naming any import that
        is not a WASI preview1 function."""
        linker = wasmtime.Linker(engine)
        implemented = {name for name, _, _ in self.IMPLEMENTED}
        foreign = []
        for imp in module.imports:
            if imp.module != "wasi_snapshot_preview1" or not isinstance(imp.type, wasmtime.FuncType):
                foreign.append(f"{imp.module}.{imp.name}")
            elif imp.name not in implemented:
                ty = imp.type
                stub = self._unsupported(imp.name or "", ty)
                self._define(linker, imp.name or "", tuple(ty.params), tuple(ty.results), stub)
        if foreign:
            raise ValueError(
                "it imports " + ", ".join(foreign) + ", which are not WASI preview1 functions "
                "(only wasi_snapshot_preview1 is provided: build with GOOS=wasip1 or --target wasm32-wasip1)"
            )
        for name, params, results in self.IMPLEMENTED:
            self._bind(linker, name, params, results)
        return linker

    def _bind(
        self,
        linker: wasmtime.Linker,
        name: str,
        params: tuple[wasmtime.ValType, ...],
        results: tuple[wasmtime.ValType, ...],
    ) -> None:
        """Define the implemented import ``name`` (a host that suspends calls rather than blocking
        binds ``fd_read`` and ``poll_oneoff`` its own way)."""
        self._define(linker, name, params, results, getattr(self, name))

    def _define(
        self,
        linker: wasmtime.Linker,
        name: str,
        params: tuple[wasmtime.ValType, ...],
        results: tuple[wasmtime.ValType, ...],
        fn: Callable[..., Any],
    ) -> None:
        """``fn`` as the import ``name``, through wasmtime's unchecked (raw values) callback: a
        host call is a node's hottest path, and wasmtime-py's checked trampoline converts every
        argument through typed wrappers. An exception is kept in :attr:`raised` and becomes a
        trap; :meth:`run` raises it again once the trap reaches Python."""
        wide = tuple(p == I64 for p in params)
        count = len(params)
        has_result = bool(results)
        result_wide = has_result and results[0] == I64
        trap_new = ffi.wasmtime_trap_new

        @ffi.wasmtime_func_unchecked_callback_t
        def callback(_env: Any, _caller: Any, vals: Any, _n: int) -> int:
            try:
                args = [vals[k].i64 if wide[k] else vals[k].i32 & 0xFFFFFFFF for k in range(count)]
                result = fn(*args)
                if has_result:
                    if result_wide:
                        vals[0].i64 = result
                    else:
                        vals[0].i32 = result
                return 0
            except BaseException as e:
                self.raised = e
                text = f"host function {name}: {e!r}".encode()
                return ctypes.cast(trap_new(text, len(text)), ctypes.c_void_p).value or 0

        self._link(linker, name, params, results, ffi.wasmtime_linker_define_func_unchecked, callback)

    def _link(
        self,
        linker: wasmtime.Linker,
        name: str,
        params: tuple[wasmtime.ValType, ...],
        results: tuple[wasmtime.ValType, ...],
        define: Callable[..., Any],
        raw: Any,
    ) -> None:
        """Define WASI's ``name`` on ``linker`` through the C API's ``define`` (plain or async)
        with the ctypes callback ``raw``, kept alive here: the C side holds a bare pointer."""
        ty = wasmtime.FuncType(list(params), list(results))
        self._callbacks += [raw, ty]
        module_name, encoded = b"wasi_snapshot_preview1", name.encode()
        error = define(
            linker.ptr(),
            module_name,
            len(module_name),
            encoded,
            len(encoded),
            ty.ptr(),
            raw,
            None,
            _NO_FINALIZER,
        )
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)

    def run(self, store: wasmtime.Store, memory: wasmtime.Memory, start: wasmtime.Func) -> None:
        """Run the program's ``_start`` to its end. Raises what a host function raised (NodeExit
        for proc_exit), else wasmtime's Trap."""
        self.store = store
        self.memory = memory
        self._ctx = store._context()
        self._memory_ref = ctypes.byref(memory._memory)
        try:
            start(store)
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            raised, self.raised = self.raised, None
            if raised is not None:
                raise raised from None
            raise

    def _unsupported(self, name: str, ty: wasmtime.FuncType) -> Callable[..., Any]:
        returns_errno = [str(r) for r in ty.results] == ["i32"]

        def call(*_args: Any) -> int:
            if name not in self.unsupported_calls:
                self.unsupported_calls.append(name)
                self.on_unsupported(name)
            if not returns_errno:
                raise RuntimeError(f"the program called WASI {name}, which this host does not provide")
            return ENOSYS

        return call

    # -- memory -----------------------------------------------------------------------------------

    def _mem(self) -> memoryview:
        """The instance's linear memory. Its base does not move while its size stays the same (a
        32-bit memory lives in a fixed reservation), so the view is rebuilt only after a grow."""
        size = ffi.wasmtime_memory_data_size(self._ctx, self._memory_ref)
        if size != self._view_size:
            address = ctypes.addressof(ffi.wasmtime_memory_data(self._ctx, self._memory_ref).contents)
            self._view = memoryview((ctypes.c_char * size).from_address(address)).cast("B")
            self._view_size = size
        return self._view

    # -- the functions ------------------------------------------------------------------------------

    def _put_strings(self, items: list[bytes], ptrs: int, buf: int) -> int:
        mem = self._mem()
        for k, item in enumerate(items):
            struct.pack_into("<I", mem, ptrs + 4 * k, buf)
            mem[buf : buf + len(item)] = item
            buf += len(item)
        return SUCCESS

    def _put_sizes(self, items: list[bytes], count_out: int, size_out: int) -> int:
        mem = self._mem()
        struct.pack_into("<I", mem, count_out, len(items))
        struct.pack_into("<I", mem, size_out, sum(len(i) for i in items))
        return SUCCESS

    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._put_strings(self.args, argv, argv_buf)

    def args_sizes_get(self, count_out: int, size_out: int) -> int:
        return self._put_sizes(self.args, count_out, size_out)

    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._put_strings(self.environ, environ, environ_buf)

    def environ_sizes_get(self, count_out: int, size_out: int) -> int:
        return self._put_sizes(self.environ, count_out, size_out)

    def clock_res_get(self, clock_id: int, out: int) -> int:
        struct.pack_into("<Q", self._mem(), out, 1)
        return SUCCESS

    def clock_time_get(self, clock_id: int, precision: int, out: int) -> int:
        if clock_id == CLOCK_REALTIME:
            now = self.wall_ns()
        elif clock_id in (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME):
            now = MONOTONIC_ORIGIN_NS + self.now_ns()
        else:
            return EINVAL
        struct.pack_into("<Q", self._mem(), out, now)
        return SUCCESS

    def fd_close(self, fd: int) -> int:
        if fd in self.fdflags or (self.files is not None and fd == PREOPEN_FD):
            return SUCCESS
        return self.files.close(fd) if self.files is not None else EBADF

    def fd_fdstat_get(self, fd: int, out: int) -> int:
        if fd in self.fdflags:
            kind, flags = FILETYPE_CHARACTER_DEVICE, self.fdflags[fd]
        else:
            entry = self.files.opened(fd) if self.files is not None else None
            if entry is None:
                return EBADF
            kind, flags = (FILETYPE_DIRECTORY if entry.is_dir else FILETYPE_REGULAR), entry.flags
        struct.pack_into("<BxHxxxxQQ", self._mem(), out, kind, flags, ALL_RIGHTS, ALL_RIGHTS)
        return SUCCESS

    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        if fd in self.fdflags:
            self.fdflags[fd] = flags
            return SUCCESS
        entry = self.files.files.get(fd) if self.files is not None else None
        if entry is None:
            return EBADF
        entry.flags, entry.append = flags, bool(flags & 1)
        return SUCCESS

    def fd_prestat_get(self, fd: int, out: int) -> int:
        if self.files is None or fd != PREOPEN_FD:
            return EBADF  # the end of the list of preopened directories
        struct.pack_into("<BxxxI", self._mem(), out, 0, len(self.files.name))
        return SUCCESS

    def fd_prestat_dir_name(self, fd: int, path: int, path_len: int) -> int:
        if self.files is None or fd != PREOPEN_FD:
            return EBADF
        name = self.files.name[:path_len]
        self._mem()[path : path + len(name)] = name
        return SUCCESS

    #: where a suspended call waits: (monotonic deadline or None, for stdin input)
    parked_on: tuple[int | None, bool] = (None, False)

    def fd_read_begin(self, fd: int, iovs: int, iovs_len: int, nread_out: int) -> int | Step:
        """``fd_read``: an errno now, or (a blocking read of empty stdin: Rust's std) a step to
        call again once input came; see :meth:`_suspending`."""
        if fd != 0:
            return self._file_read(fd, iovs, iovs_len, None, nread_out)
        if not self.stdin and not self.stdin_closed:
            self.refill()
        if self.stdin or self.stdin_closed:
            return self._read_stdin(iovs, iovs_len, nread_out)
        if self.fdflags[0] & FDFLAG_NONBLOCK:
            return EAGAIN
        self.parked_on = (None, True)

        def step(_timed_out: bool) -> int | None:
            if self.stdin or self.stdin_closed:
                return self._read_stdin(iovs, iovs_len, nread_out)
            return None

        return step

    def _read_stdin(self, iovs: int, iovs_len: int, nread_out: int) -> int:
        mem = self._mem()
        total = 0
        data = self.stdin
        for k in range(iovs_len):
            buf, length = struct.unpack_from("<II", mem, iovs + 8 * k)
            chunk = data[total : total + length]
            mem[buf : buf + len(chunk)] = chunk
            total += len(chunk)
            if total >= len(data):
                break
        del data[:total]
        struct.pack_into("<I", mem, nread_out, total)
        return SUCCESS

    def _suspending(self, outcome: int | Step) -> int:
        """A call that may wait, made synchronous: wait (:meth:`wait`) until its step is done.
        The simulation does not block: it suspends the call instead (harness.wasm.simnode)."""
        timed_out = False
        while not isinstance(outcome, int):
            deadline, for_input = self.parked_on
            timed_out = self.wait(deadline, for_input) and deadline is not None
            done = outcome(timed_out)
            if done is not None:
                return done
        return outcome

    def fd_read(self, fd: int, iovs: int, iovs_len: int, nread_out: int) -> int:
        return self._suspending(self.fd_read_begin(fd, iovs, iovs_len, nread_out))

    def _gather(self, iovs: int, iovs_len: int) -> bytes:
        mem = self._mem()
        parts = []
        for k in range(iovs_len):
            buf, length = struct.unpack_from("<II", mem, iovs + 8 * k)
            parts.append(bytes(mem[buf : buf + length]))
        return b"".join(parts)

    def fd_write(self, fd: int, iovs: int, iovs_len: int, nwritten_out: int) -> int:
        if fd not in (1, 2):
            return self._file_write(fd, iovs, iovs_len, None, nwritten_out)
        data = self._gather(iovs, iovs_len)
        self.write(fd, data)
        struct.pack_into("<I", self._mem(), nwritten_out, len(data))
        return SUCCESS

    # -- the data directory ---------------------------------------------------------------------------

    def _file_read(self, fd: int, iovs: int, iovs_len: int, offset: int | None, nread_out: int) -> int:
        if self.files is None:
            return EBADF
        mem = self._mem()
        wanted = [struct.unpack_from("<II", mem, iovs + 8 * k) for k in range(iovs_len)]
        data = self.files.read(fd, sum(length for _, length in wanted), offset)
        if isinstance(data, int):
            return data
        at = 0
        for buf, length in wanted:
            chunk = data[at : at + length]
            mem[buf : buf + len(chunk)] = chunk
            at += len(chunk)
        struct.pack_into("<I", mem, nread_out, len(data))
        return SUCCESS

    def _file_write(self, fd: int, iovs: int, iovs_len: int, offset: int | None, nwritten_out: int) -> int:
        if self.files is None:
            return EBADF
        data = self._gather(iovs, iovs_len)
        status = self.files.write(fd, data, offset)
        if status == SUCCESS:
            struct.pack_into("<I", self._mem(), nwritten_out, len(data))
        return status

    def fd_pread(self, fd: int, iovs: int, iovs_len: int, offset: int, nread_out: int) -> int:
        return self._file_read(fd, iovs, iovs_len, offset & _U64, nread_out)

    def fd_pwrite(self, fd: int, iovs: int, iovs_len: int, offset: int, nwritten_out: int) -> int:
        return self._file_write(fd, iovs, iovs_len, offset & _U64, nwritten_out)

    def fd_seek(self, fd: int, delta: int, whence: int, out: int) -> int:
        if self.files is None or fd < PREOPEN_FD:
            return ESPIPE if fd < PREOPEN_FD else EBADF
        result = self.files.seek(fd, delta, whence)
        if isinstance(result, int):
            return result
        struct.pack_into("<Q", self._mem(), out, result[1])
        return SUCCESS

    def fd_tell(self, fd: int, out: int) -> int:
        return self.fd_seek(fd, 0, 1, out)

    def fd_sync(self, fd: int) -> int:
        if fd in self.fdflags:
            return SUCCESS
        return self.files.sync(fd) if self.files is not None else EBADF

    def fd_datasync(self, fd: int) -> int:
        return self.fd_sync(fd)

    def fd_filestat_get(self, fd: int, out: int) -> int:
        entry = self.files.opened(fd) if self.files is not None else None
        if self.files is None or entry is None:
            return EBADF
        return self.files.filestat(entry.path, lambda packed: self._put(out, packed))

    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        return self.files.set_size(fd, size & _U64) if self.files is not None else EBADF

    def fd_readdir(self, fd: int, buf: int, buf_len: int, cookie: int, bufused_out: int) -> int:
        if self.files is None:
            return EBADF
        entries = self.files.readdir(fd, cookie & _U64)
        if isinstance(entries, int):
            return entries
        data = b"".join(entries)[:buf_len]  # a full buffer tells the reader to call again
        self._put(buf, data)
        struct.pack_into("<I", self._mem(), bufused_out, len(data))
        return SUCCESS

    def _put(self, address: int, data: bytes) -> None:
        self._mem()[address : address + len(data)] = data

    def _path(self, ptr: int, length: int) -> bytes:
        return bytes(self._mem()[ptr : ptr + length])

    def path_open(
        self,
        dirfd: int,
        _lookupflags: int,
        path: int,
        path_len: int,
        oflags: int,
        rights_base: int,
        _rights_inheriting: int,
        fdflags: int,
        fd_out: int,
    ) -> int:
        if self.files is None:
            return EBADF
        writable = bool(rights_base & RIGHT_FD_WRITE)
        status, fd = self.files.open(dirfd, self._path(path, path_len), oflags, fdflags, writable)
        if status == SUCCESS:
            struct.pack_into("<I", self._mem(), fd_out, fd)
        return status

    def path_filestat_get(self, dirfd: int, _flags: int, path: int, path_len: int, out: int) -> int:
        if self.files is None:
            return EBADF
        where = self.files.resolve(dirfd, self._path(path, path_len))
        if isinstance(where, int):
            return where
        return self.files.filestat(where, lambda packed: self._put(out, packed))

    def path_create_directory(self, dirfd: int, path: int, path_len: int) -> int:
        return self.files.mkdir(dirfd, self._path(path, path_len)) if self.files is not None else EBADF

    def path_remove_directory(self, dirfd: int, path: int, path_len: int) -> int:
        return self.files.rmdir(dirfd, self._path(path, path_len)) if self.files is not None else EBADF

    def path_unlink_file(self, dirfd: int, path: int, path_len: int) -> int:
        return self.files.unlink(dirfd, self._path(path, path_len)) if self.files is not None else EBADF

    def path_rename(self, dirfd: int, old: int, old_len: int, newdirfd: int, new: int, new_len: int) -> int:
        if self.files is None:
            return EBADF
        return self.files.rename(dirfd, self._path(old, old_len), newdirfd, self._path(new, new_len))

    def poll_oneoff_begin(self, in_: int, out: int, nsubscriptions: int, nevents_out: int) -> int | Step:
        """``poll_oneoff``: an errno now (some subscription is ready, or none can ever be), or a
        step to call again when stdin has input or the earliest clock subscription falls due
        (``parked_on`` says which); see :meth:`_suspending`."""
        if nsubscriptions == 0:
            return EINVAL
        self.refill()
        mem = self._mem()
        subs = [_SUBSCRIPTION.unpack_from(mem, in_ + _SUB_SIZE * k) for k in range(nsubscriptions)]
        now = self.now_ns()
        deadline: int | None = None
        for _userdata, tag, clock_id, timeout, _precision, flags in subs:
            if tag == EVENT_CLOCK:
                if flags & SUBCLOCK_ABSTIME:
                    due = timeout - (
                        self.wall_ns() - now if clock_id == CLOCK_REALTIME else MONOTONIC_ORIGIN_NS
                    )
                else:
                    due = now + timeout
                deadline = due if deadline is None else min(deadline, due)
        wants_input = any(tag == EVENT_FD_READ and fd == 0 for _, tag, fd, *_ in subs)

        def step(timed_out: bool) -> int | None:
            events = []
            for userdata, tag, fd, *_ in subs:
                if tag == EVENT_FD_READ:
                    if fd != 0:
                        events.append((userdata, EBADF, tag, 0, 0))
                    elif self.stdin or self.stdin_closed:
                        hangup = EVENTRWFLAGS_HANGUP * self.stdin_closed
                        events.append((userdata, SUCCESS, tag, len(self.stdin), hangup))
                elif tag == EVENT_FD_WRITE:
                    events.append((userdata, SUCCESS if fd in (1, 2) else EBADF, tag, 0, 0))
            if deadline is not None and (timed_out or self.now_ns() >= deadline):
                events += [(u, SUCCESS, t, 0, 0) for u, t, *_ in subs if t == EVENT_CLOCK]
            if not events:
                return None
            mem = self._mem()
            for k, event in enumerate(events):
                _EVENT.pack_into(mem, out + _EVENT_SIZE * k, *event)
            struct.pack_into("<I", mem, nevents_out, len(events))
            return SUCCESS

        done = step(False)
        if done is not None:
            return done
        if deadline is None and not wants_input:
            return EINVAL  # nothing could ever wake it
        self.parked_on = (deadline, wants_input)
        return step

    def poll_oneoff(self, in_: int, out: int, nsubscriptions: int, nevents_out: int) -> int:
        return self._suspending(self.poll_oneoff_begin(in_, out, nsubscriptions, nevents_out))

    def proc_exit(self, code: int) -> None:
        raise NodeExit(code)

    def random_get(self, buf: int, length: int) -> int:
        self._mem()[buf : buf + length] = self.random_bytes(length)
        return SUCCESS

    def sched_yield(self) -> int:
        return SUCCESS
