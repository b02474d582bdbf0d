"""``python -m harness.wasm node.wasm [args...]``: a WebAssembly node as a real process.

The runner starts this for ``--bin node.wasm`` without ``--sim``: the same WASI host as the
simulation's (:class:`harness.wasm.wasi.WasiHost`), on the real clock and this process's own
stdin, stdout and stderr, so one artifact can be compared across modes. It exits with the
program's exit status; a trap or a busy loop is reported on stderr with status 1.
"""

from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path

import wasmtime

from harness.wasm.engine import FUEL_PER_TURN, engine, load_module
from harness.wasm.files import DataDir
from harness.wasm.wasi import NodeExit, WasiHost


class ProcessHost(WasiHost):
    """WASI on the real clock and this process's fds."""

    def __init__(self, argv: list[str]) -> None:
        data_dir = os.environ.get("MAELSTROM_DATA_DIR")
        files = DataDir(Path(data_dir), simulated=False) if data_dir and os.path.isdir(data_dir) else None
        super().__init__(argv, dict(os.environ), os.urandom, files)
        self._origin = time.monotonic_ns()

    def now_ns(self) -> int:
        return time.monotonic_ns() - self._origin

    def wall_ns(self) -> int:
        return time.time_ns()

    def _read(self, timeout: float | None) -> None:
        ready, _, _ = select.select([0], [], [], timeout)
        if ready:
            data = os.read(0, 1 << 16)
            if data:
                self.stdin += data
            else:
                self.stdin_closed = True

    def refill(self) -> None:
        if not self.stdin_closed:
            self._read(0)

    def wait(self, deadline_ns: int | None, for_input: bool) -> bool:
        timeout = None if deadline_ns is None else max(0.0, (deadline_ns - self.now_ns()) / 1e9)
        if for_input and not self.stdin_closed:
            self._read(timeout)
        elif timeout is not None:
            time.sleep(timeout)
        else:
            raise RuntimeError("the program waits for nothing that can ever happen")
        assert self.store is not None
        self.store.set_fuel(FUEL_PER_TURN)
        return deadline_ns is not None and self.now_ns() >= deadline_ns

    def write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def run(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m harness.wasm NODE.wasm [ARGS...]", file=sys.stderr)
        return 2
    path = argv[0]
    try:
        module = load_module(path)
    except (OSError, ValueError) as e:
        print(f"cannot load {path}: {e}", file=sys.stderr)
        return 1
    host = ProcessHost(argv)
    store = host.store = wasmtime.Store(engine())
    store.set_fuel(FUEL_PER_TURN)
    try:
        linker = host.linker(engine(), module)
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        names = {e.name for e in module.exports}
        memory = exports["memory"] if "memory" in names else None
        start = exports["_start"] if "_start" in names else None
        if not isinstance(memory, wasmtime.Memory) or not isinstance(start, wasmtime.Func):
            print(f"{path} is not a WASI command module (no _start or memory export)", file=sys.stderr)
            return 1
        host.run(store, memory, start)
    except NodeExit as e:
        return e.code
    except wasmtime.Trap as e:
        if e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            print(
                f"{path} ran {FUEL_PER_TURN:,} WebAssembly instructions without waiting for input or a "
                "timer: stopped as a busy loop",
                file=sys.stderr,
            )
        else:
            print(f"{path} trapped (a WebAssembly runtime error): {e}", file=sys.stderr)
        return 1
    except (wasmtime.WasmtimeError, ValueError, RuntimeError) as e:
        print(f"{path} could not run: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
