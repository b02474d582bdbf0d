"""A seeded, simulated cluster of ``raft.Raft`` (raft-lin-kv/raft.py) servers, with Raft's safety properties
checked as it runs (for tests/test_raft.py).

Virtual time only: one event heap of message deliveries, ticks and client requests. The network
delays every message by a random amount (so messages overtake each other), drops and duplicates
some, and a partition schedule cuts the cluster into random groups and heals it again. Messages
go through JSON, as on the wire.

Crashes (``Faults.crash_every``): a node stops (its pending messages and timers are gone, messages
to it are lost) and restarts later as a new ``Raft`` on the storage it would find on disk:
``persist="journal"`` replays the ``JournalStorage`` records it had handed over before its last
messages went out (what ``Journal``'s group commit gives the real node), ``persist="memory"``
starts empty (the in-memory design, which the checks must catch). At most a minority is down at
once.

The state machine is an append-only list: a proposal ``["append", v]`` (v unique) returns its
position, a read returns the list's length. That makes the client-visible checks exact: see
``Sim.check_clients``.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any

import msgspec

from raft import Config, JournalStorage, MemoryStorage, Raft, Role, Storage

_encode = msgspec.json.encode
_decode = msgspec.json.decode


class SafetyViolation(AssertionError):
    pass


class AppendList:
    """The test state machine: an append-only list of values."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def apply(self, command: Any) -> Any:
        self.values.append(command[1])
        return len(self.values)  # 1-based position

    def query(self, query: Any) -> Any:
        return len(self.values)


@dataclass
class Faults:
    max_delay: float = 0.02
    drop: float = 0.05
    duplicate: float = 0.03
    #: probability that a message takes up to ``long_delay`` instead (overtaken by many others)
    late: float = 0.02
    long_delay: float = 0.5
    #: seconds between partition changes (drawn up to this); 0 for no partitions
    partition_every: float = 1.5
    #: seconds between crashes (drawn up to this); 0 for none. A crashed node restarts after
    #: ``down_for`` (drawn up to this)
    crash_every: float = 0.0
    down_for: float = 1.0


@dataclass
class ClientOp:
    kind: str  # "append" | "read"
    node: str
    invoked: float
    value: Any = None  # the appended value
    outcome: str | None = None
    result: Any = None
    completed: float | None = None


