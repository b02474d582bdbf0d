"""``maelstrom serve``: browse store/ over HTTP with the standard library (as ``maelstrom serve``: jepsen-io/jepsen, jepsen/src/jepsen/web.clj).

``/`` is an index of every run under the store (``<store>/<workload>/<timestamp>/``, symlinks
such as ``latest`` skipped), newest first: workload, time, verdict, the workload's key figures
(``Workload.summarize`` of the stored result), the test's parameters, and links to the run's
report and files, and a zip of the run (``<run>.zip``, streamed), ``PAGE_SIZE`` runs a page
(``?page=N``). Every other path is a file or directory under the store, served as is by
``http.server`` (which refuses paths outside it). The default address is 127.0.0.1:8080: unlike
Maelstrom's 0.0.0.0 it does not publish every run to the whole network.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import html
import json
import os
import sys
import urllib.parse
import zipfile
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "PAGE_SIZE",
    "PageNotFound",
    "RunEntry",
    "index_html",
    "main",
    "make_server",
    "run_dirs",
    "runs",
    "serve",
]

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


def run_dirs(store: str | Path) -> list[Path]:
    """Every run directory under ``store``, newest first (symlinks such as ``latest`` skipped).

    Ordered by the time in the directory's name, so nothing inside a run is read: the index
    reads results only for the runs on the page it shows."""
    store = Path(store)
    found = []
    if store.is_dir():
        for workload in sorted(store.iterdir()):
            if workload.is_symlink() or not workload.is_dir():
                continue
            for run in workload.iterdir():
                if run.is_dir() and not run.is_symlink() and (run / "test.json").exists():
                    found.append(run)
    epoch = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    found.sort(key=lambda r: (_parse_time(r.name) or epoch, str(r.relative_to(store))), reverse=True)
    return found


def runs(store: str | Path, start: int = 0, stop: int | None = None) -> list[RunEntry]:
    """The runs under ``store``, newest first; ``start``/``stop`` slice them before any is read."""
    store = Path(store)
    return [_run_entry(store, run) for run in run_dirs(store)[start:stop]]


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


#: runs per index page (Jepsen's web page shows 128)
PAGE_SIZE = 100


class PageNotFound(ValueError):
    """A ``?page=`` that is not a page of the index."""


def _page_links(page: int, pages: int) -> str:
    """Newer/older and numbered links; with many pages, the first, the last and a few around."""
    if pages <= 1:
        return ""
    shown = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    parts = []
    if page > 1:
        parts.append(f'<a href="?page={page - 1}" rel="prev">newer</a>')
    last = 0
    for n in shown:
        if n > last + 1:
            parts.append("…")
        parts.append(f"<b>{n}</b>" if n == page else f'<a href="?page={n}">{n}</a>')
        last = n
    if page < pages:
        parts.append(f'<a href="?page={page + 1}" rel="next">older</a>')
    return f'<p class="pages">Page {page} of {pages}: {" ".join(parts)}</p>'


def index_html(store: str | Path, page: int = 1, page_size: int = PAGE_SIZE) -> str:
    """Page ``page`` (from 1) of the index, ``page_size`` runs a page, newest first."""
    all_runs = run_dirs(store)
    pages = max(1, -(-len(all_runs) // page_size))
    if not 1 <= page <= pages:
        raise PageNotFound(f"No page {page}: the index has {pages} page{'' if pages == 1 else 's'}")
    entries = runs(store, (page - 1) * page_size, page * page_size)
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
        links += f' <a href="{href[:-1]}.zip" download>zip</a>'

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
    pager = _page_links(page, pages)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Maelstrom runs</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }}
td.params {{ color: #555; font-size: 12px; }}
</style></head>
<body><h1>Maelstrom runs</h1><p>{len(all_runs)} run{"" if len(all_runs) == 1 else "s"} in {html.escape(str(Path(store).resolve()))}</p>
{pager}{body}{pager}
</body></html>
"""


class _Handler(SimpleHTTPRequestHandler):
    store: Path

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            return self._index(url.query)
        if url.path.endswith(".zip"):
            run = self._run_dir(url.path[: -len(".zip")])
            if run is None:
                return self.send_error(404, "No such run directory under the store")
            return self._zip(run)
        super().do_GET()

    def _index(self, query: str) -> None:
        values = urllib.parse.parse_qs(query).get("page", ["1"])
        try:
            page = int(values[-1])
        except ValueError:
            return self.send_error(400, f"page must be a whole number, not {values[-1]!r}")
        try:
            data = index_html(self.store, page).encode("utf-8")
        except PageNotFound as e:
            return self.send_error(404, str(e))
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _run_dir(self, url_path: str) -> Path | None:
        """The run directory ``url_path`` names, or None if it is not one inside the store."""
        path = Path(self.translate_path(url_path)).resolve()  # translate_path drops ".." parts
        if not path.is_relative_to(self.store) or not path.is_dir() or path.parent == self.store:
            return None
        return path if (path / "test.json").is_file() else None

    def _zip(self, run: Path) -> None:
        """Stream ``run`` as a zip, built as it is sent (no Content-Length; HTTP/1.0 ends the
        body by closing). Everything is in it, node-data/ journals too (the nodes' durable state,
        at most 0.6 MB on the reference runs, which is what one needs to see a lost write);
        symlinks are left out, so nothing outside the store can be read through one."""
        rel = run.relative_to(self.store)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        name = "-".join(rel.parts).replace('"', "")
        self.send_header("Content-Disposition", f'attachment; filename="{name}.zip"')
        self.end_headers()
        # wfile has no tell(), so zipfile writes each entry's sizes after its data (streamable)
        with zipfile.ZipFile(self.wfile, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for root, dirs, files in os.walk(run):
                dirs.sort()
                for f in sorted(files):
                    path = Path(root) / f
                    if not path.is_symlink() and path.is_file():
                        zf.write(path, (rel / path.relative_to(run)).as_posix())

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
