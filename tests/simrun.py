"""Run ``maelstrom test`` for a test: as a subprocess (real mode), or in this process with
``--sim`` (the simulation needs no processes, so the test pays no interpreter start-up)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent


def node_bin(node: Path, sim: bool) -> list[str]:
    """The ``--bin`` words for a tests/nodes program: the .py itself under --sim (loaded
    in-process), else this interpreter running it."""
    return ["--bin", str(node)] if sim else ["--bin", sys.executable, str(node)]


def run_test(args: list[str], sim: bool, timeout: float = 120) -> tuple[int, str]:
    """``maelstrom test ARGS`` (with ``--sim`` added when ``sim``); its exit code and output."""
    if not sim:
        done = subprocess.run(
            [sys.executable, "-m", "harness", "test", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout + done.stderr
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["test", *args, "--sim"])
    return code, out.getvalue()
