"""lin-kv fidelity: on every lin-kv run of the corpus, our analysis reaches Maelstrom's verdict,
the same failing keys, the same per-key verdicts, and, where Knossos names them, the same op
that could not be linearized and the same last ok op before it."""

from __future__ import annotations

from typing import Any

import fidelity
import pytest

from harness.history import Op

RUNS = fidelity.runs("lin-kv")


def _op_fields(op: Any) -> Any:
    """(process, type, f, value, index) of our Op or of an op map read from results.edn."""
    if op is None:
        return None
    if isinstance(op, Op):
        return (op.process, op.type, op.f, op.value, op.index)
    return tuple(getattr(op.get(k), "name", op.get(k)) for k in ("process", "type", "f", "value", "index"))


def knossos_fields(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """Per-key verdicts, failing op and previous ok op (a field comparison for fidelity.same)."""
    out: list[str] = []
    if set(ours.get("results", {})) != set(theirs.get("results", {})):
        return f"keys: ours {sorted(ours.get('results', {}))} != maelstrom {sorted(theirs['results'])}"
    for k, their in theirs["results"].items():
        mine = ours["results"][k]
        if mine["valid?"] != their["valid?"]:
            out.append(f"key {k} valid?: ours {mine['valid?']!r} != maelstrom {their['valid?']!r}")
        for field in ("op", "previous-ok"):
            if field in their["linearizable"]:
                a = _op_fields(mine["linearizable"].get(field))
                b = _op_fields(their["linearizable"][field])
                if not fidelity._equal(a, b):
                    out.append(f"key {k} {field}: ours {a} != maelstrom {b}")
    return "; ".join(out) or None


COMPARE = fidelity.same("valid?", "failures", knossos_fields)


@pytest.mark.skipif(not RUNS, reason=f"no lin-kv runs under {fidelity.RUNS_ROOT}")
@pytest.mark.parametrize("run_dir", RUNS, ids=fidelity.run_id)
def test_lin_kv_matches_maelstrom(run_dir):
    fidelity.assert_fidelity(run_dir, COMPARE)


@pytest.mark.skipif(not RUNS, reason="no corpus")
def test_corpus_has_failing_ops_to_compare():
    """The comparison above is not vacuous: the corpus names failing ops, and we name the same."""
    named = 0
    for run in RUNS:
        theirs = fidelity.read_results(run / "results.edn")["workload"]
        named += sum(1 for k in theirs["failures"] if "op" in theirs["results"][k]["linearizable"])
    assert named >= 10


def test_comparison_catches_a_wrong_failing_op(tmp_path):
    src = fidelity.RUNS_ROOT / "lin-kv" / "feeblefakie--20250620T113742.597+0900"
    if not src.is_dir():
        pytest.skip("corpus run not available")
    run = fidelity.copy_run(src, tmp_path)
    text = fidelity.text(src, "results.edn")
    assert text.count(":index 5,") == 2  # the failing op, in :final-paths and in :op
    (run / "results.edn").write_text(text.replace(":index 5,", ":index 7,"))
    found = fidelity.mismatches(run, COMPARE)
    assert found and any("key 0 op" in m for m in found)
