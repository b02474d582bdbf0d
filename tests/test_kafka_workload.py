"""The kafka workload drives nodes as Maelstrom does; the three kafka programs pass it end to end."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.client import MalformedResponse
from harness.edn import read_history, read_results
from harness.history import INFO, OK, Op, kw
from harness.options import TestOptions as Options
from harness.testing import RecordingWorker, ScriptedClient
from harness.workloads import REGISTRY
from harness.workloads.elle import KeyPool
from harness.workloads.kafka import Kafka
from tests.simrun import node_bin, run_test

ROOT = Path(__file__).resolve().parent.parent
SEND, POLL = kw("send"), kw("poll")


def workload(**kw_: Any) -> Kafka:
    opts = Options(workload="kafka", nodes=["n0"], concurrency=2, **kw_)
    return Kafka(opts, random.Random(7))


def run(w: Kafka, client: ScriptedClient, f: str, value: Any, **extra: Any) -> Op:
    return asyncio.run(w.invoke(client, Op("invoke", f, 0, value, extra=extra)))


def test_contract() -> None:
    assert REGISTRY["kafka"] is Kafka
    assert Kafka.idempotent == frozenset({"assign"}) and not Kafka.reusable_client and Kafka.has_final


def test_key_choice_is_exponential_and_keys_rotate_after_16_values() -> None:
    picker = KeyPool(random.Random(1), 10, 16)
    counts = Counter(picker.rand_key() for _ in range(40_000))
    assert counts[9] / 40_000 == pytest.approx(1024 / 2046, abs=0.02)
    assert counts[8] / 40_000 == pytest.approx(512 / 2046, abs=0.02)
    values: dict[int, list[int]] = {}
    for _ in range(5000):
        f, k, v = picker.next()
        if f == "w":
            values.setdefault(k, []).append(v)
    assert all(vs == list(range(1, len(vs) + 1)) and len(vs) <= 16 for vs in values.values())
    assert max(values) > 9 and len(picker.active) == 10  # retired keys replaced in place


def test_generator_mix_crashes_and_assigns() -> None:
    w = workload()
    ops = [w.next_op(0, 1000 * i) for i in range(20_000)]
    fs = Counter(op["f"] for op in ops)
    assert ops[0]["f"] == "crash"  # the crash generator starts at once
    assert fs["crash"] == 1  # 20 ms of ops: the next crash is 0..30 s later
    assert fs["assign"] / len(ops) == pytest.approx(1 / 64, abs=0.005)
    # 50/50, except that a write drawn for a retired key is drawn again (as in Elle's wr-txns), so
    # polls gain about one op per 16 sends (Maelstrom's runs: 8106 polls, 7638 sends)
    assert fs["poll"] / fs["send"] == pytest.approx(17 / 16, abs=0.04)
    sends = [op["value"][0] for op in ops if op["f"] == "send"]
    assert all(isinstance(k, str) and isinstance(v, int) for _, k, v in sends)
    assert all(op["value"] == [[POLL]] for op in ops if op["f"] == "poll")
    # an assign displaces its op, which comes next: a plain assign before a send names its key
    pairs = [(op, ops[i + 1]) for i, op in enumerate(ops[:-1]) if op["f"] == "assign" and "unseen" not in op]
    before_sends = [(op, nxt) for op, nxt in pairs if nxt["f"] == "send"]
    assert before_sends and all(op["value"] == [nxt["value"][0][1]] for op, nxt in before_sends)


def test_assign_of_unseen_keys() -> None:
    w = workload()
    w.on_complete(Op(OK, "send", 0, [[SEND, "3", [4, 5]]]))
    assigns = []
    for i in range(30_000):
        op = w.next_op(0, i)
        if op["f"] == "assign":
            assigns.append(op)
    extended = [op for op in assigns if "unseen" in op]
    assert len(extended) / len(assigns) == pytest.approx(1 / 3, abs=0.08)
    assert all(op["value"][0] == "3" for op in extended)
    w.on_complete(Op(OK, "poll", 1, [[POLL, {"3": [[4, 5]]}]]))
    assert w._sent == {} and w.max_offsets == {3: 4}


def test_client_offsets_assign_poll_commit() -> None:
    w = workload()
    c = ScriptedClient(
        "n0",
        {
            "list_committed_offsets": {"offsets": {"a": 3}},
            "poll": {"msgs": {"a": [[3, 30], [4, 40]], "b": [], "z": [[7, 70]]}},
        },
    )
    assert run(w, c, "assign", ["a", "b"]).type == OK
    assert c.sent[-1] == {"type": "list_committed_offsets", "keys": ["a", "b"]}
    done = run(w, c, "poll", [[POLL]])
    assert c.sent[-2] == {"type": "poll", "offsets": {"a": 3, "b": 0}}
    # commit the highest offset returned per key (not +1), only for keys with messages
    assert c.sent[-1] == {"type": "commit_offsets", "offsets": {"a": 4, "z": 7}}
    assert done.value == [[POLL, {"a": [[3, 30], [4, 40]], "b": [], "z": [[7, 70]]}]]
    run(w, c, "poll", [[POLL]])
    assert c.sent[-2]["offsets"] == {"a": 5, "b": 0, "z": 8}
    # re-assign keeps local offsets of held keys, drops the others; seek rewinds to 0
    run(w, c, "assign", ["a", "q"])
    c.replies["poll"] = {"msgs": {}}
    run(w, c, "poll", [[POLL]])
    assert c.sent[-1] == {"type": "poll", "offsets": {"a": 5, "q": 0}}
    run(w, c, "assign", ["a"], **{"seek-to-beginning?": True})
    run(w, c, "poll", [[POLL]])
    assert c.sent[-1] == {"type": "poll", "offsets": {"a": 0}}


def test_send_and_crash() -> None:
    w = workload()
    c = ScriptedClient("n0", {"send": {"offset": 9}})
    done = run(w, c, "send", [[SEND, "4", 2]])
    assert c.sent[-1] == {"type": "send", "key": "4", "msg": 2}
    assert done.value == [[SEND, "4", [9, 2]]]
    assert run(w, c, "crash", None).type == INFO


def test_malformed_poll_reply_raises() -> None:
    w = workload()
    with pytest.raises(MalformedResponse):
        run(w, ScriptedClient("n0", {"poll": {"msgs": {"a": [[1, 2, 3]]}}}), "poll", [[POLL]])


def test_final_phase_crash_assign_then_polls_until_caught_up() -> None:
    w = workload()
    w.on_complete(Op(OK, "send", 0, [[SEND, "1", [2, 5]]]))

    def complete(op: dict[str, Any], worker: RecordingWorker) -> Op:
        seen = {"1": [[len(worker.ops) - 3, 1]]} if op["f"] == "poll" else None
        return Op(OK, op["f"], 0, [[POLL, seen]] if seen else op.get("value"))

    worker = RecordingWorker(complete=complete, max_sleep=0.4)
    asyncio.run(w.final(worker))
    assert [op["f"] for op in worker.ops] == ["crash", "assign", "poll", "poll", "poll"]
    assert worker.ops[1] == {"f": "assign", "value": ["1"], "seek-to-beginning?": True}


# -- end to end -------------------------------------------------------------------------------


def harness(tmp_path: Path, program: Path, nodes: int, sim: bool = False) -> tuple[int, str, Path]:
    store = tmp_path / "store"
    args = [
        "-w", "kafka", *node_bin(program, sim),
        "--node-count", str(nodes), "--concurrency", "2n", "--time-limit", "3", "--rate", "200",
        "--recovery-time", "0.5", "--seed", "3", "--store", str(store), "--no-plots",
    ]  # fmt: skip
    code, out = run_test(args, sim, timeout=100)
    return code, out, (store / "latest").resolve()


@pytest.mark.parametrize(
    ("folder", "nodes"),
    [("single-node-kafka-style-log", 1), ("multi-node-kafka-style-log", 2), ("efficient-kafka-style-log", 2)],
)
def test_programs_are_valid(tmp_path: Path, folder: str, nodes: int) -> None:
    code, out, run_dir = harness(tmp_path, ROOT / folder / "main.py", nodes)
    assert code == 0, out
    results = read_results(run_dir / "results.edn")
    assert results["workload"]["valid?"] is True
    history = read_history(run_dir / "history.edn")
    fs = Counter(op.f for op in history if op.type == OK)
    assert fs["send"] > 50 and fs["poll"] > 50


BROKEN = """
from common import Node
node = Node()
log = {{}}

