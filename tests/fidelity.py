"""Compare our analysis of real Maelstrom runs with the verdicts Maelstrom wrote (results.edn).

The corpus ships with the repository in tests/data/maelstrom-runs/<workload>/<run>/ (INDEX.md there
says where each run came from); ``MAELSTROM_RUNS=DIR`` points at another one, compressed or raw.
A run folder holds test.json, results.edn and history.edn, the history stored as history.edn.xz.
Read runs through this module, which lists them and decompresses transparently::

    runs("lin-kv")            # run folders of one workload (every workload folder works), sorted
    runs()                    # all of them;  workloads(): the workload folder names
    history(run)              # list[Op] from history.edn(.xz)
    results(run)              # Maelstrom's results.edn as a dict (harness.edn.read_results)
    options(run)              # the run's TestOptions from test.json
    text(run, "results.edn")  # a file's text, decompressed
    copy_run(run, tmp_path)   # a plain copy (history decompressed) to tamper with

A missing corpus is an error at collection, never a silently empty parametrization.

For each run we recompute results from history.edn + test.json with ``harness.analyze`` and
compare: stats (counts, by-f, valid?), availability (ok-fraction, valid?), exceptions (group
counts), the workload result through ``COMPARE[workload]``, and the top-level valid?. Two
things cannot come from the history and are left out: :net (needs Maelstrom's journal) and
:perf (Maelstrom's graphs can fail on the machine that ran the test; see INDEX.md), so the
expected top-level verdict is recomputed from Maelstrom's other sub-results.

Adding a workload is one line in :data:`COMPARE`, e.g.::

    "g-counter": same("valid?", "acceptable", count_of("errors")),

or, from your own test file without touching this one::

    import fidelity  # tests/ is on pytest's pythonpath

    @pytest.mark.parametrize("run_dir", fidelity.runs("kafka"), ids=fidelity.run_id)
    def test_kafka_fidelity(run_dir):
        fidelity.assert_fidelity(run_dir, fidelity.same("valid?", count_of("lost")))
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from harness.analyze import analyze
from harness.checkers.core import merge_valid
from harness.edn import read_history, read_results, read_text, stored
from harness.history import Op, ckey
from harness.options import TestOptions

#: the corpus in the repository; MAELSTROM_RUNS overrides it
BUNDLED_RUNS = Path(__file__).resolve().parent / "data" / "maelstrom-runs"
RUNS_ROOT = Path(os.environ.get("MAELSTROM_RUNS") or BUNDLED_RUNS)
#: the files of a run folder (history.edn may be stored as history.edn.xz)
RUN_FILES = ("test.json", "history.edn", "results.edn")

#: ours, theirs (both workload result maps) -> mismatch descriptions (empty when they agree)
Compare = Callable[[dict[str, Any], dict[str, Any]], list[str]]
#: a field comparison used by :func:`same`: (ours, theirs) -> mismatch or None
Field = Callable[[dict[str, Any], dict[str, Any]], str | None]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-6)
        )
    return ckey(_plain(a)) == ckey(_plain(b))


def _plain(v: Any) -> Any:
    """Tuples as lists, so a result list and an EDN list compare equal."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    return v


def key(name: str) -> Field:
    """The field ``name`` must be equal (Clojure equality; floats to 1e-6)."""

    def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
        a, b = ours.get(name), theirs.get(name)
        return None if _equal(a, b) else f"{name}: ours {a!r} != maelstrom {b!r}"

    return compare


def count_of(name: str) -> Field:
    """The collection ``name`` must have as many elements (order and printing differ)."""

    def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
        a, b = len(ours.get(name) or ()), len(theirs.get(name) or ())
        return None if a == b else f"len({name}): ours {a} != maelstrom {b}"

    return compare


def counts_in(name: str) -> Field:
    """The map ``name`` (element -> count) must hold the same multiset of counts."""

    def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
        a = Counter((ours.get(name) or {}).values())
        b = Counter((theirs.get(name) or {}).values())
        return None if a == b else f"counts in {name}: ours {dict(a)} != maelstrom {dict(b)}"

    return compare


def same(*fields: str | Field) -> Compare:
    """A workload comparison from field names (compared with :func:`key`) and field comparisons."""
    checks = [key(f) if isinstance(f, str) else f for f in fields]

    def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
        return [m for c in checks if (m := c(ours, theirs)) is not None]

    return compare


#: set-full result fields that must equal Maelstrom's (tests/test_broadcast_fidelity.py checks them too)
BROADCAST_FIELDS = (
    "valid?",
    "attempt-count",
    "stable-count",
    "lost-count",
    "lost",
    "never-read-count",
    "never-read",
    "stale-count",
    "stale",
    "stable-latencies",
    "lost-latencies",
    "duplicated-count",
)

#: workload -> how to compare our workload result with Maelstrom's. Extend with one line.
COMPARE: dict[str, Compare] = {
    "echo": same("valid?", count_of("errors")),
    "unique-ids": same(
        "valid?",
        "attempted-count",
        "acknowledged-count",
        "duplicated-count",
        "range",
        counts_in("duplicated"),
    ),
    "broadcast": same(*BROADCAST_FIELDS),
    "txn-rw-register": same("valid?", "anomaly-types"),
    "txn-list-append": same("valid?", "anomaly-types", "not", "also-not"),
    "g-counter": same("valid?", "acceptable", "final-reads", count_of("errors")),
    "pn-counter": same("valid?", "acceptable", "final-reads", count_of("errors")),
    "g-set": same(*BROADCAST_FIELDS),
    "lin-kv": same("valid?", "failures"),  # failing ops: tests/test_lin_kv_fidelity.py
}


