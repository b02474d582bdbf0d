"""Journal compaction (common.durable): when it happens, that a kill at any step of it loses
nothing acknowledged, that a failed one leaves the journal as it was, and the g-counter program
compacting under a tiny threshold across a kill.

A kill is simulated in-process: from the chosen system call of a compaction on, every call raises
``Killed`` (nothing the dying process would not have done reaches the disk), then every file
descriptor the journal opened is closed, as the kernel would, and a fresh Journal opens the
same directory, as the restarted node would.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from common.durable import Journal, decode_records
from tests.inprocess import Program


class Killed(BaseException):
    """The process died here (a BaseException, so no ``except OSError`` in the code catches it)."""


class StubNode:
    """What a Journal needs of a Node."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.node_id = "n1"
        self.logs: list[str] = []

    def on_init(self, hook: Callable[[], Any]) -> None:
        pass

    def add_commit_hook(self, hook: Callable[[], Any]) -> None:
        pass

    def log(self, *args: Any) -> None:
        self.logs.append(" ".join(map(str, args)))


class SetState:
    """The state of a journal of int records (one value) and list records (many, a snapshot)."""

    def __init__(self) -> None:
        self.values: set[int] = set()
        self.snapshots_taken = 0

    def apply(self, record: Any) -> None:
        if isinstance(record, list):
            self.values.update(record)
        else:
            self.values.add(record)

    def snapshot(self) -> Iterable[Any]:
        self.snapshots_taken += 1
        return [sorted(self.values)]


def open_journal(data_dir: Path, **kwargs: Any) -> tuple[Journal, SetState]:
    state = SetState()
    journal = Journal(
        StubNode(data_dir),  # type: ignore[arg-type]
        "set",
        state.apply,
        snapshot=state.snapshot,
        fsync=True,
        **{"compact_bytes": 200, "compact_ratio": 4.0, **kwargs},
    )
    journal.open()
    return journal, state


def add(journal: Journal, state: SetState, value: int) -> None:
    """What a program does: change the state, journal it, commit before replying."""
    state.values.add(value)
    journal.append(value)
    journal.commit()


def journal_file(data_dir: Path) -> Path:
    return data_dir / "n1" / "set.journal"


def test_a_journal_much_larger_than_its_state_is_rewritten_as_the_snapshot(tmp_path: Path) -> None:
    journal, state = open_journal(tmp_path)
    for i in range(300):
        add(journal, state, i % 5)
    compactions = journal.compactions
    assert compactions > 0
    add(journal, state, 99)  # appended to the compacted file (not the one it replaced)
    assert journal.compactions == compactions
    size = journal_file(tmp_path).stat().st_size
    assert size == journal.size and size < 200 + 4 * 20  # at most the threshold and some records
    records, valid = decode_records(journal_file(tmp_path).read_bytes())
    assert valid == size and records[0] == [0, 1, 2, 3, 4]  # the snapshot, then later appends
    journal.close()
    again, replayed = open_journal(tmp_path)
    assert replayed.values == {0, 1, 2, 3, 4, 99} and again.replayed == len(records)
    assert not (tmp_path / "n1" / "set.journal.tmp").exists()
    again.close()


def test_a_journal_no_larger_than_its_state_is_kept_and_rarely_snapshotted(tmp_path: Path) -> None:
    journal, state = open_journal(tmp_path)
    for i in range(2000):  # every value new: the snapshot is as large as the journal
        add(journal, state, i)
    assert journal.compactions == 0
    # looked at when the journal is 4 times the last snapshot: sizes growing geometrically (here
    # by 1.25 to 1.5, as a record takes 2.5 to 3.5 times its value's bytes in the snapshot), so
    # 18 snapshots for 2000 commits, not one per commit
    assert 1 <= state.snapshots_taken <= 20
    journal.close()
    _, replayed = open_journal(tmp_path)
    assert replayed.values == set(range(2000))


def test_below_the_byte_threshold_nothing_is_compacted(tmp_path: Path) -> None:
    journal, state = open_journal(tmp_path, compact_bytes=1 << 20)
    for i in range(300):
        add(journal, state, i % 5)
    assert journal.compactions == 0 and state.snapshots_taken == 0
    journal.close()


_CALLS = ("open", "write", "fsync", "fdatasync", "close", "replace", "unlink")


