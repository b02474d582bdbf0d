"""``maelstrom challenges``: the challenge folders in order, their test commands, and the README's
table of challenges (``--markdown``: Fly.io's flags and our targets in words).

The manifest itself is ``harness.challenges`` (data only); the targets' words come from the
workloads' summaries through ``harness.results_table``, so this command sits above both.
"""

from __future__ import annotations

import argparse
import sys

from harness.challenges import CHALLENGES
from harness.results_table import target_text

__all__ = ["main", "markdown_table"]


def markdown_table() -> str:
    """The README's table of challenges (one row per challenge, Fly.io's flags and our targets),
    then the challenges' notes."""
    lines = [
        "| # | Challenge | Folder | Test command (from the folder) | Target |",
        "|---|---|---|---|---|",
    ]
    for c in CHALLENGES:
        cmd, target = (
            text.replace("|", "\\|") for text in (c.command("./main.py", "../maelstrom"), target_text(c))
        )
        lines.append(f"| {c.number} | {c.title} | [`{c.folder}`]({c.folder}/) | `{cmd}` | {target} |")
    notes = [f"{c.number}: {c.note}" for c in CHALLENGES if c.note]
    return "\n".join([*lines, *([""] if notes else []), *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="maelstrom challenges", description="List the challenges (folder names, in challenge order)."
    )
    parser.add_argument("--markdown", action="store_true", help="print the README's table of challenges")
    parser.add_argument("--commands", action="store_true", help="print each challenge's test command")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table())
    elif args.commands:
        for c in CHALLENGES:
            print(c.command(f"./{c.folder}/main.py", "./maelstrom"))
    else:
        print("\n".join(c.folder for c in CHALLENGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
