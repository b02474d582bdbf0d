"""A WebAssembly node as a real process: ``python -m harness.wasm node.wasm`` per node.

The runner compiles the module (or finds it in the cache) before the first node starts, so the
node processes only load the compiled form; each runs the same WASI host as the simulation's,
on the real clock (:mod:`harness.wasm.__main__`).
"""

from __future__ import annotations

from harness.nodeio import RunAborted
from harness.processes import NodeProcess
from harness.wasm import process_argv
from harness.wasm.engine import load_module

__all__ = ["WasmProcess"]


class WasmProcess(NodeProcess):
    """A node process that runs a WebAssembly module on the runner's WASI host."""

    async def start(self, argv: list[str], cwd: str) -> None:
        try:
            load_module(argv[0])
        except (OSError, ValueError) as e:
            raise RunAborted(f"Could not load node {self.id}'s program {argv[0]}: {e}") from None
        await super().start(process_argv(argv[0], argv[1:]), cwd)
