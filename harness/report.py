"""index.html: one small, self-contained page per run that says what happened and why.

``write_report(run_dir)`` reads what a run left in ``store/<workload>/<ts>/`` (results.json or
results.edn, test.json, history.edn, net-journal.jsonl) and writes ``index.html`` (inline CSS, no
script, no external URL) plus ``messages.svg`` when a journal is there. The page holds: the
verdict and the reasons for it, the test parameters, stats by f, availability, net counts and
msgs-per-op, the workload checker's findings (truncated), latency quantiles per f, partition
intervals, the plots, and links to the raw files beside it.

Every part is optional: a run without results.edn (a crashed run) still gets a page saying so,
and a committed ``results/`` copy without history or journal keeps what was rendered from them
(pass ``out_dir`` to render from the store run into the copy).

CLI: ``python -m harness report RUN_DIR...`` (``main(argv)``, argv without ``report``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from harness.history import NEMESIS, UNKNOWN, Keyword, Op

__all__ = [
    "compute_latencies",
    "key_findings",
    "load_results",
    "main",
    "partition_intervals",
    "verdict_label",
    "write_report",
]

QUANTILES = (0.5, 0.95, 0.99, 1.0)
#: checkers in Maelstrom's results.edn order; others follow in their own order
CHECKER_ORDER = ("workload", "stats", "availability", "exceptions", "net", "perf", "timeline")
PLOTS = ("latency-raw.png", "latency-quantiles.png", "rate.png")
#: a stats f that never succeeds but does not fail the run (Maelstrom's stats wrapper)
STATS_IGNORED_FS = frozenset(("crash", "debug-topic-partitions"))
MAX_LIST_ITEMS = 10
MAX_TEXT = 400
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
        from harness.edn import read_results, results_to_json

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
    from harness.edn import read_history, stored

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


def _quantile(sorted_xs: list[float], q: float) -> float:
    # Jepsen's rule: element min(n-1, floor(n*q)) of the sorted sample
    return sorted_xs[min(len(sorted_xs) - 1, int(len(sorted_xs) * q))]


def compute_latencies(history: Iterable[Op]) -> list[dict[str, Any]]:
    """Latency quantiles (ms) per (f, completion type) of client ops, from a history."""
    pending: dict[Any, Op] = {}
    samples: dict[tuple[str, str], list[float]] = {}
    for op in history:
        if not op.is_client:
            continue
        if op.type == "invoke":
            pending[op.process] = op
            continue
        inv = pending.pop(op.process, None)
        if inv is None:
            continue
        samples.setdefault((str(inv.f), op.type), []).append((op.time - inv.time) / 1e6)
    rows = []
    for (f, typ), xs in sorted(samples.items()):
        xs.sort()
        rows.append({"f": f, "type": typ, "count": len(xs), **{str(q): _quantile(xs, q) for q in QUANTILES}})
    return rows


def partition_intervals(history: Iterable[Op]) -> list[dict[str, Any]]:
    """Partition intervals from nemesis ops: start (s), end (s or None if never healed), grudge.

    An interval runs from the first ``start-partition`` op to the last ``stop-partition`` op after
    it (the completion, by which the network is healed): the widest window a partition may be in.
    """
    intervals: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for op in history:
        if op.process != NEMESIS:
            continue
        if op.f == "start-partition":
            if current is None:
                current = {"start": op.time / 1e9, "end": None, "mode": None, "grudge": None}
                intervals.append(current)
            # the first op names the mode, its completion carries the grudge actually applied
            if current["mode"] is None:
                current["mode"] = op.value
            elif op.value is not None:
                current["grudge"] = op.value
        elif op.f == "stop-partition" and intervals:
            intervals[-1]["end"] = op.time / 1e9
            current = None
    return intervals


def _valid(result: Any) -> Any:
    return result.get("valid?", True) if isinstance(result, Mapping) else True


def _plain(value: Any) -> Any:
    """History values (keywords, sets) as JSON-able data: ``:name`` strings and sorted lists."""
    if isinstance(value, Keyword):
        return f":{value.name}"
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=str)
    return value


def _compact(value: Any, limit: int = MAX_TEXT) -> str:
    try:
        text = json.dumps(_plain(value), ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: Any, limit: int = 300) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _workload_findings(w: Mapping[str, Any]) -> list[str]:
    """One-line findings of a workload result, by the keys its checker writes."""
    out: list[str] = []
    if "lost-count" in w:  # broadcast / g-set (set-full)
        out.append(
            f"lost {w.get('lost-count')} of {w.get('attempt-count')} attempted, "
            f"stable {w.get('stable-count')}, never read {w.get('never-read-count')}, "
            f"stale {w.get('stale-count')}"
        )
        if w.get("lost"):
            out.append(f"lost values: {_compact(w['lost'][:20], 200)}")
        if w.get("duplicated-count"):
            out.append(f"duplicated: {w.get('duplicated-count')}")
    if "duplicated-count" in w and "acknowledged-count" in w:  # unique-ids
        out.append(
            f"{w.get('duplicated-count')} duplicated ids among {w.get('acknowledged-count')} acknowledged"
            + (f", e.g. {_compact(w.get('duplicated'), 150)}" if w.get("duplicated") else "")
        )
    if "final-reads" in w:  # g-counter / pn-counter
        out.append(
            f"final reads {_compact(w.get('final-reads'), 150)}, acceptable {_compact(w.get('acceptable'), 150)}"
        )
    if "anomaly-types" in w:  # txn (Elle)
        types = w.get("anomaly-types") or []
        out.append("anomalies: " + (", ".join(map(str, types)) if types else "none"))
    if "bad-error-types" in w:  # kafka
        bad = w.get("bad-error-types") or []
        counts = [f"{t} ({w[t].get('count')})" for t in bad if isinstance(w.get(t), Mapping)]
        out.append("bad error types: " + (", ".join(counts or map(str, bad)) if bad else "none"))
    if "failures" in w:  # lin-kv (independent)
        out.append(f"failing keys: {_compact(w.get('failures'), 200)}")
    if "errors" in w and "final-reads" not in w:  # echo
        errors = w.get("errors") or []
        out.append(f"{len(errors)} errors" + (f", first: {_compact(errors[0], 250)}" if errors else ""))
    if "error" in w:
        out.append(f"checker error: {_first_line(w['error'])}")
    return out


def key_findings(name: str, result: Any, test: Mapping[str, Any] | None = None) -> list[str]:
    """Why checker ``name`` says what it says, as short lines."""
    if not isinstance(result, Mapping):
        return []
    if name == "stats":
        out = []
        for f, s in (result.get("by-f") or {}).items():
            if isinstance(s, Mapping) and s.get("valid?") is not True:
                ignored = " (ignored: never ok by design)" if f in STATS_IGNORED_FS else ""
                out.append(
                    f"no ok ops for {f}: {s.get('count')} completed, {s.get('fail-count')} fail, "
                    f"{s.get('info-count')} info{ignored}"
                )
        return out
    if name == "availability":
        wanted = (test or {}).get("availability")
        want = f" (required: {wanted})" if wanted not in (None, "") else ""
        return [f"ok-fraction {result.get('ok-fraction')}{want}"]
    if name == "workload":
        return _workload_findings(result)
    out = []
    if "error" in result:
        out.append(f"checker error: {_first_line(result['error'])}")
    for sub, r in result.items():
        if isinstance(r, Mapping) and r.get("valid?") is not True and "error" in r:
            out.append(f"{sub}: {_first_line(r['error'])}")
    if not out:  # a checker we know nothing about (e.g. the runner's node faults): show its data
        out = [f"{k}: {_compact(v, 300)}" for k, v in result.items() if k != "valid?"][:5]
    return out


def _ordered_checkers(results: Mapping[str, Any]) -> list[str]:
    names = [k for k in results if k != "valid?" and isinstance(results[k], Mapping)]
    return sorted(names, key=lambda k: (CHECKER_ORDER.index(k) if k in CHECKER_ORDER else 99, names.index(k)))


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
            return f"<code>{escape(_compact(value))}</code>"
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
            shown = _compact(value[:50], MAX_TEXT)
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


def _section_stats(stats: Mapping[str, Any]) -> str:
    rows = [
        [
            f,
            s.get("count"),
            s.get("ok-count"),
            s.get("fail-count"),
            s.get("info-count"),
            _valid_cell(s.get("valid?")),
        ]
        for f, s in (stats.get("by-f") or {}).items()
        if isinstance(s, Mapping)
    ]
    rows.append(
        [
            ("<b>all</b>", ""),
            stats.get("count"),
            stats.get("ok-count"),
            stats.get("fail-count"),
            stats.get("info-count"),
            _valid_cell(stats.get("valid?")),
        ]
    )
    return _table(["f", "count", "ok", "fail", "info", "valid?"], rows)


def _section_net(net: Mapping[str, Any]) -> str:
    cols = ("send-count", "recv-count", "msg-count", "msgs-per-op")
    rows = [
        [part] + [net[part].get(c, "—" if c == "msgs-per-op" else None) for c in cols]
        for part in ("all", "clients", "servers")
        if isinstance(net.get(part), Mapping)
    ]
    html = _table(["traffic", *cols], rows)
    extra = {k: v for k, v in net.items() if k not in ("all", "clients", "servers", "valid?")}
    if extra:
        html += _render(extra)
    return html + "<p class=muted>msgs-per-op = distinct messages / client invocations (init included).</p>"


def _latency_rows_from_results(latencies: Any) -> list[list[Any]]:
    """Rows (label, q0.5, q0.95, q0.99, q1) from results' perf latencies, whatever their nesting."""
    rows: list[list[Any]] = []

    def walk(label: list[str], v: Any) -> None:
        if isinstance(v, Mapping):
            numeric = {k: x for k, x in v.items() if isinstance(x, (int, float)) and not isinstance(x, bool)}
            if numeric and len(numeric) == len(v):
                q = {str(float(k)) if _is_number(k) else str(k): x for k, x in numeric.items()}
                rows.append([" ".join(label) or "all", *(q.get(str(x)) for x in QUANTILES), q.get("count")])
                return
            for k, x in v.items():
                walk([*label, str(k)], x)

    walk([], latencies)
    return rows


