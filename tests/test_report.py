"""The per-run report (index.html) and the message diagram (messages.svg).

Built against synthetic run directories (our own file formats, written with harness.edn) and
against the real Maelstrom runs in tests/data/maelstrom-runs, whose verdicts the page must show.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import fidelity
import pytest
from browser import needs_chromium, render

from harness.checkers.core import latencies_by_outcome, quantile
from harness.fault_intervals import FaultInterval, partition_intervals
from harness.history import NEMESIS, UNKNOWN, Op, kw
from harness.net.viz import MAX_MESSAGES, read_journal, write_messages_svg
from harness.report import main, write_report
from harness.results import write_history, write_results

SVG_NS = "{http://www.w3.org/2000/svg}"


# ----------------------------------------------------------------------------------------------
# Synthetic runs


def _ops() -> list[Op]:
    """Two clients, a partition from 1 s to 3 s, one broadcast that times out."""
    raw = [
        ("invoke", "broadcast", 0, 0, 10_000_000),
        ("ok", "broadcast", 0, 0, 12_000_000),
        ("info", "start-partition", NEMESIS, kw("majority"), 1_000_000_000),
        ("info", "start-partition", NEMESIS, [kw("isolated"), {"n1": frozenset({"n2"})}], 1_001_000_000),
        ("invoke", "read", 1, None, 1_500_000_000),
        ("ok", "read", 1, [0], 1_504_000_000),
        ("invoke", "broadcast", 0, 1, 2_000_000_000),
        ("info", "broadcast", 0, 1, 7_000_000_000),
        ("info", "stop-partition", NEMESIS, None, 3_000_000_000),
        ("info", "stop-partition", NEMESIS, kw("network-healed"), 3_002_000_000),
        ("invoke", "read", 1, None, 8_000_000_000),
        ("ok", "read", 1, [0], 8_010_000_000),
    ]
    return [Op(t, f, p, v, time, i) for i, (t, f, p, v, time) in enumerate(raw)]


def _results(valid: Any = False) -> dict[str, Any]:
    return {
        "perf": {"latency-graph": {"valid?": True}, "rate-graph": {"valid?": True}, "valid?": True},
        "timeline": {"valid?": True},
        "exceptions": {"valid?": True},
        "stats": {
            "valid?": valid is not False,
            "count": 4,
            "ok-count": 3,
            "fail-count": 0,
            "info-count": 1,
            "by-f": {
                "broadcast": {"valid?": True, "count": 2, "ok-count": 1, "fail-count": 0, "info-count": 1},
                "read": {"valid?": True, "count": 2, "ok-count": 2, "fail-count": 0, "info-count": 0},
                "topology": {
                    "valid?": valid is not False,
                    "count": 1,
                    "ok-count": 0,
                    "fail-count": 1,
                    "info-count": 0,
                },
            },
        },
        "availability": {"valid?": True, "ok-fraction": 0.75},
        "net": {
            "all": {"send-count": 12, "recv-count": 11, "msg-count": 12, "msgs-per-op": 3.0},
            "clients": {"send-count": 8, "recv-count": 8, "msg-count": 8},
            "servers": {"send-count": 4, "recv-count": 3, "msg-count": 4, "msgs-per-op": 1.0},
            "valid?": True,
        },
        "workload": {
            "valid?": valid,
            "attempt-count": 2,
            "stable-count": 1,
            "lost-count": 1 if valid is False else 0,
            "lost": [1] if valid is False else [],
            "never-read-count": 0,
            "never-read": [],
            "stale-count": 0,
            "stale": [],
            "worst-stale": [],
        },
        "valid?": valid,
    }


def _journal_lines(n_clients: int = 2) -> list[dict[str, Any]]:
    """init (left out of the diagram), client rpcs, gossip, an error reply, a dropped message."""
    events: list[dict[str, Any]] = []
    t = 0
    mid = 0

    def msg(src: str, dest: str, body: dict[str, Any], received: bool = True) -> None:
        nonlocal t, mid
        m = {"id": mid, "src": src, "dest": dest, "body": body}
        events.append({"type": "send", "time": t, "message": m})
        if received:
            events.append({"type": "recv", "time": t + 500_000, "message": m})
        t += 1_000_000
        mid += 1

    msg("c0", "n0", {"type": "init", "node_id": "n0", "node_ids": ["n0", "n1"], "msg_id": 1})
    msg("n0", "c0", {"type": "init_ok", "in_reply_to": 1})
    for c in range(n_clients):
        msg(f"c{c + 2}", "n0", {"type": "broadcast", "message": c, "msg_id": 1})
        msg("n0", f"c{c + 2}", {"type": "broadcast_ok", "in_reply_to": 1})
    msg("n0", "n1", {"type": "gossip", "messages": [0]})
    msg("n1", "n0", {"type": "gossip", "messages": [0]}, received=False)  # partitioned
    msg("c2", "n1", {"type": "read", "msg_id": 2})
    msg("n1", "c2", {"type": "error", "code": 11, "in_reply_to": 2})
    msg("n1", "seq-kv", {"type": "read", "key": "x", "msg_id": 7})
    return events


def make_run(tmp: Path, valid: Any = False, journal: bool = True) -> Path:
    run = tmp / "store" / "broadcast" / "20260101T000000.000+0000"
    run.mkdir(parents=True)
    (run / "test.json").write_text(
        json.dumps(
            {"workload": "broadcast", "node-count": 2, "nodes": ["n0", "n1"], "availability": None, "seed": 7}
        )
    )
    write_history(_ops(), run)
    if valid is not None:
        write_results(_results(valid), run)
    if journal:
        with (run / "net-journal.jsonl").open("w") as f:
            for e in _journal_lines():
                f.write(json.dumps(e) + "\n")
    (run / "node-logs").mkdir()
    (run / "node-logs" / "n0.log").write_text("started\n")
    return run


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _verdict(html: str) -> str:
    m = re.search(r"id=verdict>([A-Z ]+)<", html)
    assert m, "no verdict element"
    return m.group(1)


def _local_refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


# ----------------------------------------------------------------------------------------------
# index.html


def test_invalid_run_says_why(tmp_path: Path) -> None:
    run = make_run(tmp_path, valid=False)
    html = _html(write_report(run))
    assert _verdict(html) == "INVALID"
    why = html.split("<h2>Why</h2>")[1].split("<h2>")[0]
    assert "<b>workload</b>" in why and "lost 1 of 2 attempted" in why
    assert "<b>stats</b>" in why and "no ok ops for topology" in why
    assert "<b>availability</b>" not in why  # valid checkers are not reasons
    # partitions from the nemesis ops: 1.00 s to 3.00 s (the first stop op), with the grudge
    parts = html.split("<h2>Partitions</h2>")[1].split("<h2>")[0]
    assert "1.00" in parts and "3.00" in parts and ":isolated" in parts and "n2" in parts
    # latencies per f and outcome, computed from the history (results have none)
    lat = html.split("<h2>Latency</h2>")[1].split("<h2>")[0]
    assert "broadcast" in lat and "info" in lat and "5000" in lat


def test_unknown_checker_shows_its_data(tmp_path: Path) -> None:
    run = make_run(tmp_path, valid=True)
    results = json.loads((run / "results.json").read_text())
    results["nodes"] = {"valid?": False, "faults": [{"node": "n1", "kind": "stdout", "line": "hello"}]}
    results["valid?"] = False
    (run / "results.json").write_text(json.dumps(results))
    html = _html(write_report(run))
    why = html.split("<h2>Why</h2>")[1].split("<h2>")[0]
    assert _verdict(html) == "INVALID" and "<b>nodes</b>" in why and "faults" in why and "hello" in why


def test_valid_and_unknown_and_crashed_runs(tmp_path: Path) -> None:
    assert _verdict(_html(write_report(make_run(tmp_path / "a", valid=True)))) == "VALID"
    html = _html(write_report(make_run(tmp_path / "b", valid=UNKNOWN)))
    assert _verdict(html) == "UNKNOWN"
    assert "<b>workload</b>" in html.split("<h2>Why</h2>")[1].split("<h2>")[0]
    crashed = _html(write_report(make_run(tmp_path / "c", valid=None)))
    assert _verdict(crashed) == "NO RESULTS" and "node-logs" in crashed


def test_page_is_self_contained_and_links_resolve(tmp_path: Path) -> None:
    run = make_run(tmp_path, valid=False)
    (run / "rate.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    index = write_report(run)
    html = _html(index)
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    refs = _local_refs(html)
    assert (
        "messages.svg" in refs and "rate.png" in refs and "node-logs/n0.log" in refs and "history.edn" in refs
    )
    for ref in refs:
        assert (run / ref).is_file(), ref
    assert index.stat().st_size < 100_000


def test_out_dir_links_only_what_it_holds(tmp_path: Path) -> None:
    run = make_run(tmp_path, valid=False)
    out = tmp_path / "results"
    out.mkdir()
    shutil.copy(run / "results.edn", out)
    html = _html(write_report(run, out_dir=out))
    assert (out / "messages.svg").is_file()
    refs = _local_refs(html)
    assert set(refs) == {"messages.svg", "results.edn"}
    # data still came from the store run: partitions and latencies are there
    assert ":isolated" in html and "no history.edn" not in html.lower()


def test_perf_latencies_from_results_win(tmp_path: Path) -> None:
    run = make_run(tmp_path, valid=True)
    results = json.loads((run / "results.json").read_text())
    results["perf"]["latencies"] = {"broadcast": {"0.5": 1.25, "0.95": 2.5, "0.99": 3.75, "1": 123.5}}
    (run / "results.json").write_text(json.dumps(results))
    lat = _html(write_report(run)).split("<h2>Latency</h2>")[1].split("<h2>")[0]
    assert "123.5" in lat and "1.25" in lat and "from results" in lat.lower()


def test_compute_latencies_quantiles() -> None:
    ops = []
    for i in range(10):  # latencies 1..10 ms
        ops += [
            Op("invoke", "echo", 0, None, i * 100_000_000),
            Op("ok", "echo", 0, None, i * 100_000_000 + (i + 1) * 1_000_000),
        ]
    ((f, outcome, xs),) = latencies_by_outcome(ops)
    # sorted[min(n-1, floor(n*q))]: q0.5 -> index 5 -> 6 ms; q0.95 -> index 9 -> 10 ms
    assert (f, outcome, len(xs), quantile(xs, 0.5), quantile(xs, 0.95), quantile(xs, 1.0)) == (
        "echo",
        "ok",
        10,
        6.0,
        10.0,
        10.0,
    )


def test_partition_never_healed() -> None:
    ops = [Op("info", "start-partition", NEMESIS, kw("one"), 2_000_000_000)]
    assert partition_intervals(ops) == [FaultInterval(2_000_000_000, None, kw("one"), None)]
    # from the first start op to the stop op that completed the heal, with the grudge applied
    (interval,) = partition_intervals(_ops())
    assert (interval.start, interval.end) == (1_000_000_000, 3_002_000_000)
    assert interval.effect == [kw("isolated"), {"n1": frozenset({"n2"})}]


def test_cli_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path, valid=True)
    assert main([str(run)]) == 0
    assert (run / "index.html").is_file() and str(run / "index.html") in capsys.readouterr().out
    assert main([str(tmp_path / "missing")]) != 0


def test_verdicts_of_real_maelstrom_runs(tmp_path: Path) -> None:
    """Every real run's page shows the verdict of its results.edn, and a reason when not valid."""
    runs = fidelity.runs()
    assert len(runs) >= 30
    expected = {"true": "VALID", "false": "INVALID", ":unknown": "UNKNOWN"}
    for src in runs:
        # history left out: it is slow and not needed here
        run = fidelity.copy_run(src, tmp_path, names=("results.edn", "test.json"))
        edn_verdict = re.search(r"^ :valid\? (\S+)\}$", fidelity.text(src, "results.edn"), re.M)
        assert edn_verdict, src
        html = _html(write_report(run))
        assert _verdict(html) == expected[edn_verdict.group(1)], src
        why = html.split("<h2>Why</h2>")[1].split("<h2>")[0]
        assert ("Every checker is valid" in why) == (edn_verdict.group(1) == "true"), src


