"""Linearizability of compare-and-set register histories (Knossos's ``cas-register``, initially nil).

Pure functions, no I/O. :func:`check` takes the history of one register (values already unwrapped
from ``[k v]``) and returns a result with Knossos's fields; :func:`check_independent` splits a
lin-kv history by key (Jepsen's ``independent`` checker: a history is linearizable iff each key's
is, P-compositionality) and returns Maelstrom's ``{:valid? :results {k ...} :failures [...]}``.

Preprocessing, as Knossos's: each invocation is paired with its process's next completion; a
``:fail`` and its invocation are deleted (a definite error changed nothing); an ``:info`` or a
missing completion leaves the op *crashed*: it may take effect at any time after its invocation,
or never. Reads of ``nil`` are legal in every state and change nothing (Knossos's model), and so
are crashed reads (their value is unknown), so both are left out of the search; they can never
be the op that fails.

The search is Wing & Gong's with Lowe's cache, as Knossos's ``wgl`` and porcupine do it: the calls
and returns are a doubly linked list in history order; walking from the head, a call whose
transition is legal in the current state, and whose (linearized set, new state) pair is new, is
linearized: it and its return are unlinked and the walk restarts at the head. Meeting a return
means its op was not linearized before it returned: backtrack to the last choice. All ok ops
linearized means valid (crashed ops left over are the ones that never took effect); nothing left
to backtrack means invalid. Linearized sets are Python ints used as bitsets; the cache is one set
of bitsets per register state; states are small ints (values interned by Clojure equality).

When invalid, the op that could not be linearized is the ok op whose return the search never got
past: the first return (in history order) that no explored configuration linearized together
with every earlier return. That is the op Knossos names (the ok op with the lowest completion
rank not contiguously linearized, wgl.clj ``invalid-analysis``; the first ok at which linear.clj's
configuration set empties). ``budget`` bounds the search steps (and ``time_limit`` its seconds);
past either, the key is ``:unknown``, as Knossos's out-of-memory abort makes it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edn_format import Keyword
from edn_format.edn_parse import TaggedElement

from harness.checkers.core import check_safe, merge_valid
from harness.edn import pr
from harness.history import FAIL, INFO, INVOKE, OK, UNKNOWN, Op, ckey

__all__ = [
    "DEFAULT_BUDGET",
    "CASRegister",
    "Inconsistent",
    "check",
    "check_independent",
    "key_of",
    "prepare",
    "subhistories",
]

#: Search steps per key before giving up with :unknown (about 10-20 s of this machine). One step
#: is one look at a list entry; the corpus's hardest key needs ~400, a 2,000-op key at 10-way
#: concurrency with 5 % crashes ~4 x 10^4 (scripts/bench-linearizable.sh's target history).
DEFAULT_BUDGET = 20_000_000
#: At most this many configurations and final paths in a result (Jepsen truncates to 10 as well).
MAX_SHOWN = 10
#: At most this many pending calls are permuted for one final path search (the rest are listed).
MAX_PERMUTED = 6

_READ, _WRITE, _CAS = "read", "write", "cas"


def _str(value: Any) -> str:
    """Clojure's ``str`` of a value, as Knossos's messages print it (``nil`` is empty)."""
    return "" if value is None else pr(value, readably=False)


@dataclass(frozen=True, slots=True)
class CASRegister(TaggedElement):
    """A register state; printed in EDN as ``#knossos.model.CASRegister{:value 3}``."""

    value: Any

    def __str__(self) -> str:
        return "#knossos.model.CASRegister{:value " + pr(self.value) + "}"

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value}


@dataclass(frozen=True, slots=True)
class Inconsistent(TaggedElement):
    """A transition that is not legal; printed as ``#knossos.model.Inconsistent{:msg "..."}``."""

    msg: str

    def __str__(self) -> str:
        return "#knossos.model.Inconsistent{:msg " + pr(self.msg) + "}"

    def to_json(self) -> dict[str, Any]:
        return {"inconsistent": self.msg}


def step(state: Any, f: str, value: Any) -> Any:
    """The cas-register model's transition: a new :class:`CASRegister` or an :class:`Inconsistent`."""
    if f == _WRITE:
        return CASRegister(value)
    if f == _CAS:
        cur, new = value
        if ckey(cur) == ckey(state.value):
            return CASRegister(new)
        return Inconsistent(f"can't CAS {_str(state.value)} from {_str(cur)} to {_str(new)}")
    if f == _READ:
        if value is None or ckey(value) == ckey(state.value):
            return state
        return Inconsistent(f"can't read {_str(value)} from register {_str(state.value)}")
    raise ValueError(f"the cas-register model has no op {f!r}")


