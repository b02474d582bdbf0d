"""A --bin that cannot be executed: the run stops at once (exit 255) with why and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.processes import explain_start_failure

ROOT = Path(__file__).resolve().parent.parent
NODE = "import sys\nfor line in sys.stdin:\n    pass\n"


def run(tmp_path: Path, bin_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "test", "-w", "echo", "--bin", str(bin_path), "--node-count", "2",
         "--time-limit", "1", "--store", str(tmp_path / "store"), "--no-plots"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def script(tmp_path: Path, text: str, mode: int = 0o755) -> Path:
    path = tmp_path / "node.py"
    path.write_bytes(text.encode())
    path.chmod(mode)
    return path


CASES = {
    "missing": (None, "does not exist: check the path"),
    "no run bit": (("#!/usr/bin/env python3\n" + NODE, 0o644), "chmod +x"),
    "no shebang": ((NODE, 0o755), "add a first line naming its interpreter, e.g. #!/usr/bin/env python3"),
    "interpreter missing": (("#!/no/such/python3\n" + NODE, 0o755), "'/no/such/python3' in its #! line"),
    "windows line endings": (("#!/bin/sh\r\nexit 0\r\n", 0o755), "dos2unix"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_unrunnable_bin_says_why_and_what_to_do(tmp_path: Path, case: str) -> None:
    content, advice = CASES[case]
    path = tmp_path / "missing.py" if content is None else script(tmp_path, *content)
    done = run(tmp_path, path)
    assert done.returncode == 255, done.stderr
    assert "Could not start node n0" in done.stderr
    assert advice in done.stderr
    assert "Traceback" not in done.stderr


def test_a_directory_as_bin(tmp_path: Path) -> None:
    done = run(tmp_path, ROOT / "echo")
    assert done.returncode == 255
    assert "is a directory: give the node program inside it" in done.stderr


def test_a_runnable_bin_gets_no_advice(tmp_path: Path) -> None:
    done = run(tmp_path, ROOT / "echo" / "main.py")
    assert done.returncode == 0, done.stderr
    assert "Could not start" not in done.stderr


def test_explanations_follow_the_error() -> None:
    here = Path(__file__)
    assert "does not exist" in explain_start_failure("/no/such/node", FileNotFoundError(2, "x"))
    # an executable file the kernel refused for another reason (e.g. a noexec mount)
    assert "refused" in explain_start_failure(sys.executable, PermissionError(13, "Permission denied"))
    assert "run bit" in explain_start_failure(str(here), PermissionError(13, "Permission denied"))
