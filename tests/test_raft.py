"""raft-lin-kv/raft.py: the sans-I/O Raft state machine.

Two kinds of test. Scenario tests drive a few servers by hand (split votes, log repair, the
current-term commit rule, read-index, stale and malformed messages). Simulation tests run seeded
clusters (tests/raft_sim.py) under random delays, reordering, drops, duplicates and partitions and
check Raft's safety properties after every step: election safety, log matching, leader
completeness, state machine safety, and that what clients were told is true and linearizable.
Deliberately broken variants show the simulation catches what it claims to.

Crashes: ``JournalStorage`` records replay to the same term, vote and log (also through the
on-disk framing with a torn tail); scenario tests crash a node at the points where forgetting
breaks Raft (after voting, as a follower holding entries, with the leader also lost) and show the
in-memory store does break there; simulations crash and restart nodes under the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from raft_sim import AppendList, Faults, SafetyViolation, Sim

from common.durable import decode_records, encode_record

from raft import Config, JournalStorage, MemoryStorage, Outcome, Raft, Role, Storage

FAST = Config(election_timeout=(0.15, 0.3), heartbeat_interval=0.03, max_batch=8)


def cluster(n: int, config: Config = FAST, seed: int = 0) -> dict[str, Raft]:
    ids = [f"n{i}" for i in range(n)]
    return {
        node_id: Raft(node_id, ids, AppendList(), now=0.0, rng=random.Random(seed * 100 + i), config=config)
        for i, node_id in enumerate(ids)
    }


def exchange(
    nodes: dict[str, Raft],
    now: float,
    *,
    allow: Callable[[str, str, dict[str, Any]], bool] = lambda src, dest, body: True,
    rounds: int = 1000,
) -> int:
    """Deliver messages (in send order) until none are left; those ``allow`` refuses are dropped.
    Returns how many were delivered."""
    delivered = 0
    queue = [(src, dest, body) for src, r in nodes.items() for dest, body in r.take_messages()]
    while queue and rounds:
        rounds -= 1
        src, dest, body = queue.pop(0)
        if not allow(src, dest, body):
            continue
        nodes[dest].receive(src, body, now)
        delivered += 1
        queue.extend((dest, d, b) for d, b in nodes[dest].take_messages())
    return delivered


def elect(nodes: dict[str, Raft], who: str, now: float) -> None:
    """Make ``who`` time out first and win; every message is delivered."""
    nodes[who].tick(now + 10)
    exchange(nodes, now + 10)
    assert nodes[who].role is Role.LEADER


def leaders(nodes: Iterable[Raft]) -> list[str]:
    return [r.id for r in nodes if r.role is Role.LEADER]


# -- elections -------------------------------------------------------------------------------------


def test_a_single_server_elects_itself_and_commits_alone() -> None:
    (r,) = cluster(1).values()
    r.tick(1.0)
    assert r.role is Role.LEADER and r.term == 1
    r.propose("a", ["append", 1], 1.0)
    r.read("b", None, 1.0)
    assert r.take_outcomes() == [Outcome("a", "ok", 1), Outcome("b", "ok", 1)]
    assert r.take_messages() == []


def test_one_election_with_every_message_delivered_gives_one_leader_that_all_follow() -> None:
    nodes = cluster(3)
    elect(nodes, "n1", 0.0)
    assert leaders(nodes.values()) == ["n1"]
    assert {r.leader_id for r in nodes.values()} == {"n1"}
    assert {r.term for r in nodes.values()} == {1}
    # the start-of-term no-op is committed everywhere after the next heartbeat
    nodes["n1"].tick(10.1)
    exchange(nodes, 10.1)
    assert {r.commit_index for r in nodes.values()} == {1}


def test_a_split_vote_elects_nobody_and_a_later_term_elects_one() -> None:
    nodes = cluster(4, Config(election_timeout=(0.15, 0.3), pre_vote=False, check_quorum=False))
    for r in nodes.values():
        r.tick(0.0)  # nobody times out at 0
    nodes["n0"].tick(1.0)
    nodes["n1"].tick(1.0)
    assert (
        nodes["n0"].role is nodes["n1"].role is Role.CANDIDATE and nodes["n0"].term == nodes["n1"].term == 1
    )

    # n2 hears n0 first, n3 hears n1 first: two votes each, three needed
    def split(src: str, dest: str, body: dict[str, Any]) -> bool:
        if body["type"] == "request_vote":
            return (src, dest) in {("n0", "n2"), ("n1", "n3")}
        return True

    exchange(nodes, 1.0, allow=split)
    assert leaders(nodes.values()) == []
    assert nodes["n2"].storage.voted_for == "n0" and nodes["n3"].storage.voted_for == "n1"
    # randomised timeouts: one of them tries again first, in term 2, and wins
    first = min(("n0", "n1"), key=lambda n: nodes[n]._election_deadline)
    nodes[first].tick(nodes[first]._election_deadline)
    exchange(nodes, nodes[first]._election_deadline)
    assert leaders(nodes.values()) == [first] and nodes[first].term == 2


def test_votes_go_only_to_candidates_whose_log_is_at_least_as_up_to_date() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False))
    elect(nodes, "n0", 0.0)
    nodes["n0"].propose("w", ["append", 7], 10.0)
    exchange(nodes, 10.0, allow=lambda src, dest, body: dest != "n2")  # n2 misses the entries
    assert nodes["n2"].storage.last_index() < nodes["n1"].storage.last_index()
    # n2 stands for election: n1 (longer log) refuses; n0, the leader, steps down but refuses too
    nodes["n2"].tick(100.0)
    exchange(nodes, 100.0, allow=lambda src, dest, body: body["type"].startswith("request_vote"))
    assert nodes["n2"].role is Role.CANDIDATE
    assert nodes["n1"].storage.voted_for is None and nodes["n0"].role is Role.FOLLOWER


def test_pre_vote_keeps_a_cut_off_node_from_raising_its_term_and_deposing_the_leader() -> None:
    nodes = cluster(3)
    elect(nodes, "n0", 0.0)
    cut_off = lambda src, dest, body: "n2" not in (src, dest)  # noqa: E731
    for step in range(1, 40):  # 4 s without hearing from anyone
        now = 10.0 + step * 0.1
        for r in nodes.values():
            r.tick(now)
        exchange(nodes, now, allow=cut_off)
    assert nodes["n2"].term == 1 and nodes["n2"].role is Role.PRE_CANDIDATE
    assert leaders(nodes.values()) == ["n0"]
    now += 0.1
    for r in nodes.values():
        r.tick(now)
    exchange(nodes, now)  # healed: n2 follows n0 again, and n0 stays leader in term 1
    assert leaders(nodes.values()) == ["n0"] and {r.term for r in nodes.values()} == {1}
    assert nodes["n2"].leader_id == "n0"


def test_check_quorum_makes_a_cut_off_leader_step_down() -> None:
    nodes = cluster(3)
    elect(nodes, "n0", 0.0)
    now = 10.0
    while now < 11.0:
        now += 0.05
        nodes["n0"].tick(now)
        nodes["n0"].take_messages()  # lost
    assert nodes["n0"].role is not Role.LEADER and nodes["n0"].leader_id is None
    assert nodes["n0"].term == 1  # pre-vote: it did not raise its term either
    nodes["n0"].propose("late", ["append", 1], now)
    assert nodes["n0"].take_outcomes() == [Outcome("late", "not-leader", None)]


# -- replication and commitment --------------------------------------------------------------------


def entries(r: Raft) -> list[tuple[int, Any]]:
    return [tuple(e) for e in r.storage.entries(1, r.storage.last_index() + 1)]


def test_fast_backtracking_repairs_a_long_divergent_log_in_a_few_round_trips() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False, max_batch=1000))
    # all share one entry; n0 and n1 have 80 more of term 1; n2 led terms 2 and 3 alone and
    # wrote 50 entries in each that nobody else has
    for r in nodes.values():
        r.storage.save_term_vote(3, None)
        r.storage.append([(1, ["append", "shared"])])
    for name in ("n0", "n1"):
        nodes[name].storage.append([(1, ["append", f"kept{i}"]) for i in range(80)])
    nodes["n2"].storage.append([(t, ["append", f"lost{t}.{i}"]) for t in (2, 3) for i in range(50)])
    nodes["n0"].tick(10.0)  # n1's vote is enough; n2 hears no AppendEntries yet
    exchange(
        nodes, 10.0, allow=lambda src, dest, body: not (dest == "n2" and body["type"] == "append_entries")
    )
    assert nodes["n0"].role is Role.LEADER and nodes["n0"].term == 4
    appends_to_n2 = []

    def count(src: str, dest: str, body: dict[str, Any]) -> bool:
        if dest == "n2" and body["type"] == "append_entries":
            appends_to_n2.append(body["prev_index"])
        return True

    nodes["n0"].tick(10.1)
    exchange(nodes, 10.1, allow=count)
    assert entries(nodes["n2"]) == entries(nodes["n0"])
    # one AppendEntries per conflicting term at most, not one per entry
    # one probe per conflicting term (3, then 2), then the match: not one per entry (80)
    assert appends_to_n2[:3] == [81, 51, 1], appends_to_n2
    assert len(appends_to_n2) <= 4, appends_to_n2


def test_an_entry_of_an_earlier_term_is_not_committed_by_counting_replicas() -> None:
    # Figure 8 of the paper: n0 leads term 2, wrote (2, x) to n1 as well, then lost leadership;
    # it is leader again in term 4 with (2, x) on a majority. That alone must not commit it.
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False))
    for r in nodes.values():
        r.storage.save_term_vote(3, None)
    nodes["n0"].storage.append([(2, ["append", "x"])])
    nodes["n1"].storage.append([(2, ["append", "x"])])
    nodes["n2"].storage.append([(3, ["append", "y"])])
    nodes["n0"].tick(10.0)  # n0 stands in term 4; the no-op of term 4 is appended on election

    def no_appends(src: str, dest: str, body: dict[str, Any]) -> bool:
        return not body["type"].startswith("append_entries")

    exchange(nodes, 10.0, allow=no_appends)
    leader = nodes["n0"]
    assert leader.role is Role.LEADER and leader.term == 4
    # n1 acknowledges index 1 only (as if the no-op were still on its way)
    leader.receive(
        "n1", {"type": "append_entries_res", "term": 4, "success": True, "match": 1, "seq": 1}, 10.0
    )
    assert leader.commit_index == 0
    leader.receive(
        "n1", {"type": "append_entries_res", "term": 4, "success": True, "match": 2, "seq": 1}, 10.0
    )
    assert leader.commit_index == 2  # the term-4 no-op commits, and (2, x) with it


def test_a_stale_append_entries_never_truncates_newer_entries() -> None:
    nodes = cluster(2, Config(pre_vote=False, check_quorum=False))
    elect(nodes, "n0", 0.0)
    follower = nodes["n1"]
    base = {"type": "append_entries", "term": 1, "commit": 0, "seq": 9}
    follower.receive(
        "n0",
        {**base, "prev_index": 1, "prev_term": 1, "entries": [[1, ["append", 1]], [1, ["append", 2]]]},
        1,
    )
    follower.receive(
        "n0", {**base, "prev_index": 1, "prev_term": 1, "entries": [[1, ["append", 1]]]}, 1
    )  # late
    assert entries(follower) == [(1, None), (1, ["append", 1]), (1, ["append", 2])]
    # a commit index beyond what the message vouches for is capped at its last entry
    follower.receive("n0", {**base, "prev_index": 0, "prev_term": 0, "entries": [], "commit": 3}, 1)
    assert follower.commit_index == 0
    follower.receive(
        "n0", {**base, "prev_index": 1, "prev_term": 1, "entries": [[1, ["append", 1]]], "commit": 3}, 1
    )
    assert follower.commit_index == 2


def test_a_proposal_whose_index_commits_another_entry_ends_superseded() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False))
    elect(nodes, "n0", 0.0)
    nodes["n0"].tick(10.1)
    exchange(nodes, 10.1)
    nodes["n0"].propose("doomed", ["append", "x"], 10.2)
    nodes["n0"].take_messages()  # lost: only n0 has it
    elect(nodes, "n1", 20.0)
    nodes["n1"].propose("winner", ["append", "y"], 30.0)
    nodes["n1"].tick(30.1)
    exchange(nodes, 30.1)
    nodes["n1"].tick(30.2)
    exchange(nodes, 30.2)
    assert nodes["n1"].take_outcomes() == [Outcome("winner", "ok", 1)]
    assert nodes["n0"].take_outcomes() == [Outcome("doomed", "superseded")]
    assert nodes["n0"].machine.values == ["y"]


def test_a_proposal_whose_index_this_node_reuses_in_a_later_term_ends_unknown() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False, request_timeout=100.0))
    elect(nodes, "n0", 0.0)
    for i in range(4):  # indices 2..5, lost: only n0 has them
        nodes["n0"].propose(f"old{i}", ["append", i], 10.0)
    nodes["n0"].take_messages()
    elect(nodes, "n1", 20.0)  # n0's log is cut back to n1's: [noop 1, noop 2]
    assert nodes["n0"].storage.last_index() == 2
    elect(nodes, "n0", 30.0)  # n0 leads again: its no-op takes index 3
    nodes["n0"].propose("new4", ["append", "x"], 40.0)
    nodes["n0"].propose("new5", ["append", "y"], 40.0)
    outcomes = {o.token: o.kind for o in nodes["n0"].take_outcomes()}
    # indices 2 and 3 committed the no-ops of terms 2 and 3: old0 and old1 never will be. n0
    # now proposes at 4 and 5, where old2 and old3 were; another node could still hold those
    # and commit them, so their fate is unknown (and they must not be forgotten silently)
    assert outcomes == {"old0": "superseded", "old1": "superseded", "old2": "unknown", "old3": "unknown"}


def test_a_proposal_with_no_outcome_in_time_ends_unknown() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False, request_timeout=1.0))
    elect(nodes, "n0", 0.0)
    nodes["n0"].propose("slow", ["append", 1], 10.0)
    nodes["n0"].take_messages()
    nodes["n0"].tick(10.5)
    assert nodes["n0"].take_outcomes() == []
    nodes["n0"].tick(11.0)
    assert nodes["n0"].take_outcomes() == [Outcome("slow", "unknown")]


# -- reads -------------------------------------------------------------------------------------------


def test_a_read_waits_for_a_majority_to_confirm_the_leader() -> None:
    nodes = cluster(3)
    elect(nodes, "n0", 0.0)
    nodes["n0"].tick(10.1)
    exchange(nodes, 10.1)
    leader = nodes["n0"]
    leader.read("r", None, 10.2)
    assert leader.take_outcomes() == []
    sent = leader.take_messages()
    assert {d for d, b in sent if b["type"] == "append_entries"} == {"n1", "n2"}
    nodes["n1"].receive("n0", dict(sent)["n1"], 10.2)
    (reply,) = nodes["n1"].take_messages()
    leader.receive("n1", reply[1], 10.2)
    assert leader.take_outcomes() == [Outcome("r", "ok", 0)]


def test_a_read_never_returns_on_a_leader_that_cannot_reach_a_majority() -> None:
    nodes = cluster(3)
    elect(nodes, "n0", 0.0)
    leader = nodes["n0"]
    leader.read("r", None, 10.2)
    leader.take_messages()  # lost
    now = 10.2
    outcomes: list[Outcome] = []
    while now < 12:
        now += 0.05
        leader.tick(now)
        leader.take_messages()
        outcomes += leader.take_outcomes()
    assert [o.kind for o in outcomes] == ["not-leader"]  # stepped down (check quorum) unanswered


def test_a_new_leaders_read_waits_until_an_entry_of_its_term_commits() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False))
    nodes["n0"].tick(10.0)
    exchange(nodes, 10.0, allow=lambda src, dest, body: not body["type"].startswith("append_entries"))
    leader = nodes["n0"]
    assert leader.role is Role.LEADER and leader.commit_index == 0
    leader.read("r", None, 10.0)
    # confirmations arrive, but the term's no-op is not yet acknowledged by anybody
    for peer in ("n1", "n2"):
        leader.receive(
            peer, {"type": "append_entries_res", "term": 1, "success": True, "match": 0, "seq": 99}, 10
        )
    assert leader.take_outcomes() == []
    leader.receive(
        "n1", {"type": "append_entries_res", "term": 1, "success": True, "match": 1, "seq": 99}, 10
    )
    assert leader.take_outcomes() == [Outcome("r", "ok", 0)]


# -- hostile input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"type": "append_entries"},
        {"type": "append_entries", "term": "1"},
        {
            "type": "append_entries",
            "term": 1,
            "prev_index": -3,
            "prev_term": 0,
            "entries": [],
            "commit": 0,
            "seq": 1,
        },
        {
            "type": "append_entries",
            "term": 1,
            "prev_index": 0,
            "prev_term": 0,
            "entries": [7],
            "commit": 0,
            "seq": 1,
        },
        {
            "type": "append_entries",
            "term": 1,
            "prev_index": 0,
            "prev_term": 0,
            "entries": [["x", 1]],
            "commit": 0,
        },
        {"type": "request_vote", "term": 1, "last_log_index": None, "last_log_term": 0},
        {"type": "pre_vote", "term": 2},
        {"type": "nonsense", "term": 0},
        {"type": "append_entries_res", "term": 0, "success": "yes", "match": 1},
        {"type": "append_entries_res", "term": 0, "success": False, "conflict_index": 0},
        ["not", "an", "object"],
    ],
)
def test_malformed_raft_messages_are_counted_and_change_nothing(body: dict[str, Any]) -> None:
    nodes = cluster(2, Config(pre_vote=False, check_quorum=False))
    follower = nodes["n1"]
    before = (follower.term, follower.role, entries(follower), follower.commit_index)
    follower.receive("n0", body, 1.0)
    assert follower.malformed == 1
    assert (follower.term, follower.role, entries(follower), follower.commit_index) == before


def test_a_reply_acknowledging_entries_the_leader_never_had_is_ignored_whole() -> None:
    nodes = cluster(3, Config(pre_vote=False, check_quorum=False))
    elect(nodes, "n0", 0.0)
    leader = nodes["n0"]
    leader.receive(
        "n1", {"type": "append_entries_res", "term": 1, "success": True, "match": 99, "seq": 50}, 11
    )
    assert leader.malformed == 1 and leader._peers["n1"].acked_seq < 50 and leader.commit_index == 1


def test_a_message_from_outside_the_cluster_is_ignored() -> None:
    nodes = cluster(2)
    nodes["n1"].receive("c3", {"type": "request_vote", "term": 5, "last_log_index": 0, "last_log_term": 0}, 1)
    assert nodes["n1"].malformed == 1 and nodes["n1"].term == 0


def test_memory_storage_is_one_based_with_an_empty_prefix() -> None:
    s = MemoryStorage()
    assert (s.last_index(), s.term_at(0), s.term, s.voted_for) == (0, 0, 0, None)
    s.append([(1, "a"), (2, "b")])
    s.truncate(2)
    assert s.entries(1, 5) == [(1, "a")] and s.last_index() == 1


# -- simulated clusters under faults -----------------------------------------------------------------


def run_sim(
    seed: int,
    node_count: int,
    config: Config = FAST,
    raft_class: type[Raft] = Raft,
    *,
    faults: Faults | None = None,
    persist: str = "journal",
) -> Sim:
    sim = Sim(
        seed,
        node_count=node_count,
        config=config,
        raft_class=raft_class,
        faults=faults or Faults(),
        persist=persist,
    )
    sim.run(8.0)
    sim.heal()
    sim.restart_all()
    sim.run(9.0, faults=False)
    sim.run(9.0 + config.request_timeout + 0.1, clients=False, faults=False)
    forgotten = [token for token, op in sim.ops.items() if op.outcome is None]
    if forgotten:
        raise SafetyViolation(f"requests with no outcome after request_timeout: {forgotten[:5]}")
    sim.check_all_committed()
    sim.check_log_matching()
    sim.check_clients()
    return sim


VARIANTS = {
    "pre-vote+check-quorum": FAST,
    "plain": Config(
        election_timeout=(0.15, 0.3), heartbeat_interval=0.03, max_batch=8, pre_vote=False, check_quorum=False
    ),
}


@pytest.mark.parametrize("node_count", [3, 5])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_safety_and_progress_over_many_seeds(variant: str, node_count: int) -> None:
    for seed in range(30):
        sim = run_sim(seed, node_count, VARIANTS[variant])
        # progress, so that the safety checks above had something to check: after healing, all
        # servers agree on one leader and the whole committed log, and clients were served
        nodes = list(sim.nodes.values())
        assert len(leaders(nodes)) == 1, (seed, [r.role for r in nodes])
        assert len({r.commit_index for r in nodes}) == 1, seed
        outcomes = sim.outcomes()
        assert outcomes.get(("append", "ok"), 0) > 5 and outcomes.get(("read", "ok"), 0) > 5, (seed, outcomes)


# Broken variants: each must be caught on some seed, or the simulation proves nothing.


class VotesTwicePerTerm(Raft):
    def _on_request_vote(self, src: str, body: dict[str, Any], now: float) -> None:
        granted = self._log_up_to_date(body)
        if granted:
            self.storage.save_term_vote(self.term, src)
        self._send(src, {"type": "request_vote_res", "term": self.term, "granted": granted})


class VotesForAnyLog(Raft):
    def _log_up_to_date(self, body: dict[str, Any]) -> bool:
        return True


class ReadsWithoutConfirming(Raft):
    def read(self, token: Any, query: Any, now: float) -> None:
        if self.role is not Role.LEADER:
            self._outcomes.append(Outcome(token, "not-leader", self.leader_id))
        else:
            self._outcomes.append(Outcome(token, "ok", self.machine.query(query)))


class ForgetsProposals(Raft):
    """Acknowledges a proposal as soon as it is appended."""

    def propose(self, token: Any, command: Any, now: float) -> None:
        super().propose(token, command, now)
        if self.role is Role.LEADER:
            index = self.storage.last_index()
            self._proposals.pop(index)
            count = sum(1 for i in range(1, index + 1) if self.storage.entry(i)[1] is not None)
            self._outcomes.append(Outcome(token, "ok", count))


@pytest.mark.parametrize(
    ("broken", "config", "caught_as"),
    [
        (VotesTwicePerTerm, VARIANTS["plain"], "two leaders"),
        (VotesForAnyLog, FAST, "lacks committed entry"),
        (ReadsWithoutConfirming, VARIANTS["plain"], "stale read"),
        (ForgetsProposals, FAST, "acknowledged at"),
    ],
)
def test_the_simulation_catches_a_broken_raft(broken: type[Raft], config: Config, caught_as: str) -> None:
    for seed in range(30):
        try:
            run_sim(seed, 3, config, broken)
        except (SafetyViolation, RuntimeError) as exc:
            assert caught_as in str(exc)
            return
    pytest.fail(f"{broken.__name__} passed 30 seeds")


# -- persistence: JournalStorage, and crashes ------------------------------------------------------


def test_journal_storage_records_replay_to_the_same_term_vote_and_log() -> None:
    records: list[Any] = []
    s = JournalStorage(records.append)
    s.save_term_vote(1, "n1")
    s.append([(1, None), (1, ["append", 1])])
    s.save_term_vote(2, None)
    s.truncate(2)
    s.append([(2, ["append", {"big": 2**70, "float": 1.0}])])
    s.truncate(5)  # nothing there: no record
    assert [r[0] for r in records] == ["v", "a", "v", "t", "a"]
    data = b"".join(encode_record(r) for r in records)
    replayed, _ = decode_records(data)
    again = JournalStorage()
    for record in replayed:
        again.replay(record)
    assert (again.term, again.voted_for) == (2, None)
    assert (
        again.entries(1, 10) == s.entries(1, 10) == [(1, None), (2, ["append", {"big": 2**70, "float": 1.0}])]
    )
    assert type(again.entry(2)[1][1]["float"]) is float  # 1.0 stays 1.0: not the value 1
    assert again.record is None and again.last_index() == 2


def test_journal_storage_replays_a_torn_journal_up_to_its_last_whole_record() -> None:
    records: list[Any] = []
    s = JournalStorage(records.append)
    s.save_term_vote(3, "n2")
    s.append([(3, ["append", i]) for i in range(5)])
    s.save_term_vote(4, "n3")
    data = b"".join(encode_record(r) for r in records)
    last = len(encode_record(records[-1]))
    for cut in range(len(data) - last, len(data)):  # every torn version of the vote in term 4
        replayed, valid = decode_records(data[:cut])
        again = JournalStorage()
        for record in replayed:
            again.replay(record)
        assert valid == len(data) - last
        assert (again.term, again.voted_for, again.last_index()) == (3, "n2", 5)


@pytest.mark.parametrize(
    "record",
    [["a", 2, [[1, None]]], ["t", 1], ["v", 1, 5], ["a", 1, [[-1, None]]], ["x"], "v", ["v", 0, None, 1]],
)
def test_journal_storage_refuses_a_record_that_does_not_fit(record: Any) -> None:
    s = JournalStorage()
    with pytest.raises(ValueError):
        s.replay(record)
    assert (s.term, s.voted_for, s.last_index()) == (0, None, 0)


PLAIN = Config(election_timeout=(0.15, 0.3), heartbeat_interval=0.03, pre_vote=False, check_quorum=False)


class Cluster:
    """Servers whose stores survive ``crash_restart`` as the node's would: with ``persist`` =
    "journal" every ``JournalStorage`` record handed over is on disk (these tests crash a node
    only between steps, after its messages went out), with "memory" nothing is."""

    def __init__(self, n: int, persist: str, config: Config = PLAIN) -> None:
        self.persist, self.config = persist, config
        self.ids = [f"n{i}" for i in range(n)]
        self.disk: dict[str, list[Any]] = {node_id: [] for node_id in self.ids}
        self.nodes: dict[str, Raft] = {}
        for node_id in self.ids:
            self.crash_restart(node_id, 0.0)

    def crash_restart(self, node_id: str, now: float) -> Raft:
        storage: Storage
        if self.persist == "journal":
            journal = JournalStorage()
            for record in decode_records(b"".join(encode_record(r) for r in self.disk[node_id]))[0]:
                journal.replay(record)
            journal.record = self.disk[node_id].append
            storage = journal
        else:
            storage = MemoryStorage()
        rng = random.Random(len(self.disk[node_id]))
        self.nodes[node_id] = Raft(
            node_id, self.ids, AppendList(), now=now, rng=rng, storage=storage, config=self.config
        )
        return self.nodes[node_id]


@pytest.mark.parametrize("persist", ["journal", "memory"])
def test_a_node_that_voted_and_crashed_does_not_vote_again_in_that_term(persist: str) -> None:
    c = Cluster(3, persist)
    nodes = c.nodes
    for node_id in ("n1", "n2"):  # both stand in term 1
        nodes[node_id].tick(1.0)
    asks = {
        node_id: next(b for d, b in nodes[node_id].take_messages() if d == "n0") for node_id in ("n1", "n2")
    }
    nodes["n0"].receive("n1", asks["n1"], 1.0)
    [(_, grant)] = nodes["n0"].take_messages()
    assert grant == {"type": "request_vote_res", "term": 1, "granted": True}
    c.crash_restart("n0", 1.01)
    nodes["n0"].receive("n2", asks["n2"], 1.02)
    [(_, answer)] = nodes["n0"].take_messages()
    nodes["n1"].receive("n0", grant, 1.03)
    nodes["n2"].receive("n0", answer, 1.03)
    if persist == "journal":
        assert answer["granted"] is False and nodes["n0"].storage.voted_for == "n1"
        assert leaders(nodes.values()) == ["n1"]
    else:  # the in-memory store forgets the vote: two leaders in term 1, which the test catches
        assert answer["granted"] is True and leaders(nodes.values()) == ["n1", "n2"]


def _commit_everywhere(
    c: Cluster, leader: str, now: float, allow: Callable[[str, str, dict[str, Any]], bool] = lambda *_: True
) -> None:
    c.nodes[leader].tick(now)
    exchange(c.nodes, now, allow=allow)


@pytest.mark.parametrize("persist", ["journal", "memory"])
def test_a_restarted_follower_keeps_its_log_and_rebuilds_its_state_from_the_leader(persist: str) -> None:
    c = Cluster(3, persist)
    elect(c.nodes, "n0", 0.0)
    for v in (1, 2, 3):
        c.nodes["n0"].propose(v, ["append", v], 10.0)
    exchange(c.nodes, 10.0)
    _commit_everywhere(c, "n0", 10.1)
    before = entries(c.nodes["n1"])
    assert len(before) == 4 and c.nodes["n1"].machine.values == [1, 2, 3]
    n1 = c.crash_restart("n1", 10.2)
    if persist == "memory":  # the in-memory store loses the log the leader counted as committed
        assert entries(n1) == [] and n1.term == 0
        return
    # term, vote and log are back; the commit index and state machine are rebuilt from the leader
    assert entries(n1) == before and (n1.term, n1.storage.voted_for) == (1, "n0")
    assert n1.commit_index == 0 and n1.machine.values == []
    _commit_everywhere(c, "n0", 10.3)
    assert n1.commit_index == 4 and n1.machine.values == [1, 2, 3]


@pytest.mark.parametrize("persist", ["journal", "memory"])
def test_an_acknowledged_write_survives_a_follower_restart_and_the_loss_of_the_leader(persist: str) -> None:
    c = Cluster(3, persist)
    elect(c.nodes, "n0", 0.0)  # everybody has term 1's no-op
    c.nodes["n0"].propose("w", ["append", 7], 10.0)
    exchange(c.nodes, 10.0, allow=lambda src, dest, body: "n2" not in (src, dest))
    assert c.nodes["n0"].take_outcomes() == [Outcome("w", "ok", 1)]  # on n0 and n1: a majority
    c.crash_restart("n1", 10.1)  # a minority crashes and comes back...
    # ...then the leader goes down for good; n2, which lacks the write, stands first
    alive = lambda src, dest, body: "n0" not in (src, dest)  # noqa: E731
    for who, now in (("n2", 20.0), ("n1", 30.0)):
        c.nodes[who].tick(now)
        exchange(c.nodes, now, allow=alive)
        if leaders(c.nodes[n] for n in ("n1", "n2")):
            break
    [leader] = leaders(c.nodes[n] for n in ("n1", "n2"))
    _commit_everywhere(c, leader, 40.0, alive)
    committed = {n: c.nodes[n].machine.values for n in ("n1", "n2")}
    if persist == "journal":
        assert leader == "n1" and committed == {"n1": [7], "n2": [7]}
    else:  # the restarted n1 voted n2 in with a log lacking the write: it is gone
        assert leader == "n2" and committed == {"n1": [], "n2": []}


CRASHES = Faults(crash_every=1.0, down_for=0.8)


@pytest.mark.parametrize("node_count", [3, 5])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_safety_and_progress_with_crashes_over_many_seeds(variant: str, node_count: int) -> None:
    for seed in range(20):
        sim = run_sim(seed, node_count, VARIANTS[variant], faults=CRASHES)
        assert sim.crashes >= 3, seed
        nodes = list(sim.nodes.values())
        assert len(leaders(nodes)) == 1, (seed, [r.role for r in nodes])
        assert len({r.commit_index for r in nodes}) == 1, seed
        outcomes = sim.outcomes()
        assert outcomes.get(("append", "ok"), 0) > 5 and outcomes.get(("read", "ok"), 0) > 5, (seed, outcomes)


def test_the_simulation_catches_a_store_that_forgets_across_crashes() -> None:
    # the in-memory design under the same crashes: a restarted node's empty log lets a leader
    # without committed entries be elected, which the checks see on most seeds
    caught = 0
    for seed in range(30):
        try:
            run_sim(seed, 3, VARIANTS["plain"], faults=CRASHES, persist="memory")
        except (SafetyViolation, RuntimeError):
            caught += 1
    assert caught >= 15, f"MemoryStorage caught on only {caught} of 30 seeds of crashes"
