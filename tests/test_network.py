"""The simulated network and the partition nemesis, without processes.

The network runs on virtual time (common.clock.VirtualTimeLoop): delivery times are exact, so
the tests assert them exactly, and sleeping costs no wall time.
"""

from __future__ import annotations

import asyncio
import io
import json
import random

import pytest

from common.testing import run as virtual_run
from harness.fault_intervals import partition_intervals
from harness.history import NEMESIS, Op, kw
from harness.nemesis import PartitionNemesis, grudge_for
from harness.net.checker import net_counts_from_journal, net_result
from harness.net.network import Network, latency_sampler


class Recorder:
    """Delivery callback that keeps (virtual ms since creation, src, body) per recipient."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.got: list[tuple[float, str, dict]] = []

    def __call__(self, msg) -> None:
        self.got.append((round((self.loop.time() - self.t0) * 1000, 6), msg.src, msg.body))


def virtual_network(*args, **kwargs) -> Network:
    """A Network on the running VirtualTimeLoop's clock."""
    return Network(*args, clock=asyncio.get_running_loop().time_ns, **kwargs)


def latencies(*values: int):
    it = iter(values)
    return lambda: next(it)


def run(coro):
    return virtual_run(coro)


def test_head_of_line_blocking_like_maelstrom() -> None:
    async def main() -> Recorder:
        net = virtual_network(latencies(60, 0))
        rec = Recorder()
        net.register("n2", rec)
        for n in ("n1", "n3", "c1"):
            net.register(n, lambda m: None)
        net.send("n1", "n2", {"type": "slow"})  # due in 60 ms, dequeued at once
        await asyncio.sleep(0.005)
        net.send("n3", "n2", {"type": "fast"})  # due now, but waits behind the sleeping head
        net.send("c1", "n2", {"type": "client"})  # clients have no latency, yet also wait
        await asyncio.sleep(0.12)
        await net.close()
        return rec

    rec = run(main())
    assert [b["type"] for _, _, b in rec.got] == ["slow", "fast", "client"]
    # all three at the head's due time: the fast and the client message waited behind it
    assert [t for t, _, _ in rec.got] == [60, 60, 60], rec.got


def test_earlier_deadline_overtakes_queued_later_one() -> None:
    async def main() -> Recorder:
        net = virtual_network(latencies(40, 100, 10))
        rec = Recorder()
        net.register("n2", rec)
        net.register("n1", lambda m: None)
        net.send("n1", "n2", {"k": "a"})  # due 40
        await asyncio.sleep(0.005)  # the loop takes it as its head and sleeps
        net.send("n1", "n2", {"k": "b"})  # queued, due 100
        net.send("n1", "n2", {"k": "c"})  # queued, due 10: jumps ahead of b, but not of the head
        await asyncio.sleep(0.15)
        await net.close()
        return rec

    rec = run(main())
    assert [b["k"] for _, _, b in rec.got] == ["a", "c", "b"]
    assert [t for t, _, _ in rec.got] == [40, 40, 105]  # c waited behind the head; b is due at 5+100


def test_partitions_drop_at_dequeue() -> None:
    async def main() -> tuple[Recorder, Network]:
        net = virtual_network(latencies(50, 50, 0, 0, 0))
        rec = Recorder()
        net.register("n2", rec)
        for n in ("n1", "n3", "c1"):
            net.register(n, lambda m: None)
        net.send("n1", "n2", {"k": "taken-before-partition"})  # dequeued now, sleeping
        await asyncio.sleep(0.005)
        net.send("n1", "n2", {"k": "queued-behind"})  # still in the queue when the grudge starts
        net.drop("n1", "n2")
        await asyncio.sleep(0.11)
        net.send("n1", "n2", {"k": "during"})  # dropped
        net.send("n3", "n2", {"k": "other-src"})  # delivered: grudges are per source
        net.send("c1", "n2", {"k": "client"})  # clients are never partitioned
        net.heal()
        net.send("n1", "n2", {"k": "after-heal"})
        await asyncio.sleep(0.02)
        await net.close()
        return rec, net

    rec, net = run(main())
    assert [b["k"] for _, _, b in rec.got] == ["taken-before-partition", "other-src", "client", "after-heal"]
    assert net.send_count == 6 and net.recv_count == 4 and net.dropped_count == 2


def test_latency_only_between_non_clients() -> None:
    async def main() -> dict[str, Recorder]:
        net = virtual_network(lambda: 40)
        recs = {n: Recorder() for n in ("n1", "n2", "c1", "lin-kv")}
        for n, r in recs.items():
            net.register(n, r, direct=n.startswith("c"))
        net.send("c1", "n1", {"k": "client->node"})
        net.send("n2", "c1", {"k": "node->client"})
        net.send("n1", "n2", {"k": "node->node"})
        net.send("n1", "lin-kv", {"k": "node->service"})
        await asyncio.sleep(0.08)
        await net.close()
        return recs

    recs = run(main())
    assert recs["n1"].got[0][0] == 0
    assert recs["c1"].got[0][0] == 0
    assert recs["n2"].got[0][0] == 40
    assert recs["lin-kv"].got[0][0] == 40


