"""index.html: one small, self-contained page per run that says what happened and why.

``write_report(run_dir)`` reads what a run left in ``store/<workload>/<ts>/`` (results.json or
results.edn, test.json, history.edn, net-journal.jsonl) and writes ``index.html`` (inline CSS, no
script, no external URL) plus ``messages.svg`` when a journal is there. The page holds: the
verdict and the reasons for it, the test parameters, stats by f, availability, net counts and
msgs-per-op, the workload checker's findings (truncated), latency quantiles per f, partition
intervals, the plots, and links to the raw files beside it.

What the page says about each checker's result comes from the checker's own summary
(``harness.checkers.core.summarize``, the workload's through its ``Workload.summarize``): findings
for the "why", tables for the sections. This module reads no checker's result keys, so a new
workload or checker shows up here without an edit.

Every part is optional: a run without results.edn (a crashed run) still gets a page saying so,
and a committed ``results/`` copy without history or journal keeps what was rendered from them
(pass ``out_dir`` to render from the store run into the copy).

CLI: ``python -m harness report RUN_DIR...`` (``main(argv)``, argv without ``report``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from harness.checkers.core import WORKLOAD, summarize
from harness.edn import read_history, read_results, results_to_json, stored
from harness.fault_intervals import FAULT_COLORS, faults_by_kind, partition_intervals
from harness.history import UNKNOWN, Op
from harness.net.viz import write_messages_svg
from harness.summary import MAX_TEXT, Summary, Table, compact
from harness.workloads import REGISTRY

__all__ = ["load_results", "main", "summaries", "verdict_label", "write_report"]

PLOTS = ("latency-raw.png", "latency-quantiles.png", "rate.png")
MAX_LIST_ITEMS = 10
_OP_KEYS = frozenset(("type", "process", "f"))

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:.2em .7em;border-radius:4px;font-weight:bold;color:#fff;font-size:1.2em}
.valid{background:#2e8b3d}.invalid{background:#c62828}.unknown{background:#d68a00}.none{background:#777}
.ok{color:#2e8b3d}.bad{color:#c62828;font-weight:bold}.unk{color:#d68a00;font-weight:bold}
code,pre{font:12px ui-monospace,monospace;background:#f6f6f6}pre{padding:.5em;overflow-x:auto;white-space:pre-wrap}
.muted{color:#777}ul.why li{margin:.2em 0}img{max-width:100%;border:1px solid #eee;margin:.3em 0}
table.kv>tbody>tr>th{width:14em;font-weight:normal;background:#fafafa}
"""


# ----------------------------------------------------------------------------------------------
# Loading


def load_results(run_dir: Path) -> dict[str, Any] | None:
    """The run's checker results in results.json's shape (keywords as names), or None."""
    json_path = run_dir / "results.json"
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except ValueError:
            pass
    edn_path = run_dir / "results.edn"
    if edn_path.is_file():
        return json.loads(results_to_json(read_results(edn_path), indent=None))
    return None


def _load_test(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "test.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _load_history(run_dir: Path) -> list[Op] | None:
    path = stored(run_dir / "history.edn")  # or history.edn.xz, as in the corpus
    if path is None:
        return None
    try:
        return read_history(path)
    except Exception:  # a torn history of a crashed run: the report still renders without it
        return None


# ----------------------------------------------------------------------------------------------
# Analysis


def verdict_label(valid: Any) -> tuple[str, str]:
    """(text, css class) for a ``valid?`` value; None means there are no results."""
    if valid is True:
        return "VALID", "valid"
    if valid is False:
        return "INVALID", "invalid"
    if valid is None:
        return "NO RESULTS", "none"
    return "UNKNOWN", "unknown"


def _valid(result: Any) -> Any:
    return result.get("valid?", True) if isinstance(result, Mapping) else True


def summaries(
    results: Mapping[str, Any], test: Mapping[str, Any], history: list[Op] | None
) -> dict[str, Summary]:
    """Every checker's summary, in display order; the workload's from its own ``summarize``."""
    cls = REGISTRY.get(str(test.get("workload") or ""))
    return summarize(results, cls.summarize if cls is not None else None, test, history)


# ----------------------------------------------------------------------------------------------
# HTML pieces


def _cls(valid: Any) -> str:
    return "ok" if valid is True else "bad" if valid is False else "unk"


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.0f}"
    return escape(str(v)) if v is not None else ""


