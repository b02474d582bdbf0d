"""Each cycle anomaly in words and as a drawing.

:func:`explain_text` turns a cycle case (``{"type", "cycle": [ops, first repeated last],
"steps": [step maps]}``, as :func:`harness.checkers.elle.cycles.explain_cycle` builds it) into
the text a person can follow: the transactions named T1..Tn, then one sentence per edge saying
why the first must precede the second, ending in the contradiction. :func:`cycle_svg` draws the
same cycle: one box per transaction (its micro-ops), one labelled arrow per edge, in Elle's edge
colours. Both write under the run's ``elle/`` directory (:func:`write_cycle_files`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from harness.history import Keyword, Op

#: Elle's edge colours (viz.clj)
EDGE_COLOURS = {
    "ww": "#C02700",
    "wr": "#C000A5",
    "rw": "#5B00C0",
    "realtime": "#0050C0",
    "process": "#00C0C0",
}
EDGE_SHORT = {"ww": "ww", "wr": "wr", "rw": "rw", "realtime": "rt", "process": "p"}
#: at most this many cases of one type are written out (all are counted in the result)
MAX_FILES_PER_TYPE = 16


def _name(x: Any) -> str:
    return x.name if isinstance(x, Keyword) else str(x)


def _value(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, Keyword):
        return f":{v.name}"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_value(x) for x in v) + "]"
    if isinstance(v, str) and v.startswith("elle/"):
        return v
    return repr(v) if isinstance(v, str) else str(v)


def mop_text(mop: Any) -> str:
    if isinstance(mop, (list, tuple)) and len(mop) == 3:
        return f"{_name(mop[0])} {_value(mop[1])} {_value(mop[2])}"
    return _value(mop)


def op_text(op: Op) -> str:
    txn = op.value if isinstance(op.value, list) else []
    mops = ", ".join(mop_text(m) for m in txn)
    return f"{{index {op.index}, {op.type}, process {op.process}: [{mops}]}}"


def _init(v: Any) -> bool:
    return v is None or (isinstance(v, Keyword) and v.name.endswith("init"))


def step_sentence(step: Mapping[str, Any], a: str, b: str, verb: str) -> str:
    """Why ``a`` precedes ``b`` (``verb``: "appended" for lists, "wrote" for registers)."""
    kind = _name(step.get("type"))
    k = _value(step.get("key"))
    after = _value(step.get("value'"))
    if kind == "ww":
        return (
            f"{a} < {b}, because {a} {verb} {_value(step.get('value'))} to key {k}, and {b} "
            f"{verb} {after} right after it"
        )
    if kind == "wr":
        return f"{a} < {b}, because {b} observed {a}'s {'append' if verb == 'appended' else 'write'} of {_value(step.get('value'))} to key {k}"
    if kind == "rw":
        before = step.get("value")
        seen = "the initial (empty) state" if _init(before) else f"{_value(before)} as its last element"
        return (
            f"{a} < {b}, because {a} read key {k} with {seen}, and {b} {verb} "
            f"{after} right after that, which {a} did not observe"
        )
    if kind == "realtime":
        done, invoked = step.get("a'"), step.get("b")
        if isinstance(done, Op) and isinstance(invoked, Op):
            gap = (invoked.time - done.time) / 1e9
            when = f"{gap:.3f} s before" if gap > 0 else "just before"  # clocks are approximate
            return (
                f"{a} < {b}, because {a} completed (index {done.index}) {when} {b} was invoked "
                f"(index {invoked.index}): real-time order"
            )
        return f"{a} < {b}, because {a} completed before {b} was invoked (real time)"
    if kind == "process":
        return f"{a} < {b}, because process {step.get('process')} executed {a} before {b}"
    return f"{a} < {b} ({kind})"


def explain_text(case: Mapping[str, Any], verb: str = "appended", title: str = "") -> str:
    ops: list[Op] = list(case["cycle"])
    steps = list(case["steps"])
    n = len(ops) - 1
    names = [f"T{i + 1}" for i in range(n)] + ["T1"]
    lines = [title] if title else []
    lines.append("Let:")
    for i in range(n):
        lines.append(f"  {names[i]} = {op_text(ops[i])}")
    lines.append("")
    lines.append("Then:")
    for i, step in enumerate(steps):
        sentence = step_sentence(step, names[i], names[i + 1], verb)
        lines.append(f"  - {sentence}.")
    lines.append(f"  - However, {names[0]} < {names[0]} follows from these: a contradiction!")
    return "\n".join(lines)


def _inside(half_w: float, half_h: float, dx: float, dy: float) -> float:
    fx = half_w / abs(dx) if dx else math.inf
    fy = half_h / abs(dy) if dy else math.inf
    return min(0.45, fx, fy)


def cycle_svg(case: Mapping[str, Any], title: str = "") -> str:
    """The cycle as an SVG: transaction boxes on a circle, arrows labelled ww/wr/rw/rt/p."""
    ops: list[Op] = list(case["cycle"])[:-1]
    steps = list(case["steps"])
    n = len(ops)
    box_w, line_h = 230, 16
    heights = [line_h * (1 + len(op.value if isinstance(op.value, list) else [])) + 8 for op in ops]
    radius = max(120, 60 * n)
    cx, cy = radius + box_w / 2 + 20, radius + max(heights) / 2 + 40
    width, height = int(2 * cx), int(2 * cy)
    pos = [
        (cx + radius * math.sin(2 * math.pi * i / n), cy - radius * math.cos(2 * math.pi * i / n))
        for i in range(n)
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
        "<defs>",
    ]
    for kind, colour in EDGE_COLOURS.items():
        out.append(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    if title:
        out.append(f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>')
    for i, step in enumerate(steps):
        kind = _name(step.get("type"))
        colour = EDGE_COLOURS.get(kind, "#444444")
        j = (i + 1) % n
        (x1, y1), (x2, y2) = pos[i], pos[j]
        dx, dy = x2 - x1, y2 - y1
        # leave the source box and stop at the target box: the fraction of the centre-to-centre
        # segment that lies inside a box of half-size (w, h) is min(w/|dx|, h/|dy|)
        t1 = _inside(box_w / 2 + 4, heights[i] / 2 + 4, dx, dy)
        t2 = _inside(box_w / 2 + 4, heights[j] / 2 + 4, dx, dy)
        sx, sy = x1 + dx * t1, y1 + dy * t1
        ex, ey = x2 - dx * t2, y2 - dy * t2
        out.append(
            f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="{colour}" '
            f'stroke-width="2" marker-end="url(#arrow-{kind})"/>'
        )
        label = EDGE_SHORT.get(kind, kind)
        if step.get("key") is not None:
            label += f" {_value(step.get('key'))}"
        mx, my = (sx + ex) / 2, (sy + ey) / 2
        out.append(f'<text x="{mx + 4:.1f}" y="{my - 4:.1f}" fill="{colour}">{escape(label)}</text>')
    for i, op in enumerate(ops):
        x, y = pos[i]
        h = heights[i]
        fill = {"ok": "#6DB6FE", "info": "#FFAA26", "fail": "#FEB5DA"}.get(op.type, "#eeeeee")
        out.append(
            f'<rect x="{x - box_w / 2:.1f}" y="{y - h / 2:.1f}" width="{box_w}" height="{h}" rx="4" '
            f'fill="{fill}" fill-opacity="0.35" stroke="#333333"/>'
        )
        ty = y - h / 2 + line_h
        out.append(
            f'<text x="{x - box_w / 2 + 6:.1f}" y="{ty:.1f}" font-weight="bold">'
            f"T{i + 1} (index {op.index}, p{op.process})</text>"
        )
        for m in op.value if isinstance(op.value, list) else []:
            ty += line_h
            out.append(f'<text x="{x - box_w / 2 + 6:.1f}" y="{ty:.1f}">{escape(mop_text(m))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_cycle_files(anomalies: Mapping[str, Any], directory: Path, verb: str = "appended") -> list[Path]:
    """``<type>.txt`` (every case explained) and ``<type>/<i>.svg`` for each concrete-cycle type."""
    written: list[Path] = []
    for anomaly, cases in sorted(anomalies.items()):
        if not isinstance(cases, list) or not cases or "steps" not in cases[0] or "cycle" not in cases[0]:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        shown = cases[:MAX_FILES_PER_TYPE]
        text = "\n\n\n".join(explain_text(c, verb, f"{anomaly} #{i}") for i, c in enumerate(shown))
        if len(cases) > len(shown):
            text += f"\n\n\n({len(cases) - len(shown)} more {anomaly} cases not written)"
        txt = directory / f"{anomaly}.txt"
        txt.write_text(text + "\n")
        written.append(txt)
        sub = directory / anomaly
        sub.mkdir(exist_ok=True)
        for i, case in enumerate(shown):
            svg = sub / f"{i}.svg"
            svg.write_text(cycle_svg(case, f"{anomaly} #{i}"))
            written.append(svg)
    return written


def _at(op: Any) -> str:
    return (
        f"the txn at index {op.index} (process {op.process}, {op.type})" if isinstance(op, Op) else _value(op)
    )


def _read(mop: Any) -> str:
    return (
        f"key {_value(mop[1])} = {_value(mop[2])}"
        if isinstance(mop, (list, tuple)) and len(mop) == 3
        else _value(mop)
    )


def _g1a(c: Mapping[str, Any]) -> str:
    return (
        f"{_at(c['op'])} read {_read(c['mop'])}, which holds {_value(c['element'])}; but "
        f"{_at(c['writer'])} appended {_value(c['element'])} and failed, so nobody may see it"
    )


def _g1b(c: Mapping[str, Any]) -> str:
    return (
        f"{_at(c['op'])} read {_read(c['mop'])}, ending at {_value(c['element'])}; but "
        f"{_at(c['writer'])} appended more to that key after {_value(c['element'])}, so that state "
        "was never committed (an intermediate read)"
    )


def _internal(c: Mapping[str, Any]) -> str:
    return (
        f"{_at(c['op'])} read {_read(c['mop'])}, but its own earlier reads and appends say it "
        f"must see {_value(c['expected'])} (... is what it never read)"
    )


def _future_read(c: Mapping[str, Any]) -> str:
    return (
        f"{_at(c['op'])} read {_read(c['mop'])}, which holds {_value(c['element'])}, an element it "
        "only appends later in the same txn"
    )


def _duplicates(c: Mapping[str, Any]) -> str:
    counts = ", ".join(f"{_value(e)} ({n} times)" for e, n in c["duplicates"].items())
    return f"{_at(c['op'])} read {_read(c['mop'])}: each element is appended once, yet it holds {counts}"


def _incompatible(c: Mapping[str, Any]) -> str:
    a, b = c["values"]
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (
        f"two reads of key {_value(c['key'])} disagree on its order: {_value(a)} is not a prefix of "
        f"{_value(b)} (they differ at position {at})"
    )


def _dirty_update(c: Mapping[str, Any]) -> str:
    failed, _, committed = c["txns"]
    vs = c["values"]
    return (
        f"{_at(failed)} appended {_value(vs[0])} to key {_value(c['key'])} and failed, yet "
        f"{_at(committed)} appended {_value(vs[-1])} after it (the key's order runs {_value(vs)})"
    )


def _lost_update(c: Mapping[str, Any]) -> str:
    who = "; ".join(_at(op) for op in c["txns"])
    return (
        f"{len(c['txns'])} txns read key {_value(c['key'])} = {_value(c['value'])} and all appended to "
        f"it, so each overwrote a state the others also built on: {who}"
    )


#: anomaly type -> one case in words (the per-transaction anomalies, which have no cycle)
CASE_SENTENCES = {
    "G1a": _g1a,
    "G1b": _g1b,
    "internal": _internal,
    "future-read": _future_read,
    "duplicate-elements": _duplicates,
    "incompatible-order": _incompatible,
    "dirty-update": _dirty_update,
    "lost-update": _lost_update,
}


def write_case_files(anomalies: Mapping[str, Any], directory: Path) -> list[Path]:
    """``<type>.txt`` for each reported anomaly without a cycle: every case (up to
    :data:`MAX_FILES_PER_TYPE`) in words."""
    written: list[Path] = []
    for anomaly, cases in sorted(anomalies.items()):
        sentence = CASE_SENTENCES.get(anomaly)
        if sentence is None or not isinstance(cases, list) or not cases:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        shown = cases[:MAX_FILES_PER_TYPE]
        lines = [f"{anomaly} #{i}: {sentence(c)}." for i, c in enumerate(shown)]
        if len(cases) > len(shown):
            lines.append(f"({len(cases) - len(shown)} more {anomaly} cases not written)")
        path = directory / f"{anomaly}.txt"
        path.write_text("\n\n".join(lines) + "\n")
        written.append(path)
    return written
