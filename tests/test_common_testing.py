"""The test doubles themselves (common.testing): virtual time is exact and real I/O still works."""

from __future__ import annotations

import asyncio
import os

from common.testing import FakeNode, SimNet, VirtualTimeLoop, run


def test_virtual_time_jumps_to_each_timer_exactly() -> None:
    async def main() -> list[tuple[float, str]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop) and loop.time() == 0
        seen: list[tuple[float, str]] = []
        loop.call_later(3600, lambda: seen.append((loop.time(), "an hour")))
        loop.call_later(0.25, lambda: seen.append((loop.time(), "quarter")))
        await asyncio.sleep(7200)
        seen.append((loop.time(), "woke"))
        return seen

    assert run(main()) == [(0.25, "quarter"), (3600, "an hour"), (7200, "woke")]


def test_real_io_is_waited_for_without_moving_the_clock() -> None:
    async def main() -> tuple[bytes, float]:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        got: asyncio.Future[bytes] = loop.create_future()
        loop.add_reader(r, lambda: got.set_result(os.read(r, 10)))
        loop.run_in_executor(None, os.write, w, b"hi")
        data = await got
        loop.remove_reader(r)
        os.close(r)
        os.close(w)
        return data, loop.time()

    assert run(main()) == (b"hi", 0)


def test_sim_net_by_hand_and_by_timer() -> None:
    manual = SimNet(latency=None)
    a, b = FakeNode(manual, "a"), FakeNode(manual, "b")
    got: list[tuple[str, object]] = []
    b.handler("ping")(lambda msg: (got.append((msg.src, msg.body["n"])), b.send(msg.src, {"type": "pong"})))
    a.handler("pong")(lambda msg: got.append((msg.src, "pong")))
    a.send("b", {"type": "ping", "n": 1})
    assert got == [] and manual.deliver_all() == 2 and got == [("a", 1), ("b", "pong")]
    manual.isolate("a")
    a.send("b", {"type": "ping", "n": 2})
    assert manual.deliver_all() == 0 and manual.dropped == 1

    async def timed() -> list[float]:
        net = SimNet(latency=0.5)
        x, y = FakeNode(net, "x"), FakeNode(net, "y")
        loop = asyncio.get_running_loop()
        times: list[float] = []
        y.handler("tick")(lambda msg: times.append(loop.time()))
        x.every(1.0, lambda: x.send("y", {"type": "tick"}))
        await asyncio.sleep(3.75)
        net.stop()
        return times

    assert run(timed()) == [1.5, 2.5, 3.5]


def test_a_timer_less_than_a_ns_ahead_still_moves_the_clock() -> None:
    """A wait for what is left until a deadline one float ulp away ends, even when each turn
    schedules more work (as a node's send schedules its flush): the timer is due at the next whole
    ns, so the clock moves past the deadline. It once stayed: with a callback ready the clock does
    not jump, asyncio runs a timer due within its resolution (1 ns) at once, and raft-lin-kv's
    forwarder spun at one instant for ever."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(19.211207946)
        deadline = loop.time() + 3.552713678800501e-15  # one ulp ahead of now
        spins = 0
        while (left := deadline - loop.time()) > 0:
            spins += 1
            assert spins < 5, "the clock does not move"
            loop.call_soon(lambda: None)  # a flush, say
            await asyncio.wait({loop.create_future()}, timeout=left)
        return spins, loop.time_ns()

    assert run(main()) == (1, 19_211_207_947)
