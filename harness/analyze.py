"""``python -m harness analyze RUN_DIR``: re-check a stored run (ours or a real Maelstrom run).

Reads RUN_DIR/test.json and RUN_DIR/history.edn (or history.edn.xz, as the corpus stores it), runs
the workload checker and the generic checkers, adds :net when our network journal
(net-journal.jsonl) is there, prints the results as JSON on stdout and the verdict on stderr. Exit status as ``test``: 0 valid, 1 invalid, 2 unknown
(also when the workload has no checker yet), 254 bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.checkers.core import check_all, check_safe
from harness.edn import read_history, results_to_json, stored
from harness.history import INVOKE, NEMESIS, Op
from harness.net.checker import net_counts_from_journal, net_result
from harness.options import ELLE_VERSIONS, MAELSTROM_ELLE, TestOptions
from harness.results import EXIT_BAD_ARGS, EXIT_UNKNOWN, exit_code, verdict_line
from harness.workloads import REGISTRY


def workload_checker(test: TestOptions) -> Callable[[list[Op]], dict[str, Any]] | None:
    """``check(history)`` of the test's workload, or ``None`` if the harness has no such workload."""
    cls = REGISTRY.get(test.workload)
    return None if cls is None else cls(test, random.Random(0)).check


def write_workload_files(run_dir: Path, test: TestOptions, result: dict[str, Any]) -> None:
    """The workload's own files for its result (lin-kv: independent/<key>/, linear.svg)."""
    cls = REGISTRY.get(test.workload)
    if cls is not None:
        cls(test, random.Random(0)).write_files(result, run_dir)


def workload_findings(test: TestOptions, result: dict[str, Any]) -> tuple[str, ...]:
    """The workload's own one-line findings about its result (``Workload.summarize``)."""
    cls = REGISTRY.get(test.workload)
    return cls.summarize(result).findings if cls is not None else ()


def net_from_journal(run_dir: Path, history: list[Op]) -> dict[str, Any] | None:
    """:net recomputed from our journal, or ``None`` if the run has none (e.g. a Maelstrom run)."""
    journal = run_dir / "net-journal.jsonl"
    if not journal.exists():
        return None
    op_count = sum(1 for op in history if op.type == INVOKE and op.process != NEMESIS)
    return net_result(net_counts_from_journal(journal), op_count)


def analyze(run_dir: Path, elle: str | None = None) -> dict[str, Any] | None:
    """The results map for a stored run, or ``None`` if its workload has no checker.

    ``elle`` overrides the run's ``--elle`` (a Maelstrom run has none: Elle 0.2.7's rules)."""
    test = TestOptions.load(run_dir / "test.json")
    if elle is not None:
        test = dataclasses.replace(test, elle=elle)
    history = read_history(run_dir / "history.edn")
    check = workload_checker(test)
    if check is None:
        return None
    workload_result = check_safe(check, history)
    net = check_safe(net_from_journal, run_dir, history)  # None without a journal
    return check_all(test, history, workload_result, net=net)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="harness analyze", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a store/<workload>/<timestamp> directory")
    parser.add_argument("--plots", action="store_true", help="also (re)write the perf plots into RUN_DIR")
    parser.add_argument(
        "--elle",
        choices=ELLE_VERSIONS,
        help=f"check txn workloads by this Elle's rules ({MAELSTROM_ELLE}: Maelstrom's verdict exactly)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else EXIT_BAD_ARGS
    run_dir: Path = args.run_dir
    for name in ("test.json", "history.edn"):
        if stored(run_dir / name) is None:  # history.edn may be history.edn.xz (the corpus)
            print(f"analyze: {run_dir / name} not found", file=sys.stderr)
            return EXIT_BAD_ARGS
    results = analyze(run_dir, args.elle)
    if results is None:
        workload = TestOptions.load(run_dir / "test.json").workload
        print(f"analyze: no checker for workload {workload!r} yet", file=sys.stderr)
        return EXIT_UNKNOWN
    if args.plots:
        from harness.plots import write_plots

        history = read_history(run_dir / "history.edn")
        test = TestOptions.load(run_dir / "test.json")
        write_plots(history, test, run_dir)
        write_workload_files(run_dir, test, results["workload"])
    print(results_to_json(results))
    valid = results["valid?"]
    for line in workload_findings(TestOptions.load(run_dir / "test.json"), results["workload"]):
        print(line, file=sys.stderr)
    print(verdict_line(valid), file=sys.stderr)
    return exit_code(valid)