@dataclass(slots=True)
class Call:
    """One operation of the search: its invocation, completion (``None``: never completed) and
    positions in the key's history; ``crashed`` when it may take effect or not."""

    f: str
    value: Any  # the op's value: the read's result, the write's value, the cas's [from to]
    invoke: Op
    completion: Op | None
    call_pos: int
    ret_pos: int | None  # None for crashed ops: they never return

    @property
    def crashed(self) -> bool:
        return self.ret_pos is None

    def shown(self) -> Op:
        """The op as a result shows it: its completion (or a synthetic :info), value unwrapped."""
        base = self.completion or self.invoke
        return Op(
            base.type if self.completion is not None else INFO,
            self.f,
            base.process,
            self.value,
            base.time,
            base.index,
            base.error,
            dict(base.extra),
        )

    def shown_invoke(self) -> Op:
        inv = self.invoke
        return Op(INVOKE, self.f, inv.process, self.value, inv.time, inv.index, None, dict(inv.extra))


def prepare(history: Iterable[Op]) -> tuple[list[Call], list[Op]]:
    """The calls the search must place, and the ok completions in history order.

    ``history`` is one register's history (client ops and, ignored, nemesis ops), in order.
    """
    calls: list[Call] = []
    oks: list[Op] = []
    open_: dict[Any, tuple[int, Op]] = {}
    crashed: list[tuple[int, Op, Op | None]] = []
    ordered: list[tuple[int, Call]] = []
    for pos, op in enumerate(history):
        if not isinstance(op.process, int) or op.f not in (_READ, _WRITE, _CAS):
            continue
        if op.type == INVOKE:
            if op.process in open_:  # an invocation that never completed before the next one
                crashed.append((*open_.pop(op.process), None))
            open_[op.process] = (pos, op)
            continue
        opened = open_.pop(op.process, None)
        if opened is None:
            continue  # a completion without an invocation: nothing to place
        call_pos, inv = opened
        if op.type == OK:
            oks.append(op)
            value = op.value if op.f == _READ else inv.value
            if op.f == _READ and value is None:
                continue  # legal in every state, changes nothing
            ordered.append((call_pos, Call(op.f, value, inv, op, call_pos, pos)))
        elif op.type == INFO:
            crashed.append((call_pos, inv, op))
        elif op.type != FAIL:
            raise ValueError(f"op of unknown type {op.type!r}: {op}")
    crashed.extend((pos, inv, None) for pos, inv in open_.values())
    for call_pos, inv, comp in crashed:
        if inv.f != _READ and not _preserving_cas(inv.value):  # a crashed read constrains nothing
            ordered.append((call_pos, Call(inv.f, inv.value, inv, comp, call_pos, None)))
    ordered.sort(key=lambda pc: pc[0])
    calls = [c for _, c in ordered]
    for c in calls:
        if c.f == _CAS and not (isinstance(c.value, (list, tuple)) and len(c.value) == 2):
            raise ValueError(f"a cas value must be [from to], not {c.value!r}: {c.invoke}")
    return calls, oks


def _preserving_cas(value: Any) -> bool:
    """A cas from x to x: if it crashed, taking effect or not is the same."""
    return isinstance(value, (list, tuple)) and len(value) == 2 and ckey(value[0]) == ckey(value[1])


@dataclass(slots=True)
class _Outcome:
    valid: Any  # True, False or UNKNOWN
    steps: int
    state: int = 0  # final state (valid)
    stuck: int = -1  # the call whose return the search never got past (invalid)
    #: (state, linearized bitset, last linearized call or -1) at the stuck return, at most MAX_SHOWN
    configs: list[tuple[int, int, int]] = field(default_factory=list)
    cause: str = ""