# ----------------------------------------------------------------------------------------------
# messages.svg


def _svg_lines(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()  # also proves the file is well-formed XML
    return [e for e in root.iter(f"{SVG_NS}line") if e.find(f"{SVG_NS}title") is not None]


def test_svg_classes_and_parties(tmp_path: Path) -> None:
    journal = tmp_path / "net-journal.jsonl"
    journal.write_text("".join(json.dumps(e) + "\n" for e in _journal_lines()))
    out = tmp_path / "messages.svg"
    assert write_messages_svg(journal, out) == 9  # 11 messages minus init and init_ok
    arrows = _svg_lines(out)
    kinds = [a.get("class") for a in arrows]
    assert (
        kinds.count("c") == 5 and kinds.count("s") == 2 and kinds.count("e") == 1 and kinds.count("d x") == 1
    )
    titles = [a.find(f"{SVG_NS}title").text for a in arrows]
    assert "n1\u2192n0 gossip #7" in titles and not any("init" in t for t in titles)
    text = out.read_text()
    heads = re.findall(r'<text class="h" x="\d+" y="\d+">([^<]+)</text>', text)
    assert heads[:5] == ["c2", "c3", "n0", "n1", "seq-kv"]  # clients, nodes, then services


def test_svg_is_bounded(tmp_path: Path) -> None:
    journal = tmp_path / "net-journal.jsonl"
    with journal.open("w") as f:
        for i in range(20_000):
            m = {
                "id": i,
                "src": f"n{i % 25}",
                "dest": f"n{(i * 7 + 1) % 25}",
                "body": {"type": "gossip", "msg_id": i},
            }
            f.write(json.dumps({"type": "send", "time": i * 1000, "message": m}) + "\n")
            f.write(json.dumps({"type": "recv", "time": i * 1000 + 50_000_000, "message": m}) + "\n")
    diagram = read_journal(journal, max_messages=3000)
    assert len(diagram.messages) == 3000 and diagram.truncated
    assert all(m.recv_ns is not None for m in diagram.messages)  # kept reading for late receipts
    out = tmp_path / "messages.svg"
    assert write_messages_svg(journal, out) == MAX_MESSAGES
    # the default cap keeps thirteen challenges' diagrams well inside 10 MB of committed results
    assert out.stat().st_size < 500_000 and len(_svg_lines(out)) == MAX_MESSAGES
    small = tmp_path / "small.svg"
    write_messages_svg(journal, small, max_bytes=100_000)
    assert small.stat().st_size < 110_000 and "size limit reached" in small.read_text()


# ----------------------------------------------------------------------------------------------
# Headless Chromium


def _render_in_chromium(page: Path) -> tuple[str, list[str]]:
    return render(page.resolve().as_uri())


@needs_chromium
def test_report_loads_in_chromium(tmp_path: Path) -> None:
    index = write_report(make_run(tmp_path, valid=False))
    dom, console = _render_in_chromium(index)
    assert console == []
    assert re.search(r'id="verdict">INVALID<', dom)
    svg_dom, svg_console = _render_in_chromium(index.parent / "messages.svg")
    assert svg_console == [] and "<svg" in svg_dom and "gossip" in svg_dom
    # the console check itself can fail: a page that logs an error is caught
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>console.error('broken page')</script>")
    assert any("broken page" in line for line in _render_in_chromium(bad)[1])
