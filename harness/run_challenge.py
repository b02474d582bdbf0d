"""``maelstrom run-challenge FOLDER``: one challenge's test at Fly.io's flags, results kept in FOLDER/results/.

    maelstrom run-challenge echo                       # what echo/run.sh does
    maelstrom run-challenge unique-id-generation --variant local --seed 7
    MAELSTROM=/path/to/maelstrom maelstrom run-challenge echo   # the same test under real Maelstrom

The flags, the node (``FOLDER/main.py``, started by its own path) and the variants come from
``harness.challenges``. Extra arguments come after the challenge's flags, so they override them
(``--time-limit 5``) or add words for the node. A variant that needs Redis gets the one at
``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) if it answers, else a private redis-server
(loopback, free port, no persistence) for the length of the run.

After the run, the lean part of its store directory (results, test.json, plots, and timeline.html
and jepsen.log when each is at most ``RECORD_CAP``) is copied into ``FOLDER/results/`` and its
report is rendered there (``maelstrom report RUN_DIR --out ...``); a report that cannot be written
is an error (exit 255), never silently skipped. With ``--sim`` (a deterministic simulation) the
lean part goes to ``store/sim-results/FOLDER/`` instead, so the committed reference results stay
real-mode runs; the Redis variant is replaced by the coordination-free one (Redis is outside the
simulation). Otherwise the exit status is the runner's: 0 valid, 1 invalid, 2 unknown, 254 bad
arguments, 255 the run could not complete.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from harness.challenges import ROOT, by_folder
from harness.history import Op
from harness.results import EXIT_ABORTED, EXIT_BAD_ARGS

__all__ = ["KEPT_FILES", "RECORDS", "RECORD_CAP", "SIM_RESULTS", "main", "redis_for_run"]

#: what results/ keeps of a run (small files a reader browses; histories and journals stay in store/)
KEPT_FILES = (
    "results.edn",
    "results.json",
    "test.json",
    "latency-raw.png",
    "latency-quantiles.png",
    "rate.png",
)

#: the run's records, kept only up to RECORD_CAP bytes each. Measured on the 14 reference runs
#: (scripts/run-all.sh --seed 2, 2026-12-01): echo, 3a-3c, 4 and raft-lin-kv have them at 13 KB to
#: 665 KB; every other challenge at 2.2 to 5.0 MB (gzip -9: 150 to 490 KB, and binary, so git
#: stores each regeneration whole and a reader cannot browse it). Over the cap nothing is written:
#: the report says where the file is (the run's store directory), and a fresh run makes it again.
RECORDS = ("timeline.html", "jepsen.log")
RECORD_CAP = 1 << 20

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: where ``run-challenge --sim`` keeps each challenge's lean results (not committed), under the root
SIM_RESULTS = Path("store") / "sim-results"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_for_run() -> Iterator[str]:
    """Make ``REDIS_URL`` (in this process's environment, so the nodes inherit it) name a Redis
    that answers: the configured one, or a private redis-server stopped on the way out."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if _redis_answers(url):
        os.environ["REDIS_URL"] = url
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError(
            f"No Redis answers at {url} and there is no redis-server to start: install it "
            "(apt-get install redis-server), set REDIS_URL, or use the coordination-free variant "
            "(--variant local)"
        )
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--logfile", "", "--loglevel", "warning"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    private = f"redis://127.0.0.1:{port}/0"
    previous = os.environ.get("REDIS_URL")
    try:
        deadline = time.monotonic() + 5
        while not _redis_answers(private):
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {proc.returncode} before answering")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {port} within 5 s")
            time.sleep(0.05)
        _say(f"Started a private redis-server at {private} (pid {proc.pid})")
        os.environ["REDIS_URL"] = private
        yield private
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if previous is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = previous


def _run(args: list[str]) -> tuple[int, Path | None, list[Op] | None]:
    """Run the test under real Maelstrom ($MAELSTROM) or ours; return (exit code, run dir, and
    the run's history when our runner completed it)."""
    maelstrom = os.environ.get("MAELSTROM")
    if maelstrom:
        # Maelstrom writes store/ under its working directory and names the run only by store/latest
        code = subprocess.call([maelstrom, "test", *args], cwd=ROOT)
        latest = ROOT / "store" / "latest"
        return code, latest.resolve() if latest.exists() else None, None
    from harness.cli import main as harness_main

    histories: dict[Path, list[Op]] = {}

    def on_history(run_dir: Path, history: list[Op]) -> None:
        histories[run_dir.resolve()] = history

    with tempfile.TemporaryDirectory() as tmp:
        run_dir_file = Path(tmp) / "run-dir"
        code = harness_main(["test", *args, "--run-dir-file", str(run_dir_file)], on_history=on_history)
        text = run_dir_file.read_text().strip() if run_dir_file.is_file() else ""
    run_dir = Path(text) if text else None
    return code, run_dir, histories.get(run_dir.resolve()) if run_dir is not None else None


#: the text files of results/ in which absolute paths of this machine are made relative
_TEXT_SUFFIXES = (".json", ".edn", ".log", ".html", ".txt", ".svg")


