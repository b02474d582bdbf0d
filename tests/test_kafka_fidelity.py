"""The kafka checker reaches Maelstrom's verdict on every real kafka run.

One flaw of the corpus files: in every real run, the final phase's ops are recorded in history.edn
without their data (the seek-to-beginning assign lists integer keys and each final poll completes
``ok`` with the bare value ``[[:poll]]``), while Maelstrom's checker clearly saw their messages (none
of these runs reports ``:unseen``, and one reports a worst realtime lag for a string key that only
such a final poll can have held). From the file alone, the messages sent after the last main-phase
poll of their key are therefore unseen. So where the file's final polls are bare, we accept an
``unseen`` that we can attribute to them: every unseen message's key is among those the final polls
were assigned, and some bare final poll completed ``ok`` after the last send. Everything else must
match exactly, and so must the runner-level results (stats, availability, exceptions) that
``tests/fidelity.py`` recomputes with ``harness analyze``.
"""

from __future__ import annotations

from pathlib import Path

import fidelity
import pytest

from harness.edn import read_history, read_results
from harness.history import OK, UNKNOWN, Op, kw

RUN_DIRS = fidelity.runs("kafka")


def _bare_final_polls(history: list[Op]) -> tuple[set[str], int | None]:
    """Keys of the final seek-to-beginning assigns (as strings) and the index of the last bare ok poll."""
    keys: set[str] = set()
    last_bare = None
    for op in history:
        if op.f == "assign" and op.extra.get("seek-to-beginning?"):
            keys.update(str(k) for k in op.value)
        if op.f == "poll" and op.type == OK and op.value == [[kw("poll")]]:
            last_bare = op.index
    return keys, last_bare


@pytest.mark.parametrize("run", RUN_DIRS, ids=[p.name for p in RUN_DIRS])
def test_matches_maelstrom(run: Path) -> None:
    history = read_history(run / "history.edn")
    expected = read_results(run / "results.edn")["workload"]
    ours = fidelity._analyze(run)["workload"]  # our kafka checker, through harness analyze
    # runner-level results: everything but the workload's valid? (checked below) must agree
    explained = ("our workload checker raised", "workload ", "top-level valid?")
    found = fidelity.mismatches(run, lambda ours, theirs: []) or []
    assert [m for m in found if not m.startswith(explained)] == []

    bad = list(ours["bad-error-types"])
    if kw("unseen") in bad:
        final_keys, last_bare = _bare_final_polls(history)
        last_send = max(op.index for op in history if op.f == "send" and op.type == OK)
        assert last_bare is not None and last_bare > last_send, (
            "unseen messages the final polls cannot explain"
        )
        assert set(ours["unseen"]["unseen"]) <= final_keys
        bad.remove(kw("unseen"))

    top_level_differs = any(m.startswith("top-level valid?") for m in found)
    assert not top_level_differs or ours["bad-error-types"] == [kw("unseen")]

    if expected["valid?"] == UNKNOWN:
        # Jepsen's checker threw; we must say unknown (or false) too, never true
        assert "IndexOutOfBoundsException" in expected["error"]
        assert ours["valid?"] == UNKNOWN and not bad
        return
    assert bad == list(expected["bad-error-types"])
    assert (not bad) == expected["valid?"]
    assert [t for t in ours["error-types"] if t != kw("unseen")] == list(expected["error-types"])
    assert ours["info-txn-causes"] == list(expected["info-txn-causes"])
    for name in expected["error-types"]:
        assert ours[name.name]["count"] == expected[name.name]["count"]
    lag, want = ours["worst-realtime-lag"], expected["worst-realtime-lag"]
    assert lag["lag"] == pytest.approx(want["lag"])
    # the worst poll is the first of equals; a final-phase one depends on Clojure's hash-map order
    final_start = min((op.time for op in history if op.extra.get("seek-to-beginning?")), default=None)
    if final_start is None or want["time"] * 1e9 < final_start:
        assert (lag["time"], lag["process"], lag["key"]) == (
            pytest.approx(want["time"]),
            want["process"],
            want["key"],
        )
