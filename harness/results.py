"""The run directory ``store/<workload>/<timestamp>/``, its files, and the final verdict.

Layout (jepsen-io/jepsen, jepsen/src/jepsen/store.clj): results.edn, results.json, history.edn, history.txt,
node-logs/<node>.log, net-journal.jsonl, test.json, plots; ``store/latest`` and
``store/<workload>/latest`` point at the newest run.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import edn
from harness.history import UNKNOWN, Op
from harness.options import TestOptions

__all__ = [
    "EXIT_ABORTED",
    "EXIT_BAD_ARGS",
    "EXIT_INVALID",
    "EXIT_UNKNOWN",
    "EXIT_VALID",
    "VERDICT_LINES",
    "exit_code",
    "make_run_dir",
    "verdict_line",
    "write_history",
    "write_results",
    "write_test_json",
]

#: Jepsen's exit statuses: the verdict (see exit_code), bad arguments, a run that could not complete
EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN = 0, 1, 2
EXIT_BAD_ARGS = 254
EXIT_ABORTED = 255

VERDICT_LINES = {
    True: "Everything looks good! ヽ(‘ー`)ノ",
    False: "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻",
    UNKNOWN: "Errors occurred during analysis, but no anomalies found. ಠ~ಠ",
}


def verdict_line(valid: Any) -> str:
    if valid is True:
        return VERDICT_LINES[True]
    if valid is False:
        return VERDICT_LINES[False]
    return VERDICT_LINES[UNKNOWN]


def exit_code(valid: Any) -> int:
    """Jepsen's exit status for a run's top-level ``valid?``."""
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN


def _timestamp() -> str:
    """Joda basic-date-time in local time, e.g. ``20240522T222958.980-0300``."""
    now = datetime.now().astimezone()
    return now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}" + now.strftime("%z")


def make_run_dir(store: str | Path, workload: str) -> Path:
    """Create ``store/<workload>/<timestamp>/node-logs`` and point the latest links at it."""
    base = Path(store) / workload
    base.mkdir(parents=True, exist_ok=True)
    name = _timestamp()
    run_dir = base / name
    n = 1
    while True:
        try:  # mkdir, not exists(): two runs in parallel (run-all --sim) may pick the same millisecond
            run_dir.mkdir()
            break
        except FileExistsError:
            run_dir = base / f"{name}-{n}"
            n += 1
    (run_dir / "node-logs").mkdir()
    _symlink(base / "latest", run_dir.name)
    _symlink(Path(store) / "latest", f"{workload}/{run_dir.name}")
    return run_dir


def _symlink(link: Path, target: str) -> None:
    tmp = link.with_name(f"{link.name}.{os.getpid()}.tmp")  # per process: runs may be parallel
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(target, tmp)
        os.replace(tmp, link)
    except OSError:
        pass  # a store on a filesystem without symlinks still works


def write_test_json(test: TestOptions, run_dir: Path, extra: dict[str, Any] | None = None) -> None:
    data = test.to_json()
    if extra:
        data.update(extra)
    (run_dir / "test.json").write_text(json.dumps(data, indent=2) + "\n")


def write_history(history: list[Op], run_dir: Path, txt_lines: list[str] | None = None) -> list[str]:
    return edn.write_history(history, run_dir, txt_lines)


def write_results(results: dict[str, Any], run_dir: Path) -> str:
    """Write results.edn and results.json; return the EDN text (what the console shows)."""
    text = edn.results_to_edn(results)
    (run_dir / "results.edn").write_text(text, encoding="utf-8")
    (run_dir / "results.json").write_text(edn.results_to_json(results) + "\n", encoding="utf-8")
    return text
