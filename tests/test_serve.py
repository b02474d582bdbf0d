"""``maelstrom serve``, timeline.html and jepsen.log: every run has them, and a browser shows them.

One short real run (a tiny g-set node under kill) fills a store; headless Chromium loads the
served index, which lists it and an incomplete run, then follows the index's report link and
loads the timeline, with no console errors.
"""

from __future__ import annotations

import json
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


# -- paging and zips ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 205 incomplete runs (test.json only) across two workloads, one minute apart,
    and one of them with files to zip: a node-data journal and a symlink out of the store."""
    store = tmp_path_factory.mktemp("many")
    for i in range(205):
        stamp = f"20260101T{i // 60:02d}{i % 60:02d}00.000+0000"
        run = store / ("echo" if i % 2 else "broadcast") / stamp
        run.mkdir(parents=True)
        (run / "test.json").write_text(json.dumps({"workload": run.parent.name, "seed": i}))
    run = store / "echo" / "20260101T000100.000+0000"  # i = 1
    (run / "node-data").mkdir()
    (run / "node-data" / "n0.journal").write_bytes(b"\x00journal\n" * 1000)
    (run / "history.txt").write_text("0\t:invoke\t:echo\t1\n")
    (run / "outside").symlink_to("/etc/passwd")
    (store / "echo" / "latest").symlink_to(run.name)
    return store


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr><td><a href=\"([^\"]+)\"", page)


def test_index_pages_hold_100_runs_newest_first(many: Path) -> None:
    from harness.serve import PageNotFound, index_html

    first, third = index_html(many, 1), index_html(many, 3)
    assert len(_rows(first)) == 100 and len(_rows(third)) == 5
    assert _rows(first)[0] == "broadcast/20260101T032400.000%2B0000/"  # i = 204: the newest
    assert _rows(third)[-1] == "broadcast/20260101T000000.000%2B0000/"  # i = 0: the oldest
    every = [r for n in (1, 2, 3) for r in _rows(index_html(many, n))]
    assert len(set(every)) == 205  # each run on exactly one page
    assert "205 runs in" in first and "Page 1 of 3" in first
    assert '<a href="?page=2" rel="next">older</a>' in first and 'rel="prev"' not in first
    assert '<a href="?page=2" rel="prev">newer</a>' in third and 'rel="next"' not in third
    with pytest.raises(PageNotFound):
        index_html(many, 4)
    with pytest.raises(PageNotFound):
        index_html(many, 0)
    assert "Page " not in index_html(many, 1, page_size=1000)  # one page: no page links


def test_page_links_skip_the_middle_of_many_pages() -> None:
    from harness.serve import _page_links

    links = _page_links(10, 20)
    assert (
        re.findall(r"\?page=(\d+)\">(\d+)<", links)
        == [(str(n), str(n)) for n in (1, 7, 8, 9, 11, 12, 13, 20)]
        and "<b>10</b>" in links
        and links.count("…") == 2
    )


@pytest.fixture(scope="module")
def many_server(many: Path) -> Iterator[str]:
    httpd = make_server(many, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_index_page_query_over_http(many_server: str) -> None:
    with urllib.request.urlopen(many_server + "?page=3") as r:
        assert r.status == 200 and len(_rows(r.read().decode())) == 5
    for query, code in (("?page=4", 404), ("?page=0", 404), ("?page=two", 400)):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(many_server + query)
        assert e.value.code == code, query


def test_a_run_downloads_as_a_zip_of_its_directory(many: Path, many_server: str) -> None:
    import io
    import zipfile

    page = urllib.request.urlopen(many_server + "?page=3").read().decode()
    href = re.search(r'href="(echo/20260101T000100\.000%2B0000\.zip)" download>zip<', page)
    assert href, page
    with urllib.request.urlopen(many_server + href.group(1)) as r:
        assert r.headers["Content-Type"] == "application/zip" and r.headers["Content-Length"] is None
        assert 'filename="echo-20260101T000100.000+0000.zip"' in r.headers["Content-Disposition"]
        data = r.read()
    run = many / "echo" / "20260101T000100.000+0000"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        prefix = "echo/20260101T000100.000+0000/"
        assert sorted(zf.namelist()) == [
            prefix + n for n in ("history.txt", "node-data/n0.journal", "test.json")
        ]
        assert zf.read(prefix + "node-data/n0.journal") == (run / "node-data" / "n0.journal").read_bytes()
    # the latest symlink names a run inside the store, so it zips that run
    with urllib.request.urlopen(many_server + "echo/latest.zip") as r:
        assert len(zipfile.ZipFile(io.BytesIO(r.read())).namelist()) == 3
    for path in ("echo.zip", ".zip", "echo/nope.zip", "../../../etc.zip", "%2e%2e/%2e%2e/tmp.zip",
                 "echo/20260101T000100.000%2B0000/node-data.zip"):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(many_server + path)
        assert e.value.code == 404, path


@needs_chromium
def test_paged_index_loads_in_chromium(many_server: str) -> None:
    dom, console = render(many_server + "?page=2")
    assert console == []
    assert len(_rows(dom)) == 100 and "Page 2 of 3" in dom
    assert 'href="?page=1"' in dom and 'href="?page=3"' in dom and dom.count(">zip</a>") == 100