def _search(
    calls: Sequence[Call], need: list[int], out: list[int], n_states: int, budget: int, deadline: float | None
) -> _Outcome:
    """Wing-Gong-Lowe over ``calls``: ``need[i]`` is the state call i requires (-1: any),
    ``out[i]`` the state it leaves.

    Crashed calls are what make such searches blow up: each one pending doubles the
    configurations at every later point, and one linearized too early is only refuted much
    later. So they are handled apart from the rest:

    * They are kept in a list of their own, and tried only after every ok call before the first
      return has been tried from the current configuration: a crash takes effect only when
      nothing else lets the search go on.
    * A configuration is (ok calls linearized, crashed calls linearized, state). One with fewer
      crashed calls used, and otherwise equal, can do everything the other can (an unused crashed
      call may still take effect later, or never), so the cache keeps, per (ok set, state), the
      minimal crashed sets seen, and prunes a configuration when one of them is a subset of its
      crashed set.
    * Crashed calls with the same transition are interchangeable once invoked (they never
      return), so only the earliest-invoked unused one of each kind is tried: any linearization
      can swap in the earlier twin.

    And one for reads: a legal ok call that does not change the state is linearized at once,
    without branching (see ``preserving``).
    """
    n = len(calls)
    remaining = sum(1 for c in calls if not c.crashed)
    if remaining == 0:
        return _Outcome(True, 0, 0)
    # Two doubly linked lists over one set of nodes. Main: head 0, the ok calls and returns in
    # history order, tail M+1. Crashed: head M+2, the crashed calls in invocation order, tail.
    # ``ent`` is the call index of a call node and ~index (negative) of a return node; ``pos``
    # its history position.
    main = sorted(
        [(c.call_pos, i) for i, c in enumerate(calls) if not c.crashed]
        + [(c.ret_pos, ~i) for i, c in enumerate(calls) if c.ret_pos is not None]
    )
    crash = sorted((c.call_pos, i) for i, c in enumerate(calls) if c.crashed)
    m = len(main)
    crash_head = m + 2
    n_nodes = m + len(crash) + 4
    ent = [0] * n_nodes
    pos: list[float] = [0.0] * n_nodes
    nxt = list(range(1, n_nodes + 1))
    prv = list(range(-1, n_nodes - 1))
    ret_node = [0] * n
    for node, (at, e) in enumerate(main, 1):
        ent[node], pos[node] = e, at
        if e < 0:
            ret_node[~e] = node
    for node, (at, e) in enumerate(crash, crash_head + 1):
        ent[node], pos[node] = e, at
    pos[n_nodes - 1] = float("inf")  # the crashed list's tail
    prv[crash_head] = -1
    # bit of each call in its own space: ok calls in ``ok``, crashed calls in ``cr``
    bit = [0] * n
    n_ok = n_cr = 0
    for i, c in enumerate(calls):
        if c.crashed:
            bit[i], n_cr = 1 << n_cr, n_cr + 1
        else:
            bit[i], n_ok = 1 << n_ok, n_ok + 1
    # An ok call that leaves the state as it found it (a read, a cas from x to x) and is legal
    # now is linearized now, with no alternative tried: moving it earlier in any linearization
    # changes no state another op sees, and everything that must precede it already does.
    preserving = [not c.crashed and need[i] >= 0 and need[i] == out[i] for i, c in enumerate(calls)]
    twin_bit = [0] * n  # the bit of the previous crashed call of the same kind, or 0
    last_of_kind: dict[tuple[int, int], int] = {}
    for _, i in crash:
        kind = (need[i], out[i])
        twin_bit[i] = last_of_kind.get(kind, 0)
        last_of_kind[kind] = bit[i]
    # per state: ok set -> the minimal crashed sets seen with it
    seen: list[dict[int, list[int]]] = [{} for _ in range(n_states)]
    # (call node, in the crashed list?, first return's position, state, ok set, crashed set) before
    # it, and whether it was forced (no alternative needs trying)
    stack: list[tuple[int, bool, float, int, int, int, bool]] = []
    push, pop = stack.append, stack.pop
    state = ok = cr = 0
    steps = 0
    stuck_ret = -1  # the deepest return node met
    configs: list[tuple[int, int, int, int]] = []
    node = nxt[0]
    in_crashed = False  # scanning the crashed list (the ok calls before the first return are done)
    boundary = 0.0  # the first return's position, while scanning the crashed list
    check_every = 0xFFFF
    while True:
        steps += 1
        if steps > budget or (
            deadline is not None and not steps & check_every and time.monotonic() > deadline
        ):
            return _Outcome(UNKNOWN, steps, cause="budget")
        e = ent[node]
        if not in_crashed and e < 0:  # the first return: on to the crashed calls invoked before it
            if node >= stuck_ret:
                if node > stuck_ret:
                    stuck_ret, configs = node, []
                if len(configs) < MAX_SHOWN:
                    config = (state, ok, cr, ent[stack[-1][0]] if stack else -1)
                    if config not in configs:
                        configs.append(config)
            in_crashed, boundary = True, pos[node]
            node = nxt[crash_head]
            continue
        if not (in_crashed and pos[node] > boundary):  # else: nothing left to try here
            nd = need[e]
            if nd < 0 or nd == state:
                if in_crashed:
                    tw = twin_bit[e]
                    if tw and not cr & tw:
                        node = nxt[node]
                        continue
                    nok, ncr = ok, cr | bit[e]
                else:
                    nok, ncr = ok | bit[e], cr
                ns = out[e]
                by_ok = seen[ns]
                minimal = by_ok.get(nok)
                new = True
                if minimal is None:
                    by_ok[nok] = [ncr]
                else:
                    for u in minimal:
                        if u & ncr == u:
                            new = False
                            break
                    if new:
                        minimal[:] = [u for u in minimal if u & ncr != ncr]
                        minimal.append(ncr)
                forced = preserving[e]
                if new:
                    push((node, in_crashed, boundary, state, ok, cr, forced))
                    state, ok, cr = ns, nok, ncr
                    p, q = prv[node], nxt[node]
                    nxt[p], prv[q] = q, p
                    r = ret_node[e]
                    if r:
                        p, q = prv[r], nxt[r]
                        nxt[p], prv[q] = q, p
                        remaining -= 1
                        if not remaining:
                            return _Outcome(True, steps, state)
                    in_crashed = False
                    node = nxt[0]
                    continue
                if not forced:
                    node = nxt[node]
                    continue
                # else: the one move worth making from here leads where we have been: backtrack
            else:
                node = nxt[node]
                continue
        # backtrack past every forced move to the last real choice
        while True:
            if not stack:
                return _Outcome(
                    False, steps, stuck=~ent[stuck_ret], configs=[_combined(calls, bit, c) for c in configs]
                )
            node, in_crashed, boundary, state, ok, cr, forced = pop()
            e = ent[node]
            r = ret_node[e]
            if r:
                prv[nxt[r]] = r
                nxt[prv[r]] = r
                remaining += 1
            prv[nxt[node]] = node
            nxt[prv[node]] = node
            if not forced:
                break
        node = nxt[node]


