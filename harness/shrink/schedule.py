"""An explicit schedule: a run's main-phase client operations and nemesis events, written down.

Every run records one (``schedule.edn`` in its run directory): each client op as
``[time thread op]`` (``time`` in ns after the main phase began, ``thread`` the worker thread,
``op`` the generator's op map) and each nemesis event as ``[time f value effect]`` (``effect`` what
the nemesis actually did: a partition's grudge, the nodes a kill, pause, start or resume acted
on). ``maelstrom test --sim --schedule FILE`` replays exactly that instead of drawing from the
generator and the nemesis: the interpreter issues each op on its thread at its time (later if
the thread is still busy), and each nemesis event applies its recorded effect. Under replay the
recorded schedule is the one replayed (minus what the time limit cut off), so a run's
``schedule.edn`` always replays that run.

A simulated run is a pure function of its flags, seed and schedule; the shrinker
(:mod:`harness.shrink.shrinker`) edits schedules and flags.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import edn
from harness.history import Keyword, kw

__all__ = ["ClientStep", "FaultStep", "Schedule", "read_schedule", "write_schedule"]

VERSION = 1


@dataclass(frozen=True, slots=True)
class ClientStep:
    time: int  # ns after the main phase began
    thread: int
    op: dict[str, Any]  # {"f": ..., "value": ..., **extra}: what Workload.next_op returns


@dataclass(frozen=True, slots=True)
class FaultStep:
    time: int
    f: str
    value: Any  # the invocation's value (a partition's shape, a kill's node spec)
    effect: Any  # grudge {node: #{nodes}} for start-partition; [nodes] for db ops; None: heal


@dataclass(slots=True)
class Schedule:
    ops: list[ClientStep] = field(default_factory=list)
    faults: list[FaultStep] = field(default_factory=list)
    #: the run settings a stored run needs to be run again (``maelstrom shrink RUN_DIR``)
    settings: dict[str, Any] = field(default_factory=dict)

    def with_(self, ops: list[ClientStep] | None = None, faults: list[FaultStep] | None = None) -> Schedule:
        return replace(
            self,
            ops=self.ops if ops is None else ops,
            faults=self.faults if faults is None else faults,
            settings=dict(self.settings),
        )

    def record_op(self, time: int, thread: int, op: dict[str, Any]) -> None:
        self.ops.append(ClientStep(time, thread, copy.deepcopy(op)))

    def record_fault(self, time: int, f: str, value: Any, effect: Any) -> None:
        self.faults.append(FaultStep(time, f, value, effect))

    @property
    def end(self) -> int:
        """The time of the last step (0 if none)."""
        return max([s.time for s in self.ops] + [s.time for s in self.faults], default=0)


def fault_effect(f: str, result: Any) -> Any:
    """The effect to replay from a nemesis op's completion value (None: nothing to replay)."""
    if f == "start-partition":
        # [:isolated grudge]
        if isinstance(result, list) and len(result) == 2 and isinstance(result[1], dict):
            return {k: frozenset(v) for k, v in result[1].items()}
        return None
    if f == "stop-partition":
        return None
    if isinstance(result, dict):  # {node: result} of kill/start/pause/resume
        return list(result)
    return None


def _op_to_edn(op: dict[str, Any]) -> dict[Keyword, Any]:
    return {kw(k): v for k, v in op.items()}


def write_schedule(schedule: Schedule, path: Path) -> None:
    """``schedule`` as EDN: one op or event per line, so that diffs and eyes can follow it."""
    lines = ["{:version " + str(VERSION)]
    for k, v in sorted(schedule.settings.items()):
        lines.append(f" :{k} {edn.pr(v)}")
    lines.append(" :ops [")
    lines += [f"  [{s.time} {s.thread} {edn.pr(_op_to_edn(s.op))}]" for s in schedule.ops]
    lines.append(" ]")
    lines.append(" :faults [")
    for s in schedule.faults:
        # each set in its own iteration order, which is the order the run's history printed it in
        effect = {k: list(v) for k, v in s.effect.items()} if isinstance(s.effect, dict) else s.effect
        lines.append(f"  [{s.time} {edn.pr(s.f)} {edn.pr(s.value)} {edn.pr(effect)}]")
    lines.append(" ]}")
    Path(path).write_text("\n".join(lines) + "\n")


class ScheduleError(ValueError):
    """A schedule file that cannot be read."""


def read_schedule(path: str | Path) -> Schedule:
    try:
        data = edn.normalize(edn.loads(Path(path).read_text()))
    except OSError as e:
        raise ScheduleError(f"cannot read schedule {path}: {e.strerror}") from None
    except Exception as e:
        raise ScheduleError(f"schedule {path} is not EDN: {e}") from None
    if not isinstance(data, dict) or data.get(kw("version")) != VERSION:
        raise ScheduleError(f"schedule {path}: not a version {VERSION} schedule ({{:version 1 :ops [...]}})")
    try:
        ops = [
            ClientStep(
                int(t), int(thread), {k.name if isinstance(k, Keyword) else k: v for k, v in op.items()}
            )
            for t, thread, op in data.get(kw("ops")) or []
        ]
        faults = [
            FaultStep(int(t), str(f), value, _effect(effect))
            for t, f, value, effect in data.get(kw("faults")) or []
        ]
    except (TypeError, ValueError, AttributeError) as e:
        raise ScheduleError(f"schedule {path}: malformed entry ({e})") from None
    for s in ops:
        if "f" not in s.op or s.time < 0 or s.thread < 0:
            raise ScheduleError(f"schedule {path}: malformed op {s}")
    settings = {
        k.name: v
        for k, v in data.items()
        if isinstance(k, Keyword) and k.name not in ("version", "ops", "faults")
    }
    ops.sort(key=lambda s: s.time)
    faults.sort(key=lambda s: s.time)
    return Schedule(ops, faults, settings)


class _Listed(frozenset[Any]):
    """A frozenset that iterates in the order it was written (a grudge's sets print in the history
    as the recorded run printed them; a rebuilt frozenset's order may differ)."""

    __slots__ = ("order",)
    order: tuple[Any, ...]

    def __new__(cls, items: list[Any]) -> _Listed:
        made = super().__new__(cls, items)
        made.order = tuple(dict.fromkeys(items))
        return made

    def __iter__(self) -> Any:
        return iter(self.order)


def _effect(effect: Any) -> Any:
    if isinstance(effect, dict):
        return {k: _Listed(list(v)) for k, v in effect.items()}
    if isinstance(effect, (list, tuple)):
        return [str(n) for n in effect]
    return effect
