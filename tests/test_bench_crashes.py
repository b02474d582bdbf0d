"""scripts/bench_crashes.py: the flags per mode, and the README tables it maintains."""

from __future__ import annotations

from pathlib import Path

import bench_crashes as bench

ROOT = Path(__file__).resolve().parent.parent


def test_fault_modes_replace_the_nemesis_and_drop_total_availability() -> None:
    flags_for = bench.flags_for
    base = flags_for("totally-available-read-committed-transactions", "base")
    assert "--availability" in base
    kill = flags_for("totally-available-read-committed-transactions", "kill")
    assert "--availability" not in kill and kill[-2:] == ["--nemesis", "kill,partition"]
    assert kill.count("--nemesis") == 1
    assert flags_for("grow-only-counter", "pause")[-2:] == ["--nemesis", "pause"]


def test_table_means_over_seeds_and_counts_faults() -> None:
    rows = {
        ("grow-only-counter", "kill", seed): {
            "seed": seed, "valid": seed != 2, "server_msgs_per_op": 0.2 * seed, "p50_ms": 1.0,
            "p99_ms": 9.0, "ok_per_s": 50.0, "ok_fraction": 0.9, "killed": 3, "paused": 0,
        }
        for seed in (1, 2)
    }  # fmt: skip
    table = bench.table("grow-only-counter", rows)
    assert "| kill,partition | 1,2 | 1 of 2 | 0.30 | 1.0 | 9 | 50.0 | 0.900 | 6 / 0 |" in table
    assert "official flags" not in table  # no base runs recorded: no row


def test_every_crash_section_has_a_table_block_the_script_can_rewrite() -> None:
    with_section = [p for p in ROOT.glob("*/README.md") if "<!-- durability: begin -->" in p.read_text()]
    assert len(with_section) >= 11
    for path in with_section:
        text = path.read_text()
        assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1, path
