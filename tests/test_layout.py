"""The layout's rules, checked over the source (``ast``) and the committed files, so that they stay
true: ``common`` (protocol I/O) and ``engines`` (the shared challenge engines) never import the
runner; the challenge manifest and the results table do not import each other; only the runtime
module knows the simulation; ``harness/run.py`` stays a pipeline of short functions; committed
results name no absolute path of the machine that made them."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _harness_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in (ROOT / "harness").rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


@pytest.mark.parametrize("package", ["common", "engines"])
def test_common_and_engines_never_import_the_runner(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _imports(path) if m.split(".")[0] == "harness")
        for path in (ROOT / package).rglob("*.py")
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_common_holds_no_challenge_engine() -> None:
    imports = {m for path in (ROOT / "common").rglob("*.py") for m in _imports(path)}
    assert not {m for m in imports if m.split(".")[0] == "engines"}
    assert not (ROOT / "common" / "raft.py").exists()


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycle_between_the_manifest_and_the_results_table() -> None:
    graph = _harness_graph()
    assert "harness.challenges" in _reachable(graph, "harness.results_table")  # the table reads it
    assert "harness.results_table" not in _reachable(graph, "harness.challenges")
    assert "harness.challenges" not in _reachable(graph, "harness.challenges")


def test_only_the_runtime_module_imports_the_simulation() -> None:
    users = sorted(name for name, deps in _harness_graph().items() if "harness.sim" in deps)
    assert users == ["harness.runtime"]


def test_run_py_is_a_pipeline_of_short_functions() -> None:
    tree = ast.parse((ROOT / "harness" / "run.py").read_text())
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    }
    assert long == {}


def _committed_results() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*/results/*"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        return [ROOT / name for name in listed.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: what is on disk
        return sorted(p for p in ROOT.glob("*/results/**/*") if p.is_file())


#: absolute paths that would name the directory tree of the machine that made a run
MACHINE_PATHS = (b"/work/", b"/root/", b"/home/", b"/tmp/", b"/Users/", str(ROOT).encode())


def test_committed_results_name_no_absolute_path_of_the_machine() -> None:
    files = [p for p in _committed_results() if p.is_file()]
    assert files, "no committed results found"
    found = {
        str(p.relative_to(ROOT)): [m.decode() for m in MACHINE_PATHS if m in p.read_bytes()]
        for p in files
        if p.suffix != ".png"
    }
    assert {p: m for p, m in found.items() if m} == {}


def test_relative_paths_rewrites_what_a_run_writes() -> None:
    from harness.run_challenge import relative_paths

    root = Path("/srv/checkout")
    text = '"bin": "/srv/checkout/echo/main.py", "store": "/srv/checkout/store" in /srv/checkout/store/echo/x'
    assert (
        relative_paths(text, root / "echo", root)
        == '"bin": "./main.py", "store": "../store" in ../store/echo/x'
    )
    assert relative_paths("/srv/checkout2/echo", root / "echo", root) == "/srv/checkout2/echo"
