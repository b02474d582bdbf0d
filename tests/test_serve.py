"""``maelstrom serve``, timeline.html and jepsen.log: every run has them, and a browser shows them.

One short real run (a tiny g-set node under kill) fills a store; headless Chromium loads the
served index, which lists it and an incomplete run, then follows the index's report link and
loads the timeline, with no console errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import needs_chromium, render

from harness.serve import make_server, runs
from harness.timeline import timeline_pairs

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests" / "nodes" / "gset_node.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("store")
    command = [
        sys.executable, "-m", "harness", "test", "-w", "g-set", "--bin", sys.executable, str(NODE), "memory",
        "--node-count", "2", "--rate", "20", "--time-limit", "1.5", "--nemesis", "kill",
        "--nemesis-interval", "0.3", "--seed", "4", "--recovery-time", "0.2", "--no-plots", "--store", str(store),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    # the operations are on the console, as Jepsen prints them
    assert re.search(
        r"INFO\t\[jepsen worker 0\] jepsen.util: 0\t:invoke\t:(add|read)\t", done.stdout + done.stderr
    )
    assert "[jepsen nemesis] jepsen.util: :nemesis\t:info\t:kill\t" in done.stdout + done.stderr
    incomplete = store / "echo" / "20260101T000000.000+0000"
    incomplete.mkdir(parents=True)
    (incomplete / "test.json").write_text('{"workload": "echo", "rate": 5}')
    return store


def _run_dir(store: Path) -> Path:
    return next(p for p in (store / "g-set").iterdir() if not p.is_symlink())


def test_every_run_has_timeline_log_and_node_logs(store: Path) -> None:
    run = _run_dir(store)
    log = (run / "jepsen.log").read_text()
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\tINFO\t\[jepsen worker \d+\] jepsen.util: ", log, re.M
    )
    assert "\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:kill\t" in log
    assert ("Test options: " in log and "Everything looks good" in log) or "Analysis invalid" in log
    ops = [line for line in log.splitlines() if "jepsen.util: " in line]
    assert len(ops) == len((run / "history.txt").read_text().splitlines())  # every op once, nothing lost
    assert sorted(p.name for p in (run / "node-logs").iterdir()) == ["n0.log", "n1.log"]
    timeline = (run / "timeline.html").read_text()
    assert timeline.count('class="op"') > 10 and ":nemesis" in timeline
    report = (run / "index.html").read_text()
    for link in ("timeline.html", "jepsen.log", "node-logs/n0.log", "node-logs/n1.log"):
        assert f'href="{link}"' in report
    assert "<h2>Kills and pauses</h2>" in report and "#E9A4A0" in report  # kill intervals, kill's colour


def test_timeline_pairs_invocations_with_completions() -> None:
    from harness.history import INFO, INVOKE, NEMESIS, OK, Op

    history = [
        Op(INVOKE, "add", 0, 1, index=0),
        Op(INFO, "kill", NEMESIS, None, index=1),
        Op(INVOKE, "read", 1, None, index=2),
        Op(INFO, "kill", NEMESIS, {"n1": "killed"}, index=3),
        Op(OK, "add", 0, 1, index=4),
        Op(INVOKE, "add", 0, 2, index=5),
    ]
    pairs = [(a.index, None if b is None else b.index) for a, b in timeline_pairs(history)]
    # nemesis ops are info both ways: each stands alone, as in Jepsen's timeline
    assert pairs == [(0, 4), (1, None), (2, None), (3, None), (5, None)]


def test_index_lists_runs_newest_first_with_verdict_and_figures(store: Path) -> None:
    entries = runs(store)
    assert [e.workload for e in entries] == ["g-set", "echo"]
    gset, echo = entries
    assert gset.verdict in (True, False) and gset.figures and gset.parameters["nemesis"] == ["kill"]
    assert {"index.html", "jepsen.log", "timeline.html", "node-logs"} <= set(gset.files)
    assert echo.verdict == "incomplete" and echo.files == ()


@pytest.fixture
def server(store: Path) -> Iterator[str]:
    httpd = make_server(store, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_serve_refuses_paths_outside_the_store(server: str) -> None:
    for path in ("../../../etc/passwd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "no-such-run/"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(server + path)
        assert e.value.code == 404
    with urllib.request.urlopen(server) as r:
        assert r.status == 200 and b"g-set" in r.read()


@pytest.mark.timeout(240)
@needs_chromium
def test_served_index_and_a_report_load_in_chromium(server: str) -> None:
    dom, console = render(server)
    assert console == []
    assert "g-set" in dom and "echo" in dom and "incomplete" in dom
    report = re.search(r'href="(g-set/[^"]+/index\.html)"', dom)
    assert report, dom
    page, page_console = render(server + report.group(1))
    assert page_console == [] and 'id="verdict"' in page
    timeline = re.search(r'href="(g-set/[^"]+/timeline\.html)"', dom)
    assert timeline
    tl_dom, tl_console = render(server + timeline.group(1))
    assert tl_console == [] and 'class="op"' in tl_dom


def test_ops_go_to_the_log_always_and_to_the_console_unless_quiet(tmp_path: Path) -> None:
    import io

    from harness.cli import parse_test_args
    from harness.progress import Progress

    for show in (True, False):
        console = io.StringIO()
        progress = Progress(console, live=False, show_ops=show)
        progress.open_log(tmp_path / f"{show}.log")
        progress.log("Running echo")
        progress.op(2, '2\t:invoke\t:echo\t"hi"')
        progress.op("nemesis", ":nemesis\t:info\t:kill\t:one")
        progress.close_log()
        log = (tmp_path / f"{show}.log").read_text().splitlines()
        assert [line.split("\t", 2)[2] for line in log] == [
            "[jepsen test runner] jepsen.core: Running echo",
            '[jepsen worker 2] jepsen.util: 2\t:invoke\t:echo\t"hi"',
            "[jepsen nemesis] jepsen.util: :nemesis\t:info\t:kill\t:one",
        ]
        shown = console.getvalue().splitlines()
        assert shown == (
            ["Running echo", 'INFO\t[jepsen worker 2] jepsen.util: 2\t:invoke\t:echo\t"hi"',
             "INFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:kill\t:one"]
            if show
            else ["Running echo"]
        )  # fmt: skip
    assert parse_test_args(["-w", "echo", "--bin", "x", "--quiet-ops"])[1].log_ops is False
    assert parse_test_args(["-w", "echo", "--bin", "x"])[1].log_ops is True


def test_live_status_line_stays_below_the_operations() -> None:
    import asyncio
    import io

    from harness.progress import Progress

    async def main() -> str:
        console = io.StringIO()
        progress = Progress(console, live=True, show_ops=True)
        progress.start(10, lambda: 0)
        await asyncio.sleep(0.6)  # one status redraw (every 0.5 s on a terminal)
        progress.op(0, "0\t:invoke\t:echo\tnil")
        text = console.getvalue()
        progress.stop()
        return text

    text = asyncio.run(main())
    before, after = text.split("jepsen.util: 0\t:invoke\t:echo\tnil\n")
    assert "[main]" in before or "[starting]" in before
    assert after.startswith("[") and "ok 0" in after  # the status line, drawn again under the op