def test_ids_journal_and_net_counts(tmp_path) -> None:
    journal_path = tmp_path / "net-journal.jsonl"

    async def main() -> Network:
        with open(journal_path, "wb") as journal:
            net = virtual_network(None, journal)
            rec = Recorder()
            net.register("n1", rec)
            net.register("n2", lambda m: None)
            net.register("c0", lambda m: None, direct=True)
            net.send("c0", "n1", {"type": "init"})
            net.send("n1", "c0", {"type": "init_ok"})
            net.send("n1", "n2", {"type": "gossip"})
            net.drop("n1", "n2")
            net.send("n1", "n2", {"type": "gossip"})  # sent, never received
            await asyncio.sleep(0.01)
            await net.close()
        return net

    net = run(main())
    events = [json.loads(x) for x in journal_path.read_text().splitlines()]
    assert [e["message"]["id"] for e in events if e["type"] == "send"] == [0, 1, 2, 3]
    counts = net.counts()
    assert counts == {
        k: v for k, v in net_counts_from_journal(journal_path).items() if k != "client-msg-count"
    }
    result = net_result(counts, op_count=2)
    assert result["all"] == {"send-count": 4, "recv-count": 3, "msg-count": 4, "msgs-per-op": 2.0}
    assert result["clients"] == {"send-count": 2, "recv-count": 2, "msg-count": 2}
    assert result["servers"] == {"send-count": 2, "recv-count": 1, "msg-count": 2, "msgs-per-op": 1.0}
    assert "msgs-per-op" not in net_result(counts, op_count=0)["all"]


def test_latency_distributions() -> None:
    rng = random.Random(1)
    assert {latency_sampler(7, "constant", rng)() for _ in range(10)} == {7}
    uniform = [latency_sampler(10, "uniform", rng)() for _ in range(2000)]
    assert min(uniform) == 0 and max(uniform) == 19
    expo = [latency_sampler(10, "exponential", rng)() for _ in range(4000)]
    assert all(isinstance(x, int) and x >= 0 for x in expo)
    assert 7 < sum(expo) / len(expo) < 11  # truncation lowers the mean by about 0.5
    for dist in ("uniform", "exponential"):
        with pytest.raises(ValueError):
            latency_sampler(0, dist, rng)


# -- nemesis ------------------------------------------------------------------------------------


def test_majorities_ring_on_three_nodes_is_one_way() -> None:
    for seed in range(20):
        g = grudge_for("majorities-ring", ["n0", "n1", "n2"], random.Random(seed))
        assert sorted(g) == ["n0", "n1", "n2"]
        assert all(len(v) == 1 for v in g.values())
        for a, dropped in g.items():
            (b,) = dropped
            assert a not in g[b]  # b still hears a: one-way


def test_majorities_ring_five_nodes_symmetric_and_larger_sees_majority() -> None:
    nodes5 = [f"n{i}" for i in range(5)]
    g = grudge_for("majorities-ring", nodes5, random.Random(3))
    assert all(len(v) == 2 for v in g.values())
    assert all(a in g[b] for a, v in g.items() for b in v)
    for n in (6, 7, 25):
        nodes = [f"n{i}" for i in range(n)]
        g = grudge_for("majorities-ring", nodes, random.Random(n))
        assert sorted(g) == sorted(nodes)
        assert all(n - len(v) >= n // 2 + 1 for v in g.values())


def test_other_shapes() -> None:
    rng = random.Random(5)
    three = ["n0", "n1", "n2"]
    assert grudge_for("minority-third", three, rng) == {n: frozenset() for n in three}
    five = [f"n{i}" for i in range(5)]
    g = grudge_for("minority-third", five, rng)
    assert sorted(len(v) for v in g.values()) == [1, 1, 1, 1, 4]
    g = grudge_for("majority", five, rng)
    assert sorted(len(v) for v in g.values()) == [2, 2, 2, 3, 3]
    g = grudge_for("one", three, rng)
    assert sorted(len(v) for v in g.values()) == [1, 1, 2]
    assert grudge_for("one", ["n0"], rng) == {"n0": frozenset()}


def test_nemesis_alternates_and_records_intervals() -> None:
    async def main() -> tuple[list, PartitionNemesis]:
        net = virtual_network()
        nem = PartitionNemesis(["n0", "n1", "n2"], net, random.Random(2), interval=1.0)
        ops = []
        for t in range(6):
            f, value = nem.next_op()
            ops.append((f, value, nem.invoke(f, value, t)))
        return ops, nem

    ops, nem = run(main())
    assert [f for f, _, _ in ops] == ["start-partition", "stop-partition"] * 3
    assert all(v is None and r == kw("network-healed") for f, v, r in ops if f == "stop-partition")
    assert all(r[0] == kw("isolated") for f, _, r in ops if f == "start-partition")
    # as the interpreter records them: an info invocation and an info completion per op
    history = [Op("info", f, NEMESIS, x, t) for t, (f, v, r) in enumerate(ops) for x in (v, r)]
    intervals = partition_intervals(history)
    assert [(iv.start, iv.end) for iv in intervals] == [(0, 1), (2, 3), (4, 5)]
    assert [iv.effect for iv in intervals] == [r for f, _, r in ops if f == "start-partition"]
    delays = [nem.next_delay() for _ in range(500)]
    assert min(delays) >= 0 and max(delays) < 2.0


def test_journal_writes_are_lines(tmp_path) -> None:
    buf = io.BytesIO()

    async def main() -> None:
        net = virtual_network(None, buf)
        net.register("n1", lambda m: None)
        net.send("n1", "n1", {"type": "x", "s": "a\nb"})
        await net.close()

    run(main())
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["message"]["body"]["s"] == "a\nb" for x in lines)