def _combined(
    calls: Sequence[Call], bit: list[int], config: tuple[int, int, int, int]
) -> tuple[int, int, int]:
    """(state, linearized set over call indices, last call) from a search configuration."""
    state, ok, cr, last = config
    lin = 0
    for i, c in enumerate(calls):
        if (cr if c.crashed else ok) & bit[i]:
            lin |= 1 << i
    return state, lin, last


class _Values:
    """Register values interned by Clojure equality; 0 is nil, the initial state."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {None: 0}
        self.values: list[Any] = [None]

    def id(self, value: Any) -> int:
        k = ckey(value)
        i = self.ids.get(k)
        if i is None:
            i = self.ids[k] = len(self.values)
            self.values.append(value)
        return i


def _transitions(calls: Sequence[Call]) -> tuple[list[int], list[int], _Values]:
    values = _Values()
    need, out = [], []
    for c in calls:
        if c.f == _READ:
            v = values.id(c.value)
            need.append(v)
            out.append(v)
        elif c.f == _WRITE:
            need.append(-1)
            out.append(values.id(c.value))
        else:
            need.append(values.id(c.value[0]))
            out.append(values.id(c.value[1]))
    return need, out, values


def _previous_ok(oks: Sequence[Op], op: Op) -> Op | None:
    before = [o for o in oks if o.index < op.index]
    return before[-1] if before else None


def _final_paths(
    calls: Sequence[Call], stuck: int, configs: list[tuple[int, int, int]], values: _Values
) -> list[list[dict[str, Any]]]:
    """Knossos's final paths: from each configuration's state, the pending calls in every order
    (smallest subsets first), then the failing op, each path ending at its first illegal step."""
    final = calls[stuck]
    assert final.ret_pos is not None
    paths: list[list[dict[str, Any]]] = []
    seen: set[Any] = set()
    for state, lin, last in configs:
        model = CASRegister(values.values[state])
        prefix = [{"op": calls[last].shown() if last >= 0 else None, "model": model}]
        pending = [
            c
            for i, c in enumerate(calls)
            if i != stuck
            and not lin >> i & 1
            and c.call_pos < final.ret_pos
            and (c.ret_pos is None or c.ret_pos > final.ret_pos)
        ][:MAX_PERMUTED]
        for size in range(len(pending) + 1):
            for order in itertools.permutations(pending, size):
                path = list(prefix)
                m: Any = model
                for c in (*order, final):
                    m = step(m, c.f, c.value)
                    path.append({"op": c.shown(), "model": m})
                    if isinstance(m, Inconsistent):
                        break
                k = tuple((p["op"].index if p["op"] else None, str(p["model"])) for p in path)
                if k not in seen:
                    seen.add(k)
                    paths.append(path)
                if len(paths) >= MAX_SHOWN:
                    return paths
    return paths


def check(
    history: Sequence[Op], budget: int = DEFAULT_BUDGET, time_limit: float | None = None
) -> dict[str, Any]:
    """Is one register's history linearizable? A Knossos-shaped result:

    * valid: ``{"valid?": True, "model": CASRegister(final value), "final-paths": [], "configs": []}``
    * invalid: ``{"valid?": False, "op": <the ok op that could not be linearized>, "previous-ok":
      <the ok op before it>, "configs": [{"model", "last-op", "pending"}...], "final-paths": [...]}``
    * budget spent: ``{"valid?": UNKNOWN, "cause": Keyword("budget"), "steps": n, ...}``

    Ops are shown as Knossos renders them: completions with unwrapped values and original indices.
    """
    calls, oks = prepare(history)
    need, out, values = _transitions(calls)
    deadline = None if time_limit is None else time.monotonic() + time_limit
    outcome = _search(calls, need, out, len(values.values), budget, deadline)
    if outcome.valid is True:
        return {
            "valid?": True,
            "model": CASRegister(values.values[outcome.state]),
            "final-paths": [],
            "configs": [],
        }
    if outcome.valid is not False:
        return {
            "valid?": UNKNOWN,
            "cause": Keyword(outcome.cause),
            "steps": outcome.steps,
            "final-paths": [],
            "configs": [],
        }
    final = calls[outcome.stuck]
    assert final.completion is not None
    op = final.shown()
    configs = []
    for state, lin, last in outcome.configs:
        pending = [
            c.shown_invoke()
            for i, c in enumerate(calls)
            if not lin >> i & 1 and c.call_pos < (final.ret_pos or 0)
        ]
        configs.append(
            {
                "model": CASRegister(values.values[state]),
                "last-op": calls[last].shown() if last >= 0 else None,
                "pending": pending,
            }
        )
    previous = _previous_ok(oks, final.completion)
    return {
        "valid?": False,
        "configs": configs,
        "final-paths": _final_paths(calls, outcome.stuck, outcome.configs, values),
        "previous-ok": _shown_ok(previous, calls),
        "op": op,
    }


def _shown_ok(op: Op | None, calls: Sequence[Call]) -> Op | None:
    """An ok completion as Knossos renders it: a write or cas carries its invocation's value."""
    if op is None:
        return None
    for c in calls:
        if c.completion is op:
            return c.shown()
    return Op(op.type, op.f, op.process, op.value, op.time, op.index, op.error, dict(op.extra))


