"""Shrinking a failing simulated run: delta debugging over its schedule and flags.

A simulated run is a pure function of its flags, seed and schedule (``schedule.edn``), so a
*candidate* is just those three; it is run in this process (a --sim run needs no processes) into
a scratch store, and it is kept when it fails the same way (:mod:`harness.shrink.verdict`: the
original's primary failure kind). Passes, repeated while any makes progress and time remains:

1. faults: all at once, then each fault episode (a start with its stop) alone;
2. client ops: ddmin, chunks of half, a quarter, ... then one op at a time;
3. nodes: one fewer at a time (a workload that constrains --concurrency gets the nearest valid);
4. concurrency: the highest thread the ops still use, or the workload's nearest valid value;
5. latency: none, then constant;
6. time: every step at half its time (a shorter story, as a higher rate), while that still fails.

Why delta debugging over an explicit schedule and not Hypothesis's engine: a Hypothesis shrink
works on the sequence of random choices, and the schedule here depends on timing (which thread
is free, when an op completes) as well as on the draws, so a smaller choice sequence may replay
as an unrelated run; editing the schedule itself keeps every op the candidate keeps exactly as it
was, at its time, on its thread, which also makes the result readable. The search is the same
idea as Hypothesis's (greedy deletion of chunks, then single items, under a time budget).
"""

from __future__ import annotations

import io
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from harness.fault_intervals import FAULT_KINDS
from harness.options import TestOptions
from harness.results import EXIT_ABORTED
from harness.shrink.schedule import ClientStep, FaultStep, Schedule, read_schedule, write_schedule
from harness.shrink.verdict import failure_kinds
from harness.workloads import REGISTRY

__all__ = ["Candidate", "Outcome", "ShrinkRefused", "command_words", "describe", "shrink", "shrink_run_dir"]

DEFAULT_SHRINK_SECONDS = 120.0
_START_OF = {start: kind for kind, (start, _stop) in FAULT_KINDS.items()}
_STOP_OF = {stop: kind for kind, (_start, stop) in FAULT_KINDS.items()}


class ShrinkRefused(Exception):
    """A run that cannot be shrunk, and why (exit 254)."""


@dataclass(frozen=True)
class Candidate:
    test: TestOptions
    schedule: Schedule
    recovery_seconds: float = 10.0
    init_timeout: float = 10.0


@dataclass(frozen=True)
class Outcome:
    code: int
    kinds: list[str]
    run_dir: Path | None


# -- running one candidate ------------------------------------------------------------------------


def run_candidate(
    cand: Candidate,
    store: Path,
    *,
    quiet: bool = True,
    plots: bool = False,
    schedule_file: Path | None = None,
) -> Outcome:
    """Run ``cand`` in this process into ``store``: its exit code and failure kinds. The run is
    set up from ``cand``'s command line, so it goes on the runtime that command picks."""
    from harness.cli import parse_test_args
    from harness.run import cancel_on_signals, run_once

    test, config = parse_test_args([*command_words(cand, None)[2:], "--store", str(store)])
    config.plots = plots
    config.progress_stream = io.StringIO() if quiet else None
    config.live_progress = False
    config.log_ops = False
    config.schedule = read_schedule(schedule_file) if schedule_file is not None else cand.schedule
    test.seed = cand.test.seed
    code = config.runtime.run(cancel_on_signals(run_once(test, config)))
    run_dir = config.last_run_dir.resolve() if config.last_run_dir is not None else None
    return Outcome(code, _kinds(code, run_dir), run_dir)


def _kinds(code: int, run_dir: Path | None) -> list[str]:
    if code == EXIT_ABORTED:
        return ["run aborted (node crash, failed init or setup)"]
    if run_dir is None or not (run_dir / "results.json").is_file():
        return []
    return failure_kinds(json.loads((run_dir / "results.json").read_text()))


# -- describing runs --------------------------------------------------------------------------------