# -- killed nodes: hold, admit, release ---------------------------------------------------------


def test_latency_still_applies_after_a_hold_and_release() -> None:
    """A killed node's messages wait; after the restart every later message gets the configured
    latency again (suspected in a 3d kill run whose op latency fell to ~1 ms: that run's hub was
    down for 20 s, so no live node received any inter-node message to wait behind)."""

    async def main() -> tuple[Recorder, Network]:
        net = virtual_network(lambda: 50)
        rec = Recorder()
        net.register("n2", rec)
        for n in ("n1", "c9"):
            net.register(n, lambda m: None)
        net.send("n1", "n2", {"k": "before"})  # due 50
        await asyncio.sleep(0.06)
        net.hold("n2")  # killed at 60
        await asyncio.sleep(0.01)
        net.send("n1", "n2", {"k": "held-1"})  # sent 70, due 120: waits for the restart
        await asyncio.sleep(0.41)
        net.send("n1", "n2", {"k": "held-2"})  # sent 480, due 530: later than the release
        await asyncio.sleep(0.02)
        net.release("n2")  # back at 500
        await asyncio.sleep(0.1)
        for i in range(3):  # sent 600, 700, 800: each due 50 ms later, as before the kill
            net.send("n1", "n2", {"k": f"after-{i}"})
            await asyncio.sleep(0.1)
        net.send("c9", "n2", {"k": "client"})  # clients have no latency, then as before
        await asyncio.sleep(0.01)
        await net.close()
        return rec, net

    rec, net = run(main())
    assert [(t, b["k"]) for t, _, b in rec.got] == [
        (50, "before"),
        (500, "held-1"),  # overdue at the release: delivered then, not counted as lateness
        (530, "held-2"),  # not yet due at the release: keeps its latency
        (650, "after-0"),
        (750, "after-1"),
        (850, "after-2"),
        (900, "client"),
    ]
    assert max(net.lateness_us) == 0  # the wait was the fault's, not the runner's


def test_a_head_taken_before_the_kill_waits_for_the_restart() -> None:
    async def main() -> Recorder:
        net = virtual_network(lambda: 100)
        rec = Recorder()
        net.register("n2", rec)
        net.register("n1", lambda m: None)
        net.send("n1", "n2", {"k": "head"})  # taken at once, due 100
        net.send("n1", "n2", {"k": "next"})  # behind it, due 100
        await asyncio.sleep(0.03)
        net.hold("n2")  # killed while the head sleeps until its due time
        await asyncio.sleep(0.2)
        net.release("n2")  # back at 230
        await asyncio.sleep(0.2)
        net.send("n1", "n2", {"k": "after"})  # sent 430, due 530
        await asyncio.sleep(0.2)
        await net.close()
        return rec

    rec = run(main())
    assert [(t, b["k"]) for t, _, b in rec.got] == [(230, "head"), (230, "next"), (530, "after")]


def test_init_of_the_restarted_node_passes_a_head_taken_before_the_kill() -> None:
    """The restart's init client is admitted through the hold. If the killed node's delivery
    thread was sleeping on a head when the kill came and the restart is quicker than that head's
    latency, the init waits behind the head (head-of-line, as any message) and then goes through;
    everything else still waits for the release."""

    async def main() -> Recorder:
        net = virtual_network(lambda: 1000)
        rec = Recorder()
        net.register("n2", rec)
        for n in ("n1", "c7"):
            net.register(n, lambda m: None)
        net.send("n1", "n2", {"k": "head"})  # taken at once, due 1000
        await asyncio.sleep(0.01)
        net.hold("n2")  # killed at 10
        await asyncio.sleep(0.04)
        net.admit("n2", "c7")  # restarted at 50
        net.send("c7", "n2", {"k": "init"})
        await asyncio.sleep(1.5)
        delivered_before_release = [b["k"] for _, _, b in rec.got]
        net.release("n2")  # init_ok came back: at 1550
        await asyncio.sleep(0.01)
        await net.close()
        rec.got.append((-1, "", {"k": repr(delivered_before_release)}))
        return rec

    rec = run(main())
    assert [(t, b["k"]) for t, _, b in rec.got] == [
        (1000, "init"),  # behind the head's due time, then through the hold
        (1550, "head"),
        (-1, "['init']"),
    ]