def _render(value: Any, depth: int = 0) -> str:
    """Any JSON-ish value as HTML, with long lists and strings cut."""
    if isinstance(value, Mapping):
        if not value:
            return "<code>{}</code>"
        if depth >= 3 or value.keys() >= _OP_KEYS:  # an op reads best on one line
            return f"<code>{escape(compact(value))}</code>"
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th>"
            + (
                f'<td class="{_cls(v)}">{_valid_cell(v)[0]}</td>'
                if k == "valid?"
                else f"<td>{_render(v, depth + 1)}</td>"
            )
            + "</tr>"
            for k, v in list(value.items())[:40]
        )
        more = (
            f"<tr><td colspan=2 class=muted>… {len(value) - 40} more keys</td></tr>"
            if len(value) > 40
            else ""
        )
        return f"<table class=kv><tbody>{rows}{more}</tbody></table>"
    if isinstance(value, list):
        if not value:
            return "<code>[]</code>"
        if all(not isinstance(v, (Mapping, list)) for v in value):
            shown = compact(value[:50], MAX_TEXT)
            extra = f" <span class=muted>({len(value)} items)</span>" if len(value) > 1 else ""
            return f"<code>{escape(shown)}</code>{extra}"
        items = "".join(f"<li>{_render(v, depth + 1)}</li>" for v in value[:MAX_LIST_ITEMS])
        more = (
            f"<li class=muted>… {len(value) - MAX_LIST_ITEMS} more</li>"
            if len(value) > MAX_LIST_ITEMS
            else ""
        )
        return f"<ol>{items}{more}</ol>"
    if isinstance(value, str):
        if "\n" in value or len(value) > 120:
            cut = value if len(value) <= 1500 else value[:1500] + "\n…"
            return f"<pre>{escape(cut)}</pre>"
        return escape(value)
    if value is True or value is False:
        return f'<span class="{_cls(value)}">{str(value).lower()}</span>'
    return _num(value) if value is not None else "<span class=muted>nil</span>"


