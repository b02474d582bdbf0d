"""Built-in services: replies, error texts, Clojure equality, and seq-kv/lww-kv anomalies."""

from __future__ import annotations

import random

from harness.services import LinKV, LinTSO, LwwKV, SeqKV, make_services


def test_lin_kv_read_write_cas_and_errors():
    kv = LinKV()
    assert kv.handle("n1", {"type": "read", "key": "a"}) == {
        "type": "error",
        "code": 20,
        "text": "key does not exist",
    }
    assert kv.handle("n1", {"type": "write", "key": "a", "value": 1}) == {"type": "write_ok"}
    assert kv.handle("n1", {"type": "read", "key": "a"}) == {"type": "read_ok", "value": 1}
    assert kv.handle("n1", {"type": "cas", "key": "a", "from": 2, "to": 3}) == {
        "type": "error",
        "code": 22,
        "text": "current value 1 is not 2",
    }
    assert kv.handle("n1", {"type": "cas", "key": "a", "from": 1, "to": "x"}) == {"type": "cas_ok"}
    assert (
        kv.handle("n2", {"type": "cas", "key": "a", "from": "y", "to": 0})["text"]
        == 'current value "x" is not "y"'
    )
    assert kv.handle("n1", {"type": "cas", "key": "b", "from": 0, "to": 5})["code"] == 20
    assert kv.handle("n1", {"type": "cas", "key": "b", "from": 0, "to": 5, "create_if_not_exists": True}) == {
        "type": "cas_ok"
    }
    assert kv.handle("n1", {"type": "read", "key": "b"})["value"] == 5
    assert kv.handle("n1", {"type": "frobnicate", "key": "b"}) is None  # no reply, like Maelstrom


def test_clojure_equality_for_keys_and_values():
    kv = LinKV()
    kv.handle("n1", {"type": "write", "key": 1, "value": 1})
    for other in (1.0, True, "1"):
        assert kv.handle("n1", {"type": "read", "key": other})["code"] == 20
        assert kv.handle("n1", {"type": "cas", "key": 1, "from": other, "to": 9})["code"] == 22
    kv.handle("n1", {"type": "write", "key": [1, {"a": 2}], "value": None})
    assert kv.handle("n1", {"type": "read", "key": [1, {"a": 2}]}) == {"type": "read_ok", "value": None}


def test_lin_tso_counts_from_zero():
    tso = LinTSO()
    assert [tso.handle("n1", {"type": "ts"})["ts"] for _ in range(3)] == [0, 1, 2]
    assert tso.handle("n1", {"type": "read"}) is None


def test_seq_kv_node_never_reads_older_than_its_own_write():
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        for v in range(40):
            assert kv.handle("n1", {"type": "write", "key": "k", "value": v}) == {"type": "write_ok"}
            assert kv.handle("n1", {"type": "read", "key": "k"}) == {"type": "read_ok", "value": v}


def test_seq_kv_other_node_can_read_stale_but_monotonically():
    stale_seen = False
    for seed in range(20):
        kv = SeqKV(random.Random(seed))
        for v in range(10):
            kv.handle("n1", {"type": "write", "key": "k", "value": v})
        seen = []
        for _ in range(30):
            reply = kv.handle("n2", {"type": "read", "key": "k"})
            seen.append(reply.get("value", -1))  # -1: the initial state, key missing
        assert seen == sorted(seen), "a node's reads never go back in time"
        stale_seen |= seen[0] != 9
    assert stale_seen, "another node must be able to observe a stale state"


def _served_index(kv: SeqKV, client: str) -> int:
    """The state a read by ``client`` was served from, when state i holds key "k" = i (0: none)."""
    return kv.handle(client, {"type": "read", "key": "k"}).get("value", 0)


def _seq_kv_behind(rng: random.Random, seen: int, behind: int) -> SeqKV:
    """A seq-kv whose state i holds "k" = i, where n2 last observed state ``seen`` (its own write;
    0: n2 never asked) and n1 then wrote ``behind`` more states."""
    kv = SeqKV(rng)
    for v in range(1, seen + behind + 1):
        kv.handle("n2" if v == seen else "n1", {"type": "write", "key": "k", "value": v})
    assert kv.last_index == seen + behind and kv.clients.get("n2", 0) == seen
    return kv


def _binomial_outliers(counts: list[int], trials: int, z: float = 5.0) -> list[int]:
    """Buckets outside ``trials/len(counts) +- z`` standard deviations of a uniform draw. With 9
    buckets at z = 5 a fair draw fails about once in 200,000 seeds."""
    p = 1 / len(counts)
    mean, sd = trials * p, (trials * p * (1 - p)) ** 0.5
    return [i for i, c in enumerate(counts) if abs(c - mean) > z * sd]


def test_the_uniformity_check_would_catch_the_latest_state_left_out():
    trials = 6000
    assert _binomial_outliers([1500, 1500, 1500, 1500], trials) == []
    assert _binomial_outliers([2000, 2000, 2000, 0], trials) == [0, 1, 2, 3]  # the old [c, latest)
    assert _binomial_outliers([1400, 1600, 1500, 1500], trials) == []  # within 5 sd (170)
    assert _binomial_outliers([1200, 1800, 1500, 1500], trials) == [0, 1]


