"""Checkers summarise their own results (harness/summary.py); the report only asks them.

Each workload's ``summarize`` is tried on real Maelstrom results (valid and invalid), on fresh
results of our checkers, and a workload the report has never heard of plugs in by registering.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import fidelity
import pytest

from harness import options
from harness.checkers import core, counter, set_full
from harness.history import NEMESIS, Op, kw
from harness.report import load_results, write_report
from harness.results import write_history, write_results
from harness.summary import Figure, Summary, Table
from harness.workloads import REGISTRY, Workload

#: workload -> (figure key, whether the figure's value says the workload result is invalid)
FAILING_FIGURE: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "echo": ("error-count", lambda n: n > 0),
    "unique-ids": ("duplicated-count", lambda n: n > 0),
    "broadcast": ("lost-count", lambda n: n > 0),
    "g-counter": ("final-reads-exact", lambda exact: not exact),
    "kafka": ("bad-error-count", lambda n: n > 0),
    "txn-rw-register": ("anomaly-count", lambda n: n > 0),
    "txn-list-append": ("anomaly-type-count", lambda n: n > 0),
}


def _corpus() -> Iterator[Any]:
    for workload in FAILING_FIGURE:
        for run in fidelity.runs(workload):
            yield pytest.param(workload, run, id=f"{workload}/{run.name}")


@pytest.mark.skipif(not fidelity.RUNS_ROOT.is_dir(), reason="shared/maelstrom-runs not present")
@pytest.mark.parametrize(("workload", "run_dir"), list(_corpus()))
def test_summaries_of_real_maelstrom_results(workload: str, run_dir: Path) -> None:
    results = load_results(run_dir)
    assert results is not None
    summary = REGISTRY[workload].summarize(results["workload"])
    assert summary.findings, "a summary says why"
    key, fails = FAILING_FIGURE[workload]
    value = summary.value(key)
    assert value is not None, key
    if results["workload"]["valid?"] is False:
        assert fails(value), (key, value)
    elif results["workload"]["valid?"] is True and workload != "g-counter":
        # a valid counter run may end with reads inside a range that indeterminate adds widened
        assert not fails(value), (key, value)


def _broadcast(lose: bool) -> list[Op]:
    raw = [
        ("invoke", "broadcast", 0, 1, 0),
        ("ok", "broadcast", 0, 1, 1_000_000),
        ("invoke", "read", 1, None, 2_000_000),
        ("ok", "read", 1, [] if lose else [1], 3_000_000),
    ]
    return [Op(t, f, p, v, time, i) for i, (t, f, p, v, time) in enumerate(raw)]


@pytest.mark.parametrize("lose", [False, True])
def test_broadcast_summary_of_a_fresh_result(lose: bool) -> None:
    summary = REGISTRY["broadcast"].summarize(set_full.check(None, _broadcast(lose)))
    assert summary.value("lost-count") == (1 if lose else 0)
    assert summary.value("attempt-count") == 1
    assert summary.value("stable-latency-median") == (None if lose else 0)
    assert summary.findings[-1 if lose else 0].startswith(f"lost {1 if lose else 0} of 1 attempted")
    assert (
        summary.findings[0].startswith("1 acknowledged or read messages later missing from reads: 1") == lose
    )


@pytest.mark.parametrize(("reads", "exact"), [([5, 5], True), ([5, 4], False), ([6, 6], False), ([], False)])
def test_counter_reads_exact(reads: list[int], exact: bool) -> None:
    history = [Op("invoke", "add", 0, 5, 0), Op("ok", "add", 0, 5, 1)]
    for i, value in enumerate(reads):
        history += [
            Op("invoke", "read", i + 1, None, 2, extra={"final?": True}),
            Op("ok", "read", i + 1, value, 3, extra={"final?": True}),
        ]
    summary = REGISTRY["g-counter"].summarize(counter.check(None, history))
    assert summary.value("final-reads-exact") is exact
    assert summary.value("acknowledged-sum") == 5


def test_kafka_and_txn_summaries_read_keywords_and_json_names() -> None:
    fresh = {"valid?": False, "bad-error-types": [kw("lost-write")], "lost-write": {"count": 3}}
    stored = json.loads(json.dumps({**fresh, "bad-error-types": ["lost-write"]}))
    for result in (fresh, stored):
        s = REGISTRY["kafka"].summarize(result)
        assert s.value("bad-error-count") == 1 and s.findings[0] == "bad error types: lost-write (3)"
    s = REGISTRY["txn-rw-register"].summarize({"valid?": False, "anomaly-types": [kw("G1a"), "G0"]})
    assert (s.value("anomaly-count"), s.value("anomaly-types")) == (2, "G1a, G0")
    stored_list_append = {
        "valid?": False,
        "anomaly-types": ["G1a"],
        "extra": {"unreported-anomaly-types": ["G2"]},
    }
    s = REGISTRY["txn-list-append"].summarize(stored_list_append)
    assert s.value("anomaly-type-count") == 1 and any("G2" in f for f in s.findings)


def test_core_summaries() -> None:
    history = [
        Op("invoke", "read", 0, None, 0),
        Op("ok", "read", 0, 1, 4_000_000),
        Op("invoke", "write", 1, 1, 0),
        Op("info", "write", 1, 1, 9_000_000),
    ]
    test = options.TestOptions(workload="echo", availability="total")
    results = core.check_all(test, history, {"valid?": True}, net=None)
    by_name = core.summarize(results, None, {"availability": "total"}, history)
    assert list(by_name)[:3] == ["stats", "availability", "workload"]
    assert by_name["stats"].findings == ("no ok ops for write: 1 completed, 0 fail, 1 info",)
    assert by_name["availability"].findings == ("ok-fraction 0.5 (required: total)",)
    assert by_name["perf"].value("latency-p50:read") == 4.0
    assert by_name["exceptions"].value("exception-count") == 0
    # a checker that raised says so first
    crashed = core.summarize({"workload": core.check_safe(lambda: 1 / 0)}, None)
    assert crashed["workload"].findings[0] == "checker error: Traceback (most recent call last):"
    net = core.summarize({"net": {"servers": {"msgs-per-op": 2.5}, "valid?": True}})["net"]
    assert net.value("server-msgs-per-op") == 2.5


class _Plugged(Workload):
    """A workload the report has never heard of."""

    name: ClassVar[str] = "plugged-in"

    @classmethod
    def summarize(cls, result: Any) -> Summary:
        return Summary(
            figures=(Figure("widget-count", "widgets", result.get("widgets")),),
            findings=(f"{result.get('widgets')} widgets went missing",),
            tables=(Table("Widgets", ("widget", "seen"), (("w1", 0),)),),
        )


def test_a_new_workload_plugs_into_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "plugged-in", _Plugged)
    run = tmp_path / "plugged-in" / "run"
    run.mkdir(parents=True)
    (run / "test.json").write_text(json.dumps({"workload": "plugged-in"}))
    history = [Op("invoke", "widget", 0, None, 0, 0), Op("ok", "widget", 0, None, 1, 1)]
    history.append(Op("info", "start-partition", NEMESIS, kw("one"), 2, 2))
    write_history(history, run)
    workload = {"valid?": False, "widgets": 7}
    write_results(core.check_all(options.TestOptions(workload="plugged-in"), history, workload), run)
    html = write_report(run).read_text()
    why = html.split("<h2>Why</h2>")[1].split("<h2>")[0]
    assert "7 widgets went missing" in why
    assert "<h2>Widgets</h2>" in html and "w1" in html
    monkeypatch.delitem(REGISTRY, "plugged-in")
    # without its class the report still shows the result's own data
    why = write_report(run).read_text().split("<h2>Why</h2>")[1].split("<h2>")[0]
    assert "widgets: 7" in why


@pytest.mark.skipif(not fidelity.RUNS_ROOT.is_dir(), reason="shared/maelstrom-runs not present")
def test_the_corpus_has_invalid_results_of_every_kind() -> None:
    """So the test above sees summaries of failures, not only of passes."""
    kinds = set()
    for workload in FAILING_FIGURE:
        for run in fidelity.runs(workload):
            results = load_results(run)
            if results is not None and results["workload"]["valid?"] is False:
                kinds.add(workload)
    assert {"unique-ids", "broadcast", "g-counter"} <= kinds, kinds


def _result_keys(value: Any, depth: int = 0) -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict) and depth < 4:
        for k, v in value.items():
            keys.add(str(k))
            keys |= _result_keys(v, depth + 1)
    return keys


#: the readers of results that must ask the summaries instead of reading results themselves
READERS = ("report.py", "results_table.py")


@pytest.mark.parametrize("reader", READERS)
def test_readers_know_no_checker_result_key(reader: str) -> None:
    """Adding a workload needs no edit to the report or the results table: they quote none of the
    keys that results hold."""
    path = Path(__file__).parents[1] / "harness" / reader
    if not path.is_file():
        pytest.skip(f"no harness/{reader} here")
    keys: set[str] = set()
    for workload in fidelity.workloads():
        for run in fidelity.runs(workload):
            keys |= _result_keys(load_results(run))
    # the universal verdict, the checkers' names (the composition contract, checkers/core.py),
    # and the fields of an op map (the report prints ops compactly) are not any checker's keys
    keys -= {"valid?", "type", "process", "f", "value", "time", "index"}
    keys -= set(core.DISPLAY_ORDER)
    keys.discard("results")  # lin-kv's per-key results, but also the name of <challenge>/results/
    quoted = set(re.findall(r"\"([^\"\s]+)\"|'([^'\s]+)'", path.read_text(encoding="utf-8")))
    found = {k for pair in quoted for k in pair if k} & keys
    assert not found, f"{reader} reads checker result keys {sorted(found)}: ask the summaries instead"
    assert len(keys) > 50  # the corpus gave it plenty to look for


def test_figure_text() -> None:
    assert Figure("p", "median stable latency", 12, " ms").text() == "median stable latency 12 ms"
    assert Figure("m", "server msgs/op", 4.123456).text() == "server msgs/op 4.123"
    assert Figure("e", "final reads = sum of acknowledged adds", False).text().endswith(": no")
    assert Figure("l", "lost", None).text() == "lost ?"
    assert Figure("t", "anomalies:", "none", " ms").text() == "anomalies: none"  # units follow numbers only


def _every_corpus_run() -> Iterator[Any]:
    for workload in sorted(set(REGISTRY) & set(fidelity.workloads())):
        for run in fidelity.runs(workload):
            yield pytest.param(workload, run, id=f"{workload}/{run.name}")


@pytest.mark.parametrize(("workload", "run_dir"), list(_every_corpus_run()))
def test_every_workload_summarizes_stored_results(workload: str, run_dir: Path) -> None:
    """results.json holds keywords as strings and ops as maps: every summary must read that shape."""
    results = load_results(run_dir)
    assert results is not None
    summary = REGISTRY[workload].summarize(results["workload"])
    assert summary.findings or summary.figures


class _Broken(Workload):
    name: ClassVar[str] = "broken-summary"

    @classmethod
    def summarize(cls, result: Any) -> Summary:
        raise KeyError("oops")


def test_a_failing_summary_does_not_cost_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "broken-summary", _Broken)
    run = tmp_path / "run"
    run.mkdir()
    (run / "test.json").write_text(json.dumps({"workload": "broken-summary"}))
    write_results(core.check_all(options.TestOptions(), [], {"valid?": False, "widgets": 3}), run)
    why = write_report(run).read_text().split("<h2>Why</h2>")[1].split("<h2>")[0]
    assert "its summary failed: KeyError" in why and "widgets: 3" in why