def _is_number(k: Any) -> bool:
    try:
        float(k)
        return True
    except (TypeError, ValueError):
        return False


def _section_latency(results: Mapping[str, Any] | None, history: list[Op] | None) -> str:
    perf = (results or {}).get("perf")
    if isinstance(perf, Mapping) and perf.get("latencies"):
        rows = _latency_rows_from_results(perf["latencies"])
        if rows:
            headers = ["f", *(f"q{q:g} ms" for q in QUANTILES), "count"]
            if all(r[-1] is None for r in rows):
                headers, rows = headers[:-1], [r[:-1] for r in rows]
            return _table(headers, rows) + "<p class=muted>Ok ops, from results (perf).</p>"
    if history is None:
        return "<p class=muted>No latencies in results and no history.edn.</p>"
    rows = [
        [r["f"], r["type"], r["count"], *(r[str(q)] for q in QUANTILES)] for r in compute_latencies(history)
    ]
    if not rows:
        return "<p class=muted>No completed client ops.</p>"
    headers = ["f", "outcome", "count", *(f"q{q:g} ms" for q in QUANTILES)]
    return (
        _table(headers, rows, numeric_from=2)
        + "<p class=muted>Completion time minus invocation time, from history.edn "
        "(quantile q = sorted[min(n-1, floor(n·q))]).</p>"
    )


