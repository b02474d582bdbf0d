"""Jepsen's unique-ids checker: counts, duplicates (Clojure equality), range (Clojure compare)."""

from __future__ import annotations

import pytest

from harness.checkers.core import check_safe
from harness.checkers.unique_ids import check, clojure_compare
from harness.edn import StrKeys
from harness.history import UNKNOWN, Op
from harness.options import TestOptions as Options

T = Options(workload="unique-ids")


def hist(*values, info=0):
    ops = []
    for i, v in enumerate(values):
        ops += [
            Op("invoke", "generate", 0, None, 2 * i, 2 * i),
            Op("ok", "generate", 0, v, 2 * i + 1, 2 * i + 1),
        ]
    for j in range(info):
        ops += [
            Op("invoke", "generate", 1 + j, None, 100, 100 + 2 * j),
            Op("info", "generate", 1 + j, None, 101, 101),
        ]
    return ops


def test_unique():
    r = check(T, hist("n0-10", "n0-9", "n1-1", info=2))
    assert r == {
        "valid?": True,
        "attempted-count": 5,
        "acknowledged-count": 3,
        "duplicated-count": 0,
        "duplicated": {},
        "range": ["n0-10", "n1-1"],
    }
    assert isinstance(r["duplicated"], StrKeys)


def test_duplicates_and_clojure_equality():
    r = check(T, hist(1, 1, 1.0, 2, 2))
    assert r["valid?"] is False and r["duplicated-count"] == 2 and r["duplicated"] == {1: 2, 2: 2}
    assert check(T, hist(1, 1.0))["valid?"] is True  # 1 and 1.0 differ in Clojure


def test_top_48_duplicates_sorted_by_id():
    values = [i for i in range(60) for _ in range(2)] + [5] * 3
    r = check(T, hist(*values))
    assert r["duplicated-count"] == 60 and len(r["duplicated"]) == 48
    assert r["duplicated"][5] == 5 and list(r["duplicated"]) == sorted(r["duplicated"])


def test_range_and_empty():
    assert check(T, hist(3, -1, 2.5))["range"] == [-1, 3]
    assert check(T, hist([1, 2], [0, 0, 0], [1, 1]))["range"] == [[1, 1], [0, 0, 0]]  # length first
    assert check(T, hist(info=1))["range"] == [None, None]


@pytest.mark.parametrize("ids", [("a", 1), ({"a": 1}, {"b": 2}), (True, 1)])
def test_uncomparable_ids_make_the_checker_unknown(ids):
    with pytest.raises(TypeError):
        check(T, hist(*ids))
    assert check_safe(check, T, hist(*ids))["valid?"] == UNKNOWN


def test_compare_strings_by_utf16_code_units():
    # U+FF5E (one code unit) sorts after U+1F600 (surrogates D83D...) in Java, before it in code points
    assert clojure_compare("\uff5e", "\U0001f600") > 0
    assert (
        clojure_compare("a", "b") < 0 and clojure_compare(None, "a") < 0 and clojure_compare(False, True) < 0
    )