@node.handler("send")
def send(msg):
    entries = log.setdefault(msg.body["key"], [])
    entries.append(msg.body["msg"])
    return {{"type": "send_ok", "offset": len(entries) - 1}}

@node.handler("poll")
def poll(msg):
    out = {{}}
    for k, start in msg.body["offsets"].items():
        entries = log.get(k, [])
        # bug: every other message is skipped
        pairs = [[o, entries[o]] for o in range(start, len(entries)) if o % 2 == 0]
        if pairs:
            out[k] = pairs
    return {{"type": "poll_ok", "msgs": out}}

@node.handler("commit_offsets")
def commit(msg):
    return {{"type": "commit_offsets_ok"}}

@node.handler("list_committed_offsets")
def listc(msg):
    return {{"type": "list_committed_offsets_ok", "offsets": {{}}}}

node.run()
"""


@pytest.mark.parametrize("sim", [False, True], ids=["real", "sim"])
def test_a_log_that_skips_messages_is_invalid(tmp_path: Path, sim: bool) -> None:
    program = tmp_path / "broken.py"
    program.write_text(BROKEN.format(root=str(ROOT)))
    code, out, run_dir = harness(tmp_path, program, 1, sim)
    assert code == 1, out
    workload_result = read_results(run_dir / "results.edn")["workload"]
    assert workload_result["valid?"] is False
    assert kw("int-poll-skip") in workload_result["bad-error-types"]
