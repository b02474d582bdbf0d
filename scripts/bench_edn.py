"""How fast the EDN reader is, against ``edn_format`` on the same text in the same run.

It reads the corpus's largest history.edn with ``harness.edn.loads_all`` (our tokenizer) and with
``edn_format.loads_all`` (the library it stands in for, correct but slow), checks that both give
the same data, and prints CPU seconds and the ratio. ``--limit-bytes`` cuts the text at a line
boundary first, since edn_format takes about half a minute on the whole 3.9 MB file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import edn_format

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import edn  # noqa: E402


def largest_history() -> Path:
    root = ROOT / "tests" / "data" / "maelstrom-runs"
    candidates = [edn.stored(p.with_suffix("")) for p in root.rglob("history.edn.xz")]
    return max((p for p in candidates if p is not None), key=lambda p: len(edn.read_text(p)))


def cpu(fn: object, *args: object) -> tuple[float, object]:
    start = time.process_time()
    value = fn(*args)  # type: ignore[operator]
    return time.process_time() - start, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-bytes", type=int, default=400_000, help="0: the whole file")
    args = parser.parse_args(argv)
    path = largest_history()
    text = edn.read_text(path)
    if args.limit_bytes and len(text) > args.limit_bytes:
        text = text[: text.rindex("\n", 0, args.limit_bytes) + 1]
    ours_s, ours = cpu(edn.loads_all, text)
    theirs_s, theirs = cpu(edn_format.loads_all, text)
    same = [edn.normalize(v) for v in ours] == [edn.normalize(v) for v in theirs]  # type: ignore[attr-defined]
    ops_s, ops = cpu(edn.read_history, path)
    print(
        f"{path.relative_to(ROOT)}: {len(text):,} of {len(edn.read_text(path)):,} chars, {len(ours):,} forms"
    )  # type: ignore[arg-type]
    print(
        f"harness.edn.loads_all {ours_s:.3f} s CPU, edn_format.loads_all {theirs_s:.3f} s: {theirs_s / ours_s:.1f}x faster"
    )
    print(f"same data: {same}")
    print(f"read_history on the whole file: {len(ops):,} ops in {ops_s:.2f} s CPU")  # type: ignore[arg-type]
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