def test_seq_kv_serves_each_state_from_the_client_s_to_the_latest_uniformly():
    """From k states behind, each of the k+1 states up to and including the latest is served with
    probability 1/(k+1), as in Maelstrom (``(rand-int (inc (- last-index client-index)))``)."""
    rng = random.Random(12)
    trials = 6000
    for seen, behind in [(0, 1), (0, 3), (4, 2), (7, 8)]:
        counts = [0] * (behind + 1)
        for _ in range(trials):
            kv = _seq_kv_behind(rng, seen, behind)
            index = _served_index(kv, "n2")
            assert seen <= index <= seen + behind
            counts[index - seen] += 1
        assert _binomial_outliers(counts, trials) == [], (seen, behind, counts)


def test_seq_kv_latest_state_is_reachable_from_behind_by_reads_alone():
    # The issue's demonstration: after n1 wrote 0..9, n2's reads reach 9 (before the fix, never above 8).
    for seed in range(20):
        kv = SeqKV(random.Random(seed))
        for v in range(10):
            kv.handle("n1", {"type": "write", "key": "k", "value": v})
        reads = [kv.handle("n2", {"type": "read", "key": "k"}).get("value", -1) for _ in range(200)]
        assert reads[-1] == 9 and reads == sorted(reads)


def test_seq_kv_client_never_reads_a_state_older_than_one_it_saw():
    """Random writes and reads by 3 nodes: each node's served states never go back, and never fall
    below its own last write."""
    rng = random.Random(5)
    for _ in range(200):
        kv = SeqKV(rng)
        floor = {n: 0 for n in ("n1", "n2", "n3")}  # the newest state each node has observed
        for step in range(60):
            node = rng.choice(sorted(floor))
            if rng.random() < 0.3:
                kv.handle(node, {"type": "write", "key": "k", "value": kv.last_index + 1})
                assert kv.clients[node] == kv.last_index  # a changing write lands on the latest
                floor[node] = kv.last_index
            else:
                index = _served_index(kv, node)
                assert floor[node] <= index <= kv.last_index, (step, node, floor, index)
                floor[node] = index


def test_seq_kv_write_acknowledged_without_reaching_latest_state():
    # Some stale state already holds "a" -> 1, so the write of 1 runs there, changes nothing and is
    # acknowledged, while the latest state keeps 2.
    found = False
    for seed in range(200):
        kv = SeqKV(random.Random(seed))
        kv.handle("n1", {"type": "write", "key": "a", "value": 1})
        kv.handle("n1", {"type": "write", "key": "a", "value": 2})
        assert kv.handle("n2", {"type": "write", "key": "a", "value": 1}) == {"type": "write_ok"}
        if kv.ring[-1].m[("a")] == 2:
            found = True
            assert kv.handle("n1", {"type": "read", "key": "a"}) == {"type": "read_ok", "value": 2}
            break
    assert found


def test_seq_kv_stale_cas_fails_and_appends_nothing_when_rerun_fails():
    kv = SeqKV(random.Random(1))
    kv.handle("n1", {"type": "write", "key": "a", "value": 1})
    before = kv.last_index
    assert kv.handle("n1", {"type": "cas", "key": "a", "from": 5, "to": 6})["code"] == 22
    assert kv.last_index == before  # failed cas on n1's current state: stale path, nothing appended


def test_seq_kv_ring_keeps_32_states():
    kv = SeqKV(random.Random(3))
    for v in range(100):
        kv.handle("n1", {"type": "write", "key": "k", "value": v})
    assert len(kv.ring) == 32 and kv.last_index == 100
    for _ in range(20):  # n2 starts at index 0, older than the ring: wraps into the last 32 states
        reply = kv.handle("n2", {"type": "read", "key": "k"})
        assert reply["type"] == "read_ok" and reply["value"] >= 99 - 31


def test_lww_kv_replicas_never_merge_and_no_create_if_not_exists():
    kv = LwwKV(random.Random(7))
    kv.handle("n1", {"type": "write", "key": "k", "value": 1})
    results = {ckey_reply(kv.handle("n1", {"type": "read", "key": "k"})) for _ in range(200)}
    assert results == {("ok", 1), ("missing",)}, "one replica has the write, the other never gets it"
    reply = kv.handle("n1", {"type": "cas", "key": "new", "from": 0, "to": 1, "create_if_not_exists": True})
    assert reply == {"type": "error", "code": 20, "text": "key does not exist"}
    kv2 = LwwKV(random.Random(1))
    for _ in range(50):
        kv2.handle("n1", {"type": "write", "key": "k", "value": 1})
    texts = {kv2.handle("n1", {"type": "cas", "key": "k", "from": "x", "to": 2})["text"] for _ in range(10)}
    assert texts == {"current value 1 is not x"}  # lww-kv prints from without quotes


def ckey_reply(reply):
    return ("ok", reply["value"]) if reply["type"] == "read_ok" else ("missing",)


def test_make_services_ids():
    assert sorted(make_services(random.Random(0))) == ["lin-kv", "lin-tso", "lww-kv", "seq-kv"]
