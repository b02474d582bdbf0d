"""scripts/frontier.py: which sweep points are on the frontier, which are marked, and the
environment each configuration gives efficient-broadcast/main.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import frontier

ROOT = Path(__file__).resolve().parent.parent


def _point(msgs: float, top: float, valid: int = 3) -> dict[str, Any]:
    return {"msgs": msgs, "median": top / 2, "max": top, "valid": valid, "n": 3}


def test_the_frontier_keeps_only_undominated_partition_safe_valid_points() -> None:
    Config = frontier.Config
    fast, slow, cheap = Config("all"), Config("star", 0.1), Config("star", 1.0)
    points = {
        fast: _point(12.0, 100),
        slow: _point(3.0, 200),
        cheap: _point(0.8, 1100),
        Config("star", 0.2): _point(3.5, 250),  # dominated by star 0.1
        Config("all", acks=False): _point(11.0, 90),  # would dominate, but is not partition-safe
        Config("tree4", 0.1): _point(0.5, 50, valid=2),  # would dominate, but a run was invalid
    }
    assert set(frontier.frontier(points)) == {fast, slow, cheap}


def test_marking_thins_the_frontier_and_always_keeps_main_py() -> None:
    Config = frontier.Config
    steps = [Config("star", b) for b in (0.15, 0.2, 0.25, 0.3)]
    points = {
        c: _point(msgs, top)
        for c, msgs, top in zip(steps, (2.0, 1.8, 1.4, 1.3), (200, 250, 300, 350), strict=True)
    }
    points[frontier.DEFAULT] = _point(3.0, 190)
    chosen = frontier.marked(points, steps)
    # from the fastest: 2.0 is marked, 1.8 is not <= 0.75 x 2.0, 1.4 is, 1.3 is not <= 0.75 x 1.4
    assert chosen == [steps[0], steps[2], frontier.DEFAULT]


def test_a_configuration_is_an_environment_for_main_py() -> None:
    Config = frontier.Config
    assert Config("star", 0.25).env() == {
        "BROADCAST_OVERLAY": "star",
        "BROADCAST_HUB_BATCH": "0.25",
        "BROADCAST_LEAF_BATCH": "0",
    }
    assert Config("all", acks=False).env()["BROADCAST_ACK_DELAY"] == "none"
    tree4 = Config("topology:tree4")
    assert tree4.env()["BROADCAST_OVERLAY"] == "topology" and tree4.flags() == ["--topology", "tree4"]
