"""``python -m harness``: Maelstrom's command line: flags, defaults, usage, exit codes, subcommands.

Parsing follows Maelstrom's and Jepsen's (jepsen-io/maelstrom, src/maelstrom/core.clj; jepsen-io/jepsen,
jepsen/src/jepsen/cli.clj): ``--opt value`` or
``--opt=value``; every word that is not an option goes to the node binary; an unknown option
is an argument error (exit 254). Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments,
255 the run could not complete.
One run itself (store dir, nodes, phases, teardown, checkers) is wired in ``harness.run``.

Harness-only options (not in Maelstrom): ``--seed``, ``--store``, ``--recovery-time`` (the final
phase's recovery sleep, Maelstrom's fixed 10 s), ``--init-timeout`` (Maelstrom's fixed 10 s) and
``--elle`` (which Elle's rules the transactional checkers follow).
"""

from __future__ import annotations

import importlib
import os
import random
import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.history import Op
from harness.junit import Case, parse_shard, shard_runs, write_junit
from harness.nodelog import ENV_VAR as NODE_LOG_LIMIT_ENV
from harness.nodelog import default_limit, parse_size
from harness.options import DEFAULT_NODES, ELLE_VERSIONS, TestOptions, parse_concurrency
from harness.processes import kill_all
from harness.results import EXIT_ABORTED, EXIT_BAD_ARGS
from harness.run import RunConfig, Terminated, cancel_on_signals, run_once
from harness.runtime import Runtime, runtime_for
from harness.workloads import REGISTRY
from harness.workloads.broadcast import TOPOLOGIES as BROADCAST_TOPOLOGIES

__all__ = ["BadArgs", "main", "parse_test_args"]

#: the workloads and broadcast's topologies, from their registries (one list each)
WORKLOADS = tuple(sorted(REGISTRY))
TOPOLOGIES = tuple(BROADCAST_TOPOLOGIES)
LATENCY_DISTS = ("constant", "uniform", "exponential")
DASHES = ("\u2013", "\u2014", "\u2212")  # en dash, em dash, minus sign

USAGE = (
    """\
Usage: maelstrom test [OPTIONS] [ARGS FOR THE BINARY...]

  -w, --workload NAME          workload (default lin-kv): """
    + " ".join(WORKLOADS)
    + """
      --bin FILE               the node program (required); other words are its arguments
      --node-count N           nodes n0..n(N-1) (default: n1..n5)
  -n, --node HOST / --nodes a,b,c   explicit node names
      --concurrency N|Kn       worker threads (default 1n)
      --time-limit SECONDS     main phase length (default 60)
      --rate OPS               total requests per second (default 5; 0 = no client ops)
      --latency MS             mean inter-node latency (default 0)
      --latency-dist DIST      constant | uniform | exponential (default constant)
      --nemesis FAULTS         comma-separated faults: partition, kill, pause
      --nemesis-interval S     mean seconds between nemesis ops (default 10)
      --availability total|X   required ok fraction
      --consistency-models M   models, separated by ' , '
      --topology NAME          broadcast topology: """
    + " ".join(TOPOLOGIES)
    + """ (default grid)
      --key-count N  --max-txn-length N (4)  --max-writes-per-key N (16)
      --log-stderr  --log-net-send  --log-net-recv
      --test-count N           run N times, stop at the first non-valid run (with --sim: run
                               seeds S..S+N-1, report every failing seed)
  harness only:
      --sim                    deterministic simulation: nodes built on common run in-process on
                               virtual time (fast; the same seed gives the same history)
      --seed N                 seed of every random choice (default: random, printed)
      --store DIR              where runs are stored (default store)
      --recovery-time S        final phase recovery sleep (default 10, as Maelstrom)
      --init-timeout S         init reply deadline (default 10, as Maelstrom)
      --no-plots               skip the PNG plots (they take seconds to draw)
      --quiet-ops              do not print each operation on the console (jepsen.log has them)
      --run-dir-file FILE      write the run's store directory path into FILE (for scripts)
      --junit FILE             write JUnit XML: one test case per run (seed), a failing one with
                               its verdict's summary and the command that reproduces it
      --shard K/N              run only shard K of N of the --test-count seeds (needs --seed):
                               runs i with i % N == K-1; the N shards together are the whole sweep
      --node-log-limit SIZE    bytes each node log keeps, its beginning and end (default 64M, or
                               $MAELSTROM_NODE_LOG_LIMIT; K/M/G suffixes; 0 = no limit)
      --schedule FILE          (--sim) replay this schedule.edn (a run's client ops and nemesis
                               events) instead of drawing them from the generator and nemesis
      --shrink                 (--sim) shrink a failing run (the first failing seed of a sweep)
                               to the smallest run found that fails the same way
      --shrink-time S          bound on shrinking (default 120 s); the best found is kept
      --swarm                  (--test-count) each seed draws its own nemeses, interval, rate,
                               latency and concurrency from the seed; failing seeds name them
      --elle VERSION           txn checkers follow Elle 0.2.7 (default: a nil read is definite,
                               so [:r k nil] then [:r k 1] in one txn is internal) or 0.2.2
                               (Maelstrom's Elle: Maelstrom's verdict exactly)
"""
)