def _section_partitions(history: list[Op] | None) -> str:
    if history is None:
        return "<p class=muted>history.edn not available.</p>"
    intervals = partition_intervals(history)
    if not intervals:
        return "<p>No partitions.</p>"
    rows = []
    for iv in intervals:
        end = iv["end"]
        length = f"{end - iv['start']:.1f}" if end is not None else "until the end"
        rows.append(
            [
                f"{iv['start']:.2f}",
                f"{end:.2f}" if end is not None else "never healed",
                length,
                (escape(_compact(iv["mode"], 60).strip('"')), ""),
                ("<code>" + escape(_compact(iv["grudge"], 300)) + "</code>", ""),
            ]
        )
    return _table(["start s", "end s", "length s", "mode", "grudge (dest: cut-off sources)"], rows)


def _section_exceptions(exc: Mapping[str, Any]) -> str:
    items = exc.get("exceptions") or []
    if not items:
        return "<p>No unhandled exceptions.</p>"
    rows = [
        [e.get("class"), e.get("count"), ("<code>" + escape(_compact(e.get("example"), 500)) + "</code>", "")]
        for e in items[:MAX_LIST_ITEMS]
        if isinstance(e, Mapping)
    ]
    return _table(["class", "count", "example"], rows, numeric_from=1)


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


def _section_linear(out_dir: Path) -> list[str]:
    """Links to lin-kv's pictures of the keys that are not linearizable (independent/<k>/linear.svg)."""
    svgs = sorted(out_dir.glob("independent/*/linear.svg"), key=lambda p: (len(p.parent.name), p.parent.name))
    if not svgs:
        return []
    links = "".join(
        f'<li><a href="{escape(p.relative_to(out_dir).as_posix())}">key {escape(p.parent.name)}</a></li>'
        for p in svgs
    )
    return [
        "<h2>Linearizability failures</h2>",
        f"<p>One picture per key that is not linearizable:</p><ul>{links}</ul>",
    ]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# ----------------------------------------------------------------------------------------------
