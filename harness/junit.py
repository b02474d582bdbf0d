"""``maelstrom test --junit FILE`` and ``--shard K/N``: a seed sweep in the shape CI systems read.

JUnit XML (the schema Jenkins, GitLab and GitHub's test reporters read): one ``<testsuite>`` per
command, one ``<testcase>`` per run (per seed of ``--test-count``). A run that is not valid
carries a ``<failure>`` (invalid or unknown verdict) or an ``<error>`` (the run could not
complete, exit 255) whose text is the verdict's summary (the non-valid checkers' findings, from
their own summaries, as the report's "Why") and the one-line command that reproduces the run;
a seed a real-mode series did not run (Maelstrom stops ``--test-count`` at the first failure) is
``<skipped>``. The run directory is in ``<system-out>``.

``--shard K/N`` runs only the runs ``i`` of ``0..test-count-1`` with ``i % N == K - 1`` (seed
``S + i``): deterministic, disjoint, and the N shards together are the unsharded sweep. It needs
``--seed``, so that every shard sweeps the same seeds.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "parse_shard", "shard_runs", "verdict_summary", "write_junit"]


@dataclass(slots=True)
class Case:
    """One run of a sweep."""

    name: str  # "seed 17"
    code: int | None  # the run's exit code; None: not run (skipped)
    seconds: float = 0.0
    run_dir: Path | None = None
    repro: str = ""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4). Raises ValueError unless 1 <= K <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if m is None or not 1 <= int(m[1]) <= int(m[2]):
        raise ValueError(f"{text!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    return int(m[1]), int(m[2])


def shard_runs(test_count: int, shard: tuple[int, int] | None) -> list[int]:
    """The run indices (0-based; seed = base + index) that shard K of N runs."""
    if shard is None:
        return list(range(test_count))
    k, n = shard
    return [i for i in range(test_count) if i % n == k - 1]


def verdict_summary(run_dir: Path | None, code: int) -> str:
    """Why the run is not valid: the non-valid checkers' findings, or why it did not complete."""
    from harness.checkers.core import WORKLOAD
    from harness.report import load_results, summaries

    if run_dir is None:
        return f"exit {code}: the run left no run directory"
    results = load_results(run_dir)
    if results is None:
        log = run_dir / "jepsen.log"
        tail = ""
        if log.is_file():
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            tail = "\n".join(line.split("\t", 3)[-1] for line in lines)
        return f"exit {code}: the run could not complete (no results); the end of jepsen.log:\n{tail}"
    try:
        test = json.loads((run_dir / "test.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        test = {}
    lines = [f"valid? {json.dumps(results.get('valid?'))} (exit {code})"]
    by_checker = summaries(results, test, None)
    for name in sorted((n for n in by_checker if n in results), key=lambda n: n != WORKLOAD):
        result = results[name]
        valid = result.get("valid?", True) if isinstance(result, dict) else True
        if valid is True:
            continue
        findings = by_checker[name].findings or ("(no details)",)
        lines.append(f"{name}: valid? {json.dumps(valid)}")
        lines += [f"  {line}" for line in findings]
    return "\n".join(lines)


def write_junit(path: Path, name: str, cases: list[Case], properties: dict[str, str]) -> None:
    """Write the sweep's JUnit XML to ``path``."""
    failures = sum(1 for c in cases if c.code not in (None, 0, 255))
    errors = sum(1 for c in cases if c.code == 255)
    skipped = sum(1 for c in cases if c.code is None)
    total_time = sum(c.seconds for c in cases)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{total_time:.3f}",
    }
    root = ET.Element("testsuites", {"name": "maelstrom", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": name,
            **counts,
            "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": os.uname().nodename,
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", {"name": key, "value": value})
    for case in cases:
        el = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"maelstrom.{properties.get('workload', 'test')}",
                "name": case.name,
                "time": f"{case.seconds:.3f}",
            },
        )
        if case.code is None:
            ET.SubElement(
                el,
                "skipped",
                {"message": "not run: an earlier run of this --test-count series was not valid"},
            )
            continue
        if case.code != 0:
            verdict = {1: "invalid", 2: "unknown", 255: "the run could not complete"}.get(
                case.code, f"exit {case.code}"
            )
            tag = "error" if case.code == 255 else "failure"
            summary = verdict_summary(case.run_dir, case.code)
            bad = ET.SubElement(el, tag, {"message": f"{verdict}; reproduce: {case.repro}", "type": verdict})
            bad.text = f"{summary}\n\nreproduce: {case.repro}\n"
        if case.run_dir is not None:
            ET.SubElement(el, "system-out").text = f"run directory: {case.run_dir}\n"
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
