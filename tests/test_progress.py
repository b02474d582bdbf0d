"""jepsen.log's line stamps (logback's ISO8601 in UTC, milliseconds after a comma)."""

from __future__ import annotations

import datetime
import io
import types

from harness import progress as progress_module
from harness.progress import Progress

UTC = datetime.UTC


def test_each_line_carries_its_own_second_and_millisecond(tmp_path, monkeypatch):
    times = iter(
        [
            datetime.datetime(2026, 12, 1, 23, 59, 58, 999_999, tzinfo=UTC),
            datetime.datetime(2026, 12, 1, 23, 59, 58, 5_000, tzinfo=UTC),
            datetime.datetime(2026, 12, 1, 23, 59, 59, 120_000, tzinfo=UTC),
            datetime.datetime(2026, 12, 2, 0, 0, 0, 0, tzinfo=UTC),
        ]
    )

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return next(times)

    monkeypatch.setattr(progress_module, "datetime", types.SimpleNamespace(datetime=Clock, UTC=UTC))
    p = Progress(io.StringIO(), live=False)
    p.open_log(tmp_path / "jepsen.log")
    for i in range(4):
        p.log_file_only(f"line {i}")
    p.close_log()
    stamps = [line.split("\t")[0] for line in (tmp_path / "jepsen.log").read_text().splitlines()]
    assert stamps == [
        "2026-12-01 23:59:58,999",
        "2026-12-01 23:59:58,005",
        "2026-12-01 23:59:59,120",
        "2026-12-02 00:00:00,000",
    ]