def _root() -> Path:
    if not RUNS_ROOT.is_dir():
        raise FileNotFoundError(
            f"no corpus of Maelstrom runs at {RUNS_ROOT} "
            f"({'from $MAELSTROM_RUNS' if os.environ.get('MAELSTROM_RUNS') else 'shipped with the repository'})"
        )
    return RUNS_ROOT


def runs(workload: str | None = None) -> list[Path]:
    """Run folders of the corpus (of one workload folder, e.g. ``"lin-kv"``), sorted.

    Raises if the corpus is missing, or if ``workload`` is given and has no runs: a typo or a lost
    corpus must fail the test module instead of parametrizing it with nothing."""
    pattern = f"{workload}/*" if workload else "*/*"
    found = sorted(p for p in _root().glob(pattern) if stored(p / "results.edn") is not None)
    if workload and not found:
        raise LookupError(f"no {workload!r} runs under {RUNS_ROOT} (workloads: {', '.join(workloads())})")
    return found


def workloads() -> list[str]:
    """The corpus's workload folders that hold runs, sorted."""
    return sorted({run.parent.name for run in runs()})


def run_id(run_dir: Path) -> str:
    return f"{run_dir.parent.name}/{run_dir.name}"


def text(run_dir: Path, name: str) -> str:
    """The text of a run's file (``results.edn``, ``history.edn``, ...), decompressed if stored as .xz."""
    return read_text(run_dir / name)


def history(run_dir: Path) -> list[Op]:
    return read_history(run_dir / "history.edn")


def results(run_dir: Path) -> dict[str, Any]:
    """Maelstrom's results.edn of the run (see :func:`harness.edn.read_results`)."""
    return read_results(run_dir / "results.edn")


def options(run_dir: Path) -> TestOptions:
    """The run's parameters (test.json)."""
    return TestOptions.load(run_dir / "test.json")


def copy_run(run_dir: Path, dest: Path, names: tuple[str, ...] = RUN_FILES) -> Path:
    """Copy the run's files into ``dest/<workload>/<run>`` as plain files (history decompressed).

    The copy keeps the workload folder name, which :func:`mismatches` reads the workload from."""
    out = dest / run_dir.parent.name / run_dir.name
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / name).write_bytes(text(run_dir, name).encode("utf-8"))
    return out


@cache
def _analyze(run_dir: Path) -> dict[str, Any] | None:
    return analyze(run_dir)


def _stats_mismatches(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    out = []
    fields = ("valid?", "count", "ok-count", "fail-count", "info-count")
    for f in fields:
        if not _equal(ours.get(f), theirs.get(f)):
            out.append(f"stats {f}: ours {ours.get(f)!r} != maelstrom {theirs.get(f)!r}")
    ours_by_f, theirs_by_f = ours.get("by-f", {}), theirs.get("by-f", {})
    if set(ours_by_f) != set(theirs_by_f):
        out.append(f"stats by-f keys: ours {sorted(ours_by_f)} != maelstrom {sorted(theirs_by_f)}")
    for name in set(ours_by_f) & set(theirs_by_f):
        for f in fields:
            a, b = ours_by_f[name].get(f), theirs_by_f[name].get(f)
            if not _equal(a, b):
                out.append(f"stats by-f {name} {f}: ours {a!r} != maelstrom {b!r}")
    return out


def expected_valid(theirs: dict[str, Any]) -> Any:
    """Maelstrom's top-level verdict without :perf and :net (not derivable from the history)."""
    return merge_valid(*(v.get("valid?") for k, v in theirs.items() if k not in ("perf", "net", "valid?")))


def mismatches(run_dir: Path, compare: Compare | None = None) -> list[str] | None:
    """How our analysis of ``run_dir`` differs from Maelstrom's results.edn (``None``: no checker)."""
    workload = run_dir.parent.name
    compare = compare or COMPARE.get(workload)
    if compare is None:
        return None
    ours = _analyze(run_dir)
    if ours is None:
        return None
    theirs = results(run_dir)
    out = []
    if "error" in ours["workload"]:
        out.append(f"our workload checker raised:\n{ours['workload']['error']}")
    out += [f"workload {m}" for m in compare(ours["workload"], theirs["workload"])]
    out += _stats_mismatches(ours["stats"], theirs["stats"])
    for f in ("valid?", "ok-fraction"):
        a, b = ours["availability"].get(f), theirs["availability"].get(f)
        if not _equal(a, b):
            out.append(f"availability {f}: ours {a!r} != maelstrom {b!r}")
    a_exc = sorted(e["count"] for e in ours["exceptions"].get("exceptions", ()))
    b_exc = sorted(e["count"] for e in theirs["exceptions"].get("exceptions", ()))
    if a_exc != b_exc:
        out.append(f"exception group counts: ours {a_exc} != maelstrom {b_exc}")
    if ours["valid?"] != expected_valid(theirs):
        out.append(f"top-level valid?: ours {ours['valid?']!r} != maelstrom {expected_valid(theirs)!r}")
    return out


def assert_fidelity(run_dir: Path, compare: Compare | None = None) -> None:
    """Fail with every mismatch; skip (pytest) when the workload has no checker or comparison."""
    import pytest

    found = mismatches(run_dir, compare)
    if found is None:
        pytest.skip(f"no checker or no COMPARE entry for workload {run_dir.parent.name!r} yet")
    assert not found, f"{run_id(run_dir)}:\n" + "\n".join(found)
