"""The fast EDN reader equals edn_format on the corpus; history and results writers round-trip."""

from __future__ import annotations

import decimal
import fractions
import json
import math
from pathlib import Path

import edn_format
import fidelity
import pytest

from harness import edn
from harness.edn import StrKeys
from harness.history import UNKNOWN, Keyword, Op, kw

EDN_FILES = [run / name for run in fidelity.runs() for name in ("results.edn", "history.edn")]
for _record in edn.DEFAULT_TAGS:  # the records Jepsen and Knossos print read as their maps
    edn_format.add_tag(_record, lambda m: m)


def _sample(path: Path) -> list[str]:
    text = edn.read_text(path)  # history.edn is stored as history.edn.xz
    if path.name != "history.edn":
        return [text]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    special = [ln for ln in lines if ":exception" in ln or ":error" in ln or "nemesis" in ln][:10]
    return lines[:8] + lines[-8:] + special[:4]


@pytest.mark.parametrize("path", EDN_FILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_reader_equals_edn_format_on_corpus(path):
    for text in _sample(path):
        assert edn.normalize(edn.loads(text)) == edn.normalize(edn_format.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{:a [1 -2 +3 1N 12345678901234567890] :b (1.5 -0.5e3 2E2 1.5M 7M) :c #{1 "x" :k} :d nil}',
        r'["a\"b" "tab\there" "nl\n" "u\u00e9" "back\\slash" "" "ünï"]',
        "[true false nil sym ns/sym clojure.lang.ExceptionInfo a$b_c invoke]",
        r"[\a \newline \space \u0041] ; trailing comment",
        "[1/2 -3/4 ##Inf ##-Inf 0x1F]",
        "{:a #_ 1 2 :b 3} #_[x]",
        '{[1 2] {"k" #{[1] 2}} :ns/kw ()}',
        "#jepsen.history.Op{:index 1, :type :info}",
    ],
)
def test_reader_equals_edn_format_on_constructs(text):
    assert edn.normalize(edn.loads(text)) == edn.normalize(edn_format.loads(text))


def test_value_types():
    v = edn.loads("[1N 1.5M 1/3 :k sym \\c #{1}]")
    assert v[0] == 1 and type(v[0]) is int
    assert v[1] == decimal.Decimal("1.5") and v[2] == fractions.Fraction(1, 3)
    assert v[3] == kw("k") and isinstance(v[4], edn_format.Symbol) and isinstance(v[5], edn_format.Char)
    assert v[6] == frozenset({1})
    assert math.isnan(edn.loads("##NaN"))
    assert edn.loads("") is None and edn.loads_all("1 2 [3]") == [1, 2, [3]]


@pytest.mark.parametrize(
    "bad", ["[1 2", "{:a 1 :b}", "[1 2)", "]", '"unterminated', "#unknown/tag 1", "[#_]", "#foo"]
)
def test_reader_rejects_malformed(bad):
    with pytest.raises(edn.EDNDecodeError):
        edn.loads(bad)


def test_read_history_fields(tmp_path):
    (tmp_path / "history.edn").write_text(
        '{:index 0, :time 5, :type :invoke, :process 0, :f :echo, :value "hi"}\n'
        '{:index 1, :time 9, :type :info, :process 0, :f :echo, :value "hi", :error :net-timeout}\n'
        "{:index 2, :time 10, :type :info, :process :nemesis, :f :start-partition, :value :majority}\n"
        "{:index 3, :time 11, :type :invoke, :process 3, :f :read, :value nil, :final? true}\n"
    )
    ops = edn.read_history(tmp_path / "history.edn")
    assert ops[0] == Op("invoke", "echo", 0, "hi", 5, 0)
    assert ops[1].error == kw("net-timeout") and ops[1].type == "info"
    assert ops[2].process == "nemesis" and ops[2].value == kw("majority")
    assert ops[3].extra == {"final?": True} and ops[3].final


def test_write_history_round_trips_and_prints_like_maelstrom(tmp_path):
    ops = [
        Op("invoke", "echo", 0, "Please echo 6", 7870636, 0),
        Op("ok", "echo", 0, {"echo": "Please echo 6", "type": "echo_ok"}, 7900000, 1),
        Op("invoke", "txn", 1, [[kw("r"), 1, None], [kw("w"), 2, 3]], 8000000, 2),
        Op("fail", "assign", 2, ["3"], 9000000, 3, error=[kw("crash"), 'queue "3" not found']),
        Op("info", "read", 4, None, 9500000, 4, extra={"final?": True}, error="indeterminate: x"),
        Op("info", "start-partition", "nemesis", kw("majority"), 9600000, 5),
    ]
    edn.write_history(ops, tmp_path)
    lines = (tmp_path / "history.edn").read_text().splitlines()
    assert (
        lines[0] == '{:index 0, :time 7870636, :type :invoke, :process 0, :f :echo, :value "Please echo 6"}'
    )
    assert lines[4].endswith(':value nil, :final? true, :error "indeterminate: x"}')
    assert edn.read_history(tmp_path / "history.edn") == ops
    txt = (tmp_path / "history.txt").read_text().splitlines()
    assert txt[0] == '0\t:invoke\t:echo\t"Please echo 6"'
    assert txt[3] == '2\t:fail\t:assign\t["3"]\t[:crash queue "3" not found]'
    assert txt[5] == ":nemesis\t:info\t:start-partition\t:majority"


RESULTS = {
    "perf": {"valid?": True, "latencies": {"echo": {0.5: 1.5, 1: 3.0}}},
    "stats": {"valid?": False, "count": 2, "by-f": {"echo": {"valid?": False}}},
    "workload": {
        "valid?": UNKNOWN,
        "errors": (),
        "duplicated": StrKeys({"n1": 2}),
        "example": Op("info", "read", 0, None, 5, 1, extra={"exception": {"via": []}}),
        "kw": kw("majority"),
    },
    "valid?": False,
}


def test_results_to_edn():
    text = edn.results_to_edn(RESULTS)
    data = edn_format.loads(text)
    workload = data[kw("workload")]
    assert data[kw("valid?")] is False and workload[kw("valid?")] == kw("unknown")
    assert workload[kw("duplicated")] == {"n1": 2}  # StrKeys keys stay strings
    assert workload[kw("example")][kw("type")] == kw("info")
    assert list(data.keys())[-1] == kw("valid?")
    assert data[kw("perf")][kw("latencies")][kw("echo")][0.5] == 1.5


def test_results_to_json():
    data = json.loads(edn.results_to_json(RESULTS))
    assert data["workload"]["valid?"] == "unknown" and data["valid?"] is False
    assert data["perf"]["latencies"]["echo"] == {"0.5": 1.5, "1": 3.0}
    assert data["workload"]["kw"] == "majority" and data["workload"]["example"]["type"] == "info"
    assert data["workload"]["errors"] == []


def test_read_results_round_trip(tmp_path):
    (tmp_path / "results.edn").write_text(edn.results_to_edn(RESULTS))
    back = edn.read_results(tmp_path / "results.edn")
    assert back["workload"]["valid?"] == UNKNOWN and back["valid?"] is False
    assert back["stats"]["by-f"]["echo"] == {"valid?": False}
    assert back["workload"]["kw"] == Keyword("majority")
    assert isinstance(back["workload"]["duplicated"], StrKeys)
    # same EDN data when written again (only "()" vs "[]" may differ)
    assert edn.normalize(edn.loads(edn.results_to_edn(back))) == edn.normalize(
        edn.loads(edn.results_to_edn(RESULTS))
    )


def test_read_results_of_maelstrom_run():
    r = edn.read_results(fidelity.RUNS_ROOT / "echo" / "Emmanuel32--20230510T011415.599-0400" / "results.edn")
    assert r["valid?"] == UNKNOWN and r["perf"]["latency-graph"]["valid?"] == UNKNOWN
    assert r["stats"]["by-f"]["echo"]["count"] == 56 and r["workload"] == {"valid?": True, "errors": []}


def test_reader_reads_the_largest_history_whole():
    # how fast it is, against edn_format: scripts/bench-edn.sh (speed is a benchmark's business)
    biggest = max(
        (edn.stored(p) for p in EDN_FILES if p.name == "history.edn"), key=lambda p: p.stat().st_size
    )
    ops = edn.read_history(biggest)
    assert len(ops) > 10_000
    assert sum(op.type == "invoke" for op in ops) == sum(op.type != "invoke" for op in ops)


def test_a_compressed_file_stands_in_for_the_plain_one(tmp_path):
    import lzma

    ops = [Op("invoke", "echo", 0, "a", 0, 0), Op("ok", "echo", 0, "a", 5, 1)]
    edn.write_history(ops, tmp_path)
    plain = tmp_path / "history.edn"
    (tmp_path / "history.edn.xz").write_bytes(lzma.compress(plain.read_bytes()))
    edn.write_history(ops[:1], tmp_path)  # the plain file, when there, wins
    assert edn.stored(plain) == plain and edn.read_history(plain) == ops[:1]
    plain.unlink()
    assert edn.stored(plain) == tmp_path / "history.edn.xz" and edn.read_history(plain) == ops
    assert edn.read_history(tmp_path / "history.edn.xz") == ops
    (tmp_path / "history.edn.xz").unlink()
    assert edn.stored(plain) is None
    with pytest.raises(FileNotFoundError, match=r"history\.edn.*history\.edn\.xz"):
        edn.read_history(plain)


def test_records_in_lin_kv_results_read_as_maps():
    text = '{:model #knossos.model.CASRegister{:value 3}, :error #knossos.model.Inconsistent{:msg "no"}}'
    assert edn.loads(text) == {kw("model"): {kw("value"): 3}, kw("error"): {kw("msg"): "no"}}


def _pr_reference(value, readably=True):
    """pr as a plain chain of isinstance tests (what edn.pr was before its by-type fast path)."""
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return edn._pr_str(value) if readably else value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return edn.pr(value)
    if isinstance(value, Keyword):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(_pr_reference(v, readably) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + " ".join(_pr_reference(v, readably) for v in value) + ")"
    if isinstance(value, Op):
        return _pr_reference(edn.op_to_map(value), readably)
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{_pr_reference(k, readably)} {_pr_reference(v, readably)}" for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, (set, frozenset)):
        return "#{" + " ".join(_pr_reference(v, readably) for v in value) + "}"
    return edn_format.dumps(value)


PR_VALUES = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    float("nan"),
    float("-inf"),
    "",
    "plain",
    'q"uo\\te\n\t\r\b\f',
    kw("r"),
    [1, [True, None], {"a": [kw("w"), 2]}],
    (1, "x"),
    frozenset({1}),
    {1: True, False: 0.25},
    StrKeys({"n1": 2}),
    {kw("k"): {"nested": ["x\ny"]}},
    Op("ok", "read", 0, [1], 5, 1, extra={"final?": True}),
]


@pytest.mark.parametrize("value", PR_VALUES, ids=repr)
@pytest.mark.parametrize("readably", [True, False])
def test_pr_fast_path_prints_as_the_isinstance_chain(value, readably):
    assert edn.pr(value, readably) == _pr_reference(value, readably)


@pytest.mark.parametrize(
    "path", [p for p in EDN_FILES if p.name == "history.edn"], ids=lambda p: "/".join(p.parts[-3:])
)
def test_op_edn_line_is_pr_of_op_to_map_on_corpus(path):
    ops = edn.read_history(path)
    sample = ops[:200] + [op for op in ops if op.error is not None or op.extra or not op.is_client][:200]
    for op in sample:
        assert edn.op_edn_line(op) == edn.pr(edn.op_to_map(op)) == _pr_reference(edn.op_to_map(op))


def test_op_edn_line_with_extras_named_like_its_keys():
    # an extra named like one of op_to_map's keys replaces that entry in place, as in the map
    for extra in ({"value": 3}, {"error": "x"}, {"index": 9, "z": 1}, {"final?": True}):
        for error in (None, kw("net-timeout")):
            op = Op("info", "read", 2, [1, 2], 5, 1, extra=extra, error=error)
            assert edn.op_edn_line(op) == _pr_reference(edn.op_to_map(op))


def test_write_history_uses_given_txt_lines_only_when_there_is_one_per_op(tmp_path):
    ops = [Op("invoke", "echo", 0, "hi", 5, 0), Op("ok", "echo", 0, "hi", 9, 1)]
    edn.write_history(ops, tmp_path)
    expected = (tmp_path / "history.txt").read_text()
    edn.write_history(ops, tmp_path, [edn.history_txt_line(op) for op in ops])
    assert (tmp_path / "history.txt").read_text() == expected
    edn.write_history(ops, tmp_path, ["stale"])  # not one per op: formatted afresh
    assert (tmp_path / "history.txt").read_text() == expected


def test_timeline_with_the_history_edn_lines_is_the_timeline_without(tmp_path):
    from harness.timeline import timeline_html

    path = next(p for p in EDN_FILES if p.name == "history.edn" and "nemesis" in edn.read_text(p))
    ops = edn.read_history(path)
    lines = edn.write_history(ops, tmp_path)
    assert lines == (tmp_path / "history.edn").read_text().splitlines()
    assert timeline_html(ops, "t", lines) == timeline_html(ops, "t")
    assert timeline_html(ops, "t", lines[:-1]) == timeline_html(ops, "t")  # not one per op: unused
