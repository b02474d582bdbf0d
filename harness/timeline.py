"""timeline.html: Jepsen's per-process timeline of a history (jepsen-io/jepsen, jepsen/src/jepsen/checker/timeline.clj).

One column per process (the nemesis leftmost, then clients by process number), 100 px wide on a
106 px pitch. An op's vertical position is its place in the history (16 px per entry), not wall
time. Each invocation and its completion make one box from the invocation's row to the
completion's; an ``info`` box runs to the bottom of the page (the op may still be going on); an
invocation that never completed is one row tall. Nemesis ops are ``info`` both ways, so each is
its own one-row box, as Jepsen's pairing makes them ("unmatched info"), its value in the
tooltip's ``Msg:``. Colour by completion type. The text is "process f value" (plus the
completion's value when it differs); the tooltip gives the duration, the error and the op maps.
Each box is ``id="i<index>"`` and links to itself. Static HTML: no script.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.edn import op_edn_line, pr
from harness.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op

__all__ = ["MAX_PAIRS", "timeline_html", "timeline_pairs", "write_timeline"]

COLORS = {OK: "#6DB6FE", INFO: "#FFAA26", FAIL: "#FEB5DA", None: "#eeeeee"}
COL_WIDTH, COL_PITCH, ROW = 100, 106, 16
#: Jepsen draws at most this many pairs
MAX_PAIRS = 10_000


def timeline_pairs(history: Iterable[Op]) -> list[tuple[Op, Op | None]]:
    """Jepsen's timeline pairing, in order: an invocation with its process's next completion; an
    ``info`` with no invocation open (every nemesis op) alone; an invocation never completed alone.
    """
    out: list[list[Any]] = []
    open_: dict[object, list[Any]] = {}
    for op in history:
        if op.type == INVOKE:
            pair: list[Any] = [op, None]
            out.append(pair)
            open_[op.process] = pair
        elif op.process in open_:
            open_.pop(op.process)[1] = op
        elif op.type == INFO:
            out.append([op, None])  # unmatched info: the nemesis's ops
    return [(inv, done) for inv, done in out]


def _process_order(process: object) -> tuple[int, float | str]:
    if process == NEMESIS:
        return (0, 0)
    if isinstance(process, int):
        return (1, process)
    return (2, str(process))


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timeline_html(history: Sequence[Op], title: str, edn_lines: Sequence[str] | None = None) -> str:
    """``edn_lines``: the ops' history.edn lines when the caller has them (one per op, in order)."""
    if edn_lines is not None and len(edn_lines) == len(history):
        lines = edn_lines

        def edn_line(op: Op) -> str:
            return (
                lines[op.index] if 0 <= op.index < len(lines) and history[op.index] is op else op_edn_line(op)
            )
    else:
        edn_line = op_edn_line
    pairs = timeline_pairs(history)
    shown = pairs[:MAX_PAIRS]
    processes = sorted({inv.process for inv, _ in shown}, key=_process_order)
    column = {p: i for i, p in enumerate(processes)}
    rows = max(len(history), 1)
    height = (rows + 1) * ROW
    boxes: list[str] = []
    for inv, done in shown:
        top = inv.index * ROW
        if done is None:
            bottom, type_ = top + ROW, (INFO if inv.type == INFO else None)
        elif done.type == INFO:
            bottom, type_ = height, INFO
        else:
            bottom, type_ = done.index * ROW, done.type
        nemesis = inv.process == NEMESIS
        process = f":{inv.process}" if nemesis else str(inv.process)
        inv_value = pr(inv.value)
        text = f"{process} {inv.f}" + ("" if nemesis else f" {inv_value}")
        if done is not None:
            done_value = pr(done.value)
            if done_value != inv_value:
                text += f" {done_value}"
        tip = []
        if nemesis:
            tip.append(f"Msg: {inv_value}")
        if done is not None:
            tip.append(f"Dur: {(done.time - inv.time) / 1e6:.0f} ms")
        last = done if done is not None else inv
        if last.error is not None:
            tip.append(f"Err: {pr(last.error)}")
        tip.append(_clip(edn_line(inv), 2000))
        if done is not None:
            tip.append(_clip(edn_line(done), 2000))
        boxes.append(
            f'<a href="#i{last.index}" id="i{last.index}" class="op" title="{html.escape(chr(10).join(tip))}" '
            f'style="left:{column[inv.process] * COL_PITCH}px;top:{top}px;'
            f'height:{max(bottom - top, ROW) - 2}px;background:{COLORS[type_]}">'
            f"{html.escape(_clip(text))}</a>"
        )
    note = ""
    if len(pairs) > MAX_PAIRS:
        note = f"<p>Showing only {MAX_PAIRS} of {len(pairs)} operations.</p>"
    heads = "".join(
        f'<div class="head" style="left:{i * COL_PITCH}px">{html.escape(":nemesis" if p == NEMESIS else str(p))}</div>'
        for i, p in enumerate(processes)
    )
    width = max(len(processes), 1) * COL_PITCH
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} timeline</title>
<style>
body {{ font-family: sans-serif; font-size: 11px; margin: 1em; }}
.heads, .ops {{ position: relative; width: {width}px; }}
.heads {{ height: 18px; }}
.ops {{ height: {height}px; }}
.head {{ position: absolute; width: {COL_WIDTH}px; font-weight: bold; }}
.op {{ position: absolute; width: {COL_WIDTH - 4}px; padding: 1px 2px; overflow: hidden;
  white-space: nowrap; color: #000; text-decoration: none; border-radius: 2px; }}
.op:hover {{ outline: 1px solid #333; z-index: 1; }}
</style></head>
<body><p><a href="index.html">report</a></p><h1>{html.escape(title)}</h1>{note}
<div class="heads">{heads}</div><div class="ops">{"".join(boxes)}</div>
</body></html>
"""


def write_timeline(
    history: Sequence[Op], out_dir: str | Path, title: str, edn_lines: Sequence[str] | None = None
) -> Path:
    path = Path(out_dir) / "timeline.html"
    path.write_text(timeline_html(history, title, edn_lines), encoding="utf-8")
    return path
