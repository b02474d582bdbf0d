"""The runner for anyone's nodes: the wheel, installed into a fresh venv outside the repository,
gives a ``maelstrom`` command that tests a shell + jq node and a Python node from the user's own
folder (README, "The runner alone").

The wheel is built from a copy of the sources (pip's in-tree build would leave build/ in the
checkout), with pip's build isolation (setuptools from the package index). It is installed with
``--no-deps --no-index``; its dependencies (msgspec, redis, edn-format, matplotlib) come from this
interpreter's site-packages through a ``.pth`` file, so the test needs no download for them. A
``.pth`` line adds a directory without running that directory's own ``.pth`` files, so the
project's editable install there is not seen: the test checks that ``harness`` and ``common`` are
imported from the fresh venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(shutil.which("jq") is None and not os.environ.get("CI"), reason="jq not installed"),
]

PYTHON_NODE = """\
from common import Node

node = Node()


@node.handler("echo")
def echo(msg):
    return {"type": "echo_ok", "echo": msg.body["echo"]}


node.run()
"""


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_installed_wheel_runs_a_shell_node_and_a_python_node(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for package in (pattern.rstrip("*") for pattern in packages["include"]):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)], tmp_path)
    [wheel] = dist.glob("glomers_runner-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    py = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        tmp_path,
    )
    site = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).stdout.strip()
    )
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_runner_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(here)))
    where = _run(
        [str(py), "-c", "import common, harness; print(common.__file__); print(harness.__file__)"], tmp_path
    )
    assert all(line.startswith(str(venv)) for line in where.stdout.split()), where.stdout

    maelstrom = venv / "bin" / "maelstrom"
    assert "glomers-runner 0.1.0" in _run([str(maelstrom), "--version"], tmp_path).stdout

    # a user's own folder, outside the repository, with their nodes in it
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy2(NODES / "jq_echo_node.sh", mine / "echo.sh")
    (mine / "echo.py").write_text(f"#!{py}\n{PYTHON_NODE}")
    (mine / "echo.py").chmod(0o755)
    for node in ("./echo.sh", "./echo.py"):
        done = _run(
            [str(maelstrom), "test", "-w", "echo", "--bin", node, "--node-count", "2", "--time-limit", "3",
             "--rate", "10", "--no-plots", "--quiet-ops"],
            mine,
        )  # fmt: skip
        assert "Everything looks good!" in done.stdout + done.stderr
        run = (mine / "store" / "echo" / "latest").resolve()
        results = json.loads((run / "results.json").read_text())
        assert results["valid?"] is True and results["stats"]["ok-count"] > 0
        assert (run / "index.html").is_file()
    # the Python node also under the simulation (it loads common from the installed wheel)
    done = _run(
        [str(maelstrom), "test", "--sim", "-w", "echo", "--bin", "./echo.py", "--node-count", "2",
         "--time-limit", "3", "--rate", "10", "--no-plots", "--quiet-ops", "--seed", "1"],
        mine,
    )  # fmt: skip
    assert "Everything looks good!" in done.stdout + done.stderr