class BadArgs(Exception):
    """A command-line problem: exit 254."""


# -- parsing ------------------------------------------------------------------------------------


def _long(name: str, minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise BadArgs(f'Error while parsing option "{name} {text}": not an integer') from None
        if value < minimum:
            raise BadArgs(
                f'Failed to validate "{name} {text}": must be {"positive" if minimum else "non-negative"}'
            )
        return value

    return parse


def _number(name: str, *, positive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            if re.fullmatch(r"-?\d+/\d+", text):  # Clojure ratios, e.g. --nemesis-interval 1/2
                a, b = text.split("/")
                value = int(a) / int(b)
            else:
                value = float(text)
        except (ValueError, ZeroDivisionError):
            raise BadArgs(f'Error while parsing option "{name} {text}": not a number') from None
        if value != value or (value <= 0 if positive else value < 0):
            raise BadArgs(f'Failed to validate "{name} {text}": must be {"positive" if positive else ">= 0"}')
        return value

    return parse


def _one_of(name: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.removeprefix(":")
        if value not in choices:
            raise BadArgs(f'Failed to validate "{name} {text}": must be one of {", ".join(choices)}')
        return value

    return parse


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError:
        raise BadArgs(
            f'Failed to validate "--node-log-limit {text}": must be a size in bytes, optionally with K, M '
            "or G (0 = no limit)"
        ) from None


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ValueError as e:
        raise BadArgs(f'Failed to validate "--shard {text}": {e}') from None


def _nemesis(text: str) -> frozenset[str]:
    faults = frozenset(x.removeprefix(":") for x in re.split(r"\s*,\s*", text.strip()) if x)
    bad = faults - {"partition", "kill", "pause"}
    if bad:
        raise BadArgs(
            f'Failed to validate "--nemesis {text}": faults must be among partition, kill, pause, not {sorted(bad)}'
        )
    return faults


def _availability(text: str) -> str | float:
    if text in ("total", ":total"):
        return "total"
    try:
        value = float(text)
    except ValueError:
        raise BadArgs(
            f'Failed to validate "--availability {text}": must be total or a number in [0, 1]'
        ) from None
    if not 0 <= value <= 1:
        raise BadArgs(f'Failed to validate "--availability {text}": must be total or a number in [0, 1]')
    return value


def _concurrency(text: str) -> str:
    try:
        parse_concurrency(text, 1)
    except ValueError:
        raise BadArgs(
            f'Failed to validate "--concurrency {text}": must be an integer, optionally followed by n'
        ) from None
    return text


#: option -> (key, parser or None for a flag)
_OPTIONS: dict[str, tuple[str, Callable[[str], Any] | None]] = {
    "--bin": ("bin", str),
    "--workload": ("workload", _one_of("--workload", WORKLOADS)),
    "--node-count": ("node_count", _long("--node-count", 1)),
    "--node": ("node", str),
    "--nodes": ("nodes", str),
    "--nodes-file": ("nodes_file", str),
    "--concurrency": ("concurrency", _concurrency),
    "--time-limit": ("time_limit", _number("--time-limit", positive=True)),
    "--rate": ("rate", _number("--rate", positive=False)),
    "--latency": ("latency", _long("--latency", 0)),
    "--latency-dist": ("latency_dist", _one_of("--latency-dist", LATENCY_DISTS)),
    "--nemesis": ("nemesis", _nemesis),
    "--nemesis-interval": ("nemesis_interval", _number("--nemesis-interval", positive=True)),
    "--availability": ("availability", _availability),
    "--consistency-models": (
        "consistency_models",
        lambda t: [m.removeprefix(":") for m in re.split(r"\s+,\s+", t)],
    ),
    "--topology": ("topology", _one_of("--topology", TOPOLOGIES)),
    "--key-count": ("key_count", _long("--key-count", 1)),
    "--max-txn-length": ("max_txn_length", _long("--max-txn-length", 1)),
    "--max-writes-per-key": ("max_writes_per_key", _long("--max-writes-per-key", 1)),
    "--log-stderr": ("log_stderr", None),
    "--log-net-send": ("log_net_send", None),
    "--log-net-recv": ("log_net_recv", None),
    "--test-count": ("test_count", _long("--test-count", 1)),
    "--seed": ("seed", _long("--seed", 0)),
    "--store": ("store", str),
    "--recovery-time": ("recovery_time", _number("--recovery-time", positive=False)),
    "--init-timeout": ("init_timeout", _number("--init-timeout", positive=True)),
    "--no-plots": ("no_plots", None),
    "--quiet-ops": ("quiet_ops", None),
    "--run-dir-file": ("run_dir_file", str),
    "--node-log-limit": ("node_log_limit", _size),
    "--junit": ("junit", str),
    "--shard": ("shard", _shard),
    "--sim": ("sim", None),
    "--schedule": ("schedule", str),
    "--shrink": ("shrink", None),
    "--shrink-time": ("shrink_time", _number("--shrink-time", positive=True)),
    "--swarm": ("swarm", None),
    "--elle": ("elle", _one_of("--elle", ELLE_VERSIONS)),
    "--help": ("help", None),
    # Jepsen options that mean nothing here; accepted like Maelstrom accepts them
    "--leave-db-running": ("ignored", None),
    "--logging-json": ("ignored", None),
    "--no-ssh": ("ignored", None),
    "--strict-host-key-checking": ("ignored", None),
    "--username": ("ignored", str),
    "--password": ("ignored", str),
    "--ssh-private-key": ("ignored", str),
}
_SHORT = {"-w": "--workload", "-n": "--node", "-h": "--help"}


def parse_test_args(
    argv: list[str], warn: Callable[[str], None] | None = None, sweep: dict[str, Any] | None = None
) -> tuple[TestOptions, RunConfig]:
    """Parse the words after ``test`` into test parameters and run settings. Raises BadArgs.
    ``sweep`` (a dict) receives what concerns a series of runs: shrink, shrink_time, swarm."""
    warn = warn or (lambda s: print(s, file=sys.stderr))
    values: dict[str, Any] = {}
    node_list: list[str] = []
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if arg[:1] in DASHES:
            warn(
                f"WARNING: argument {arg!r} starts with {'an en dash' if arg[0] == DASHES[0] else 'a dash-like character'} "
                f"(U+{ord(arg[0]):04X}), not '-'. Like Maelstrom, the harness does NOT read it as an option: it and "
                f"any following words are passed to your binary as arguments, so that option is NOT applied. "
                f"Did you mean {'--' + arg.lstrip(''.join(DASHES) + '-')!r}?"
            )
            positional.append(arg)
            continue
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = _SHORT.get(name, name)
        if name not in _OPTIONS:
            raise BadArgs(f"Unknown option: {arg!r}")
        key, parse = _OPTIONS[name]
        if parse is None:
            if eq:
                raise BadArgs(f"Option {name} takes no value")
            values[key] = True
            continue
        if eq:
            text = inline
        elif i < len(argv):
            text = argv[i]
            i += 1
        else:
            raise BadArgs(f'Missing required argument for "{name} VALUE"')
        if key == "node":
            node_list.append(text)
        else:
            values[key] = parse(text)
    if values.get("help"):
        raise SystemExit(_usage_exit())
    if not values.get("bin"):
        raise BadArgs("Expected a --bin PATH_TO_BINARY to test")
    # the one place that decides what runs the nodes (harness/runtime.py)
    runtime: Runtime = runtime_for(values["bin"], sim=bool(values.get("sim")))
    problem = runtime.program_problem(values["bin"])
    if problem is not None:
        raise BadArgs(problem)

    for flag, key in (("--schedule", "schedule"), ("--shrink", "shrink")):
        if values.get(key) and not values.get("sim"):
            raise BadArgs(
                f"{flag} needs --sim: only a simulated run is a pure function of its seed and "
                "flags; rerun with --sim"
            )

    if "node_count" in values:
        nodes = [f"n{k}" for k in range(values["node_count"])]
    elif node_list:
        nodes = node_list
    elif "nodes" in values:
        nodes = [n for n in re.split(r",\s*", values["nodes"]) if n]
    elif "nodes_file" in values:
        try:
            nodes = [ln.strip() for ln in Path(values["nodes_file"]).read_text().splitlines() if ln.strip()]
        except OSError as e:
            raise BadArgs(f"Cannot read --nodes-file: {e}") from None
    else:
        nodes = list(DEFAULT_NODES)
    concurrency = parse_concurrency(values.get("concurrency", "1n"), len(nodes))
    if "shard" in values and "seed" not in values:
        raise BadArgs(
            "--shard needs --seed S, so that every shard sweeps the same seeds (S..S+N-1 for --test-count N)"
        )
    if "node_log_limit" not in values:
        try:
            values["node_log_limit"] = default_limit()
        except ValueError as e:
            raise BadArgs(f"{NODE_LOG_LIMIT_ENV}: {e}") from None

    workload = values.get("workload", "lin-kv")

    test = TestOptions(
        workload=workload,
        bin=values["bin"],
        args=positional,
        node_count=values.get("node_count"),
        nodes=nodes,
        concurrency=concurrency,
        time_limit=values.get("time_limit", 60.0),
        rate=values.get("rate", 5.0),
        latency_mean=values.get("latency", 0),
        latency_dist=values.get("latency_dist", "constant"),
        nemesis=values.get("nemesis", frozenset()),
        nemesis_interval=values.get("nemesis_interval", 10.0),
        availability=values.get("availability"),
        consistency_models=values.get("consistency_models", ["strict-serializable"]),
        topology=values.get("topology", "grid"),
        key_count=values.get("key_count"),
        max_txn_length=values.get("max_txn_length", 4),
        max_writes_per_key=values.get("max_writes_per_key", 16),
        log_stderr=bool(values.get("log_stderr")),
        log_net_send=bool(values.get("log_net_send")),
        log_net_recv=bool(values.get("log_net_recv")),
        test_count=values.get("test_count", 1),
        seed=values.get("seed"),
        store=values.get("store", "store"),
        elle=values.get("elle", ELLE_VERSIONS[0]),
    )
    config = RunConfig(
        recovery_seconds=values.get("recovery_time", 10.0),
        init_timeout=values.get("init_timeout", 10.0),
        plots=not values.get("no_plots"),
        log_ops=not values.get("quiet_ops"),
        run_dir_file=values.get("run_dir_file"),
        runtime=runtime,
        node_log_limit=values["node_log_limit"],
        junit=values.get("junit"),
        shard=values.get("shard"),
    )
    if values.get("schedule"):
        config.schedule = _schedule(values["schedule"], test)
    if values.get("swarm") and values.get("schedule"):
        raise BadArgs("--swarm draws each seed's configuration; --schedule fixes one run's: use one")
    if sweep is not None:
        sweep["shrink"] = bool(values.get("shrink"))
        sweep["shrink_time"] = values.get("shrink_time")
        sweep["swarm"] = bool(values.get("swarm"))
    return test, config


def _schedule(path: str, test: TestOptions) -> Any:
    from harness.fault_intervals import FAULT_KINDS
    from harness.shrink.schedule import ScheduleError, read_schedule

    try:
        schedule = read_schedule(path)
    except ScheduleError as e:
        raise BadArgs(str(e)) from None
    kinds = {kind for kind, fs in FAULT_KINDS.items() for s in schedule.faults if s.f in fs}
    if kinds - test.nemesis:
        raise BadArgs(
            f"--schedule {path} has {', '.join(sorted(kinds))} events: add --nemesis "
            f"{','.join(sorted(kinds | test.nemesis))}"
        )
    beyond = sorted({s.thread for s in schedule.ops if s.thread >= test.concurrency})
    if beyond:
        print(
            f"WARNING: --schedule {path} has ops on threads {beyond[0]}..{beyond[-1]}, beyond --concurrency "
            f"{test.concurrency}: those ops are not run",
            file=sys.stderr,
        )
    return schedule


def _usage_exit() -> int:
    print(f"{ABOUT}\n\n{USAGE}")
    return 0


# -- entry point --------------------------------------------------------------------------------


ABOUT = (
    "maelstrom: the Java-free, Maelstrom-compatible test runner of gossip-glomers-challenges (Python).\n"
    "It takes Maelstrom's commands and flags and writes Maelstrom's store/ layout and results.edn;\n"
    "it is not Jepsen's Maelstrom (set MAELSTROM=/path/to/maelstrom in run.sh to use that one)."
)

COMMANDS = """\
Usage: maelstrom COMMAND [OPTIONS]        (also: python -m harness COMMAND ...)

Commands:
  test            run a test (Maelstrom's flags; see below)
  analyze RUN_DIR recompute a stored run's results.edn from its history
  report RUN_DIR  write a stored run's index.html (--out DIR elsewhere)
  run-challenge F run challenge folder F at Fly.io's flags, keep its results in F/results/
  challenges      list the challenge folders (--commands: their test commands)
  results         the results table of every challenge (--markdown: also RESULTS.md)
  serve           browse store/ at http://127.0.0.1:8080/ (-p/--port, -b/--host, --store)
  shrink RUN_DIR  shrink a stored failing --sim run to the smallest that fails the same way
                  (--shrink-time S, default 120)
  --version       the version
"""


#: the distribution's name on a package index (pyproject.toml)
DISTRIBUTION = "glomers-runner"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        number = package_version(DISTRIBUTION)
    except PackageNotFoundError:
        number = "unknown (not installed)"
    return f"maelstrom ({DISTRIBUTION} {number}): the Java-free, Maelstrom-compatible runner of gossip-glomers-challenges"


#: the commands other than ``test``: each module's ``main(argv) -> int``, imported only when used
SUBCOMMANDS = {
    "analyze": "harness.analyze",
    "report": "harness.report",
    "run-challenge": "harness.run_challenge",
    "challenges": "harness.challenge_table",
    "results": "harness.results_table",
    "serve": "harness.serve",
    "shrink": "harness.shrink.shrinker",
}


def _reexec_for_sim(argv: list[str]) -> None:
    """Restart this command with PYTHONHASHSEED=0 when it simulates and the hash seed is not fixed.

    Under --sim every node runs in this process, and node code iterates sets of strings, whose
    order follows the per-process string hash: with a random hash seed the same --seed would give
    another history in the next process. The seed must be set before the interpreter starts.
    """
    simulates = "--sim" in argv or argv[:1] == ["shrink"]
    if not simulates or os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "harness", *argv], env)


def main(argv: list[str] | None = None, on_history: Callable[[Path, list[Op]], None] | None = None) -> int:
    """The ``maelstrom`` command. ``on_history`` (callers in this process): see RunConfig."""
    if argv is None:  # the command line itself (not a caller passing words): may re-exec
        _reexec_for_sim(sys.argv[1:])
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(f"{ABOUT}\n\n{COMMANDS}\n{USAGE}", file=sys.stdout if argv else sys.stderr)
        return 0 if argv else EXIT_BAD_ARGS
    if argv[0] in ("--version", "-V", "version"):
        print(version())
        return 0
    command, rest = argv[0], argv[1:]
    if command != "test":
        if command not in SUBCOMMANDS:
            print(f"Unknown command {command!r}.\n\n{COMMANDS}", file=sys.stderr)
            return EXIT_BAD_ARGS
        try:
            return int(importlib.import_module(SUBCOMMANDS[command]).main(rest) or 0)
        except SystemExit as e:  # argparse: --help is 0, a usage error 2 (Maelstrom's is 254)
            return 0 if e.code in (0, None) else EXIT_BAD_ARGS if e.code == 2 else int(e.code or 0)
        except Exception:
            print(f"{command} failed:\n{traceback.format_exc()}", file=sys.stderr)
            return EXIT_ABORTED
    sweep: dict[str, Any] = {}
    try:
        test, config = parse_test_args(rest, sweep=sweep)
    except BadArgs as e:
        print(f"{e}\n\n{USAGE}", file=sys.stderr)
        return EXIT_BAD_ARGS
    config.on_history = on_history
    code = 0
    base_seed = test.seed
    runtime = config.runtime
    if runtime.repeatable and base_seed is None:
        base_seed = random.SystemRandom().randrange(2**31)
        print(f"Seed: {base_seed} (rerun with --seed {base_seed})", file=sys.stderr)
    failed: list[tuple[int, int, list[str]]] = []
    first_failing_run: Path | None = None
    base_test = test
    cases: list[Case] = []  # for --junit: one per run
    indices = shard_runs(test.test_count, config.shard)
    if config.shard is not None:
        print(_shard_line(config.shard, indices, test.test_count, base_seed), file=sys.stderr)
    for run in indices:
        seed = random.SystemRandom().randrange(2**31) if base_seed is None else base_seed + run
        swarm_flags: list[str] = []
        if sweep.get("swarm"):
            from harness.shrink.swarm import draw

            test, swarm_flags = draw(base_test, seed)
            print(f"Seed {seed} (--swarm): {shlex.join(swarm_flags)}", file=sys.stderr)
        test.seed = seed
        if base_seed is None:
            print(f"Seed: {seed} (rerun with --seed {seed})", file=sys.stderr)
        config.last_run_dir = None
        started = time.monotonic()
        try:
            code = runtime.run(cancel_on_signals(run_once(test, config)))
        except KeyboardInterrupt:
            print("Interrupted: every node process was killed.", file=sys.stderr)
            _write_junit(config, rest, base_test, base_seed, indices, cases)
            return 130
        except Terminated as e:
            print(f"Terminated by {e.args[0].name}: every node process was killed.", file=sys.stderr)
            _write_junit(config, rest, base_test, base_seed, indices, cases)
            return 128 + e.args[0].value
        except Exception:
            print(f"Oh jeez, I'm sorry, the harness broke:\n{traceback.format_exc()}", file=sys.stderr)
            cases.append(Case(f"seed {seed}", EXIT_ABORTED, time.monotonic() - started, config.last_run_dir))
            _write_junit(config, rest, base_test, base_seed, indices, cases)
            return EXIT_ABORTED
        finally:
            kill_all()
        if code != 0 and first_failing_run is None and config.last_run_dir is not None:
            first_failing_run = config.last_run_dir.resolve()  # to shrink, with --shrink
        repro = _repro_command(rest, seed, swarm_flags)
        cases.append(Case(f"seed {seed}", code, time.monotonic() - started, config.last_run_dir, repro))
        if code != 0 and runtime.repeatable and test.test_count > 1:
            # many seeds: go on past a failure; each failing seed is named with its own command
            failed.append((seed, code, swarm_flags))
            continue
        if code != 0:
            break
    _write_junit(config, rest, base_test, base_seed, indices, cases)
    if failed:
        print(f"{len(failed)} of {len(indices)} seeds failed:", file=sys.stderr)
        for seed, status, flags in failed:
            print(
                f"  seed {seed}: exit {status}; reproduce: {_repro_command(rest, seed, flags)}",
                file=sys.stderr,
            )
        code = failed[0][1]
    elif runtime.repeatable and test.test_count > 1 and base_seed is not None and config.shard is not None:
        print(
            f"All {len(indices)} seeds of shard {config.shard[0]}/{config.shard[1]} valid.", file=sys.stderr
        )
    elif runtime.repeatable and test.test_count > 1 and base_seed is not None:
        print(
            f"All {test.test_count} seeds valid ({base_seed}..{base_seed + test.test_count - 1}).",
            file=sys.stderr,
        )
    if sweep.get("shrink"):
        return _shrink_after(first_failing_run, sweep, code)
    return code


def _shard_line(shard: tuple[int, int], indices: list[int], count: int, base_seed: int | None) -> str:
    seeds = ", ".join(str(base_seed + i) for i in indices[:20]) if base_seed is not None else "?"
    return f"Shard {shard[0]}/{shard[1]}: {len(indices)} of {count} runs, seeds {seeds}{' ...' if len(indices) > 20 else ''}"


def _write_junit(
    config: RunConfig,
    argv: list[str],
    test: TestOptions,
    base_seed: int | None,
    indices: list[int],
    cases: list[Case],
) -> None:
    """--junit: the sweep's cases, and the seeds a series that stopped at a failure did not run."""
    if not config.junit:
        return
    ran = {c.name for c in cases}
    if base_seed is not None:
        cases = cases + [
            Case(f"seed {base_seed + i}", None) for i in indices if f"seed {base_seed + i}" not in ran
        ]
    props = {"workload": test.workload, "test-count": str(test.test_count), "runtime": config.runtime.name}
    if base_seed is not None:
        props["first-seed"] = str(base_seed)
    if config.shard is not None:
        props["shard"] = f"{config.shard[0]}/{config.shard[1]}"
    write_junit(Path(config.junit), _suite_name(argv), cases, props)
    print(f"JUnit XML: {config.junit}", file=sys.stderr)


def _suite_name(argv: list[str]) -> str:
    """The sweep's command, without --junit and --shard (the same for every shard)."""
    return shlex.join(["maelstrom", "test", *_without(argv, {"--junit", "--shard"})])


def _without(argv: list[str], valued: set[str], bare: frozenset[str] = frozenset()) -> list[str]:
    """``argv`` less the options in ``valued`` (with their values: ``--x V`` or ``--x=V``) and the
    flags in ``bare``; the words after ``--`` (the node's own arguments) are kept as they are."""
    words: list[str] = []
    skip = False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == "--":
            return words + argv[i:]
        name = word.split("=", 1)[0]
        if name in bare:
            continue
        if name in valued:
            skip = "=" not in word
            continue
        words.append(word)
    return words


def _shrink_after(run_dir: Path | None, sweep: dict[str, Any], code: int) -> int:
    """--shrink: shrink the (first) failing run; without one, say so and keep the exit code."""
    from harness.shrink.shrinker import DEFAULT_SHRINK_SECONDS, shrink_or_explain

    if run_dir is None:
        print("--shrink: no run failed, so there is nothing to shrink.", file=sys.stderr)
        return code
    return shrink_or_explain(run_dir, sweep.get("shrink_time") or DEFAULT_SHRINK_SECONDS, refused_code=code)


def _repro_command(argv: list[str], seed: int, swarm_flags: list[str] | None = None) -> str:
    """``argv`` (the words after ``test``) for one seed alone: no --test-count, this --seed; with
    ``swarm_flags`` (the seed's --swarm draw) those flags instead of the given ones."""
    from harness.shrink.swarm import SWARM_FLAGS

    drop = {"--test-count", "--seed", "--run-dir-file", "--shrink-time", "--junit", "--shard"}
    if swarm_flags:
        drop |= set(SWARM_FLAGS)
    words = _without(argv, drop, frozenset({"--swarm", "--shrink"}))
    extra = [*(swarm_flags or []), "--seed", str(seed)]
    if "--" in words:
        i = words.index("--")
        words = words[:i] + extra + words[i:]
    else:
        words += extra
    return shlex.join(["maelstrom", "test", *words])
