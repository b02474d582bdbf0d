"""linear.svg: a picture of why one key of a lin-kv run is not linearizable (as Knossos's).

One track per process; each operation concurrent with the failure is a bar from its invocation
to its completion (ok blue, crashed orange running to the right edge; the op that could not be
linearized outlined in pink). Time is compressed: the x axis is the rank of the invocation and
completion events, so the order of events is exact while idle gaps take no room. Each final path
(a register state the search reached, then pending ops in some order, then the failing op) is a
line through the ops it applies, black while legal and pink at the illegal step, and is spelled
out under the tracks with the state after every step; hovering a path highlights it.

Also :func:`write_independent`: Maelstrom's ``independent/<key>/`` files for every key of a run
(``history.edn`` and ``results.edn``; ``linear.svg`` for the invalid ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from harness.checkers import linearizable
from harness.edn import pr, results_to_edn, write_history
from harness.history import Op

__all__ = ["render_linear_svg", "write_independent"]

OK_COLOUR, CRASHED_COLOUR, ILLEGAL_COLOUR, LEGAL_COLOUR = "#6DB6FE", "#FFAA26", "#FF1E90", "#000000"
MAX_OPS = 60
_TRACK_H, _BAR_H, _LEFT, _COL_W, _TOP, _LINE_H = 28, 20, 90, 26, 40, 18


def _label(f: str, value: Any) -> str:
    if f == "read":
        return f"r {pr(value)}"
    if f == "write":
        return f"w {pr(value)}"
    if f == "cas" and isinstance(value, (list, tuple)) and len(value) == 2:
        return f"cas {pr(value[0])}→{pr(value[1])}"
    return f"{f} {pr(value)}"


def _model_text(model: Any) -> str:
    if isinstance(model, linearizable.Inconsistent):
        return model.msg
    if isinstance(model, linearizable.CASRegister):
        return pr(model.value)
    return str(model)


def render_linear_svg(key: Any, history: Sequence[Op], result: Mapping[str, Any]) -> str:
    """The SVG text for one invalid key: ``history`` is the key's (unwrapped) history and
    ``result`` its :func:`harness.checkers.linearizable.check` result."""
    final: Op = result["op"]
    calls, _ = linearizable.prepare(history)
    by_index = {c.invoke.index: c for c in calls}
    by_index.update({c.completion.index: c for c in calls if c.completion is not None})
    failing = by_index.get(final.index)
    end_pos = failing.ret_pos if failing is not None else len(history)
    # the ops to draw: those in the final paths, then everything still open at the failure
    shown: dict[int, linearizable.Call] = {}
    for path in result.get("final-paths") or ():
        for stepped in path:
            op = stepped.get("op")
            if op is not None and op.index in by_index:
                c = by_index[op.index]
                shown[c.invoke.index] = c
    for c in calls:
        if len(shown) >= MAX_OPS:
            break
        if c.call_pos <= (end_pos or 0) and (c.ret_pos is None or c.ret_pos >= (end_pos or 0)):
            shown.setdefault(c.invoke.index, c)
    prev = result.get("previous-ok")
    if prev is not None and prev.index in by_index:
        c = by_index[prev.index]
        shown.setdefault(c.invoke.index, c)
    ops = sorted(shown.values(), key=lambda c: c.call_pos)
    # compressed time: ranks of the events we draw
    times = sorted({c.call_pos for c in ops} | {c.ret_pos for c in ops if c.ret_pos is not None})
    rank = {t: i for i, t in enumerate(times)}
    right = _LEFT + _COL_W * (len(times) + 1)
    processes = sorted({c.invoke.process for c in ops})
    track = {p: i for i, p in enumerate(processes)}
    centre: dict[int, tuple[float, float]] = {}
    parts: list[str] = []
    for c in ops:
        x0 = _LEFT + _COL_W * rank[c.call_pos]
        x1 = right if c.ret_pos is None else _LEFT + _COL_W * rank[c.ret_pos] + _COL_W * 0.8
        y = _TOP + _TRACK_H * track[c.invoke.process]
        colour = CRASHED_COLOUR if c.crashed else OK_COLOUR
        stroke = f' stroke="{ILLEGAL_COLOUR}" stroke-width="3"' if c is failing else ""
        tip = f"{c.shown().type} {_label(c.f, c.value)} · process {c.invoke.process} · index {c.invoke.index}"
        if c.completion is not None:
            tip += f"–{c.completion.index}"
        parts.append(
            f'<rect x="{x0:.0f}" y="{y}" width="{max(x1 - x0, 8):.0f}" height="{_BAR_H}" rx="3" '
            f'fill="{colour}"{stroke}><title>{escape(tip)}</title></rect>'
            f'<text x="{x0 + 4:.0f}" y="{y + 14}" class="op">{escape(_label(c.f, c.value))}</text>'
        )
        centre[c.invoke.index] = (x0 + min(x1 - x0, 60) / 2, y + _BAR_H / 2)
        if c.completion is not None:
            centre[c.completion.index] = centre[c.invoke.index]
    tracks_h = _TOP + _TRACK_H * len(processes)
    for p, i in track.items():
        y = _TOP + _TRACK_H * i
        parts.insert(0, f'<text x="8" y="{y + 14}" class="proc">process {escape(str(p))}</text>')
        parts.insert(
            0, f'<line x1="{_LEFT}" y1="{y + _BAR_H / 2}" x2="{right}" y2="{y + _BAR_H / 2}" class="track"/>'
        )
    lines: list[str] = []
    longest = 0
    text_y = tracks_h + 30
    for n, path in enumerate(result.get("final-paths") or ()):
        pts = [centre.get(s["op"].index) if s.get("op") is not None else None for s in path]
        segs = []
        words = [f"path {n + 1}:"]
        if path:
            first = path[0]
            start = f"register {_model_text(first['model'])}"
            op = first.get("op")
            words.append(f"after {_label(op.f, op.value)}, {start}" if op is not None else f"from {start}")
        for j in range(1, len(path)):
            s = path[j]
            illegal = isinstance(s["model"], linearizable.Inconsistent)
            colour = ILLEGAL_COLOUR if illegal else LEGAL_COLOUR
            a, b = pts[j - 1], pts[j]
            if a is not None and b is not None:
                segs.append(
                    f'<line x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" stroke="{colour}"/>'
                )
            after = f"✗ {_model_text(s['model'])}" if illegal else _model_text(s["model"])
            words.append(f"· {_label(s['op'].f, s['op'].value)} ⇒ {after}")
        longest = max(longest, len(" ".join(words)))
        lines.append(
            f'<g class="path">{"".join(segs)}<text x="8" y="{text_y}" class="pathtext">'
            f"{escape(' '.join(words))}</text></g>"
        )
        text_y += _LINE_H
    legend_y = text_y + 14
    legend = (
        f'<g class="legend"><line x1="8" y1="{legend_y}" x2="28" y2="{legend_y}" stroke="{LEGAL_COLOUR}"/>'
        f'<text x="32" y="{legend_y + 4}">Legal</text>'
        f'<line x1="80" y1="{legend_y}" x2="100" y2="{legend_y}" stroke="{ILLEGAL_COLOUR}"/>'
        f'<text x="104" y="{legend_y + 4}">Illegal</text>'
        f'<rect x="160" y="{legend_y - 7}" width="20" height="14" fill="{CRASHED_COLOUR}"/>'
        f'<text x="184" y="{legend_y + 4}">Crashed Op</text>'
        f'<rect x="270" y="{legend_y - 7}" width="20" height="14" fill="{OK_COLOUR}"/>'
        f'<text x="294" y="{legend_y + 4}">OK Op</text></g>'
    )
    title = f"key {pr(key)}: no linearization reaches {_label(final.f, final.value)} (process {final.process}, index {final.index})"
    width = max(right + 20, 16 + 7 * len(title), 16 + 7 * longest, 640)
    height = legend_y + 20
    style = (
        "<style>text{font:12px sans-serif}.op{font-size:11px}.title{font-weight:bold}"
        ".track{stroke:#ddd}.path line{stroke-width:2;opacity:.6}"
        ".path:hover line{stroke-width:4;opacity:1}.path:hover text{font-weight:bold}</style>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">{style}'
        f'<text x="8" y="20" class="title">{escape(title)}</text>'
        + "".join(parts)
        + "".join(lines)
        + legend
        + "</svg>\n"
    )


def write_independent(run_dir: Path, history: Sequence[Op], result: Mapping[str, Any]) -> list[Path]:
    """``independent/<key>/{history.edn,results.edn}`` per key, ``linear.svg`` per invalid key.

    Returns the linear.svg paths written. A key is a directory name as its EDN text.
    """
    written = []
    subs = linearizable.subhistories(history)
    for k, key_result in (result.get("results") or {}).items():
        ops = subs.get(k)
        if ops is None:
            continue
        out = Path(run_dir) / "independent" / _dirname(k)
        out.mkdir(parents=True, exist_ok=True)
        write_history(ops, out)
        (out / "history.txt").unlink(missing_ok=True)
        (out / "results.edn").write_text(results_to_edn(key_result), encoding="utf-8")
        lin = key_result.get("linearizable") or {}
        if lin.get("valid?") is False and lin.get("op") is not None:
            svg = out / "linear.svg"
            svg.write_text(render_linear_svg(k, ops, lin), encoding="utf-8")
            written.append(svg)
    return written


def _dirname(key: Any) -> str:
    name = key if isinstance(key, str) else pr(key)
    return name.replace("/", "_") or "_"