# ---------------------------------------------------------------------------------------------
# independent keys


def key_of(op: Op) -> tuple[bool, Any, Any]:
    """``(keyed, key, value)``: a client op's ``[k v]`` value split, as Jepsen's tuples are."""
    v = op.value
    if isinstance(op.process, int) and isinstance(v, (list, tuple)) and len(v) == 2:
        return True, v[0], v[1]
    return False, None, v


def _sort_key(k: Any) -> tuple[int, Any]:
    if isinstance(k, bool):
        return (1, str(k))
    if isinstance(k, (int, float)):
        return (0, k)
    return (2, pr(k))


def subhistories(history: Iterable[Op]) -> dict[Any, list[Op]]:
    """Each key's history (values unwrapped, original indices kept), plus every op that has no
    key (nemesis ops) in each, in history order; keys sorted."""
    keyed: dict[Any, list[Op]] = {}
    names: dict[Any, Any] = {}
    history = list(history)
    for op in history:
        is_keyed, k, _ = key_of(op)
        if is_keyed:
            ck = ckey(k)
            if ck not in keyed:
                keyed[ck] = []
                names[ck] = k
    for op in history:
        is_keyed, k, v = key_of(op)
        if is_keyed:
            keyed[ckey(k)].append(Op(op.type, op.f, op.process, v, op.time, op.index, op.error, op.extra))
        else:
            for ops in keyed.values():
                ops.append(op)
    ordered = sorted(keyed, key=lambda ck: _sort_key(names[ck]))
    return {names[ck]: keyed[ck] for ck in ordered}


def check_independent(
    history: Iterable[Op], budget: int = DEFAULT_BUDGET, time_limit: float | None = None
) -> dict[str, Any]:
    """Maelstrom's lin-kv workload result: every key's :linearizable (and :timeline) result."""
    results: dict[Any, dict[str, Any]] = {}
    for k, ops in subhistories(history).items():
        lin = check_safe(check, ops, budget, time_limit)  # a key that breaks the checker is :unknown
        results[k] = {"linearizable": lin, "timeline": {"valid?": True}, "valid?": lin["valid?"]}
    return {
        "valid?": merge_valid(*(r["valid?"] for r in results.values())),
        "results": results,
        "failures": [k for k, r in results.items() if r["valid?"] is False],
    }
