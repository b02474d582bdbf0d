"""messages.svg: a Lamport diagram of the first messages of a run's network journal.

One vertical line per party (clients, then nodes, then services), one arrow per message from the
row of its send event to the row of its receive event. Rows are event ranks, not wall-clock time:
idle gaps would otherwise dominate the picture, while the order of sends and receives (what a
Lamport diagram is for) is kept exactly. A time label on the left every few rows gives the scale.

The journal is ``net-journal.jsonl`` as ``harness.net.network`` writes it, one event a line:
``{"type": "send"|"recv", "time": <ns since start>, "message": {"id", "src", "dest", "body"}}``.
Like Maelstrom's diagram, ``init``/``init_ok`` are left out. A message sent but never received
(dropped by a partition, or still in flight at the end) is drawn as a dashed grey stub.

The file is bounded: at most ``max_messages`` messages (default 2500, about 130 bytes each, so
~330 KB: thirteen challenges' diagrams must fit in the 10 MB of committed results) and never more
than about ``max_bytes`` bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["MessageDiagram", "read_journal", "render_svg", "write_messages_svg"]

#: message classes -> stroke colour; also used for the legend
COLOURS = {
    "client": "#3d8fd6",  # client <-> node traffic (Maelstrom: light blue)
    "server": "#222222",  # node <-> node and node <-> service
    "error": "#e0306a",  # any body of type "error" (Maelstrom: pink)
    "dropped": "#9a9a9a",  # sent, never received
}
LEGEND = {
    "client": "client traffic",
    "server": "server traffic",
    "error": "error reply",
    "dropped": "sent, never received",
}
_SKIPPED_TYPES = frozenset(("init", "init_ok"))
MAX_MESSAGES = 2500
MAX_BYTES = 1_400_000
#: after the last message we draw, how long (ns) to keep reading for its receive event
_RECV_GRACE_NS = 10_000_000_000


@dataclass(slots=True)
class Msg:
    id: int
    src: str
    dest: str
    type: str
    is_error: bool
    send_ns: int
    recv_ns: int | None = None

    @property
    def kind(self) -> str:
        if self.is_error:
            return "error"
        if self.recv_ns is None:
            return "dropped"
        if self.src.startswith("c") or self.dest.startswith("c"):
            return "client"
        return "server"


@dataclass(slots=True)
class MessageDiagram:
    messages: list[Msg]
    total_messages_seen: int  # messages (not init) met while reading, including undrawn ones
    truncated: bool  # the journal had more messages than we drew


def _fields(event: dict[str, Any]) -> tuple[str, int, dict[str, Any]] | None:
    kind = event.get("type")
    msg = event.get("message")
    if kind not in ("send", "recv") or not isinstance(msg, dict):
        return None
    time = event.get("time")
    if not isinstance(time, int) or not isinstance(msg.get("id"), int):
        return None
    return kind, time, msg


def read_journal(journal: Path, max_messages: int = MAX_MESSAGES) -> MessageDiagram:
    """The first ``max_messages`` non-init messages of ``journal``, with their receive times."""
    drawn: dict[int, Msg] = {}
    pending = 0  # drawn messages not yet received
    seen = 0
    truncated = False
    stop_after_ns: int | None = None
    with journal.open("rb") as f:
        for raw in f:
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # a torn last line of a crashed run
            parsed = _fields(event) if isinstance(event, dict) else None
            if parsed is None:
                continue
            kind, time, msg = parsed
            raw_body = msg.get("body")
            body = raw_body if isinstance(raw_body, dict) else {}
            body_type = str(body.get("type", "?"))
            if body_type in _SKIPPED_TYPES:
                continue
            if kind == "send":
                seen += 1
                if len(drawn) >= max_messages:
                    truncated = True
                    if stop_after_ns is None:
                        stop_after_ns = time + _RECV_GRACE_NS
                else:
                    drawn[msg["id"]] = Msg(
                        id=msg["id"],
                        src=str(msg.get("src")),
                        dest=str(msg.get("dest")),
                        type=body_type,
                        is_error=body_type == "error",
                        send_ns=time,
                    )
                    pending += 1
            else:
                m = drawn.get(msg["id"])
                if m is not None and m.recv_ns is None:
                    m.recv_ns = time
                    pending -= 1
            if stop_after_ns is not None and (pending == 0 or time > stop_after_ns):
                break
    return MessageDiagram(sorted(drawn.values(), key=lambda m: m.send_ns), seen, truncated)


_PARTY_RE = re.compile(r"^([a-z]+)(\d+)$")


def _party_order(name: str) -> tuple[int, str, int, str]:
    """Clients first, then nodes, then services; numbered ids in numeric order."""
    m = _PARTY_RE.match(name)
    group = 0 if name.startswith("c") and m else 1 if name.startswith("n") and m else 2
    return (group, m.group(1) if m else name, int(m.group(2)) if m else 0, name)


def _fmt_ms(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def render_svg(diagram: MessageDiagram, title: str = "", max_bytes: int = MAX_BYTES) -> str:
    """The SVG text of ``diagram`` (messages beyond ``max_bytes`` of output are left out)."""
    msgs = diagram.messages
    parties = sorted({p for m in msgs for p in (m.src, m.dest)}, key=_party_order)
    col = max(26, min(110, 1100 // max(1, len(parties))))
    left, top = 90, 96
    x_of = {p: left + col // 2 + i * col for i, p in enumerate(parties)}
    width = left + col * max(1, len(parties)) + 20

    # one row per event, in time order; a send sorts before a receive at the same instant
    events = [(m.send_ns, 0, i) for i, m in enumerate(msgs)]
    events += [(m.recv_ns, 1, i) for i, m in enumerate(msgs) if m.recv_ns is not None]
    events.sort()
    step = 14 if len(msgs) <= 150 else 8 if len(msgs) <= 800 else 5
    send_row: dict[int, int] = {}
    recv_row: dict[int, int] = {}
    row_time: list[int] = []
    for row, (t, is_recv, i) in enumerate(events):
        (recv_row if is_recv else send_row)[i] = row
        row_time.append(t)
    n_rows = len(events)
    bottom = top + step * (n_rows + 3)
    height = bottom + 20
    labels = len(msgs) <= 300  # a body type on each arrow only while that stays readable

    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        "<style>"
        ".p{stroke:#c8c8c8;stroke-width:1}"
        ".h{font-weight:bold;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:4px}"
        ".t{fill:#777;text-anchor:end;font-size:10px}"
        ".l{font-size:9px;text-anchor:middle;fill:#555}"
        + "".join(
            f".{k[0]}{{stroke:{c};stroke-width:1.2;marker-end:url(#{k[0]}a)}}" for k, c in COLOURS.items()
        )
        + ".x{stroke-dasharray:3 3}"
        "</style>",
        "<defs>"
        + "".join(
            f'<marker id="{k[0]}a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="{c}"/></marker>'
            for k, c in COLOURS.items()
        )
        + "</defs>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    shown = f"{len(msgs)} of {diagram.total_messages_seen}" if diagram.truncated else f"{len(msgs)}"
    head.append(
        f'<text x="10" y="18" font-size="14" font-weight="bold">{escape(title or "Messages")}: '
        f"{shown} messages (init left out)</text>"
    )
    x = 10
    for kind, colour in COLOURS.items():
        dash = ' class="x"' if kind == "dropped" else ""
        head.append(
            f'<line x1="{x}" y1="36" x2="{x + 28}" y2="36" stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{x + 34}" y="40">{LEGEND[kind]}</text>'
        )
        x += 170

    body: list[str] = []

    def header_row(y: int) -> None:
        for p, px in x_of.items():
            body.append(f'<text class="h" x="{px}" y="{y}">{escape(p)}</text>')

    header_row(top - 20)
    for px in x_of.values():
        body.append(f'<line class="p" x1="{px}" y1="{top - 12}" x2="{px}" y2="{bottom}"/>')
    label_every = max(1, 40 // step)
    for row in range(0, n_rows, label_every):
        body.append(
            f'<text class="t" x="{left - 6}" y="{top + row * step + 3}">{_fmt_ms(row_time[row])}</text>'
        )
    repeat_header_rows = max(1, 1200 // step)  # names again every ~1200 px of a tall diagram
    for row in range(repeat_header_rows, n_rows, repeat_header_rows):
        header_row(top + row * step - 4)

    size = sum(len(s) for s in head) + sum(len(s) for s in body) + 200
    for i, m in enumerate(msgs):
        x1 = x_of[m.src]
        x2: float = x_of[m.dest]
        y1 = top + send_row[i] * step
        if m.recv_ns is None:
            # a stub a third of the way to the destination, a few rows down
            x2 = x1 + (x2 - x1) / 3
            y2 = y1 + 3 * step
            cls = "e x" if m.is_error else "d x"
        else:
            y2 = top + recv_row[i] * step
            cls = m.kind[0]
        arrow = (
            f'<line class="{cls}" x1="{x1}" y1="{y1}" x2="{x2:g}" y2="{y2}">'
            f"<title>{escape(m.src)}\u2192{escape(m.dest)} {escape(m.type)} #{m.id}</title></line>"
        )
        if labels:
            arrow += (
                f'<text class="l" x="{(x1 + x2) / 2:g}" y="{(y1 + y2) / 2 - 2:g}">{escape(m.type)}</text>'
            )
        if size + len(arrow) > max_bytes:
            body.append(
                f'<text x="10" y="{y1}" fill="#e0306a">size limit reached: '
                f"{len(msgs) - i} more messages not drawn</text>"
            )
            break
        size += len(arrow)
        body.append(arrow)
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def write_messages_svg(
    journal: Path, out: Path, title: str = "", max_messages: int = MAX_MESSAGES, max_bytes: int = MAX_BYTES
) -> int:
    """Write ``out`` from ``journal``; returns how many messages the diagram holds."""
    diagram = read_journal(journal, max_messages)
    out.write_text(render_svg(diagram, title, max_bytes), encoding="utf-8")
    return len(diagram.messages)
