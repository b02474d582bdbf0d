"""``maelstrom serve``: browse store/ over HTTP with the standard library (maelstrom-more.md §4.6).

``/`` is an index of every run under the store (``<store>/<workload>/<timestamp>/``, symlinks
such as ``latest`` skipped), newest first: workload, time, verdict, the workload's key figures
(``Workload.summarize`` of the stored result), the test's parameters, and links to the run's
report and files. Every other path is a file or directory under the store, served as is by
``http.server`` (which refuses paths outside it). The default address is 127.0.0.1:8080: unlike
Maelstrom's 0.0.0.0 it does not publish every run to the whole network.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import html
import json
import sys
import urllib.parse
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["RunEntry", "index_html", "main", "make_server", "runs", "serve"]

VERDICT_COLORS = {True: "#6DB6FE", "unknown": "#FFAA26", False: "#FEB5DA"}
#: test.json parameters shown in the index, in this order
PARAMETERS = ("node-count", "concurrency", "rate", "time-limit", "latency", "nemesis", "nemesis-interval",
              "availability", "topology", "seed")  # fmt: skip
#: the run's files the index links, when they exist
FILES = (
    "index.html",
    "results.edn",
    "history.txt",
    "jepsen.log",
    "timeline.html",
    "messages.svg",
    "node-logs",
)


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One run directory as the index shows it."""

    path: Path  # relative to the store
    workload: str
    time: datetime.datetime | None
    verdict: Any  # True, False, "unknown" or "incomplete"
    figures: tuple[str, ...]
    parameters: dict[str, Any]
    files: tuple[str, ...]


def _parse_time(name: str) -> datetime.datetime | None:
    for fmt in ("%Y%m%dT%H%M%S.%f%z", "%Y%m%dT%H%M%S%z"):
        try:
            return datetime.datetime.strptime(name, fmt)
        except ValueError:
            continue
    return None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


#: the runner-wide figures the index shows after the workload's own
_COMMON_FIGURES = ("ops", "availability", "server-msgs-per-op")


def _figures(workload: str, results: dict[str, Any], test: dict[str, Any]) -> tuple[str, ...]:
    """The workload's key figures (``Workload.summarize``), then ops, availability, msgs/op."""
    from harness.checkers.core import WORKLOAD, summarize
    from harness.workloads import REGISTRY

    cls = REGISTRY.get(workload)
    try:
        summaries = summarize(results, cls.summarize if cls is not None else None, test)
    except Exception as e:  # a summary that cannot read an old result costs its figures only
        return (f"(no summary: {type(e).__name__})",)
    figures = list(summaries[WORKLOAD].figures) if WORKLOAD in summaries else []
    for name, summary in summaries.items():
        if name != WORKLOAD:
            figures += [f for f in summary.figures if f.key in _COMMON_FIGURES and f.value is not None]
    return tuple(f.text() for f in figures)


def _run_entry(store: Path, run: Path) -> RunEntry:
    test = _load_json(run / "test.json")
    test = test if isinstance(test, dict) else {}
    results = _load_json(run / "results.json")
    if isinstance(results, dict):
        verdict = results.get("valid?", "unknown")
        figures = _figures(run.parent.name, results, test)
    else:
        verdict, figures = "incomplete", ()
    parameters = {k: test[k] for k in PARAMETERS if test.get(k) not in (None, [], "")}
    files = tuple(f for f in FILES if (run / f).exists())
    return RunEntry(
        run.relative_to(store), run.parent.name, _parse_time(run.name), verdict, figures, parameters, files
    )


def runs(store: str | Path) -> list[RunEntry]:
    """Every run directory under ``store``, newest first (symlinks such as ``latest`` skipped)."""
    store = Path(store)
    found = []
    if store.is_dir():
        for workload in sorted(store.iterdir()):
            if workload.is_symlink() or not workload.is_dir():
                continue
            for run in workload.iterdir():
                if run.is_dir() and not run.is_symlink() and (run / "test.json").exists():
                    found.append(_run_entry(store, run))
    epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    found.sort(key=lambda e: (e.time or epoch, str(e.path)), reverse=True)
    return found


def _param_text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _verdict(value: Any) -> tuple[str, str]:
    if value is True:
        return "valid", VERDICT_COLORS[True]
    if value is False:
        return "invalid", VERDICT_COLORS[False]
    if value == "unknown":
        return "unknown", VERDICT_COLORS["unknown"]
    return str(value), "#eaeaea"


def index_html(store: str | Path) -> str:
    entries = runs(store)
    rows = []
    for e in entries:
        href = urllib.parse.quote(e.path.as_posix()) + "/"
        verdict, color = _verdict(e.verdict)
        when = e.time.strftime("%Y-%m-%d %H:%M:%S") if e.time else e.path.name
        links = " ".join(
            f'<a href="{href}{urllib.parse.quote(f)}{"/" if f == "node-logs" else ""}">'
            f"{'report' if f == 'index.html' else html.escape(f)}</a>"
            for f in e.files
        )
        params = "<br>".join(
            f"{html.escape(k)} {html.escape(_param_text(v))}" for k, v in e.parameters.items()
        )
        figures = "<br>".join(html.escape(f) for f in e.figures)
        rows.append(
            f'<tr><td><a href="{href}">{html.escape(e.workload)}</a></td>'
            f"<td>{html.escape(when)}</td>"
            f'<td class="verdict" style="background:{color}">{html.escape(verdict)}</td>'
            f'<td>{figures}</td><td class="params">{params}</td><td>{links}</td></tr>'
        )
    body = (
        "<table><thead><tr><th>Workload</th><th>Time (UTC)</th><th>Valid?</th><th>Key figures</th>"
        f"<th>Parameters</th><th>Files</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else f"<p>No runs in {html.escape(str(store))} yet.</p>"
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Maelstrom runs</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }}
td.params {{ color: #555; font-size: 12px; }}
</style></head>
<body><h1>Maelstrom runs</h1><p>{len(entries)} run{"" if len(entries) == 1 else "s"} in {html.escape(str(Path(store).resolve()))}</p>
{body}
</body></html>
"""


class _Handler(SimpleHTTPRequestHandler):
    store: Path

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path in ("/", "/index.html"):
            data = index_html(self.store).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def guess_type(self, path: Any) -> str:
        name = str(path)
        if name.endswith((".log", ".edn", ".txt", ".jsonl")):
            return "text/plain; charset=utf-8"
        return super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(store: str | Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for ``store`` (not yet serving: call ``serve_forever``). Port 0 picks one."""
    store = Path(store).resolve()
    handler = type("Handler", (_Handler,), {"store": store})
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(store)))


def serve(store: str | Path, host: str = "127.0.0.1", port: int = 8080) -> int:
    try:
        server = make_server(store, host, port)
    except OSError as e:
        print(f"Cannot listen on {host}:{port}: {e.strerror}", file=sys.stderr)
        return 255
    shown = f"[{host}]" if ":" in host else host
    print(
        f"Listening on http://{shown}:{server.server_address[1]}/ (serving {Path(store).resolve()})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="maelstrom serve", description="Browse the runs under the store.")
    parser.add_argument(
        "-p", "--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)"
    )
    parser.add_argument("-b", "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--store", default="store", help="the store directory (default ./store)")
    args = parser.parse_args(argv)
    return serve(args.store, args.host, args.port)
