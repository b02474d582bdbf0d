#!/usr/bin/env python3
"""Copy a corpus of real Maelstrom runs into the repository, compressing each history.edn.

    scripts/import-corpus.py SRC [DEST]

SRC is a raw corpus (``<workload>/<run>/{history.edn,results.edn,test.json}`` plus INDEX.md), e.g.
``../shared/maelstrom-runs``; DEST defaults to ``tests/data/maelstrom-runs``. Every file is copied
byte for byte except ``history.edn``, which becomes ``history.edn.xz`` (xz -9e, checked to
decompress to the same bytes): histories are 98% of the corpus and shrink about twelvefold, while
results.edn and test.json stay plain text to read and diff. One compressed file per history lets a
test read one run without unpacking others, and adding a run adds files instead of rewriting an
archive. DEST is made to mirror SRC: files that SRC no longer has are removed (DEST's README.md is
kept). Standard library only, so it runs before setup.
"""

from __future__ import annotations

import lzma
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPRESSED = "history.edn"
KEEP = {"README.md"}


def compress(data: bytes) -> bytes:
    # preset 9e, with a dictionary no larger than the file: same output size, and a reader needs
    # only about the file's size in memory instead of 64 MiB
    lzma2 = {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": max(4096, len(data))}
    out = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=[lzma2])
    if lzma.decompress(out) != data:
        raise RuntimeError("xz round trip changed the data")
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    src = Path(argv[0]).resolve()
    dest = Path(argv[1]) if len(argv) == 2 else ROOT / "tests" / "data" / "maelstrom-runs"
    if not (src / "INDEX.md").is_file():
        print(f"import-corpus: {src} has no INDEX.md; is it a corpus?", file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    raw_total = stored_total = 0
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        data = path.read_bytes()
        if path.name == COMPRESSED:
            rel, data_out = rel.with_name(COMPRESSED + ".xz"), compress(data)
        else:
            data_out = data
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data_out:
            target.write_bytes(data_out)
        written.add(target)
        raw_total += len(data)
        stored_total += len(data_out)
    for path in sorted(dest.rglob("*"), reverse=True):  # files first, then emptied directories
        if path.is_file() and path not in written and path.relative_to(dest).as_posix() not in KEEP:
            path.unlink()
            print(f"removed {path}")
        elif path.is_dir() and not any(path.iterdir()):
            shutil.rmtree(path)
    print(f"{len(written)} files: {raw_total / 1e6:.1f} MB raw, {stored_total / 1e6:.1f} MB stored in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
