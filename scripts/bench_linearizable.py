"""The benchmark of the linearizability checker (``scripts/bench-linearizable.sh``).

It times the checker on every lin-kv history of the corpus and on generated ones
(``harness.testing.generate_lin_kv``, which the tests use too), and writes them in porcupine's
input format with ``--export DIR`` so the same histories can be timed with porcupine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from harness.history import Op
from harness.testing import generate_lin_kv as generate

__all__ = ["export_porcupine"]


def export_porcupine(history: list[Op], path: Path) -> None:
    """One JSON line per op for the porcupine driver: ``{"p", "t", "f", "k", "v", "idx"}`` with
    ``t`` in invoke/ok/fail/info; values as JSON (null for nil)."""
    with open(path, "w") as out:
        for op in history:
            if not isinstance(op.process, int):
                continue
            k, v = op.value
            out.write(json.dumps({"p": op.process, "t": op.type, "f": op.f, "k": k, "v": v}) + "\n")


def _time(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t, result


def _find_corpus() -> Path | None:
    import os

    here = Path(__file__).resolve().parents[1]
    for candidate in (os.environ.get("MAELSTROM_RUNS"), here / "tests" / "data" / "maelstrom-runs"):
        if candidate and (Path(candidate) / "lin-kv").is_dir():
            return Path(candidate)
    return None


def mixed_histories(rng: random.Random, count: int) -> list[tuple[str, list[Op]]]:
    """``count`` generated histories of 100-3,000 ops, 1-5 keys, 2-10 processes per key, 0-5 %
    crashes, some with corrupted reads: (description, history)."""
    out = []
    for _ in range(count):
        ops = rng.choice((100, 300, 1000, 3000))
        keys = rng.choice((1, 2, 5))
        per_key = rng.choice((2, 5, 10))
        info = rng.choice((0.0, 0.02, 0.05))
        corrupt = rng.choice((0, 0, 1, 3))
        history = generate(rng, ops, keys, per_key * keys, info, corrupt)
        out.append((f"{ops} ops, {keys} keys, {per_key}/key, {info:.0%} info, {corrupt} corrupted", history))
    return out


def run_porcupine(binary: str, files: list[Path]) -> dict[str, tuple[Any, float]]:
    """Our porcupine driver's verdicts: it takes history files and prints one line per file,
    ``path<TAB>n ops<TAB>Ok|Illegal|Unknown<TAB>seconds s``. One OS thread (GOMAXPROCS=1), as
    our checker uses one core."""
    import os
    import subprocess

    env = {**os.environ, "GOMAXPROCS": "1"}
    done = subprocess.run([binary, *map(str, files)], capture_output=True, text=True, env=env, check=True)
    verdicts = {}
    for line in done.stdout.splitlines():
        path, _, verdict, secs = line.split("\t")
        verdicts[path] = ({"Ok": True, "Illegal": False}.get(verdict, "unknown"), float(secs.split()[0]))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from harness.checkers.linearizable import check_independent
    from harness.edn import read_history, stored

    parser = argparse.ArgumentParser(prog="bench-linearizable", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None, help="the maelstrom-runs directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50, help="processes (10n with 5 nodes)")
    parser.add_argument("--info", type=float, default=0.05, help="fraction of indeterminate ops")
    parser.add_argument("--export", type=Path, default=None, help="write porcupine input files here")
    parser.add_argument("--porcupine", default=None, help="a porcupine driver binary to compare with")
    parser.add_argument("--compare", type=int, default=100, help="generated histories for the comparison")
    args = parser.parse_args(argv)
    status = 0
    export = args.export or (Path(tempfile.mkdtemp(prefix="bench-lin-")) if args.porcupine else None)
    if export is not None:
        export.mkdir(parents=True, exist_ok=True)
    ours: dict[str, tuple[str, Any, float]] = {}  # exported file -> (group, our verdict, seconds)

    def record(group: str, name: str, history: list[Op], verdict: Any, seconds: float) -> None:
        if export is not None:
            path = export / f"{name}.jsonl"
            export_porcupine(history, path)
            ours[str(path)] = (group, verdict, seconds)

    corpus = args.corpus or _find_corpus()
    if corpus is not None and (corpus / "lin-kv").is_dir():
        times = []
        for run in sorted((corpus / "lin-kv").iterdir()):
            if stored(run / "history.edn") is None:  # the corpus stores history.edn.xz
                continue
            history = read_history(run / "history.edn")
            dt, result = _time(check_independent, history)
            times.append((dt, run.name, len(history)))
            record("corpus", f"corpus-{run.name}", history, result["valid?"], dt)
        times.sort()
        worst = times[-1]
        total = sum(t for t, *_ in times)
        print(
            f"corpus: {len(times)} lin-kv histories, total {total * 1000:.1f} ms, "
            f"max {worst[0] * 1000:.1f} ms ({worst[1]}, {worst[2]} ops); target < 1 s each"
        )
        if worst[0] >= 1.0:
            status = 1
    else:
        print("corpus: not found (give --corpus DIR)")
    rng = random.Random(args.seed)
    for name, corrupt in (("valid", 0), ("one corrupted read", 1)):
        history = generate(rng, args.ops, args.keys, args.concurrency, args.info, corrupt)
        dt, result = _time(check_independent, history)
        print(
            f"generated, {name}: {args.ops} ops, {args.keys} keys, {args.concurrency} processes, "
            f"{args.info:.0%} info: {dt:.2f} s, valid? {result['valid?']}, failures {result['failures']}"
            + ("; target < 10 s" if corrupt == 0 else "")
        )
        if corrupt == 0 and (dt >= 10 or result["valid?"] is not True):
            status = 1
        record("target", f"target-{corrupt}", history, result["valid?"], dt)
    if args.porcupine:
        for i, (_, history) in enumerate(mixed_histories(rng, args.compare)):
            dt, result = _time(check_independent, history, time_limit=60)
            record("mixed", f"mixed-{i:04d}", history, result["valid?"], dt)
        theirs = run_porcupine(args.porcupine, [Path(p) for p in ours])
        for group in ("corpus", "target", "mixed"):
            rows = [(ours[p], theirs[p]) for p in ours if ours[p][0] == group and p in theirs]
            if not rows:
                continue
            decided = [(o, t) for o, t in rows if o[1] != "unknown" and t[0] != "unknown"]
            agree = sum(1 for o, t in decided if o[1] == t[0])
            ours_only = sum(1 for o, t in rows if o[1] != "unknown" and t[0] == "unknown")
            theirs_only = sum(1 for o, t in rows if o[1] == "unknown" and t[0] != "unknown")
            both = [(o, t) for o, t in decided]
            t_ours, t_theirs = sum(o[2] for o, _ in both), sum(t[1] for _, t in both)
            print(
                f"porcupine, {group}: {len(rows)} histories; both decided {len(decided)}, same verdict "
                f"{agree}; only we decided {ours_only}, only porcupine {theirs_only}; time where both "
                f"decided: ours {t_ours * 1000:.1f} ms, porcupine {t_theirs * 1000:.1f} ms"
            )
            if agree != len(decided):
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
