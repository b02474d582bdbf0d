"""lin-kv: Maelstrom's default workload, a linearizable key-value store of cas registers.

Client ([M] workload/lin_kv.clj): ``read {key}`` -> ``read_ok {value}`` (any JSON, null allowed),
``write {key, value}`` -> ``write_ok``, ``cas {key, from, to}`` -> ``cas_ok``; closed schemas.
Reusable; reads are idempotent, so a read's timeout or error reply is ``fail`` while a write's or
cas's is ``info`` unless the code is definite (the interpreter's error mapping). The RPC timeout
is ``max(10 x mean latency, 1000 ms)``. An op's value is ``[k v]``: a read's invocation
``[k nil]`` and completion ``[k value]``, a write's ``[k v]``, a cas's ``[k [from to]]``.

Generator ([J] tests/linearizable_register.clj, [J] independent.clj ``concurrent-generator``):
worker threads are cut into groups of 2 x node-count (the concurrency must be a positive multiple
of it, else the test cannot start, as in Maelstrom); group g starts on key g, and a group whose
key is used up takes the next unused integer. A key is used up once the processes its group's
threads have had would exceed 20 (each thread starts with one process and gets a new one after
every ``info``). Threads 0..n-1 (absolute numbers, so only group 0's) only read; every other
thread writes (1/3) or cas-es (2/3), with values ``rand-int 5``. ``--key-count`` does not apply.
No final phase.

Checker: :mod:`harness.checkers.linearizable` per key; each failing key also gets
``independent/<key>/`` files (history, results, linear.svg) from :meth:`LinKV.write_files`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from harness.checkers import linearizable
from harness.history import INFO, OK, Op
from harness.options import TestOptions
from harness.schema import ANY, body
from harness.summary import Figure, FileSection, Link, Summary
from harness.workloads.base import RPCClient, Workload, register

READ_OK = body("read_ok", value=ANY)
WRITE_OK = body("write_ok")
CAS_OK = body("cas_ok")

#: Jepsen's per-key process limit in linearizable_register.clj
PROCESS_LIMIT = 20
#: register values are rand-int 5
VALUE_RANGE = 5


@register
class LinKV(Workload):
    name: ClassVar[str] = "lin-kv"
    idempotent: ClassVar[frozenset[str]] = frozenset({"read"})
    reusable_client: ClassVar[bool] = True
    has_final: ClassVar[bool] = False

    def __init__(self, test: TestOptions, rng: Any) -> None:
        super().__init__(test, rng)
        self.n = len(test.nodes)
        self.group_size = 2 * self.n
        if test.concurrency < self.group_size or test.concurrency % self.group_size:
            raise ValueError(
                f"lin-kv needs --concurrency a positive multiple of 2 x node count ({self.group_size}), "
                f"got {test.concurrency}; try --concurrency 2n"
            )
        self.rpc_timeout = max(10 * test.latency_mean, 1000) / 1000  # type: ignore[misc]
        groups = test.concurrency // self.group_size
        self.keys = list(range(groups))  # each group's current key
        self.next_key = groups
        # processes each group's threads have had on its current key (Jepsen's process-limit)
        self.processes = [self.group_size] * groups

    def _key(self, group: int) -> int | None:
        if self.group_size > PROCESS_LIMIT:
            return None  # every key is used up at once: no ops (Maelstrom hangs here)
        if self.processes[group] > PROCESS_LIMIT:
            self.keys[group] = self.next_key
            self.next_key += 1
            self.processes[group] = self.group_size
        return self.keys[group]

    def next_op(self, thread: int, now_ns: int) -> dict[str, Any] | None:
        k = self._key(thread // self.group_size)
        if k is None:
            return None
        if thread < self.n:
            return {"f": "read", "value": [k, None]}
        if self.rng.randrange(3) == 0:
            return {"f": "write", "value": [k, self.rng.randrange(VALUE_RANGE)]}
        return {"f": "cas", "value": [k, [self.rng.randrange(VALUE_RANGE), self.rng.randrange(VALUE_RANGE)]]}

    def on_complete(self, op: Op) -> None:
        if op.type == INFO and isinstance(op.process, int):
            # the thread's new process counts for its group's current key, whichever key crashed
            self.processes[(op.process % self.test.concurrency) // self.group_size] += 1

    async def invoke(self, client: RPCClient, op: Op) -> Op:
        k, v = op.value
        if op.f == "read":
            reply = await client.rpc({"type": "read", "key": k}, READ_OK)
            return dataclasses.replace(op, type=OK, value=[k, reply["value"]], extra=dict(op.extra))
        if op.f == "write":
            await client.rpc({"type": "write", "key": k, "value": v}, WRITE_OK)
        elif op.f == "cas":
            await client.rpc({"type": "cas", "key": k, "from": v[0], "to": v[1]}, CAS_OK)
        else:
            raise ValueError(f"lin-kv has no op {op.f!r}")
        return dataclasses.replace(op, type=OK, extra=dict(op.extra))

    def check(self, history: list[Op]) -> dict[str, Any]:
        self.checked = history  # for write_files
        return linearizable.check_independent(history)

    def write_files(self, result: Mapping[str, Any], run_dir: Path) -> None:
        """``independent/<key>/`` for every key: history.edn and results.edn, and linear.svg for a
        key that is not linearizable. The history is the one :meth:`check` saw, else the run's."""
        from harness.edn import read_history
        from harness.linear_svg import write_independent

        history = getattr(self, "checked", None)
        if history is None:
            history = read_history(Path(run_dir) / "history.edn")
        write_independent(run_dir, history, result)

    @classmethod
    def report_files(cls, out_dir: Path) -> FileSection | None:
        """The pictures of the keys that are not linearizable (independent/<key>/linear.svg)."""
        svgs = sorted(
            out_dir.glob("independent/*/linear.svg"), key=lambda p: (len(p.parent.name), p.parent.name)
        )
        if not svgs:
            return None
        links = tuple(Link(p.relative_to(out_dir).as_posix(), f"key {p.parent.name}") for p in svgs)
        return FileSection("Linearizability failures", "One picture per key that is not linearizable:", links)

    @classmethod
    def summarize(cls, result: Mapping[str, Any]) -> Summary:
        results = result.get("results") or {}
        failures = list(result.get("failures") or ())
        unknown = [k for k, r in results.items() if r.get("valid?") not in (True, False)]
        figures = [
            Figure("failing-key-count", "failing keys", len(failures)),
            Figure("key-count", "keys", len(results)),
        ]
        if unknown:
            figures.append(Figure("unknown-key-count", "unknown keys", len(unknown)))
        findings = []
        for k in failures:
            # results.json has the per-key map's keys as strings, failures as the keys themselves
            per_key = results.get(k, results.get(str(k))) or {}
            lin = per_key.get("linearizable") or {}
            findings.append(f"key {k} is not linearizable: {describe_failure(lin)}")
        for k in unknown:
            lin = results[k].get("linearizable") or {}
            why = lin.get("cause") or lin.get("error") or "no verdict"
            findings.append(f"key {k}: linearizability unknown ({str(why).splitlines()[0]})")
        return Summary(tuple(figures), tuple(findings))


def _op_text(op: Any) -> str:
    """``:read 4 (process 0, index 13)`` for an Op or an op map read back from results.edn."""
    if op is None:
        return "nil"
    if isinstance(op, Op):
        f, value, process, index = op.f, op.value, op.process, op.index
    else:
        f, value, process, index = (op.get(x) for x in ("f", "value", "process", "index"))
        f = getattr(f, "name", f)
    from harness.edn import pr

    return f":{f} {pr(value)} (process {process}, index {index})"


def describe_failure(lin: Mapping[str, Any]) -> str:
    """One line: the op that could not be linearized, and why, from a per-key result."""
    text = f"no linearization reaches {_op_text(lin.get('op'))}"
    if lin.get("previous-ok") is not None:
        text += f", after {_op_text(lin.get('previous-ok'))}"
    msgs = []
    for path in lin.get("final-paths") or ():
        model = path[-1].get("model") if path else None
        # ours: an Inconsistent; read back from results.edn (ours or Maelstrom's): {"msg": ...}
        msg = model.get("msg") if isinstance(model, Mapping) else getattr(model, "msg", None)
        if msg and msg not in msgs:
            msgs.append(msg)
    if msgs:
        text += " (" + "; ".join(msgs[:3]) + ")"
    return text
