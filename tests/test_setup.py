"""scripts/setup.sh on a scratch tree with fake pip and apt-get: one line before each slow step,
nothing at all when there is nothing to do, and stdout never used (nodes run it before speaking)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("bash", "cat", "sha256sum", "cut", "mktemp", "rm", "flock", "dirname", "cksum", "env")


def scratch(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tree = tmp_path / "repo"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", tree / "scripts" / "setup.sh")
    (tree / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    log = tmp_path / "calls.log"
    venv_bin = tree / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    # the venv's python: pip is recorded, not run; anything else is the real interpreter
    (venv_bin / "python").write_text(
        f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo pip >> "{log}"; exit 0; fi\nexec "{sys.executable}" "$@"\n'
    )
    bin_dir = tmp_path / "bin"  # only what setup.sh needs, so redis-server, jq and chromium are missing
    bin_dir.mkdir()
    for tool in TOOLS:
        if found := shutil.which(tool):
            os.symlink(found, bin_dir / tool)
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")  # as root, so it would use apt-get
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> "{log}"\n')
    for f in [venv_bin / "python", bin_dir / "id", bin_dir / "apt-get"]:
        f.chmod(0o755)
    return tree, {"PATH": str(bin_dir), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}


@pytest.mark.skipif(shutil.which("flock") is None or shutil.which("sha256sum") is None, reason="coreutils")
def test_setup_says_what_it_does_first_and_nothing_after(tmp_path: Path) -> None:
    tree, env = scratch(tmp_path)
    first = subprocess.run(
        ["bash", str(tree / "scripts" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    lines = first.stderr.splitlines()
    assert any(line.startswith("setup: installing the project") and "pip" in line for line in lines)
    assert any(line.startswith("setup: installing redis-server jq chromium with apt-get") for line in lines)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == "pip" and calls[1].startswith("apt-get update")
    # pip is not run again while pyproject.toml and the interpreter are unchanged; apt-get is
    # (the fake installed nothing), so make the programs exist
    for program in ("redis-server", "jq", "chromium"):
        (Path(env["PATH"]) / program).write_text("#!/bin/sh\n")
        (Path(env["PATH"]) / program).chmod(0o755)
    again = subprocess.run(
        ["bash", str(tree / "scripts" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert (tmp_path / "calls.log").read_text().splitlines() == calls