class KillSwitch:
    """Counts the system calls a compaction makes; from call number ``at`` on, each one raises
    Killed (``torn``: the write at ``at`` writes half its bytes first)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int | None, torn: bool = False) -> None:
        self.at, self.torn = at, torn
        self.calls: list[str] = []
        self.active = False
        self.opened: list[int] = []
        for name in _CALLS:
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(name, real))
        real_compact = Journal._maybe_compact

        def compact(journal: Journal, snapshot: Callable[[], Iterable[Any]]) -> None:
            self.active = True
            try:
                real_compact(journal, snapshot)
            finally:
                self.active = False

        monkeypatch.setattr(Journal, "_maybe_compact", compact)
        self._real_close = os.close

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                n = len(self.calls)
                self.calls.append(name)
                if self.at is not None and n >= self.at:
                    if n == self.at and self.torn and name == "write":
                        real(args[0], bytes(args[1])[: len(args[1]) // 2])
                    raise Killed(f"killed at call {n} ({name})")
            result = real(*args, **kwargs)
            if name == "open":
                self.opened.append(result)
            return result

        return call

    def bury(self, journal: Journal) -> None:
        """The kernel closes a dead process's files."""
        for fd in {*self.opened, journal._fd}:
            with contextlib.suppress(OSError):
                self._real_close(fd)


def _fill_to_the_brink(tmp_path: Path) -> tuple[Journal, SetState]:
    """A journal whose next commit compacts it."""
    journal, state = open_journal(tmp_path, compact_bytes=10_000)
    i = 0
    while journal.size < 10_000 - 9:  # each record is 9 bytes (8 of header, one digit)
        add(journal, state, i % 7)
        i += 1
    assert journal.compactions == 0 and journal.size < 10_000
    return journal, state


def test_a_kill_at_every_step_of_a_compaction_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:  # one whole compaction, to learn its steps
        switch = KillSwitch(m, None)
        journal, state = _fill_to_the_brink(tmp_path / "dry")
        add(journal, state, 100)
        assert journal.compactions == 1
        steps = list(switch.calls)
        journal.close()
    assert steps[:2] == ["open", "write"] and "replace" in steps and steps.count("fsync") == 2
    cases = [(at, False) for at in range(len(steps) + 1)] + [(steps.index("write"), True)]
    for at, torn in cases:
        run = tmp_path / f"kill-{at}-{torn}"
        with monkeypatch.context() as m:
            switch = KillSwitch(m, at, torn)
            journal, state = _fill_to_the_brink(run)
            expected = state.values | {100}
            try:
                add(journal, state, 100)  # its record is on disk before the compaction starts
                died = False
            except Killed:
                died = True
            assert died == (at < len(steps)), (at, steps)
            switch.bury(journal)
        # the restart: everything acknowledged is back, the journal is whole and takes appends
        again, replayed = open_journal(run, compact_bytes=10_000)
        assert replayed.values == expected, (at, torn, steps[at:])
        assert not (run / "n1" / "set.journal.tmp").exists()
        add(again, replayed, 200)
        again.close()
        data = journal_file(run).read_bytes()
        assert decode_records(data)[1] == len(data)
        last, final = open_journal(run, compact_bytes=10_000)
        assert final.values == expected | {200}
        last.close()


def test_a_compaction_that_fails_leaves_the_journal_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal, state = _fill_to_the_brink(tmp_path)
    before = journal_file(tmp_path).read_bytes()
    real_write = os.write
    tmp_fds: list[int] = []
    real_open = os.open

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, *args, **kwargs)
        if str(path).endswith(".tmp"):
            tmp_fds.append(fd)
        return fd

    def write(fd: int, data: Any) -> int:
        if fd in tmp_fds:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "write", write)
    add(journal, state, 100)  # commits, then the compaction fails: no exception for the node
    assert journal.compactions == 0 and tmp_fds
    assert "compaction failed" in journal.node.logs[0]  # type: ignore[attr-defined]
    data = journal_file(tmp_path).read_bytes()
    assert data.startswith(before) and not (tmp_path / "n1" / "set.journal.tmp").exists()
    add(journal, state, 101)  # appends go on; no retry before twice the size
    assert len(tmp_fds) == 1
    monkeypatch.undo()
    journal.close()
    _, replayed = open_journal(tmp_path, compact_bytes=10_000)
    assert replayed.values == state.values


def test_g_counter_compacts_under_a_tiny_threshold_and_keeps_its_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAELSTROM_COMPACT_BYTES", "64")

    async def scenario() -> tuple[int, int]:
        async with Program("grow-only-counter", ["--interval", "60", "--idle-max", "60"]) as p:
            for delta in range(1, 41):
                await p.call({"type": "add", "delta": delta})
            path = Path(p.data_dir) / "n1" / "counter.journal"
            size = path.stat().st_size
            await p.kill()
            q = p.restarted()
        async with q:
            return size, (await q.call({"type": "read"}))["value"]

    size, value = asyncio.run(scenario())
    assert value == sum(range(1, 41))
    assert size < 64 + 4 * 16  # 40 records of 9 to 13 bytes would be over 400
