"""Every test gets its own node data dir: a node's journal (``common.durable``) never carries
over from one test to the next."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _node_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAELSTROM_DATA_DIR", str(tmp_path / "node-data"))