def fault_episodes(faults: list[FaultStep]) -> list[list[FaultStep]]:
    """Faults grouped as episodes: each start with the stop of its kind that follows it."""
    episodes: list[list[FaultStep]] = []
    open_: dict[str, list[FaultStep]] = {}
    for step in faults:
        if step.f in _START_OF:
            kind = _START_OF[step.f]
            if kind in open_:
                open_[kind].append(step)  # a second start before a stop: same episode
            else:
                episode = [step]
                episodes.append(episode)
                open_[kind] = episode
        elif step.f in _STOP_OF:
            kind = _STOP_OF[step.f]
            if kind in open_:
                open_.pop(kind).append(step)
            else:
                episodes.append([step])  # a stop on its own (a start :all with nothing killed)
    return episodes


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def sizes(cand: Candidate) -> dict[str, Any]:
    """The figures of a candidate: client ops, fault episodes by kind, nodes, concurrency."""
    faults: dict[str, int] = {}
    for episode in fault_episodes(cand.schedule.faults):
        f = episode[0].f
        kind = _START_OF.get(f) or _STOP_OF.get(f, f)
        faults[kind] = faults.get(kind, 0) + 1
    return {
        "ops": len(cand.schedule.ops),
        "faults": faults,
        "nodes": len(cand.test.nodes),
        "concurrency": cand.test.concurrency,
    }


def describe(cand: Candidate) -> str:
    """``2,014 ops, 6 faults (4 partitions, 2 kills), 5 nodes``."""
    kinds: dict[str, int] = {}
    episodes = fault_episodes(cand.schedule.faults)
    for episode in episodes:
        f = episode[0].f
        kind = _START_OF.get(f) or _STOP_OF.get(f, f)
        kinds[kind] = kinds.get(kind, 0) + 1
    if not episodes:
        faults = "no faults"
    elif len(kinds) == 1:
        [(kind, n)] = kinds.items()
        faults = _plural(n, kind)
    else:
        faults = (
            _plural(len(episodes), "fault") + " (" + ", ".join(_plural(n, k) for k, n in kinds.items()) + ")"
        )
    return f"{_plural(len(cand.schedule.ops), 'op')}, {faults}, {_plural(len(cand.test.nodes), 'node')}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def command_words(cand: Candidate, schedule_path: str | Path | None) -> list[str]:
    """The ``maelstrom test`` command that runs ``cand`` exactly: every flag explicit."""
    t = cand.test
    words = ["maelstrom", "test", "-w", t.workload, "--bin", str(t.bin)]
    args = list(t.args)
    if not any(a.startswith("-") for a in args):
        words += args
    words += ["--nodes", ",".join(t.nodes), "--concurrency", str(t.concurrency)]
    words += ["--time-limit", _num(t.time_limit), "--rate", _num(t.rate)]
    words += ["--latency", str(t.latency_mean), "--latency-dist", t.latency_dist]
    if t.nemesis:
        words += ["--nemesis", ",".join(sorted(t.nemesis))]
    words += ["--nemesis-interval", _num(t.nemesis_interval)]
    if t.availability is not None:
        words += [
            "--availability",
            str(t.availability) if t.availability == "total" else _num(float(t.availability)),
        ]
    if t.consistency_models != ["strict-serializable"]:
        words += ["--consistency-models", " , ".join(t.consistency_models)]
    if t.workload == "broadcast":
        words += ["--topology", t.topology]
    if t.key_count is not None:
        words += ["--key-count", str(t.key_count)]
    if t.workload.startswith("txn-") or t.workload == "kafka":
        words += [
            "--max-txn-length",
            str(t.max_txn_length),
            "--max-writes-per-key",
            str(t.max_writes_per_key),
        ]
    words += ["--recovery-time", _num(cand.recovery_seconds), "--init-timeout", _num(cand.init_timeout)]
    words += ["--seed", str(t.seed), "--sim"]
    if schedule_path is not None:
        words += ["--schedule", str(schedule_path)]
    if args and any(a.startswith("-") for a in args):
        words += ["--", *args]
    return words


# -- the search ---------------------------------------------------------------------------------------


def _valid_concurrency(test: TestOptions, wanted: int) -> int | None:
    """The smallest concurrency >= ``wanted`` the workload accepts with ``test``'s nodes, or None."""
    import random

    for c in range(max(1, wanted), max(wanted, 1) + 4 * len(test.nodes) + 1):
        try:
            REGISTRY[test.workload](replace(test, concurrency=c, nodes=list(test.nodes)), random.Random(0))
        except (ValueError, AssertionError):
            continue
        return c
    return None


