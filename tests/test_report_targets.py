"""A report opens with what the run is judged on: a challenge run's targets against what was
measured, met or not (harness.challenges, the checkers' summaries); any other run's key figures.
``serve``'s index shows the same targets. Every committed report is checked in Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from browser import needs_chromium, render

from harness.challenges import CHALLENGES, by_folder, challenge_of_run, flag_differences
from harness.report import write_report
from harness.results_table import evaluate
from harness.serve import index_html, runs

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = [c for c in CHALLENGES if (ROOT / c.folder / "results" / "results.json").is_file()]


def _first_section(html: str) -> str:
    """The page from the verdict to the second heading: the first section after the verdict."""
    after = html.split("id=verdict>", 1)[1]
    first = after.split("<h2", 2)
    return "<h2" + first[1]


def _targets_rows(section: str) -> list[tuple[str, str, str]]:
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td class=\"\w+\">(\w+)</td></tr>", body)
    return [(a, b, c) for a, b, c in rows]


def _copy_run(folder: str, dest: Path) -> Path:
    """A committed results/ copied as a store run would be: its node named by absolute path."""
    shutil.copytree(ROOT / folder / "results", dest)
    test = json.loads((dest / "test.json").read_text())
    (dest / "test.json").write_text(json.dumps({**test, "bin": str(ROOT / folder / "main.py")}))
    return dest


def test_a_challenge_run_is_recognised_by_its_node_and_workload() -> None:
    for c in COMMITTED:
        test = json.loads((ROOT / c.folder / "results" / "test.json").read_text())
        assert challenge_of_run(test, ROOT / c.folder / "results") == c
        assert challenge_of_run({**test, "bin": str(ROOT / c.folder / "main.py")}) == c
        assert flag_differences(c, test) == [], c.folder  # the reference runs use Fly.io's flags
    assert challenge_of_run({"bin": "/home/me/echo/main.py", "workload": "echo"}) == by_folder("echo")
    assert challenge_of_run({"bin": "/home/me/echo/main.py", "workload": "broadcast"}) is None
    assert challenge_of_run({"bin": "/home/me/my-node", "workload": "echo"}) is None
    shorter = {**json.loads((ROOT / "echo" / "results" / "test.json").read_text()), "time-limit": 5.0}
    assert flag_differences(by_folder("echo"), shorter) == ["time-limit 5.0 (the challenge's: 10)"]


@pytest.mark.parametrize("challenge", COMMITTED, ids=lambda c: c.folder)
def test_a_fresh_report_opens_with_the_targets_and_agrees_with_the_results_table(
    tmp_path: Path, challenge: object
) -> None:
    c = by_folder(getattr(challenge, "folder"))  # noqa: B009 (typed lookup)
    html = write_report(ROOT / c.folder / "results", tmp_path / "out").read_text()
    section = _first_section(html)
    assert section.startswith("<h2 id=targets>Targets: ")
    rows = _targets_rows(section)
    assert rows[0][0] == "valid" and len(rows) == 1 + len(c.targets)
    row = evaluate(ROOT, c)
    unmet = {label for label, _, met in rows if met == "NO"}
    assert unmet == set(row.failed)
    assert ("Meets the challenge's target." in section) == row.meets_target


def test_an_unmet_target_says_NO_and_which(tmp_path: Path) -> None:
    run = _copy_run("efficient-broadcast", tmp_path / "run")
    results = json.loads((run / "results.json").read_text())
    results["net"]["servers"]["msgs-per-op"] = 9.5
    (run / "results.json").write_text(json.dumps(results))
    section = _first_section(write_report(run).read_text())
    assert "Does not meet the challenge's target: server msgs/op &lt;= 5." in section
    assert ("server msgs/op &lt;= 5", "server msgs/op 9.5", "NO") in _targets_rows(section)
    test = json.loads((run / "test.json").read_text())
    (run / "test.json").write_text(json.dumps({**test, "rate": 10}))
    assert "differ from the challenge's flags (rate 10 (the challenge&#x27;s: 100)" in _first_section(
        write_report(run).read_text()
    )


def test_a_plain_run_opens_with_its_key_figures(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(ROOT / "multi-node-broadcast" / "results", run)
    test = json.loads((run / "test.json").read_text())
    (run / "test.json").write_text(json.dumps({**test, "bin": "/home/me/my-broadcast"}))
    section = _first_section(write_report(run).read_text())
    assert section.startswith("<h2 id=key-figures>Key figures</h2>")
    for label in ("lost messages", "server msgs/op", "ops", "availability"):
        assert f"<td>{label}</td>" in section, label


def test_serve_index_shows_each_challenge_runs_targets(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for folder, name in (
        ("efficient-broadcast", "20260101T000000.000+0000"),
        ("echo", "20260101T000001.000+0000"),
    ):
        _copy_run(folder, store / by_folder(folder).workload / name)
    results = json.loads((store / "broadcast" / "20260101T000000.000+0000" / "results.json").read_text())
    results["net"]["servers"]["msgs-per-op"] = 9.5
    (store / "broadcast" / "20260101T000000.000+0000" / "results.json").write_text(json.dumps(results))
    entries = {e.workload: e for e in runs(store)}
    assert entries["echo"].targets == (("1: meets its target", True),)
    broadcast = dict(entries["broadcast"].targets)
    assert broadcast["3d/3e: target NOT met"] is False
    assert broadcast["✗ server msgs/op <= 5: server msgs/op 9.5"] is False
    assert broadcast["✓ no lost messages: lost messages 0"] is True
    page = index_html(store)
    assert "<th>Challenge target</th>" in page and '<span class="unmet">3d/3e: target NOT met</span>' in page


@pytest.mark.timeout(600)
@needs_chromium
def test_every_committed_report_opens_with_targets_against_measured_in_chromium() -> None:
    """The 14 committed reports, as a reader's browser loads them: the first heading after the
    verdict is the targets table, whose met column agrees with ``maelstrom results``."""
    assert len(COMMITTED) == 14
    for c in COMMITTED:
        dom, console = render((ROOT / c.folder / "results" / "index.html").as_uri())
        assert console == [], (c.folder, console)
        section = _first_section(dom.replace('id="verdict">', "id=verdict>"))
        assert re.match(r'<h2 id="targets">Targets: ', section), (c.folder, section[:200])
        met = re.findall(r'<td class="(ok|bad)">(yes|NO)</td>', section)
        assert len(met) == 1 + len(c.targets), c.folder
        assert all(m == ("ok", "yes") for m in met) == evaluate(ROOT, c).meets_target, c.folder