@dataclass
class Sim:
    seed: int
    node_count: int = 3
    faults: Faults = field(default_factory=Faults)
    config: Config = field(
        default_factory=lambda: Config(election_timeout=(0.15, 0.3), heartbeat_interval=0.03, max_batch=8)
    )
    raft_class: type[Raft] = Raft
    tick_interval: float = 0.01
    client_interval: float = 0.02
    #: what a restarted node finds: "journal" (JournalStorage records) or "memory" (nothing)
    persist: str = "journal"

    def __post_init__(self) -> None:
        if self.persist not in ("journal", "memory"):
            raise ValueError(f"persist must be journal or memory, not {self.persist!r}")
        self.rng = random.Random(self.seed)
        self.ids = [f"n{i}" for i in range(self.node_count)]
        self.nodes: dict[str, Raft] = {}
        #: per node: records on disk, and records handed over since the last send (lost in a crash)
        self.disk: dict[str, list[Any]] = {n: [] for n in self.ids}
        self.unsynced: dict[str, list[Any]] = {n: [] for n in self.ids}
        self.down: set[str] = set()
        self.incarnation = dict.fromkeys(self.ids, 0)
        self.crashes = 0
        self.now = 0.0
        for node_id in self.ids:
            self._start(node_id)
        self._heap: list[tuple[float, int, str, Any]] = []
        self._seq = 0
        self.group: dict[str, int] = {n: 0 for n in self.ids}  # same group: connected
        self.leaders: dict[int, str] = {}  # term -> leader seen
        self.committed: list[tuple[int, Any]] = []  # the one committed log, as observed
        self.committed_values: list[Any] = []  # its appended values (no-ops left out)
        self._checked_commit = dict.fromkeys(self.ids, 0)
        self._checked_applied = dict.fromkeys(self.ids, 0)
        self._steps = 0
        self.ops: dict[int, ClientOp] = {}
        self._was_leader: dict[str, int | None] = {n: None for n in self.ids}
        self._next_value = 0
        self.messages = 0
        for node_id in self.ids:
            self._at(self.rng.uniform(0, self.tick_interval), "tick", node_id)
        self._at(self.client_interval, "client", None)
        if self.faults.partition_every:
            self._at(self.rng.uniform(0, self.faults.partition_every), "partition", None)
        if self.faults.crash_every:
            self._at(self.rng.uniform(0, self.faults.crash_every), "crash", None)

    # -- crashes ---------------------------------------------------------------------------------

    def _start(self, node_id: str) -> None:
        storage: Storage
        if self.persist == "journal":
            journal = JournalStorage()
            for record in self.disk[node_id]:
                journal.replay(_decode(_encode(record)))  # through JSON, as on disk
            journal.record = self.unsynced[node_id].append
            storage = journal
        else:
            storage = MemoryStorage()
        i = self.ids.index(node_id)
        self.nodes[node_id] = self.raft_class(
            node_id,
            self.ids,
            AppendList(),
            now=self.now,
            rng=random.Random(self.seed * 1000 + i + 100 * self.incarnation[node_id]),
            storage=storage,
            config=self.config,
        )

    def crash(self, node_id: str) -> None:
        """Stop ``node_id`` as SIGKILL would: what it had not yet synced is lost with it."""
        self.down.add(node_id)
        self.unsynced[node_id].clear()
        self.crashes += 1
        for op in self.ops.values():
            if op.node == node_id and op.outcome is None:
                op.outcome, op.completed = "crashed", self.now  # the client never hears back

    def restart(self, node_id: str) -> None:
        self.down.discard(node_id)
        self.incarnation[node_id] += 1
        self._start(node_id)
        # a fresh server: commit index 0, an empty state machine, re-applied from the log
        self._checked_commit[node_id] = 0
        self._checked_applied[node_id] = 0
        self._was_leader[node_id] = None

    def restart_all(self) -> None:
        for node_id in sorted(self.down):
            self.restart(node_id)

    def _random_crash(self) -> None:
        up = [n for n in self.ids if n not in self.down]
        if len(self.down) + 1 > (self.node_count - 1) // 2:
            return  # a majority stays up
        node_id = self.rng.choice(up)
        self.crash(node_id)
        self._at(self.now + self.rng.uniform(0.05, self.faults.down_for), "restart", node_id)

    # -- running ---------------------------------------------------------------------------------

    def _at(self, when: float, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, data))

    def run(self, until: float, *, clients: bool = True, faults: bool = True) -> None:
        while self._heap and self._heap[0][0] <= until:
            when, _, kind, data = heapq.heappop(self._heap)
            self.now = when
            if kind == "tick":
                if data not in self.down:
                    self.nodes[data].tick(when)
                    self._after(data)
                self._at(when + self.tick_interval, "tick", data)
            elif kind == "deliver":
                src, dest, line = data
                # checked on arrival, as Maelstrom does; a message to a node that is down is lost
                if self.group[src] == self.group[dest] and dest not in self.down:
                    self.nodes[dest].receive(src, _decode(line), when)
                    self._after(dest)
            elif kind == "client":
                if clients:
                    self._client_request()
                self._at(when + self.rng.uniform(0, 2 * self.client_interval), "client", None)
            elif kind == "partition":
                if faults:
                    self._repartition()
                self._at(when + self.rng.uniform(0.2, self.faults.partition_every), "partition", None)
            elif kind == "crash":
                if faults:
                    self._random_crash()
                self._at(when + self.rng.uniform(0.1, self.faults.crash_every), "crash", None)
            elif kind == "restart" and data in self.down:
                self.restart(data)
        self.now = until

    def heal(self) -> None:
        self.group = {n: 0 for n in self.ids}

    def _repartition(self) -> None:
        if self.rng.random() < 0.4:
            self.heal()
            return
        groups = self.rng.randint(2, min(3, self.node_count))
        self.group = {n: self.rng.randrange(groups) for n in self.ids}

    def _after(self, node_id: str) -> None:
        node = self.nodes[node_id]
        messages = node.take_messages()
        # the group commit: every record handed over so far is on disk before a message goes out
        self.disk[node_id].extend(self.unsynced[node_id])
        self.unsynced[node_id].clear()
        for dest, body in messages:
            self._send(node_id, dest, body)
        for outcome in node.take_outcomes():
            op = self.ops[outcome.token]
            if op.outcome is not None:
                raise SafetyViolation(
                    f"two outcomes for request {outcome.token}: {op.outcome}, {outcome.kind}"
                )
            op.outcome, op.result, op.completed = outcome.kind, outcome.value, self.now
        self._check(node_id)

    def _send(self, src: str, dest: str, body: dict[str, Any]) -> None:
        self.messages += 1
        f = self.faults
        line = _encode(body)
        copies = 0 if self.rng.random() < f.drop else 1
        if self.rng.random() < f.duplicate:
            copies += 1
        for _ in range(copies):
            late = self.rng.random() < f.late
            delay = self.rng.uniform(0, f.long_delay if late else f.max_delay)
            self._at(self.now + delay, "deliver", (src, dest, line))

    def _client_request(self) -> None:
        token = len(self.ops)
        node_id = self.rng.choice(self.ids)
        if node_id in self.down:
            return
        node = self.nodes[node_id]
        if self.rng.random() < 0.5:
            self._next_value += 1
            op = ClientOp("append", node_id, self.now, self._next_value)
            self.ops[token] = op
            node.propose(token, ["append", op.value], self.now)
        else:
            op = ClientOp("read", node_id, self.now)
            self.ops[token] = op
            node.read(token, None, self.now)
        self._after(node_id)

    # -- safety, checked after every step --------------------------------------------------------

    def _check(self, node_id: str) -> None:
        node = self.nodes[node_id]
        term = node.term
        if node.role is Role.LEADER:
            # election safety: at most one leader per term
            other = self.leaders.setdefault(term, node_id)
            if other != node_id:
                raise SafetyViolation(f"two leaders in term {term}: {other} and {node_id}")
            if self._was_leader[node_id] != term:
                self._was_leader[node_id] = term
                self._check_leader_complete(node)
        # every node's committed prefix is the same log (committed entries are never replaced);
        # the newly committed part after every step, all of it now and then
        self._steps += 1
        first = 1 if self._steps % 200 == 0 else self._checked_commit[node_id] + 1
        self._check_committed(node, first)
        self._checked_commit[node_id] = node.commit_index
        # state machine safety: what a node applied is the committed log's commands, in order
        if node.last_applied > node.commit_index:
            raise SafetyViolation(f"{node_id} applied {node.last_applied} > commit {node.commit_index}")
        applied = node.machine.values
        done = self._checked_applied[node_id]
        if len(applied) > done:
            expected = self.committed_values[done : len(applied)]
            if applied[done:] != expected:
                raise SafetyViolation(f"{node_id} applied {applied[done:]}, but {expected} was committed")
            self._checked_applied[node_id] = len(applied)

    def _check_committed(self, node: Raft, first: int) -> None:
        storage = node.storage
        if storage.last_index() < node.commit_index:
            raise SafetyViolation(f"{node.id} lost committed entries: log ends at {storage.last_index()}")
        for index in range(first, node.commit_index + 1):
            entry = tuple(storage.entry(index))
            if index <= len(self.committed):
                if self.committed[index - 1] != entry:
                    raise SafetyViolation(
                        f"{node.id} has {entry} at committed index {index}, where {self.committed[index - 1]} was committed"
                    )
            else:
                self.committed.append(entry)
                if entry[1] is not None:
                    self.committed_values.append(entry[1][1])

    def _check_leader_complete(self, leader: Raft) -> None:
        # leader completeness: a new leader's log holds every entry committed so far (all of them
        # were committed in earlier terms: only this term's leader commits in this term)
        for index, entry in enumerate(self.committed, start=1):
            if index > leader.storage.last_index() or tuple(leader.storage.entry(index)) != entry:
                raise SafetyViolation(
                    f"leader {leader.id} of term {leader.term} lacks committed entry {index}"
                )

    def check_all_committed(self) -> None:
        for node in self.nodes.values():
            self._check_committed(node, 1)

    def check_log_matching(self) -> None:
        """Two logs with an entry of the same index and term agree on every entry up to it."""
        logs = {
            n: [tuple(e) for e in r.storage.entries(1, r.storage.last_index() + 1)]
            for n, r in self.nodes.items()
        }
        for a in self.ids:
            for b in self.ids:
                if a >= b:
                    continue
                la, lb = logs[a], logs[b]
                shared = [i for i in range(min(len(la), len(lb))) if la[i][0] == lb[i][0]]
                if shared and la[: shared[-1] + 1] != lb[: shared[-1] + 1]:
                    raise SafetyViolation(
                        f"{a} and {b} share the term of entry {shared[-1] + 1} but differ before it"
                    )

    def check_clients(self) -> None:
        """What clients saw is linearizable, and every outcome is true about the final log.

        - an ok append is at the position it was told, in the committed log;
        - a superseded, not-leader or never-completed-in-time append is either absent (superseded,
          not-leader: must be) or anywhere (unknown, or crashed: its node crashed first);
        - appends acknowledged before another began sit before it (real-time order);
        - a read of length L saw every append acknowledged before the read began (L >= its
          position), and nothing appended only after the read ended (the L-th append began
          before the read completed).
        """
        positions = {c[1]: i for i, (_, c) in enumerate(self.committed, start=1) if c is not None}
        ordinal = {}  # value -> 1-based position among appends (what the state machine counts)
        count = 0
        for _, command in self.committed:
            if command is not None:
                count += 1
                ordinal[command[1]] = count
        by_ordinal = {o: v for v, o in ordinal.items()}
        appends = [op for op in self.ops.values() if op.kind == "append"]
        for op in appends:
            if op.outcome == "ok":
                if ordinal.get(op.value) != op.result:
                    raise SafetyViolation(
                        f"append {op.value} acknowledged at {op.result}, committed at {ordinal.get(op.value)}"
                    )
            elif op.outcome in ("superseded", "not-leader") and op.value in positions:
                raise SafetyViolation(f"append {op.value} ended {op.outcome} but was committed")
        acked = sorted((op.completed, op.result) for op in appends if op.outcome == "ok")
        invoked_by_value = {op.value: op.invoked for op in appends}
        for op in appends:
            if op.outcome == "ok":
                for completed, position in acked:
                    if completed >= op.invoked:
                        break
                    if position >= op.result:
                        raise SafetyViolation(
                            f"append {op.value} began after one at {position} was acknowledged"
                        )
        for op in self.ops.values():
            if op.kind != "read" or op.outcome != "ok":
                continue
            length = op.result
            floor = max((p for c, p in acked if c < op.invoked), default=0)
            if length < floor:
                raise SafetyViolation(
                    f"stale read: length {length} at {op.invoked:.3f}, but {floor} acknowledged before"
                )
            if length and invoked_by_value[by_ordinal[length]] > op.completed:
                raise SafetyViolation(
                    f"read of length {length} saw an append that began after the read ended"
                )

    def outcomes(self) -> dict[tuple[str, str | None], int]:
        counts: dict[tuple[str, str | None], int] = {}
        for op in self.ops.values():
            counts[op.kind, op.outcome] = counts.get((op.kind, op.outcome), 0) + 1
        return counts
