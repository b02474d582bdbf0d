"""``harness analyze RUN_DIR``: JSON on stdout, Jepsen's exit codes, missing checker -> 2."""

from __future__ import annotations

import json
from pathlib import Path

import fidelity

from harness.analyze import main
from harness.edn import write_history
from harness.history import Op


def make_run(tmp_path: Path, workload: str, ops: list[Op], **test) -> Path:
    run = tmp_path / workload / "run"
    run.mkdir(parents=True)
    (run / "test.json").write_text(json.dumps({"workload": workload, "nodes": ["n0"], **test}))
    write_history(ops, run)
    return run


ECHO_OK = [Op("invoke", "echo", 0, "a", 0, 0), Op("ok", "echo", 0, {"echo": "a", "type": "echo_ok"}, 10, 1)]


def test_valid_run_exits_0_and_prints_json(tmp_path, capsys):
    assert main([str(make_run(tmp_path, "echo", ECHO_OK))]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid?"] is True and out["workload"] == {"valid?": True, "errors": []}
    assert list(out)[:5] == ["perf", "timeline", "exceptions", "stats", "availability"] and "net" not in out


def test_invalid_run_exits_1(tmp_path, capsys):
    ops = [Op("invoke", "echo", 0, "a", 0, 0), Op("ok", "echo", 0, {"echo": "b"}, 10, 1)]
    assert main([str(make_run(tmp_path, "echo", ops))]) == 1
    assert json.loads(capsys.readouterr().out)["workload"]["valid?"] is False


def test_availability_from_test_json(tmp_path, capsys):
    ops = [*ECHO_OK, Op("invoke", "echo", 1, "b", 20, 2), Op("info", "echo", 1, "b", 30, 3)]
    assert main([str(make_run(tmp_path, "echo", ops, availability="total"))]) == 1
    assert json.loads(capsys.readouterr().out)["availability"] == {"valid?": False, "ok-fraction": 0.5}


def test_checker_exception_exits_2(tmp_path, capsys):
    ops = [Op("invoke", "generate", 0, None, 0, 0), Op("ok", "generate", 0, "x", 1, 1)]
    ops += [Op("invoke", "generate", 0, None, 2, 2), Op("ok", "generate", 0, 5, 3, 3)]
    assert main([str(make_run(tmp_path, "unique-ids", ops))]) == 2
    assert json.loads(capsys.readouterr().out)["workload"]["valid?"] == "unknown"


def test_no_checker_exits_2(tmp_path, capsys):
    assert main([str(make_run(tmp_path, "no-such-workload", ECHO_OK))]) == 2
    assert "no checker" in capsys.readouterr().err


def test_net_from_our_journal(tmp_path, capsys):
    run = make_run(tmp_path, "echo", ECHO_OK)
    lines = [
        {"type": "send", "time": 1, "message": {"id": 0, "src": "c1", "dest": "n0", "body": {}}},
        {"type": "recv", "time": 2, "message": {"id": 0, "src": "c1", "dest": "n0", "body": {}}},
        {"type": "send", "time": 3, "message": {"id": 1, "src": "n0", "dest": "seq-kv", "body": {}}},
    ]
    (run / "net-journal.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main([str(run)]) == 0
    net = json.loads(capsys.readouterr().out)["net"]
    assert net["all"]["msg-count"] == 2 and net["servers"]["send-count"] == 1


def test_bad_arguments(tmp_path):
    assert main([str(tmp_path / "missing")]) == 254
    assert main([]) == 254


def test_maelstrom_run_and_plots(tmp_path, capsys):
    src = fidelity.RUNS_ROOT / "echo" / "SousaGLucas--echo"
    run = fidelity.copy_run(src, tmp_path, names=("test.json", "history.edn"))  # --plots writes into it
    assert main([str(run), "--plots"]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["count"] == 54
    assert all(
        (run / f).stat().st_size > 1000 for f in ("latency-raw.png", "latency-quantiles.png", "rate.png")
    )


def test_a_corpus_run_is_analyzed_where_it_is_stored(capsys):
    """The corpus keeps history.edn as history.edn.xz; analyze reads the folder as it is."""
    run = fidelity.RUNS_ROOT / "g-counter" / "punchanabu--20250201T021555.595+0700"
    assert main([str(run)]) == 1  # Maelstrom: invalid, final reads (742 740 742) of 1095
    assert json.loads(capsys.readouterr().out)["workload"]["final-reads"] == [742, 740, 742]