def _table(headers: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            if isinstance(v, tuple):  # (html, css class) for pre-rendered cells
                cells.append(f'<td class="{v[1]}">{v[0]}</td>')
            elif i >= numeric_from and isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f"<td class=n>{_num(v)}</td>")
            else:
                cells.append(f"<td>{_render(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _valid_cell(v: Any) -> tuple[str, str]:
    text = "true" if v is True else "false" if v is False else str(v)
    return escape(text), _cls(v)


def _section_params(test: Mapping[str, Any]) -> str:
    keys = (
        "workload", "node-count", "nodes", "concurrency", "rate", "time-limit", "latency", "nemesis",
        "nemesis-interval", "availability", "consistency-models", "topology", "key-count", "seed",
        "bin", "args", "command-line",
    )  # fmt: skip
    shown = {k: test[k] for k in keys if test.get(k) not in (None, "", [])}
    if not shown:
        return "<p class=muted>test.json not available.</p>"
    return _render(shown)


def _section_table(table: Table) -> str:
    html = ""
    if table.rows:
        rows = [
            [_valid_cell(v) if h == "valid?" else v for h, v in zip(table.headers, row, strict=False)]
            for row in table.rows
        ]
        html = _table(list(table.headers), rows)
    if table.note:
        html += f"<p class=muted>{escape(table.note)}</p>"
    return html


def _section_partitions(history: list[Op] | None) -> str:
    if history is None:
        return "<p class=muted>history.edn not available.</p>"
    intervals = partition_intervals(history)
    if not intervals:
        return "<p>No partitions.</p>"
    rows = []
    for iv in intervals:
        start = iv.start / 1e9
        end = iv.end / 1e9 if iv.end is not None else None
        length = f"{end - start:.1f}" if end is not None else "until the end"
        rows.append(
            [
                f"{start:.2f}",
                f"{end:.2f}" if end is not None else "never healed",
                length,
                (escape(compact(iv.mode, 60).strip('"')), ""),
                ("<code>" + escape(compact(iv.effect, 300)) + "</code>", ""),
            ]
        )
    return _table(["start s", "end s", "length s", "mode", "grudge (dest: cut-off sources)"], rows)


def _files(out_dir: Path) -> list[Path]:
    found = []
    for p in sorted(out_dir.iterdir()):
        if p.name == "index.html" or p.name.startswith("."):
            continue
        if p.is_dir():
            found += sorted(q for q in p.iterdir() if q.is_file())[:50]
        elif p.is_file():
            found.append(p)
    return found


def _section_workload_files(test: dict[str, Any], out_dir: Path) -> list[str]:
    """The files the workload wrote to explain its result, as the workload names them."""
    cls = REGISTRY.get(str(test.get("workload", "")))
    section = cls.report_files(out_dir) if cls is not None else None
    if section is None:
        return []
    items = []
    for link in section.links:
        item = f'<a href="{escape(link.href)}">{escape(link.text)}</a>'
        if link.note:
            item += f": {escape(link.note)}"
        if link.parts:
            item += "; drawings " + " ".join(
                f'<a href="{escape(p.href)}">{escape(p.text)}</a>' for p in link.parts
            )
        items.append(f"<li>{item}</li>")
    lead = f"<p>{escape(section.lead)}</p>" if section.lead else ""
    return [f"<h2>{escape(section.title)}</h2>", f"{lead}<ul>{''.join(items)}</ul>"]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# ----------------------------------------------------------------------------------------------
# The page


def _section_shrunk(run_dir: Path) -> list[str]:
    """What a shrunk run (``maelstrom shrink``) was shrunk from, and the command that replays it."""
    path = run_dir / "shrink.json"
    if not path.is_file():
        return []
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return []
    same = "fails the same way" if info.get("fails-the-same-way") else "NO LONGER fails the same way"
    checked = " (replay checked: byte-identical history)" if info.get("replay-byte-identical") else ""
    return [
        "<h2>Shrunk</h2>",
        f"<p>Shrunk from {escape(str(info.get('from')))} to <b>{escape(str(info.get('to')))}</b> in "
        f"{escape(str(info.get('runs')))} runs ({escape(str(info.get('seconds')))} s); it {same}: "
        f"{escape(str(info.get('failure')))}. Original run: <code>{escape(str(info.get('shrunk-from')))}</code></p>",
        f"<p>Reproduce it{checked}:</p><pre>{escape(str(info.get('command')))}</pre>",
    ]


def _render_page(
    run_dir: Path,
    out_dir: Path,
    results: dict[str, Any] | None,
    test: dict[str, Any],
    history: list[Op] | None,
) -> str:
    workload = str(test.get("workload") or run_dir.parent.name)
    valid = results.get("valid?", UNKNOWN) if results is not None else None
    label, css = verdict_label(valid)
    title = f"{workload} {run_dir.name}"
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(label)}: {escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(workload)} <span class=muted>{escape(run_dir.name)}</span></h1>",
        f'<p><span class="verdict {css}" id=verdict>{label}</span></p>',
        *_section_shrunk(run_dir),
    ]

    by_checker = summaries(results or {}, test, history)
    parts.append("<h2>Why</h2>")
    if results is None:
        parts.append(
            "<p class=bad>No results.edn: the run did not reach its checkers (a node crashed, init or "
            "setup failed, or the runner was stopped). See node-logs/.</p>"
        )
    else:
        checkers = [name for name in by_checker if name in results]
        reasons = []
        # the workload checker's reasons first: they are the ones about the system under test
        for name in sorted(checkers, key=lambda name: name != WORKLOAD):
            v = _valid(results[name])
            if v is True:
                continue
            lines = by_checker[name].findings or ("(no details)",)
            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            reasons.append(
                f'<li><b>{escape(name)}</b>: <span class="{_cls(v)}">{_valid_cell(v)[0]}</span><ul>{items}</ul></li>'
            )
        if reasons:
            parts.append("<ul class=why>" + "".join(reasons) + "</ul>")
        else:
            parts.append("<p class=ok>Every checker is valid.</p>")
        workload_summary = by_checker.get(WORKLOAD)
        if workload_summary is not None and valid is True:
            findings = workload_summary.findings or tuple(f.text() for f in workload_summary.figures)
            if findings:
                parts.append("<p>Workload: " + escape("; ".join(findings)) + "</p>")
        rows = [[name, _valid_cell(_valid(results[name]))] for name in checkers]
        parts.append(_table(["checker", "valid?"], rows))

    parts += ["<h2>Test parameters</h2>", _section_params(test)]

    for name, summary in by_checker.items():
        for table in summary.tables:
            parts += [f"<h2>{escape(table.title)}</h2>", _section_table(table)]
        if name == WORKLOAD and results is not None:
            parts += ["<h2>Workload checker</h2>", _render(results[WORKLOAD])]

    parts += ["<h2>Partitions</h2>", _section_partitions(history)]
    parts += _section_kills_pauses(history)

    plots = [p for p in PLOTS if (out_dir / p).is_file()]
    plots += sorted(p.name for p in out_dir.glob("*.png") if p.name not in PLOTS)
    parts.append("<h2>Plots</h2>")
    if plots:
        parts += [f'<p><img src="{escape(p)}" alt="{escape(p)}" loading=lazy></p>' for p in plots]
    else:
        parts.append("<p class=muted>No plots.</p>")

    parts.append("<h2>Messages</h2>")
    if (out_dir / "messages.svg").is_file():
        parts.append('<p><a href="messages.svg">messages.svg</a>: Lamport diagram of the first messages.</p>')
    else:
        parts.append("<p class=muted>No network journal, so no message diagram.</p>")

    parts += _section_workload_files(test, out_dir)
    parts += _run_links(run_dir, out_dir)

    parts.append("<h2>Files</h2><ul>")
    for p in _files(out_dir):
        rel = p.relative_to(out_dir).as_posix()
        parts.append(
            f'<li><a href="{escape(rel)}">{escape(rel)}</a> <span class=muted>{_size(p.stat().st_size)}</span></li>'
        )
    parts.append("</ul></body></html>\n")
    return "\n".join(parts)