class _Search:
    def __init__(
        self,
        target: str,
        store: Path,
        deadline: float,
        progress: Callable[[str], None],
    ) -> None:
        self.target = target
        self.store = store
        self.deadline = deadline
        self.progress = progress
        self.runs = 0
        self.best: Candidate | None = None
        self.phase = ""

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def fails(self, cand: Candidate) -> bool:
        if self.out_of_time():
            return False
        self.runs += 1
        outcome = run_candidate(cand, self.store)
        ok = self.target in outcome.kinds
        if outcome.run_dir is not None:
            _remove_tree(outcome.run_dir)
        if ok:
            self.best = cand
        assert self.best is not None
        self.progress(f"shrinking ({self.phase}): {self.runs} runs, smallest so far {describe(self.best)}")
        return ok

    # each pass returns the (possibly) smaller candidate

    def drop_faults(self, cand: Candidate) -> Candidate:
        self.phase = "faults"
        if not cand.schedule.faults:
            return cand
        bare = _with_faults(cand, [])
        if self.fails(bare):
            return bare
        episodes = fault_episodes(cand.schedule.faults)
        i = len(episodes) - 1
        while i >= 0 and not self.out_of_time():
            trial = episodes[:i] + episodes[i + 1 :]
            smaller = _with_faults(cand, [s for e in trial for s in e])
            if self.fails(smaller):
                cand, episodes = smaller, trial
            i -= 1
        return cand

    def drop_ops(self, cand: Candidate) -> Candidate:
        ops = list(cand.schedule.ops)
        chunk = max(1, len(ops) // 2)
        while ops and not self.out_of_time():
            self.phase = f"ops, chunks of {chunk}"
            removed = False
            i = 0
            while i < len(ops) and not self.out_of_time():
                trial = ops[:i] + ops[i + chunk :]
                smaller = _with_ops(cand, trial)
                if self.fails(smaller):
                    cand, ops, removed = smaller, trial, True
                else:
                    i += chunk
            if chunk == 1 and not removed:
                break
            chunk = max(1, min(chunk if removed else chunk // 2, len(ops) // 2))
        return cand

    def drop_nodes(self, cand: Candidate) -> Candidate:
        self.phase = "nodes"
        while len(cand.test.nodes) > 1 and not self.out_of_time():
            for drop in reversed(cand.test.nodes):
                nodes = [n for n in cand.test.nodes if n != drop]
                smaller = _with_nodes(cand, nodes)
                if smaller is not None and self.fails(smaller):
                    cand = smaller
                    break
            else:
                return cand
        return cand

    def fewer_threads(self, cand: Candidate) -> Candidate:
        self.phase = "concurrency"
        used = max((s.thread for s in cand.schedule.ops), default=0) + 1
        c = _valid_concurrency(cand.test, used)
        if c is None or c >= cand.test.concurrency:
            return cand
        smaller = replace(cand, test=replace(cand.test, concurrency=c))
        return smaller if self.fails(smaller) else cand

    def less_time(self, cand: Candidate) -> Candidate:
        self.phase = "time"
        while cand.schedule.end > 100_000_000 and not self.out_of_time():  # down to 0.1 s
            ops = [replace(s, time=s.time // 2) for s in cand.schedule.ops]
            faults = [replace(s, time=s.time // 2) for s in cand.schedule.faults]
            smaller = replace(cand, schedule=cand.schedule.with_(ops=ops, faults=faults))
            if not self.fails(smaller):
                break
            cand = smaller
        return cand

    def less_latency(self, cand: Candidate) -> Candidate:
        self.phase = "latency"
        t = cand.test
        for mean, dist in (
            (0, "constant"),
            (t.latency_mean, "constant"),
            (t.latency_mean // 2, t.latency_dist),
        ):
            if (mean, dist) == (t.latency_mean, t.latency_dist) or mean < 0:
                continue
            smaller = replace(cand, test=replace(t, latency_mean=mean, latency_dist=dist))
            if self.fails(smaller):
                return self.less_latency(smaller) if mean else smaller
        return cand


def _with_ops(cand: Candidate, ops: list[ClientStep]) -> Candidate:
    return replace(cand, schedule=cand.schedule.with_(ops=ops))


def _with_faults(cand: Candidate, faults: list[FaultStep]) -> Candidate:
    faults = sorted(faults, key=lambda s: s.time)
    kinds = {(_START_OF.get(s.f) or _STOP_OF.get(s.f)) for s in faults}
    test = replace(cand.test, nemesis=frozenset(k for k in cand.test.nemesis if k in kinds))
    return replace(cand, test=test, schedule=cand.schedule.with_(faults=faults))


def _with_nodes(cand: Candidate, nodes: list[str]) -> Candidate | None:
    """``cand`` on ``nodes`` (a subset): each op stays on its node (thread t talks to node
    t mod n, so its thread is renumbered), an op on a dropped node goes with it."""
    old = cand.test.nodes
    ops = []
    for step in cand.schedule.ops:
        node = old[step.thread % len(old)]
        if node in nodes:
            thread = (step.thread // len(old)) * len(nodes) + nodes.index(node)
            ops.append(replace(step, thread=thread))
    test = replace(cand.test, nodes=nodes, node_count=None)
    c = _valid_concurrency(test, max((s.thread for s in ops), default=0) + 1)
    if c is None:
        return None
    return replace(cand, test=replace(test, concurrency=c), schedule=cand.schedule.with_(ops=ops))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _trim_time(cand: Candidate) -> Candidate:
    """A time limit just past the last step: the same run (nothing later was left to cut)."""
    end = cand.schedule.end / 1e9
    limit = math.floor(end * 100 + 1) / 100
    if limit >= cand.test.time_limit:
        return cand
    return replace(cand, test=replace(cand.test, time_limit=limit))


def shrink(
    original: Candidate,
    target: str,
    *,
    budget: float = DEFAULT_SHRINK_SECONDS,
    scratch: Path,
    progress: Callable[[str], None],
) -> tuple[Candidate, int]:
    """The smallest candidate found within ``budget`` seconds that still shows ``target``; and
    the number of runs it took. ``original`` must show ``target``."""
    search = _Search(target, scratch, time.monotonic() + budget, progress)
    search.best = cand = original
    while not search.out_of_time():
        before = describe(cand), cand.test.concurrency, cand.test.latency_mean, cand.schedule.end
        cand = search.drop_faults(cand)
        cand = search.drop_ops(cand)
        cand = search.drop_nodes(cand)
        cand = search.fewer_threads(cand)
        cand = search.less_latency(cand)
        cand = search.less_time(cand)
        if (describe(cand), cand.test.concurrency, cand.test.latency_mean, cand.schedule.end) == before:
            break
    return _trim_time(search.best), search.runs


# -- the commands ------------------------------------------------------------------------------------


class _ProgressLine:
    """One status line, rewritten in place on a terminal (a line per update otherwise, at most
    one a second)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0
        self.start = time.monotonic()

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        line = f"[{now - self.start:5.1f} s] {text}"
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:200])
            self.stream.flush()
        elif now - self.last >= 1.0:
            self.stream.write(line + "\n")
            self.last = now

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def load_candidate(run_dir: Path) -> tuple[Candidate, list[str]]:
    """A stored run as a candidate, with its failure kinds; refuses what cannot be shrunk."""
    run_dir = Path(run_dir)
    if not (run_dir / "test.json").is_file():
        raise ShrinkRefused(f"{run_dir} is not a run directory (no test.json)")
    test = TestOptions.load(run_dir / "test.json")
    schedule_path = run_dir / "schedule.edn"
    if not schedule_path.is_file():
        raise ShrinkRefused(
            f"{run_dir} has no schedule.edn (an older runner made it, or it did not finish its main "
            f"phase); rerun it with --sim --seed {test.seed} and shrink that run"
        )
    schedule = read_schedule(schedule_path)
    if not schedule.settings.get("repeatable"):
        raise ShrinkRefused(
            f"{run_dir} is a real-mode run: its history depends on the machine's timing, so it cannot "
            f"be replayed, let alone shrunk. Rerun it with --sim (maelstrom test ... --sim --seed "
            f"{test.seed}) and shrink that run (or add --shrink)."
        )
    results = run_dir / "results.json"
    kinds = failure_kinds(json.loads(results.read_text())) if results.is_file() else []
    if not results.is_file():
        kinds = ["run aborted (node crash, failed init or setup)"]
    if not kinds:
        raise ShrinkRefused(
            f"{run_dir} is valid: there is no failure to shrink (shrinking searches for a smaller run "
            "that fails the same way; a correct node's run has none)"
        )
    cand = Candidate(
        test,
        schedule,
        float(schedule.settings.get("recovery-time", 10.0)),
        float(schedule.settings.get("init-timeout", 10.0)),
    )
    return cand, kinds


def shrink_run_dir(run_dir: Path, budget: float = DEFAULT_SHRINK_SECONDS, out: TextIO | None = None) -> int:
    """``maelstrom shrink RUN_DIR``: shrink a stored failing --sim run; the shrunk run's exit code."""
    out = out or sys.stderr
    cand, kinds = load_candidate(run_dir)
    target = kinds[0]
    say = lambda s: print(s, file=out, flush=True)  # noqa: E731
    say(f"Shrinking {run_dir}: {describe(cand)}; it fails with: {', '.join(kinds)}")
    say(f"Keeping runs that fail the same way ({target}); at most {budget:g} s (--shrink-time)")
    store = Path(run_dir).resolve().parent.parent  # store/<workload>/<run>: the shrunk run goes beside it
    line = _ProgressLine(out)
    with tempfile.TemporaryDirectory(prefix="maelstrom-shrink-") as scratch:
        started = time.monotonic()
        baseline = run_candidate(cand, Path(scratch))
        if target not in baseline.kinds:
            say(
                f"Replaying {run_dir}/schedule.edn does not fail the same way ({', '.join(baseline.kinds) or 'valid'}): "
                "nothing to shrink from. This is a bug in the replay; please report it."
            )
            return 2
        best, runs = shrink(
            cand, target, budget=budget - (time.monotonic() - started), scratch=Path(scratch), progress=line
        )
        line.done()
        elapsed = time.monotonic() - started
        # the result, as an ordinary run: its schedule file first, then the run itself
        schedule_file = Path(scratch) / "shrunk-schedule.edn"
        write_schedule(best.schedule, schedule_file)
        say(f"Shrunk in {runs} runs ({elapsed:.0f} s): {describe(cand)} -> {describe(best)}. The shrunk run:")
        final = run_candidate(best, store, quiet=False, plots=True, schedule_file=schedule_file)
    assert final.run_dir is not None
    command = command_words(best, final.run_dir / "schedule.edn")
    same = target in final.kinds
    verified = replays_identically(command, final.run_dir)
    info = {
        "shrunk-from": str(Path(run_dir).resolve()),
        "from": describe(cand),
        "to": describe(best),
        "from-sizes": sizes(cand),
        "to-sizes": sizes(best),
        "failure": target,
        "fails-the-same-way": same,
        "runs": runs,
        "seconds": round(elapsed, 1),
        "command": shlex.join(command),
        "replay-byte-identical": verified,
    }
    (final.run_dir / "shrink.json").write_text(json.dumps(info, indent=2) + "\n")
    from harness.report import write_report

    write_report(final.run_dir)
    say(f"Shrunk from {run_dir}: {describe(cand)} -> {describe(best)} ({runs} runs, {elapsed:.0f} s)")
    say(
        f"It fails the same way ({target})." if same else f"WARNING: the shrunk run no longer shows {target}!"
    )
    say(f"Reproduce it{' (verified: byte-identical history)' if verified else ''}:\n  {shlex.join(command)}")
    say(f"Shrunk run: {final.run_dir}")
    return final.code


def replays_identically(command: list[str], run_dir: Path) -> bool:
    """Run ``command`` (``maelstrom test ...``) in this process into a scratch store: does it
    write the same history.edn and results.edn, byte for byte, as ``run_dir``?"""
    import contextlib

    from harness.cli import main as cli_main

    with tempfile.TemporaryDirectory(prefix="maelstrom-replay-") as scratch:
        where = Path(scratch) / "run-dir"
        extra = ["--store", scratch, "--no-plots", "--quiet-ops", "--run-dir-file", str(where)]
        words = command[2:]  # after "maelstrom test"
        if "--" in words:  # the node's own arguments stay last
            i = words.index("--")
            words = words[:i] + extra + words[i:]
        else:
            words = words + extra
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli_main(["test", *words])
        if not where.is_file():
            return False
        again = Path(where.read_text().strip())
        names = [n for n in ("history.edn", "results.edn") if (run_dir / n).is_file()]  # none: aborted
        return bool(names) and all(
            (again / n).is_file() and (again / n).read_bytes() == (run_dir / n).read_bytes() for n in names
        )


def main(argv: list[str]) -> int:
    """``maelstrom shrink RUN_DIR [--shrink-time S]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="maelstrom shrink",
        description="Shrink a stored failing --sim run to the smallest run found that fails the same way.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("--shrink-time", type=float, default=DEFAULT_SHRINK_SECONDS, metavar="S")
    args = parser.parse_args(argv)
    return shrink_or_explain(args.run_dir, args.shrink_time, refused_code=254)


def shrink_or_explain(run_dir: Path, budget: float, refused_code: int) -> int:
    """:func:`shrink_run_dir`, with a refusal, Ctrl-C or SIGTERM said in one line."""
    from harness.run import Terminated

    try:
        return shrink_run_dir(run_dir, budget)
    except ShrinkRefused as e:
        print(f"Cannot shrink: {e}", file=sys.stderr)
        return refused_code
    except KeyboardInterrupt:
        print("Interrupted while shrinking: no shrunk run.", file=sys.stderr)
        return 130
    except Terminated as e:
        print(f"Terminated by {e.args[0].name} while shrinking: no shrunk run.", file=sys.stderr)
        return 128 + int(e.args[0].value)
