"""``exists(...)`` in a rule on a case that writes an explicit ``null`` (issue 19 leftover).

What the docs say, and so what these tests expect (none of it was read off the engine first):

* docs/policies.md, "Unknown is not 'has not happened'": a key left out means the event **has not
  happened** (``exists(x)`` is false); ``"x": null`` means **unknown**, "the source does not know whether
  or when".
* docs/language.md, "Absent and null": a rule judged on a case record reads a null as unknown, so
  ``exists`` of it (or of a field under a null object) is unknown, and Kleene logic decides: where the
  rule's outcome depends on it, the rule is ``undetermined`` naming the path, with the reason
  ``unknown in the case (null): <path>``; where its ``when`` is false whatever the value is, it does not
  apply. (As a bare expression, ``exists`` of a null is false: tests/conformance/logic_unknown.yaml
  ``unknown/exists_null``.) tests/test_null_kleene.py covers the rest of the three-valued reading.

So ``when: exists(order.shipped_at)`` on ``"shipped_at": null`` asks "was the order shipped?" of a record
that says it does not know: the rule is neither not_applicable (that would read the null as "not
shipped") nor judged (that would read it as "shipped"): it is undetermined, naming order.shipped_at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.run.evaluate import Evaluator

SHIPPED = "2024-02-21T10:00:00+08:00"
RULES = pt.rules_text(
    pt.rule("shipped-applies", "request.submitted_at <= order.shipped_at + 15d", when="exists(order.shipped_at)"),
    pt.rule("unshipped-applies", "exists(request.merchant_response)", when="not exists(order.shipped_at)"),
    pt.rule("must-ship", "exists(order.shipped_at)"),
    pt.rule("via-let", "true", let=[("shipped", "exists(order.shipped_at)")], when="shipped"),
    pt.rule("answer-applies", "true", when="exists(request.merchant_response.at)"),
    pt.rule("returns-only", "exists(order.shipped_at)", when='request.type == "return_refund"'),
    pt.rule("after-ship", "true", when="exists(order.shipped_at) and request.type == \"refund_only\""),
    pt.rule("follows-shipped", "exists(request.merchant_response)", depends_on="{shipped-applies: complied}"),
)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> Evaluator:
    folder = tmp_path_factory.mktemp("exists_null")
    pt.write(folder / "demo.yaml", pt.policy(RULES))
    return Evaluator(pt.load(folder))


def _verdicts(ev: Evaluator, shipped: Any = ..., **request: Any) -> dict[str, Any]:
    case = pt.after_sale_case(**request)
    if shipped is not ...:
        case["order"]["shipped_at"] = shipped
    return {r.rule: r for r in ev.evaluate(case).results}


def _undetermined_naming(result: Any, path: str) -> None:
    assert result.outcome.value == "undetermined", (result.rule, result.outcome, result.reason)
    assert result.missing == (path,)
    assert result.reason == f"undetermined: unknown in the case (null): {path}"


def test_left_out_is_not_happened(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator)
    assert got["shipped-applies"].outcome.value == "not_applicable"
    assert got["unshipped-applies"].outcome.value == "violated"  # not shipped and no answer
    assert got["must-ship"].outcome.value == "violated"
    assert got["via-let"].outcome.value == "not_applicable"
    assert got["after-ship"].outcome.value == "not_applicable"


def test_present_is_happened(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, SHIPPED)
    assert got["shipped-applies"].outcome.value == "complied"  # submitted 03-01, within 15 d of 02-21
    assert got["unshipped-applies"].outcome.value == "not_applicable"
    assert got["must-ship"].outcome.value == "complied"
    assert got["via-let"].outcome.value == "complied"
    assert got["after-ship"].outcome.value == "complied"


@pytest.mark.parametrize("rule", ["shipped-applies", "unshipped-applies", "must-ship", "via-let", "after-ship"])
def test_explicit_null_in_exists_is_undetermined_naming_the_path(evaluator: Evaluator, rule: str) -> None:
    _undetermined_naming(_verdicts(evaluator, None)[rule], "order.shipped_at")


def test_a_rule_that_depends_on_it_is_undetermined_naming_the_path(evaluator: Evaluator) -> None:
    # docs/policies.md: the check is per rule, on the paths it reads, its dependencies' included
    got = _verdicts(evaluator, None)["follows-shipped"]
    assert got.outcome.value == "undetermined" and got.missing == ("order.shipped_at",)
    assert _verdicts(evaluator)["follows-shipped"].outcome.value == "not_applicable"  # not shipped
    assert _verdicts(evaluator, SHIPPED)["follows-shipped"].outcome.value == "violated"  # shipped, no answer


def test_a_null_object_makes_exists_of_a_field_under_it_undetermined(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, merchant_response=None)
    _undetermined_naming(got["answer-applies"], "request.merchant_response.at")
    # left out, the answer has not happened: the rule does not apply
    assert _verdicts(evaluator)["answer-applies"].outcome.value == "not_applicable"


def test_a_false_when_that_reads_no_null_still_does_not_apply(evaluator: Evaluator) -> None:
    # docs/language.md: `false and ...` is false whatever the unknown value is
    assert _verdicts(evaluator, None)["returns-only"].outcome.value == "not_applicable"
    got = _verdicts(evaluator, None, type="return_refund")["returns-only"]
    _undetermined_naming(got, "order.shipped_at")


def test_the_verdicts_of_a_null_case_through_the_cli(tmp_path: Path, evaluator: Evaluator) -> None:
    import io
    import json

    from policy_eval.cli import run

    folder = pt.write(tmp_path / "p" / "demo.yaml", pt.policy(RULES)).parent
    case = pt.after_sale_case()
    case["order"]["shipped_at"] = None
    case_file = pt.write(tmp_path / "case.json", json.dumps(case))
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-p", str(folder), "-f", "jsonl", "--detail", "full", str(case_file)], stdout=out, stderr=err)
    (line,) = [json.loads(x) for x in out.getvalue().splitlines() if x.strip()]
    by_rule = {r["rule"]: r for r in line["results"]}
    assert by_rule["shipped-applies"]["outcome"] == "undetermined", err.getvalue()
    assert by_rule["shipped-applies"]["missing"] == ["order.shipped_at"]