def relative_paths(text: str, folder: Path, root: Path | None = None) -> str:
    """``text`` with this machine's absolute paths made relative to the challenge ``folder``: the
    folder itself (``/…/echo/main.py`` becomes ``./main.py``), and the repository and ``root`` (the
    store's parent) above it (``/…/store/x`` becomes ``../store/x``), so that committed results
    name no stranger's directory tree."""
    root = ROOT if root is None else root
    pairs: dict[str, str] = {}
    for path, relative in ((folder, "."), (folder.parent, ".."), (root, "..")):
        for form in (path, path.resolve()):
            pairs.setdefault(str(form), relative)
    for prefix, relative in sorted(pairs.items(), key=lambda pair: -len(pair[0])):
        text = re.sub(re.escape(prefix) + r"(?=[/\"'<\s),;:]|$)", relative, text, flags=re.MULTILINE)
    return text


def _relativize(out: Path, folder: Path) -> None:
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in _TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            new = relative_paths(text, folder)
            if new != text:
                path.write_text(new, encoding="utf-8", errors="surrogateescape")


def keep_results(
    run_dir: Path, out: Path, history: list[Op] | None = None, folder: Path | None = None
) -> bool:
    """Copy the lean part of ``run_dir`` into ``out`` (emptied first) and render its report there.

    ``history``: the run's ops, when the caller has them (the runner in this process), rather than
    reading history.edn back (seconds for a 20 000-op run). ``folder``: the challenge's folder;
    absolute paths under the repository are then written relative to it. Returns False (after
    printing why) when the report could not be written.
    """
    from harness.report import main as report_main
    from harness.report import write_report

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in KEPT_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, out / name)
    for name in RECORDS:
        path = run_dir / name
        if path.is_file():
            if path.stat().st_size <= RECORD_CAP:
                shutil.copy2(path, out / name)
            else:
                _say(
                    f"Not keeping {name} ({path.stat().st_size / 1e6:.1f} MB, over {RECORD_CAP >> 20} MiB) in {out}"
                )
    try:
        if history is None:
            status = report_main([str(run_dir), "--out", str(out)])
        else:
            print(write_report(run_dir.resolve(), out, history=history))  # as report_main does
            status = 0
    except Exception:
        _say(f"Could not write the report of {run_dir} into {out}:\n{traceback.format_exc()}")
        return False
    if status != 0:
        _say(f"Could not write the report of {run_dir} into {out} (report exited {status})")
        return False
    if folder is not None:
        _relativize(out, folder)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="maelstrom run-challenge",
        description="Run one challenge's test at Fly.io's flags and keep its results in FOLDER/results/.",
        epilog="Other arguments go to the test after the challenge's flags (so they override them).",
        allow_abbrev=False,
    )
    parser.add_argument("folder", help="the challenge folder (a name such as echo, or a path)")
    parser.add_argument("--variant", help="which way to run the node (unique-id-generation: redis, local)")
    try:
        args, extra = parser.parse_known_args(argv)
        challenge = by_folder(args.folder)
        variant = challenge.variant(args.variant)
    except KeyError as e:
        _say(str(e.args[0]))
        return EXIT_BAD_ARGS
    except SystemExit as e:
        return 0 if e.code == 0 else EXIT_BAD_ARGS

    sim = "--sim" in extra
    if sim and os.environ.get("MAELSTROM"):
        _say(
            "--sim is this runner's simulation; real Maelstrom ($MAELSTROM) has no such mode: unset MAELSTROM."
        )
        return EXIT_BAD_ARGS
    if sim and variant.needs_redis:
        # Redis is real I/O outside the simulation: a simulated run would depend on it (and the
        # simulation refuses the connection), so challenge 2 is simulated with its own
        # coordination-free backend
        if args.variant is not None:
            _say(
                f"--sim cannot run the {variant.name} variant: Redis is real I/O outside the simulation. "
                f"Use --variant {next(v.name for v in challenge.variants if not v.needs_redis)}."
            )
            return EXIT_BAD_ARGS
        variant = next(v for v in challenge.variants if not v.needs_redis)
        _say(f"--sim: Redis is outside the simulation; simulating the {variant.name!r} variant instead.")
    test_args = [*challenge.flags, "--bin", str(challenge.main_py), *variant.node_args]
    if not os.environ.get("MAELSTROM"):
        test_args += ["--store", str(ROOT / "store")]
    test_args += extra
    try:
        with redis_for_run() if variant.needs_redis else contextlib.nullcontext():
            code, run_dir, history = _run(test_args)
    except RuntimeError as e:
        _say(str(e))
        return EXIT_ABORTED
    if run_dir is None or not run_dir.is_dir():
        _say("The run left no store directory; nothing kept in results/.")
        return code or EXIT_ABORTED
    # the reference results in FOLDER/results/ are real-mode runs; a simulated run's lean part
    # goes to store/sim-results/FOLDER/ (maelstrom results --sim reads it from there)
    out = ROOT / SIM_RESULTS / challenge.folder if sim else ROOT / challenge.folder / "results"
    reported = keep_results(run_dir, out, history, challenge.main_py.parent)
    _say(f"Kept the lean part of {run_dir} in {out.relative_to(ROOT)}/")
    if not reported:
        return code or EXIT_ABORTED
    return code


if __name__ == "__main__":
    sys.exit(main())
