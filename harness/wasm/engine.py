"""The WebAssembly engine and its compile cache.

Cranelift takes seconds to compile a Go program's 4-5 MB module; its serialised form loads in
about a millisecond. So a module is compiled once per (module bytes, wasmtime version, engine
settings) and kept under the user's cache directory (``$MAELSTROM_WASM_CACHE``, else
``$XDG_CACHE_HOME/maelstrom/wasm``, else ``~/.cache/maelstrom/wasm``), never in the repository.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import IO

import wasmtime

__all__ = ["FUEL_PER_TURN", "cache_dir", "engine", "load_module"]

#: WebAssembly instructions (wasmtime fuel, about one per instruction) a node may run between two
#: waits; a node that runs longer is stopped as spinning: virtual time cannot move while a node
#: computes, so a busy loop would hang the simulation, and fuel stops it deterministically
FUEL_PER_TURN = 1_000_000_000

#: engine settings that change the compiled code (part of the cache key)
_SETTINGS = "fuel=1"

#: modules this process has loaded, by cache key
_loaded: dict[str, wasmtime.Module] = {}


@cache
def engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    return wasmtime.Engine(config)


def cache_dir() -> Path:
    if explicit := os.environ.get("MAELSTROM_WASM_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "maelstrom" / "wasm"


def _key(wasm: bytes) -> str:
    h = hashlib.sha256(wasm)
    h.update(f"\0wasmtime {version('wasmtime')} {_SETTINGS}".encode())
    return h.hexdigest()[:32]


def load_module(path: str | os.PathLike[str], say: IO[str] | None = sys.stderr) -> wasmtime.Module:
    """``path`` compiled for :func:`engine`, from the cache when it is there; a compile prints
    one line on ``say``. Raises OSError (unreadable) or ValueError (not a valid module)."""
    wasm = Path(path).read_bytes()
    key = _key(wasm)
    if key in _loaded:  # this process loaded it already (every node of a run, every seed of a sweep)
        return _loaded[key]
    cached = cache_dir() / f"{key}.cwasm"
    if cached.is_file():
        try:
            module = _loaded[key] = wasmtime.Module.deserialize_file(engine(), str(cached))
            return module
        except wasmtime.WasmtimeError:
            pass  # written by an incompatible build: compile again below
    if say is not None:
        print(f"Compiling {path} for wasmtime (once; cached in {cached.parent})", file=say, flush=True)
    try:
        module = wasmtime.Module(engine(), wasm)
    except wasmtime.WasmtimeError as e:
        raise ValueError(f"{path} is not a valid WebAssembly module: {e}") from None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(module.serialize())
        os.replace(tmp, cached)  # atomic: a concurrent run sees the whole file or none
    except OSError as e:
        if say is not None:
            print(f"(could not cache the compiled module: {e})", file=say)
    _loaded[key] = module
    return module
