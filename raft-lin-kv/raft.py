"""Raft consensus (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm",
2014) as a sans-I/O state machine: messages and clock ticks in, messages and client outcomes out.

``Raft`` owns no sockets, timers or threads. The caller feeds it ``receive(src, body, now)`` and
``tick(now)``, submits client work with ``propose`` and ``read``, and drains ``take_messages()``
(``(dest, body)`` pairs to send) and ``take_outcomes()`` (finished client requests). Randomness
(election timeouts) comes from an injected ``random.Random`` and time only from ``now``, so a test
drives a whole cluster deterministically from one seed.

What it implements, all from the paper unless marked:
- leader election with randomised timeouts, one vote per term, the up-to-date-log vote rule;
- log replication with the consistency check, and fast backtracking on a mismatch (the follower
  answers with the conflicting term and its first index, as the paper's section 5.3 sketches);
  a follower that answers in step gets entries pipelined, one that does not is probed;
- commitment only of entries of the leader's current term, counted by majority (section 5.4.2),
  and a no-op appended at the start of each term so earlier entries commit promptly;
- linearizable reads by read-index (dissertation section 6.4): see ``read``;
- pre-vote and check-quorum (dissertation sections 9.6 and 6.2), both optional: a node cut off
  from the cluster neither raises its term (so it cannot depose a healthy leader when it
  returns) nor, if it was the leader, goes on accepting requests it cannot commit.

Client outcomes are exact about what happened, so the caller can answer with Maelstrom's error
semantics (a definite error only when the request certainly had no effect):
- ``ok``: the command was committed and applied; ``value`` is what the state machine returned;
- ``not-leader``: nothing was appended (``value`` is the leader this node knows, or None);
- ``superseded``: the entry was appended but another entry was committed at its index, so it
  can never be committed (committed entries are never replaced);
- ``unknown``: no outcome within ``Config.request_timeout``; the entry may still commit.
A proposal is identified by (index, term), which names one entry in every log (log matching), so
even a leader that stepped down resolves its proposals exactly once it learns the commit index.

Term, vote and log live behind ``Storage``; ``MemoryStorage`` keeps them in memory (enough while
no node is ever restarted). A durable store must make ``save_term_vote``, ``append`` and
``truncate`` durable before the messages that follow them are sent, i.e. before the caller's next
``take_messages()`` drains them. ``JournalStorage`` does it without I/O of its own: it turns every
change into a record handed to a sink (``common.durable.Journal.append`` in a program, a list in a
test) and rebuilds the state from those records with ``replay``. The commit index and the state
machine are not stored: after a restart the node learns the commit index from the leader again and
re-applies the committed entries from index 1.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import msgspec

from common.requests import NonNegativeInt, Request

__all__ = [
    "Config",
    "Entry",
    "JournalStorage",
    "MemoryStorage",
    "Outcome",
    "Raft",
    "Role",
    "StateMachine",
    "Storage",
]

#: a log entry: (term, command); the leader's start-of-term no-op has command None
Entry = tuple[int, Any]
Body = dict[str, Any]


class Role(Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True)
class Config:
    #: a follower that hears from no leader for a time drawn from this range starts an election
    election_timeout: tuple[float, float] = (0.3, 0.6)
    #: how often a leader sends AppendEntries to every follower even with nothing new
    heartbeat_interval: float = 0.05
    #: most entries in one AppendEntries
    max_batch: int = 128
    #: ask for votes without raising the term first; become a candidate only if a majority would
    #: vote (a node cut off from the others cannot then raise the term and depose the leader)
    pre_vote: bool = True
    #: a leader that has not heard from a majority for ``election_timeout[1]`` steps down; a node
    #: that heard from a leader within ``election_timeout[0]`` refuses (pre-)votes
    check_quorum: bool = True
    #: a pending client request with no outcome after this many seconds ends ``unknown``
    request_timeout: float = 1.0


@dataclass(frozen=True)
class Outcome:
    token: Hashable
    kind: str  # "ok" | "not-leader" | "superseded" | "unknown"
    value: Any = None


class Storage(Protocol):
    """Term, vote and log: all the state Raft needs to survive a restart. Indices are 1-based;
    index 0 is the empty prefix, with term 0."""

    @property
    def term(self) -> int: ...
    @property
    def voted_for(self) -> str | None: ...
    def save_term_vote(self, term: int, voted_for: str | None) -> None: ...
    def last_index(self) -> int: ...
    def term_at(self, index: int) -> int: ...
    def entry(self, index: int) -> Entry: ...
    def entries(self, start: int, stop: int) -> list[Entry]: ...
    def append(self, entries: list[Entry]) -> None: ...
    def truncate(self, from_index: int) -> None: ...


class MemoryStorage:
    """``Storage`` in memory."""

    def __init__(self) -> None:
        self._term = 0
        self._voted_for: str | None = None
        self._log: list[Entry] = [(0, None)]  # a sentinel at index 0

    @property
    def term(self) -> int:
        return self._term

    @property
    def voted_for(self) -> str | None:
        return self._voted_for

    def save_term_vote(self, term: int, voted_for: str | None) -> None:
        self._term, self._voted_for = term, voted_for

    def last_index(self) -> int:
        return len(self._log) - 1

    def term_at(self, index: int) -> int:
        return self._log[index][0]

    def entry(self, index: int) -> Entry:
        return self._log[index]

    def entries(self, start: int, stop: int) -> list[Entry]:
        return self._log[start:stop]

    def append(self, entries: list[Entry]) -> None:
        self._log.extend(entries)

    def truncate(self, from_index: int) -> None:
        del self._log[from_index:]


class JournalStorage(MemoryStorage):
    """``Storage`` in memory that also hands every change, as a JSON-able record, to ``record``;
    ``replay`` applies such records, in order, to a fresh instance (at startup).

    Records: ``["v", term, voted_for]`` (term and vote), ``["a", first index, [[term, command],
    ...]]`` (entries appended from that index on), ``["t", index]`` (the log cut back to end
    before ``index``). Term, vote and log are a pure function of the records, so a store that
    keeps every record handed over before a message goes out keeps everything that message
    depends on. A record that does not fit the state so far (a journal from another program, or
    a bug) raises ``ValueError`` instead of rebuilding something else."""

    def __init__(self, record: Callable[[Any], None] | None = None) -> None:
        super().__init__()
        #: where records go; None drops them (set it before the first change)
        self.record = record

    def _emit(self, record: list[Any]) -> None:
        if self.record is not None:
            self.record(record)

    def save_term_vote(self, term: int, voted_for: str | None) -> None:
        super().save_term_vote(term, voted_for)
        self._emit(["v", term, voted_for])

    def append(self, entries: list[Entry]) -> None:
        if entries:
            self._emit(["a", self.last_index() + 1, [[t, c] for t, c in entries]])
        super().append(entries)

    def truncate(self, from_index: int) -> None:
        if from_index <= self.last_index():
            self._emit(["t", from_index])
        super().truncate(from_index)

    def replay(self, record: Any) -> None:
        """Apply one record made by ``record`` (without recording it again)."""
        match record:
            case ["v", int(term), str() | None as voted_for] if term >= self.term:
                super().save_term_vote(term, voted_for)
            case ["a", int(first), list(entries)] if first == self.last_index() + 1:
                if not all(
                    type(e) is list and len(e) == 2 and type(e[0]) is int and e[0] >= 0 for e in entries
                ):
                    raise ValueError(f"bad entries in a journal record: {record!r}"[:300])
                super().append([(e[0], e[1]) for e in entries])
            case ["t", int(index)] if 1 <= index <= self.last_index():
                super().truncate(index)
            case _:
                raise ValueError(
                    f"journal record {record!r} does not fit a log ending at {self.last_index()} "
                    f"in term {self.term}"[:300]
                )


class StateMachine(Protocol):
    def apply(self, command: Any) -> Any:
        """Apply a committed command (never the no-op None); the result goes to its proposer."""

    def query(self, query: Any) -> Any:
        """Answer a read from the current state, without changing it."""


@dataclass
class _Proposal:
    token: Hashable
    term: int
    deadline: float


@dataclass
class _Read:
    token: Hashable
    query: Any
    seq: int  # heartbeat round that must be acknowledged by a majority
    deadline: float
    read_index: int | None = None  # None until an entry of the leader's term is committed
    confirmed: bool = False


class _Peer:
    __slots__ = ("acked_seq", "heard_at", "match_index", "next_index", "probing")

    def __init__(self, next_index: int, now: float) -> None:
        self.next_index = next_index
        self.match_index = 0
        self.probing = True  # until a success: one AppendEntries at a time, no optimism
        self.acked_seq = 0
        self.heard_at = now


class Raft:
    """One Raft server. ``node_ids`` is the whole cluster, this node included."""

    def __init__(
        self,
        node_id: str,
        node_ids: list[str],
        state_machine: StateMachine,
        *,
        now: float,
        rng: random.Random,
        storage: Storage | None = None,
        config: Config | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if node_id not in node_ids:
            raise ValueError(f"{node_id!r} is not in the cluster {node_ids!r}")
        self.id = node_id
        self.peers = [n for n in node_ids if n != node_id]
        self.majority = len(node_ids) // 2 + 1
        self.machine = state_machine
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.config = config or Config()
        self.rng = rng
        self.log = log or (lambda _text: None)
        self.role = Role.FOLLOWER
        self.leader_id: str | None = None
        self.commit_index = 0
        self.last_applied = 0
        #: messages that were not Raft messages of a known shape, ignored
        self.malformed = 0
        self._votes: set[str] = set()
        self._peers: dict[str, _Peer] = {}
        self._seq = 0  # heartbeat round number, for read-index confirmation
        self._heartbeat_due = 0.0
        self._leader_since = 0.0
        self._leader_heard_at: float | None = None  # last AppendEntries from the current leader
        self._replicate_soon = False  # new entries or reads wait for the next take_messages()
        self._proposals: dict[int, _Proposal] = {}  # log index -> proposal made by this node
        self._reads: list[_Read] = []
        self._outbox: list[tuple[str, Body]] = []
        self._outcomes: list[Outcome] = []
        self._election_deadline = now + self._election_timeout()

    # -- what the caller sees --------------------------------------------------------------------

    @property
    def term(self) -> int:
        return self.storage.term

    def take_messages(self) -> list[tuple[str, Body]]:
        """The messages to send now, as (dest, body). Call after every batch of inputs."""
        if self._replicate_soon:
            self._replicate_soon = False
            if self.role is Role.LEADER:
                self._broadcast_append()
        out, self._outbox = self._outbox, []
        return out

    def take_outcomes(self) -> list[Outcome]:
        out, self._outcomes = self._outcomes, []
        return out

    # -- client requests -------------------------------------------------------------------------

    def propose(self, token: Hashable, command: Any, now: float) -> None:
        """Append ``command`` if this node leads; its outcome arrives in ``take_outcomes``."""
        if command is None:
            raise ValueError("None is the no-op command; propose something else")
        if self.role is not Role.LEADER:
            self._outcomes.append(Outcome(token, "not-leader", self.leader_id))
            return
        index = self._append_own(command)
        earlier = self._proposals.get(index)
        if earlier is not None:
            # our own proposal of an earlier term was truncated here; another leader may still
            # hold it and commit it, so its fate is not known
            self._outcomes.append(Outcome(earlier.token, "unknown"))
        self._proposals[index] = _Proposal(token, self.term, now + self.config.request_timeout)
        self._advance_commit()  # a one-node cluster commits at once

    def read(self, token: Hashable, query: Any, now: float) -> None:
        """Answer ``query`` linearizably without writing to the log (read-index).

        The leader takes as read index its commit index once an entry of its own term is
        committed (before that its commit index may lag entries committed by earlier leaders),
        then confirms it is still the leader: a majority must acknowledge a heartbeat round sent
        after the read arrived. That majority had not granted a vote in a higher term when it
        answered, so no later leader can have committed anything before the read arrived that
        this leader lacks; and every entry committed before the read arrived is at or below the
        read index. The state once applied up to the read index therefore reflects every write
        completed before the read began and none that had not begun before it ends. No clock is
        involved (only message order), so neither clock skew nor partitions can break it.
        """
        if self.role is not Role.LEADER:
            self._outcomes.append(Outcome(token, "not-leader", self.leader_id))
            return
        pending = _Read(token, query, self._seq + 1, now + self.config.request_timeout)
        if self._current_term_committed():
            pending.read_index = self.commit_index
        pending.confirmed = self.majority == 1
        self._reads.append(pending)
        self._replicate_soon = True
        self._serve_reads()

    # -- time ------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self._expire(now)
        if self.role is Role.LEADER:
            if self.config.check_quorum and not self._has_quorum(now):
                self.log(f"term {self.term}: stepping down, no majority heard from lately")
                self._become_follower(self.term, None, now)
            elif now >= self._heartbeat_due:
                self._broadcast_append()
                self._heartbeat_due = now + self.config.heartbeat_interval
        elif now >= self._election_deadline:
            if self.config.pre_vote:
                self._start_pre_vote(now)
            else:
                self._start_election(now)

    def _expire(self, now: float) -> None:
        for index in [i for i, p in self._proposals.items() if p.deadline <= now]:
            self._outcomes.append(Outcome(self._proposals.pop(index).token, "unknown"))
        if self._reads and any(r.deadline <= now for r in self._reads):
            for r in self._reads:
                if r.deadline <= now:
                    self._outcomes.append(Outcome(r.token, "unknown"))
            self._reads = [r for r in self._reads if r.deadline > now]

    def _has_quorum(self, now: float) -> bool:
        window = self.config.election_timeout[1]
        if now - self._leader_since < window:
            return True
        heard = 1 + sum(1 for p in self._peers.values() if now - p.heard_at < window)
        return heard >= self.majority

    def _election_timeout(self) -> float:
        low, high = self.config.election_timeout
        return self.rng.uniform(low, high)

    # -- messages in -----------------------------------------------------------------------------

    def receive(self, src: str, body: Body, now: float) -> None:
        """Handle one Raft message from ``src``; anything malformed is counted and ignored.

        The message is checked whole before it changes anything; exceptions from the state
        machine are not caught (they are bugs, not bad input)."""
        try:
            if src not in self.peers:
                raise ValueError(f"{src!r} is not a peer")
            kind = _check_shape(body)
            if (
                kind == "append_entries_res"
                and self.role is Role.LEADER
                and body["term"] == self.term
                and body["success"] is True
                and body["match"] > self.storage.last_index()
            ):
                raise ValueError(
                    f"match {body['match']} beyond the leader's log ({self.storage.last_index()})"
                )
        except ValueError as exc:
            self.malformed += 1
            self.log(f"ignoring a malformed message from {src}: {exc}")
            return
        self._receive(src, kind, body, now)

    def _receive(self, src: str, kind: str, body: Body, now: float) -> None:
        term = body["term"]
        # pre-votes are about a term nobody has entered yet: they never change ours by themselves
        if kind == "pre_vote":
            self._on_pre_vote(src, body, term, now)
            return
        if kind == "pre_vote_res":
            self._on_pre_vote_res(src, body, term, now)
            return
        if term > self.term:
            if kind == "request_vote" and self.config.check_quorum and self._in_leader_lease(now):
                return  # a live leader exists: do not let a returning node depose it
            self._become_follower(term, None, now)
        elif term < self.term:
            if kind == "append_entries":  # tell the stale leader our term, so it steps down
                self._send(
                    src,
                    {
                        "type": "append_entries_res",
                        "term": self.term,
                        "success": False,
                        "conflict_index": 0,
                        "conflict_term": None,
                    },
                )
            elif kind == "request_vote":
                self._send(src, {"type": "request_vote_res", "term": self.term, "granted": False})
            return
        handler = {
            "request_vote": self._on_request_vote,
            "request_vote_res": self._on_request_vote_res,
            "append_entries": self._on_append_entries,
            "append_entries_res": self._on_append_entries_res,
        }.get(kind)
        assert handler is not None  # _check_shape knows the same types
        handler(src, body, now)

    def _in_leader_lease(self, now: float) -> bool:
        """Whether this node leads, or heard from its leader within the shortest election timeout."""
        if self.role is Role.LEADER:
            return True
        heard = self._leader_heard_at
        return heard is not None and now - heard < self.config.election_timeout[0]

    def _log_up_to_date(self, body: Body) -> bool:
        last_term: int = body["last_log_term"]
        last_index: int = body["last_log_index"]
        my_last = self.storage.last_index()
        my_term = self.storage.term_at(my_last)
        return last_term > my_term or (last_term == my_term and last_index >= my_last)

    # -- elections -------------------------------------------------------------------------------

    def _vote_request(self, kind: str, term: int) -> Body:
        last = self.storage.last_index()
        return {
            "type": kind,
            "term": term,
            "last_log_index": last,
            "last_log_term": self.storage.term_at(last),
        }

    def _start_pre_vote(self, now: float) -> None:
        self.role = Role.PRE_CANDIDATE
        self.leader_id = None
        self._fail_reads()
        self._votes = {self.id}
        self._election_deadline = now + self._election_timeout()
        if len(self._votes) >= self.majority:
            self._start_election(now)
            return
        request = self._vote_request("pre_vote", self.term + 1)
        for peer in self.peers:
            self._send(peer, request)

    def _on_pre_vote(self, src: str, body: Body, term: int, now: float) -> None:
        granted = term > self.term and not self._in_leader_lease(now) and self._log_up_to_date(body)
        self._send(src, {"type": "pre_vote_res", "term": term if granted else self.term, "granted": granted})

    def _on_pre_vote_res(self, src: str, body: Body, term: int, now: float) -> None:
        # a grant carries the term asked about (one above ours); a refusal the voter's own term
        if body["granted"] is not True:
            if term > self.term:
                self._become_follower(term, None, now)
            return
        if self.role is not Role.PRE_CANDIDATE or term != self.term + 1:
            return  # not campaigning any more, or an answer to an older round
        self._votes.add(src)
        if len(self._votes) >= self.majority:
            self._start_election(now)

    def _start_election(self, now: float) -> None:
        term = self.term + 1
        self.storage.save_term_vote(term, self.id)
        self.role = Role.CANDIDATE
        self.leader_id = None
        self._fail_reads()
        self._votes = {self.id}
        self._election_deadline = now + self._election_timeout()
        self.log(f"term {term}: standing for election")
        if len(self._votes) >= self.majority:
            self._become_leader(now)
            return
        request = self._vote_request("request_vote", term)
        for peer in self.peers:
            self._send(peer, request)

    def _on_request_vote(self, src: str, body: Body, now: float) -> None:
        voted_for = self.storage.voted_for
        granted = voted_for in (None, src) and self._log_up_to_date(body)
        if granted:
            if voted_for is None:
                self.storage.save_term_vote(self.term, src)
            self._election_deadline = now + self._election_timeout()
        self._send(src, {"type": "request_vote_res", "term": self.term, "granted": granted})

    def _on_request_vote_res(self, src: str, body: Body, now: float) -> None:
        if self.role is not Role.CANDIDATE or body["granted"] is not True:
            return
        self._votes.add(src)
        if len(self._votes) >= self.majority:
            self._become_leader(now)

    def _become_leader(self, now: float) -> None:
        self.role = Role.LEADER
        self.leader_id = self.id
        self._leader_since = now
        next_index = self.storage.last_index() + 1
        self._peers = {p: _Peer(next_index, now) for p in self.peers}
        self.log(f"term {self.term}: became leader")
        self._append_own(None)  # commits the entries of earlier terms as soon as it commits
        self._heartbeat_due = now + self.config.heartbeat_interval
        self._advance_commit()  # a one-node cluster commits at once

    def _become_follower(self, term: int, leader: str | None, now: float) -> None:
        if term > self.term:
            self.storage.save_term_vote(term, None)
        if self.role is not Role.FOLLOWER:
            self.log(f"term {term}: {self.role.value} -> follower")
        self.role = Role.FOLLOWER
        self.leader_id = leader
        self._peers = {}
        self._fail_reads()
        self._election_deadline = now + self._election_timeout()

    def _fail_reads(self) -> None:
        for r in self._reads:
            self._outcomes.append(Outcome(r.token, "not-leader", None))
        self._reads = []

    # -- replication -----------------------------------------------------------------------------

    def _append_own(self, command: Any) -> int:
        self.storage.append([(self.term, command)])
        self._replicate_soon = True
        return self.storage.last_index()

    def _broadcast_append(self) -> None:
        self._seq += 1
        for peer in self.peers:
            self._send_append(peer, heartbeat=True)

    def _send_append(self, peer: str, heartbeat: bool = False) -> None:
        state = self._peers[peer]
        if state.probing and not heartbeat:
            return  # a probe is answered before the next is sent (or the heartbeat resends it)
        last = self.storage.last_index()
        start = min(state.next_index, last + 1)
        prev = start - 1
        stop = min(last + 1, start + self.config.max_batch)
        entries = self.storage.entries(start, stop)
        self._send(
            peer,
            {
                "type": "append_entries",
                "term": self.term,
                "prev_index": prev,
                "prev_term": self.storage.term_at(prev),
                "entries": [list(e) for e in entries],
                "commit": self.commit_index,
                "seq": self._seq,
            },
        )
        if not state.probing:
            state.next_index = stop  # pipeline: assume it arrives; a refusal resets this

    def _on_append_entries(self, src: str, body: Body, now: float) -> None:
        if self.role is Role.LEADER:  # a broken election: never hide it as a malformed message
            raise RuntimeError(f"two leaders in term {self.term}: {self.id} and {src}")
        if self.role is not Role.FOLLOWER or self.leader_id != src:
            self._become_follower(self.term, src, now)
        self._leader_heard_at = now
        self._election_deadline = now + self._election_timeout()
        prev, prev_term = body["prev_index"], body["prev_term"]
        entries = body["entries"]
        leader_commit = body["commit"]
        reply: Body = {"type": "append_entries_res", "term": self.term, "seq": body["seq"]}
        last = self.storage.last_index()
        if prev > last:
            self._send(src, {**reply, "success": False, "conflict_index": last + 1, "conflict_term": None})
            return
        term_there = self.storage.term_at(prev)
        if term_there != prev_term:
            first = prev
            while first > 1 and self.storage.term_at(first - 1) == term_there:
                first -= 1
            self._send(src, {**reply, "success": False, "conflict_index": first, "conflict_term": term_there})
            return
        new = [(e[0], e[1]) for e in entries]
        for offset, (term, _) in enumerate(new):
            index = prev + 1 + offset
            if index > last:
                self.storage.append(new[offset:])
                break
            if self.storage.term_at(index) != term:
                if index <= self.commit_index:
                    raise RuntimeError(f"leader {src} would overwrite committed entry {index}")
                self._drop_from(index)
                self.storage.append(new[offset:])
                break
        match = prev + len(new)
        if leader_commit > self.commit_index:
            # only up to what this message vouched for: entries beyond it may be stale
            self.commit_index = max(self.commit_index, min(leader_commit, match))
            self._apply()
        self._send(src, {**reply, "success": True, "match": match})

    def _drop_from(self, index: int) -> None:
        self.storage.truncate(index)

    def _on_append_entries_res(self, src: str, body: Body, now: float) -> None:
        if self.role is not Role.LEADER:
            return
        last = self.storage.last_index()
        state = self._peers[src]
        state.heard_at = now
        seq = body.get("seq")
        if type(seq) is int and seq > state.acked_seq:
            state.acked_seq = seq
            self._confirm_reads()
        if body["success"] is True:
            match = body["match"]
            if match > state.match_index:
                state.match_index = match
                self._advance_commit()
            state.next_index = max(state.next_index, match + 1)
            state.probing = False
        else:
            conflict_index, conflict_term = body["conflict_index"], body["conflict_term"]
            next_index = conflict_index
            if conflict_term is not None:
                # skip the follower's whole conflicting term, or resume after ours if we have it
                i = last
                while i > 0 and self.storage.term_at(i) > conflict_term:
                    i -= 1
                if i > 0 and self.storage.term_at(i) == conflict_term:
                    next_index = i + 1
            state.next_index = max(state.match_index + 1, min(next_index, last + 1))
            state.probing = True
            self._send_append(src, heartbeat=True)
            return
        if state.next_index <= last:
            self._send_append(src)

    def _advance_commit(self) -> None:
        matches = sorted(
            [self.storage.last_index(), *(p.match_index for p in self._peers.values())], reverse=True
        )
        candidate = matches[self.majority - 1]
        if candidate > self.commit_index and self.storage.term_at(candidate) == self.term:
            self.commit_index = candidate
            self._apply()
            if self._reads:
                for r in self._reads:
                    if r.read_index is None:
                        r.read_index = self.commit_index
                self._serve_reads()

    def _current_term_committed(self) -> bool:
        return self.storage.term_at(self.commit_index) == self.term

    def _apply(self) -> None:
        while self.last_applied < self.commit_index:
            index = self.last_applied + 1
            term, command = self.storage.entry(index)
            result = self.machine.apply(command) if command is not None else None
            self.last_applied = index
            proposal = self._proposals.pop(index, None)
            if proposal is not None:
                if proposal.term == term:
                    self._outcomes.append(Outcome(proposal.token, "ok", result))
                else:
                    self._outcomes.append(Outcome(proposal.token, "superseded"))
        if self._reads:
            self._serve_reads()

    # -- reads -----------------------------------------------------------------------------------

    def _confirm_reads(self) -> None:
        changed = False
        for r in self._reads:
            if not r.confirmed:
                acks = 1 + sum(1 for p in self._peers.values() if p.acked_seq >= r.seq)
                if acks >= self.majority:
                    r.confirmed = changed = True
        if changed:
            self._serve_reads()

    def _serve_reads(self) -> None:
        waiting = []
        for r in self._reads:
            if r.confirmed and r.read_index is not None and r.read_index <= self.last_applied:
                self._outcomes.append(Outcome(r.token, "ok", self.machine.query(r.query)))
            else:
                waiting.append(r)
        self._reads = waiting

    def _send(self, dest: str, body: Body) -> None:
        self._outbox.append((dest, body))


class _VoteRequest(Request):
    term: NonNegativeInt
    last_log_index: NonNegativeInt
    last_log_term: NonNegativeInt


class _VoteReply(Request):
    term: NonNegativeInt
    granted: bool


class _AppendEntries(Request):
    term: NonNegativeInt
    prev_index: NonNegativeInt
    prev_term: NonNegativeInt
    entries: list[tuple[NonNegativeInt, Any]]
    commit: NonNegativeInt
    seq: NonNegativeInt


class _AppendOk(Request):
    term: NonNegativeInt
    match: NonNegativeInt


class _AppendRefused(Request):
    term: NonNegativeInt
    conflict_index: NonNegativeInt
    conflict_term: NonNegativeInt | None


#: the fields each message must have, checked before a message changes anything
_SHAPES: dict[str, type[Request]] = {
    "pre_vote": _VoteRequest,
    "request_vote": _VoteRequest,
    "pre_vote_res": _VoteReply,
    "request_vote_res": _VoteReply,
    "append_entries": _AppendEntries,
}


def _check_shape(body: Any) -> str:
    """The message's type, if ``body`` is a well-formed Raft message; raises ValueError if not."""
    if type(body) is not dict:
        raise ValueError("the body is not an object")
    kind = body.get("type")
    shape: type[Request]
    if kind == "append_entries_res":
        success = body.get("success")
        if type(success) is not bool:
            raise ValueError(f"bad or missing 'success': {success!r}")
        shape = _AppendOk if success else _AppendRefused
    elif type(kind) is str and kind in _SHAPES:
        shape = _SHAPES[kind]
    else:
        raise ValueError(f"unknown Raft message type {kind!r}")
    try:
        msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    return kind