# The page


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
    ]

    parts.append("<h2>Why</h2>")
    if results is None:
        parts.append(
            "<p class=bad>No results.edn: the run did not reach its checkers (a node crashed, init or "
            "setup failed, or the runner was stopped). See node-logs/.</p>"
        )
    else:
        reasons = []
        for name in _ordered_checkers(results):
            r = results[name]
            v = _valid(r)
            if v is True:
                continue
            lines = key_findings(name, r, test) or ["(no details)"]
            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            reasons.append(
                f'<li><b>{escape(name)}</b>: <span class="{_cls(v)}">{_valid_cell(v)[0]}</span><ul>{items}</ul></li>'
            )
        if reasons:
            parts.append("<ul class=why>" + "".join(reasons) + "</ul>")
        else:
            parts.append("<p class=ok>Every checker is valid.</p>")
        if isinstance(results.get("workload"), Mapping) and valid is True:
            findings = _workload_findings(results["workload"])
            if findings:
                parts.append("<p>Workload: " + escape("; ".join(findings)) + "</p>")
        rows = [[name, _valid_cell(_valid(results[name]))] for name in _ordered_checkers(results)]
        parts.append(_table(["checker", "valid?"], rows))

    parts += ["<h2>Test parameters</h2>", _section_params(test)]

    if results is not None:
        if isinstance(results.get("stats"), Mapping):
            parts += ["<h2>Operations by f</h2>", _section_stats(results["stats"])]
        if isinstance(results.get("availability"), Mapping):
            a = results["availability"]
            parts += [
                "<h2>Availability</h2>",
                f"<p>ok-fraction <b>{_num(a.get('ok-fraction'))}</b> "
                f'(<span class="{_cls(_valid(a))}">{_valid_cell(_valid(a))[0]}</span>'
                + (f", required {escape(str(test['availability']))}" if test.get("availability") else "")
                + ")</p>",
            ]
        if isinstance(results.get("net"), Mapping):
            parts += ["<h2>Network</h2>", _section_net(results["net"])]
        if isinstance(results.get("workload"), Mapping):
            parts += ["<h2>Workload checker</h2>", _render(results["workload"])]
        if isinstance(results.get("exceptions"), Mapping):
            parts += ["<h2>Exceptions</h2>", _section_exceptions(results["exceptions"])]

    parts += ["<h2>Latency</h2>", _section_latency(results, history)]
    parts += ["<h2>Partitions</h2>", _section_partitions(history)]

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

    parts += _elle_links(out_dir)
    parts += _section_linear(out_dir)

    parts.append("<h2>Files</h2><ul>")
    for p in _files(out_dir):
        rel = p.relative_to(out_dir).as_posix()
        parts.append(
            f'<li><a href="{escape(rel)}">{escape(rel)}</a> <span class=muted>{_size(p.stat().st_size)}</span></li>'
        )
    parts.append("</ul></body></html>\n")
    return "\n".join(parts)


def _elle_links(out_dir: Path) -> list[str]:
    """Links to the transactional checker's explanations (elle/<anomaly>.txt and diagrams)."""
    elle = out_dir / "elle"
    texts = sorted(elle.glob("*.txt")) if elle.is_dir() else []
    if not texts:
        return []
    parts = ["<h2>Anomalies explained</h2><ul>"]
    for txt in texts:
        svgs = sorted((elle / txt.stem).glob("*.svg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        drawings = " ".join(
            f'<a href="elle/{escape(txt.stem)}/{escape(p.name)}">#{escape(p.stem)}</a>' for p in svgs
        )
        drawn = f"; drawings {drawings}" if svgs else ""
        parts.append(
            f'<li><a href="elle/{escape(txt.name)}">{escape(txt.stem)}</a>: each case in words{drawn}</li>'
        )
    parts.append("</ul>")
    return parts


def write_report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Write ``index.html`` (and ``messages.svg`` from the journal, if any) for the run in ``run_dir``.

    Data is read from ``run_dir``; the files go to ``out_dir`` (default ``run_dir``), and the page
    links only files present in ``out_dir``. Returns the path of index.html.
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    results = load_results(run_dir)
    test = _load_test(run_dir)
    history = _load_history(run_dir)
    journal = run_dir / "net-journal.jsonl"
    if journal.is_file():
        from harness.svg import write_messages_svg

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
