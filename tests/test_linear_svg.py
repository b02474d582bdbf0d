"""linear.svg and independent/<key>/: what a person sees about a key that is not linearizable."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.checkers.linearizable import check_independent
from harness.edn import read_history, read_results
from harness.history import Op
from harness.linear_svg import write_independent
from harness.report import write_report

# key 0: write 1 || write 2, then a read of 3 nothing wrote; key 1: fine; a crashed cas on key 0
HISTORY = [
    Op("invoke", "write", 2, [0, 1], 0, 0),
    Op("invoke", "write", 3, [0, 2], 1, 1),
    Op("invoke", "cas", 4, [0, [1, 3]], 2, 2),
    Op("ok", "write", 2, [0, 1], 3, 3),
    Op("ok", "write", 3, [0, 2], 4, 4),
    Op("info", "cas", 4, [0, [1, 3]], 5, 5, error="indeterminate"),
    Op("invoke", "read", 0, [0, None], 6, 6),
    Op("ok", "read", 0, [0, 4], 7, 7),
    Op("invoke", "write", 5, [1, 1], 8, 8),
    Op("ok", "write", 5, [1, 1], 9, 9),
]


def test_files_per_key_and_a_picture_of_the_failing_one(tmp_path):
    result = check_independent(HISTORY)
    assert result["failures"] == [0]
    (svg,) = write_independent(tmp_path, HISTORY, result)
    assert svg == tmp_path / "independent" / "0" / "linear.svg"
    assert not (tmp_path / "independent" / "1" / "linear.svg").exists()
    for key in ("0", "1"):
        assert read_results(tmp_path / "independent" / key / "results.edn")["linearizable"]["valid?"] is (
            key == "1"
        )
    ops = read_history(tmp_path / "independent" / "0" / "history.edn")
    assert [op.value for op in ops] == [1, 2, [1, 3], 1, 2, [1, 3], None, 4]  # unwrapped, key 0 only
    root = ET.fromstring(svg.read_text())  # well-formed
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "key 0: no linearization reaches r 4 (process 0, index 7)" in text
    assert "w 1" in text and "w 2" in text and "cas 1→3" in text  # the ops around the failure
    paths = re.findall(r"path \d+: [^<]*", text)
    assert paths and all("can't" in p for p in paths)
    assert any("register 2" in p for p in paths) and any("register 1" in p for p in paths)
    assert "Crashed Op" in text and "OK Op" in text


def test_report_links_the_pictures(tmp_path):
    (tmp_path / "test.json").write_text('{"workload": "lin-kv"}')
    write_independent(tmp_path, HISTORY, check_independent(HISTORY))
    html = write_report(tmp_path).read_text()
    assert '<a href="independent/0/linear.svg">key 0</a>' in html
    assert "independent/1/linear.svg" not in html
