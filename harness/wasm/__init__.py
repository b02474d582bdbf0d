"""WebAssembly (WASI preview1) node programs: simulated (``--sim``) and as real processes.

- :mod:`harness.wasm.wasi`: the WASI functions a node imports, answered by the runner.
- :mod:`harness.wasm.engine`: the wasmtime engine and the compile cache.
- :mod:`harness.wasm.simnode`: a node in the deterministic simulation (virtual time, suspended
  calls of :mod:`harness.wasm.suspend`, Wasmtime's async C API).
- :mod:`harness.wasm.files`: the node's data directory (a preopen; unsynced writes lost at kill).
- :mod:`harness.wasm.process`: a node process in real mode.
- ``python -m harness.wasm node.wasm``: the same host as a real process on the real clock.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["BUILD_HINT", "WASM_MAGIC", "is_wasm", "process_argv"]

WASM_MAGIC = b"\0asm"

BUILD_HINT = (
    "Build it for WebAssembly (WASI preview1) and pass the .wasm as --bin: Go: "
    "GOOS=wasip1 GOARCH=wasm go build -o node.wasm . ; Rust: cargo build --release --target "
    "wasm32-wasip1 (synchronous nodes only: std::thread is not available there, so no tokio runtime). "
    "See examples/go-wasm/README.md."
)


def is_wasm(path: str | Path) -> bool:
    """Whether ``path`` is a WebAssembly binary module (by its magic number)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == WASM_MAGIC
    except OSError:
        return False


def process_argv(path: str, args: list[str]) -> list[str]:
    """The command that runs the module at ``path`` as a real node process (the same host on the
    real clock): this Python running ``harness.wasm``."""
    return [sys.executable, "-m", "harness.wasm", path, *args]