def _section_kills_pauses(history: list[Op] | None) -> list[str]:
    """Kill and pause intervals (``fault_intervals.faults_by_kind``), when the run had any."""
    by_kind = faults_by_kind(history or [])
    intervals = sorted(
        ((kind, iv) for kind in ("kill", "pause") for iv in by_kind.get(kind, [])), key=lambda p: p[1].start
    )
    if not intervals:
        return []
    rows = []
    for kind, iv in intervals:
        start = iv.start / 1e9
        end = iv.end / 1e9 if iv.end is not None else None
        swatch = f'<span style="background:{FAULT_COLORS[kind]}">&nbsp;{escape(kind)}&nbsp;</span>'
        rows.append(
            [
                (swatch, ""),
                f"{start:.2f}",
                f"{end:.2f}" if end is not None else "never ended",
                f"{end - start:.1f}" if end is not None else "until the end",
                ("<code>" + escape(compact(iv.effect, 300)) + "</code>", ""),
            ]
        )
    return ["<h2>Kills and pauses</h2>", _table(["fault", "start s", "end s", "length s", "nodes"], rows)]


def _run_links(run_dir: Path, out_dir: Path) -> list[str]:
    """The run's own records: timeline, log, node logs. A record the run has but ``out_dir``
    lacks (a challenge's results/ keeps only small ones) is named with where it is, unlinked."""
    links = []
    for name, what in (
        ("timeline.html", "every operation, per process"),
        ("jepsen.log", "the run's log, operations included"),
    ):
        if (out_dir / name).is_file():
            links.append(f'<a href="{name}">{name}</a> ({escape(what)})')
        elif run_dir != out_dir and (run_dir / name).is_file():
            size = (run_dir / name).stat().st_size / 1e6
            links.append(
                f"{name} ({escape(what)}): not copied here ({size:.1f} MB); in the run's store "
                f"directory, {escape(run_dir.parent.name)}/{escape(run_dir.name)}/{name}"
            )
    logs = sorted((out_dir / "node-logs").glob("*.log")) if (out_dir / "node-logs").is_dir() else []
    if logs:
        links.append(
            "node logs (stderr): "
            + " ".join(f'<a href="node-logs/{escape(p.name)}">{escape(p.stem)}</a>' for p in logs)
        )
    if not links:
        return []
    return ["<h2>Run records</h2><ul>", *(f"<li>{link}</li>" for link in links), "</ul>"]


def write_report(run_dir: Path, out_dir: Path | None = None, history: list[Op] | None = None) -> Path:
    """Write ``index.html`` (and ``messages.svg`` from the journal, if any) for the run in ``run_dir``.

    Data is read from ``run_dir``; the files go to ``out_dir`` (default ``run_dir``), and the page
    links only files present in ``out_dir``. Returns the path of index.html. ``history``: the
    run's ops when the caller has them (the runner), instead of reading history.edn back.
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    results = load_results(run_dir)
    test = _load_test(run_dir)
    if history is None:
        history = _load_history(run_dir)
    journal = run_dir / "net-journal.jsonl"
    if journal.is_file():
        write_messages_svg(
            journal, out_dir / "messages.svg", title=f"{test.get('workload', '')} {run_dir.name}".strip()
        )
    elif (
        run_dir != out_dir
        and (run_dir / "messages.svg").is_file()
        and not (out_dir / "messages.svg").exists()
    ):
        (out_dir / "messages.svg").write_bytes((run_dir / "messages.svg").read_bytes())
    index = out_dir / "index.html"
    index.write_text(_render_page(run_dir, out_dir, results, test, history), encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    """``report RUN_DIR...``: write each run's index.html; 0 when every one was written."""
    parser = argparse.ArgumentParser(prog="harness report", description="Write index.html for stored runs.")
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--out", type=Path, default=None, help="write into this directory instead (one run only)"
    )
    args = parser.parse_args(argv)
    if args.out is not None and len(args.run_dirs) != 1:
        parser.error("--out takes exactly one RUN_DIR")
    status = 0
    for run_dir in args.run_dirs:
        if not run_dir.is_dir():
            print(f"not a directory: {run_dir}", file=sys.stderr)
            status = 254
            continue
        print(write_report(run_dir.resolve(), args.out))
    return status


if __name__ == "__main__":
    sys.exit(main())
