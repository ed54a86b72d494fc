"""Rules that compose (issue 12): dependencies, definitions, inherited versions, deployment parameters.

Each test writes a small policy folder (the bundled after_sale case schema) and checks the verdicts
the format's text promises; none of the expected outcomes comes from running the engine first.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.diff import diff_rulebooks
from policy_eval.run.evaluate import Evaluator


def _write(folder: Path, name: str, text: str) -> Path:
    return pt.write(folder / name, text)


def _policy(body: str, version: str = "1", start: str = "2020-01-01") -> str:
    return pt.policy(body, version=version, effective_from=start)


def _errors(root: Path, **kw: Any) -> list[PolicyError]:
    with pytest.raises(ErrorList) as info:
        load_rulebook(root, **kw)
    return list(info.value.errors)


_case = pt.after_sale_case


def _by_rule(result: Any) -> dict[str, Any]:
    return {r.rule: r for r in result.results}


# --- rules that depend on rules ----------------------------------------------------------------------
DEPENDENT = """\
definitions:
  received: order.received_at
  window_end: received + 15d
rules:
  - id: in-window
    title: submitted inside the window
    clause: demo 1
    severity: low
    require: request.submitted_at <= window_end
    message: late
  - id: auto-refund
    title: unhandled in-window requests are refunded
    clause: demo 2
    severity: high
    depends_on: {in-window: complied}
    require: exists(request.refund_succeeded_at)
    message: not refunded
  - id: late-notice
    title: a late request is answered
    clause: demo 3
    severity: low
    depends_on: {in-window: violated}
    when: request.submitted_at > window_end - 30d
    require: exists(request.merchant_response)
    message: no answer
"""


def test_dependent_rule_follows_the_outcome_it_depends_on(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", _policy(DEPENDENT))
    ev = Evaluator(load_rulebook(tmp_path), explain=True)
    case = _case()
    case["order"]["received_at"] = "2024-02-25T10:00:00+08:00"  # window ends 03-11: in window
    got = _by_rule(ev.evaluate(case))
    assert got["in-window"].outcome.value == "complied"
    assert got["auto-refund"].outcome.value == "violated"
    assert got["auto-refund"].depends == {"in-window": "complied"}
    assert got["auto-refund"].explanation[0] == {"expr": "depends on in-window", "value": "complied"}
    # what the dependency reads is recorded with the dependent rule
    assert "order.received_at" in got["auto-refund"].inputs
    assert got["late-notice"].outcome.value == "not_applicable"
    assert "demo/in-window is violated; that rule is complied" in got["late-notice"].reason


# a rule listed before the rule it depends on: decided after it, shown before it
LISTED_FIRST = pt.rules_text(
    pt.rule("late-notice", "exists(request.merchant_response)", depends_on="{in-window: violated}"),
    pt.rule("in-window", "request.submitted_at <= order.received_at + 15d"))


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_verdicts_keep_the_policy_files_order_when_a_dependency_is_listed_later(tmp_path: Path,
                                                                                detail: str) -> None:
    _write(tmp_path, "demo.yaml", _policy(LISTED_FIRST))
    case = _case()  # submitted 03-01, received 02-01: the window ended 02-16, and no answer
    case["order"]["received_at"] = "2024-02-01T10:00:00+08:00"
    result = Evaluator(load_rulebook(tmp_path), detail=detail).evaluate(case)
    assert [(r.rule, r.outcome.value) for r in result.results] == [("late-notice", "violated"),
                                                                   ("in-window", "violated")]


def test_undetermined_dependency_makes_the_dependent_undetermined_naming_the_path(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", _policy(DEPENDENT))
    got = _by_rule(Evaluator(load_rulebook(tmp_path)).evaluate(_case()))  # no order.received_at
    assert got["in-window"].outcome.value == "undetermined"
    for rid in ("auto-refund", "late-notice"):
        assert got[rid].outcome.value == "undetermined"
        assert got[rid].missing == ("order.received_at",)
        assert "depends on demo/in-window, which is undetermined (missing order.received_at)" in got[rid].reason


# a dependent whose own `when` reads nothing the dependency lacks
OWN_WHEN = DEPENDENT + """\
  - id: return-notice
    title: a return request is answered
    clause: demo 4
    severity: low
    depends_on: {in-window: complied}
    when: request.type == "return_refund"
    require: exists(request.merchant_response)
    message: no answer
"""


def _own_when_paths(tmp_path: Path) -> list[tuple[str, Any]]:
    """(name, evaluate) for every way a case is judged: the general path, findings detail fused and rule by
    rule, and the embedding API (lazy verdicts) in both details."""
    from policy_eval.api import Rulebook
    _write(tmp_path, "demo.yaml", _policy(OWN_WHEN))
    rb = load_rulebook(tmp_path)
    by_rule = Evaluator(rb, detail="findings")
    by_rule._kernel._fused.update(dict.fromkeys(by_rule._kernel._fused))  # (no fused function: rule by rule)
    api = Rulebook.load(tmp_path, entry_points=False)
    return [("full", Evaluator(rb).evaluate), ("explained", Evaluator(rb, explain=True).evaluate),
            ("findings", Evaluator(rb, detail="findings").evaluate), ("findings, rule by rule", by_rule.evaluate),
            ("api", api.evaluate), ("api findings", lambda c: api.evaluate(c, detail="findings"))]


def test_an_undetermined_dependency_leaves_a_rule_not_applicable_when_its_own_when_is_false(tmp_path: Path) -> None:
    # Kleene's "and": the rule applies where in-window complied and the request is a return; a refund-only
    # request decides that it does not, whatever in-window (undetermined: no order.received_at) would be
    for name, evaluate in _own_when_paths(tmp_path):
        result = evaluate(_case())
        got = _by_rule(result)
        assert "return-notice" not in got or got["return-notice"].outcome.value == "not_applicable", name
        if "return-notice" in got:  # full detail: the verdict says why, and records the dependency
            assert got["return-notice"].depends == {"in-window": "undetermined"}, name
            assert "undetermined" not in got["return-notice"].reason, name
        else:  # findings detail: counted with the other not-applicable verdicts
            assert result.counts()["not_applicable"] == 1, name
        assert got["auto-refund"].outcome.value == "undetermined", name  # no `when` of its own
        assert got["late-notice"].outcome.value == "undetermined", name  # its `when` reads the unknown window


def test_an_undetermined_dependency_leaves_undetermined_a_rule_whose_own_when_holds(tmp_path: Path) -> None:
    for name, evaluate in _own_when_paths(tmp_path):
        got = _by_rule(evaluate(_case(type="return_refund")))
        assert got["return-notice"].outcome.value == "undetermined", name
        assert got["return-notice"].missing == ("order.received_at",), name
        assert "depends on demo/in-window, which is undetermined" in got["return-notice"].reason, name


def test_dependency_is_evaluated_even_when_only_the_dependent_is_selected(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", _policy(DEPENDENT))
    ev = Evaluator(load_rulebook(tmp_path), only=["demo/auto-refund"])
    case = _case(refund_succeeded_at="2024-03-02T10:00:00+08:00")
    case["order"]["received_at"] = "2024-02-01T10:00:00+08:00"  # window ended 02-16: out of window
    (only,) = ev.evaluate(case).results
    assert only.rule == "auto-refund" and only.outcome.value == "not_applicable"


def test_rules_inputs_include_what_dependencies_read(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", _policy(DEPENDENT))
    (version,) = load_rulebook(tmp_path).versions()
    rules = {r.id: r for r in version.rules}
    assert "order.received_at" in rules["auto-refund"].inputs
    assert "request.refund_succeeded_at" in rules["auto-refund"].inputs
    assert version.order.index("in-window") < version.order.index("auto-refund")


def test_unknown_dependency_is_a_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "demo.yaml", _policy(DEPENDENT.replace("{in-window: complied}", "{in-windw: complied}")))
    (err,) = _errors(tmp_path)
    line = path.read_text(encoding="utf-8").splitlines().index("    depends_on: {in-windw: complied}") + 1
    assert (err.file, err.line) == (str(path), line) and err.column == 18
    assert "unknown rule 'in-windw'" in err.message and "did you mean 'in-window'" in err.message


def test_dependency_cycle_is_a_located_error(tmp_path: Path) -> None:
    text = DEPENDENT.replace("    require: request.submitted_at <= window_end\n",
                             "    depends_on: {auto-refund: [complied, violated]}\n"
                             "    require: request.submitted_at <= window_end\n")
    path = _write(tmp_path, "demo.yaml", _policy(text))
    (err,) = _errors(tmp_path)
    assert "cycle" in err.message and "in-window → auto-refund → in-window" in err.message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert err.file == str(path) and lines[err.line - 1].strip().startswith("depends_on:")


def test_cross_version_dependency_is_a_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "demo.yaml",
                  _policy(DEPENDENT.replace("{in-window: complied}", "{after-sales/refund-only-window: complied}")))
    (err,) = _errors(tmp_path)
    assert "another policy or version" in err.message and err.file == str(path)


def test_a_let_may_not_hide_a_definition(tmp_path: Path) -> None:
    text = DEPENDENT.replace("    require: exists(request.refund_succeeded_at)\n",
                             "    let: {received: order.confirmed_at}\n    require: exists(request.refund_succeeded_at)\n")
    _write(tmp_path, "demo.yaml", _policy(text))
    (err,) = _errors(tmp_path)
    assert "hides the definition 'received'" in err.message


# --- versions that inherit ---------------------------------------------------------------------------
BASE = """\
params:
  refund_only_limit: 48h
  return_limit: 48h
rules:
  - id: refund-only-handling
    title: refund-only requests are handled in time
    clause: demo 2.2
    severity: high
    when: request.type == "refund_only"
    require: exists(request.merchant_response) and request.merchant_response.at <= request.submitted_at + refund_only_limit
    message: handled late
  - id: return-handling
    title: return requests are handled in time
    clause: demo 3.2
    severity: high
    when: request.type == "return_refund"
    require: exists(request.merchant_response) and request.merchant_response.at <= request.submitted_at + return_limit
    message: handled late
  - id: old-rule
    title: withdrawn later
    clause: demo 9
    severity: info
    require: "true"
    message: never
"""

REVISION = """\
policy:
  id: demo
  version: "2"
  revises: "1"
  effective_from: 2024-06-01
params:
  refund_only_limit: 72h
withdraw: [old-rule]
"""


def _handled(kind: str, submitted: str, hours: int) -> dict[str, Any]:
    at = parse_instant(submitted)
    answer = (at + dt.timedelta(hours=hours)).isoformat()
    case = _case(type=kind, submitted_at=submitted, merchant_response={"at": answer, "action": "agree"})
    case["case_id"] = f"{kind}-{submitted[:10]}-{hours}h"
    return case


def test_inherited_revision_changes_exactly_the_expected_verdicts(tmp_path: Path) -> None:
    old = tmp_path / "old"
    new = tmp_path / "new"
    _write(old, "v1.yaml", _policy(BASE))
    _write(new, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                 "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    _write(new, "v2.yaml", REVISION)
    book = load_rulebook(new)
    v1, v2 = book.policies["demo"].versions
    assert (v2.version, v2.revises, v2.title) == ("2", "1", "demo")
    assert [r.id for r in v2.rules] == ["refund-only-handling", "return-handling"]
    assert v2.params["refund_only_limit"].value == dt.timedelta(hours=72)  # type: ignore[attr-defined]
    assert v2.params["return_limit"].value == dt.timedelta(hours=48)  # type: ignore[attr-defined]
    assert v2.param_info["refund_only_limit"].file == str(new / "v2.yaml")
    cases = [
        _handled("refund_only", "2024-05-10T10:00:00+08:00", 60),   # before the revision: still late
        _handled("refund_only", "2024-06-10T10:00:00+08:00", 60),   # after: 60 h is now in time
        _handled("refund_only", "2024-06-10T10:00:00+08:00", 80),   # after: late either way
        _handled("refund_only", "2024-06-10T10:00:00+08:00", 30),   # in time either way
        _handled("return_refund", "2024-06-10T10:00:00+08:00", 60),  # the return limit stays 48 h
    ]
    report = diff_rulebooks(Evaluator(load_rulebook(old)), Evaluator(book),
                            [("cases", i, c) for i, c in enumerate(cases, 1)])
    moved = {(t.rule, t.before, t.after): t.cases for t in report.transitions.values()}
    assert moved == {
        ("demo/refund-only-handling", "violated", "complied"): ["refund_only-2024-06-10-60h"],
        # the withdrawn rule is absent where it applied (every case after the date)
        ("demo/old-rule", "complied", "absent"): [c["case_id"] for c in cases[1:]],
    }


def test_revision_errors_are_located_in_the_revision(tmp_path: Path) -> None:
    _write(tmp_path, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                      "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    rev = _write(tmp_path, "v2.yaml", REVISION.replace("[old-rule]", "[old-rul]")
                 + "rules:\n  - id: extra\n    title: t\n    clause: c\n    severity: low\n"
                 "    require: nonsense_name\n    message: m\n")
    errors = _errors(tmp_path)
    assert {e.file for e in errors} == {str(rev)}
    text = " | ".join(e.message for e in errors)
    assert "withdraws rule 'old-rul'" in text and "did you mean 'old-rule'" in text
    assert "nonsense_name" in text


def test_revision_of_an_unknown_version_is_a_located_error(tmp_path: Path) -> None:
    _write(tmp_path, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                      "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    rev = _write(tmp_path, "v2.yaml", REVISION.replace('revises: "1"', 'revises: "7"'))
    (err,) = _errors(tmp_path)
    assert err.file == str(rev) and err.line == 4 and "no version '7'" in err.message


def _schema_errors(text: str) -> list[str]:
    import json

    import jsonschema
    import yaml
    from test_editor_schemas import ROOT, _Yaml12

    schema = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
    data = yaml.load(text, Loader=_Yaml12)  # noqa: S506 - a SafeLoader subclass (dates stay text, as editors load them)
    return [f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


@pytest.mark.parametrize("text", [_policy(DEPENDENT), _policy(BASE), REVISION, _policy(pt.RESPONSE_TIME)],
                         ids=["definitions-depends_on", "base", "revision-withdraw", "parameter-without-value"])
def test_the_policy_schema_accepts_the_new_keys(text: str) -> None:
    assert _schema_errors(text) == []


def test_the_policy_schema_refuses_misshapen_new_keys() -> None:
    assert _schema_errors(REVISION.replace("withdraw: [old-rule]", "withdraw: old-rule"))
    assert _schema_errors(REVISION.replace('revises: "1"', "revises: 1"))
    assert _schema_errors(_policy(DEPENDENT.replace("{in-window: complied}", "{in-window: passed}")))
    assert _schema_errors(_policy(DEPENDENT.replace("  received: order.received_at", "  received-at: order.received_at")))
    assert _schema_errors(_policy(pt.RESPONSE_TIME.replace("type: duration", "kind: duration")))


# --- deployment parameters ---------------------------------------------------------------------------
DEPLOYED = pt.RESPONSE_TIME


def _answered(hours: int) -> dict[str, Any]:
    return _handled("refund_only", "2024-03-01T10:00:00+08:00", hours)


def test_unset_deployment_parameter_gives_undetermined_naming_it(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    book = load_rulebook(tmp_path / "p")
    (r,) = Evaluator(book).evaluate(_answered(30)).results
    assert r.outcome.value == "undetermined"
    assert "the source sets no number: set demo.response_limit" in r.reason
    assert "params.demo.response_limit" in r.missing
    assert r.params == {"demo.response_limit": {"value": None, "source": "unset"}}
    info = book.policies["demo"].latest().param_info["response_limit"]
    assert (info.source, info.value) == ("unset", None)


def test_overlay_turns_the_deployment_parameter_into_a_decision(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    plain = load_rulebook(tmp_path / "p")
    book = load_rulebook(tmp_path / "p", params=overlay)
    assert book.digest != plain.digest  # the overlay is part of what the verdicts depend on
    ev = Evaluator(book)
    assert ev.evaluate(_answered(20)).results[0].outcome.value == "complied"
    late = ev.evaluate(_answered(30)).results[0]
    assert late.outcome.value == "violated"
    assert late.params == {"demo.response_limit": {"value": "24h", "source": str(overlay)}}


def test_a_deployment_parameter_read_only_by_a_remedy_duration_is_recorded(tmp_path: Path) -> None:
    """A remedy's duration is part of the verdict: a deployment parameter it alone reads is one of the rule's
    parameters (listed by ``rules``, recorded with a violated verdict) as one its amount reads is (it once was not)."""
    body = DEPLOYED.replace("    message: answered late\n", "    message: answered late\n    remedies:\n"
                            "      - kind: ban_promotions\n        to: merchant\n        description: demo\n"
                            "        duration: ban_for\n")
    body = body.replace("params:\n", "params:\n  ban_for:\n    type: duration\n"
                        "    clause: \"demo 5 (the text sets no number)\"\n", 1)
    assert "duration: ban_for" in body and "  ban_for:\n" in body
    _write(tmp_path / "p", "demo.yaml", _policy(body))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 24h\n    ban_for: 7d\n")
    book = load_rulebook(tmp_path / "p", params=overlay)
    assert book.policies["demo"].latest().rules[0].params == ["ban_for", "response_limit"]
    late = Evaluator(book).evaluate(_answered(30)).results[0]
    assert late.outcome.value == "violated" and late.remedies[0]["duration"] == "7d"
    assert late.params == {"demo.ban_for": {"value": "7d", "source": str(overlay)},
                           "demo.response_limit": {"value": "24h", "source": str(overlay)}}


def test_overlay_values_are_dated_like_other_parameters(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    overlay = _write(tmp_path, "deployment.yaml", """\
        params:
          demo:
            response_limit:
              values:
                2020-01-01: 24h
                2024-03-01: 36h
        """)
    ev = Evaluator(load_rulebook(tmp_path / "p", params=overlay))
    assert ev.evaluate(_answered(30)).results[0].outcome.value == "complied"  # 36 h from 2024-03-01
    early = _handled("refund_only", "2024-02-01T10:00:00+08:00", 30)
    assert ev.evaluate(early).results[0].outcome.value == "violated"  # 24 h before


def test_overlay_is_checked_against_the_parameter_types(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED.replace("  response_limit:\n", "  response_limit:\n", 1)
                                                 + "  other: 2h\n".replace("  other", "  #")))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 100.00 CNY\n")
    (err,) = _errors(tmp_path / "p", params=overlay)
    assert err.file == str(overlay) and err.line == 3 and "duration" in err.message


def test_a_wrong_type_in_the_overlay_is_one_error_when_another_version_loads(tmp_path: Path) -> None:
    """An author's audit: with a version that loads beside the one declaring the parameter, a value of the wrong
    type also gave "policy 'demo' has no parameter 'response_limit'" (the declaring version had not loaded)."""
    v1 = _policy(BASE).replace("  effective_from: 2020-01-01\n", "  effective_from: 2020-01-01\n  effective_until: 2024-01-01\n")
    _write(tmp_path / "p", "v1.yaml", v1)
    _write(tmp_path / "p", "v2.yaml", _policy(DEPLOYED, version="2", start="2024-01-01"))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 100.00 CNY\n")
    (err,) = _errors(tmp_path / "p", params=overlay)
    assert err.file == str(overlay) and err.line == 3 and "duration" in err.message


def test_overlay_may_not_change_a_number_the_text_sets(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(BASE))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    refund_only_limit: 24h\n    nope: 1h\n")
    errors = _errors(tmp_path / "p", params=overlay)
    assert {e.file for e in errors} == {str(overlay)}
    messages = " | ".join(e.message for e in errors)
    assert "the source text sets 'refund_only_limit'" in messages
    assert "has no parameter 'nope'" in messages


def test_overlay_for_an_unknown_policy_is_a_located_error(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  dmeo:\n    response_limit: 24h\n")
    (err,) = _errors(tmp_path / "p", params=overlay)
    assert err.file == str(overlay) and err.line == 2 and "no policy 'dmeo'" in err.message


def test_diff_names_the_dependency_a_transition_is_caused_through(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old, "demo.yaml", _policy(DEPENDENT))
    # the revision widens the window: in-window changes, and auto-refund with it
    _write(new, "demo.yaml", _policy(DEPENDENT.replace("window_end: received + 15d", "window_end: received + 30d")))
    case = _case()
    case["order"]["received_at"] = "2024-02-10T10:00:00+08:00"  # 15 d: ended 02-25 (late); 30 d: 03-11 (in)
    report = diff_rulebooks(Evaluator(load_rulebook(old)), Evaluator(load_rulebook(new)), [("c", 1, case)])
    moved = {(t.rule, t.before, t.after): t for t in report.transitions.values()}
    assert set(moved) == {("demo/in-window", "violated", "complied"), ("demo/auto-refund", "not_applicable", "violated"),
                          ("demo/late-notice", "violated", "not_applicable")}
    assert moved[("demo/auto-refund", "not_applicable", "violated")].through == {"demo/in-window"}
    assert moved[("demo/in-window", "violated", "complied")].through == set()
    assert "not_applicable -> violated through demo/in-window: 1 case" in report.text()


# --- coverage and inputs by version ------------------------------------------------------------------
def test_inputs_answer_for_the_version_in_force(tmp_path: Path) -> None:
    _write(tmp_path, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                      "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    _write(tmp_path, "v2.yaml", REVISION + textwrap.dedent("""\
        rules:
          - id: return-handling
            title: return requests are handled in time, counted from the return's arrival
            clause: demo 3.2 (revised)
            severity: high
            when: request.type == "return_refund"
            require: exists(request.merchant_response) and request.merchant_response.at <= order.received_at + return_limit
            message: handled late
        """))
    book = load_rulebook(tmp_path)
    old = book.inputs("demo/return-handling", parse_instant("2021-01-01"))
    new = book.inputs("demo/return-handling", parse_instant("2024-07-01"))
    assert "order.received_at" not in old and "request.submitted_at" in old
    assert "order.received_at" in new and "request.submitted_at" not in new
    assert book.inputs("demo/return-handling") == new  # default: the version in force now
    with pytest.raises(KeyError):
        book.inputs("demo/old-rule", parse_instant("2024-07-01"))  # withdrawn in version 2


def test_inputs_default_to_the_version_in_force_now_not_a_later_one(tmp_path: Path) -> None:
    from policy_eval.api import Rulebook

    # version 2 is written already but takes effect in 2999: today version 1 answers, in both APIs
    _write(tmp_path, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                      "  effective_from: 2020-01-01\n  effective_until: 2999-01-01\n"))
    _write(tmp_path, "v2.yaml", REVISION.replace("2024-06-01", "2999-01-01") + textwrap.dedent("""\
        rules:
          - id: return-handling
            title: counted from the return's arrival
            clause: demo 3.2 (revised)
            severity: high
            require: exists(request.merchant_response) and request.merchant_response.at <= order.received_at + return_limit
            message: handled late
        """))
    book = load_rulebook(tmp_path)
    today = book.inputs("demo/return-handling")
    assert "request.submitted_at" in today and "order.received_at" not in today
    assert "order.received_at" in book.inputs("demo/return-handling", parse_instant("2999-06-01"))
    api = Rulebook.load(tmp_path).inputs("demo/return-handling")
    assert (list(api), api.version) == (today, "1")
    assert book.inputs("demo/old-rule") == []  # a rule of version 1 (it reads nothing); withdrawn only in 2999
    with pytest.raises(KeyError):
        book.inputs("demo/old-rule", parse_instant("2999-06-01"))


def test_coverage_counts_each_rule_in_each_version(tmp_path: Path) -> None:
    from policy_eval.run.testing import PolicyTest, coverage, run_test

    _write(tmp_path, "v1.yaml", _policy(BASE).replace("  effective_from: 2020-01-01\n",
                                                      "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    _write(tmp_path, "v2.yaml", REVISION)
    book = load_rulebook(tmp_path)
    ev = Evaluator(book)
    tests = [PolicyTest("late in v1", "t.yaml", 1, _handled("refund_only", "2024-05-10T10:00:00+08:00", 60),
                        {"demo/refund-only-handling": "violated"}),
             PolicyTest("in time in v1", "t.yaml", 2, _handled("refund_only", "2024-05-10T10:00:00+08:00", 30),
                        {"demo/refund-only-handling": "complied"})]
    cov = coverage(book, [run_test(t, ev, enrichers=()) for t in tests])
    assert cov["demo/refund-only-handling@1"] == {"violated", "complied"}
    assert cov["demo/refund-only-handling@2"] == set()  # inherited into version 2, with no test there
    assert "demo/old-rule@1" in cov and "demo/old-rule@2" not in cov


# --- unknown is not "has not happened" ---------------------------------------------------------------
def _unanswered() -> dict[str, Any]:
    """A refund-only request with no answer recorded, taken 5 days after it was submitted."""
    import json

    case = json.loads((Path(__file__).parents[1] / "examples" / "after_sale_fruit_refund_no_reply.json").read_text())
    return case


def test_unknown_and_not_happened_give_different_verdicts_on_the_same_case() -> None:
    book = load_rulebook()
    ev = Evaluator(book, only=["after-sales/refund-only-handling-limit"])
    case = _unanswered()
    assert "withdrawn_at" not in case["request"]
    (not_happened,) = ev.evaluate(case).results
    assert not_happened.outcome.value == "violated"  # no answer, no withdrawal, no refund by the deadline
    case["request"]["withdrawn_at"] = None  # the export does not know whether the buyer withdrew
    (unknown,) = ev.evaluate(case).results
    assert unknown.outcome.value == "undetermined"
    assert unknown.missing == ("request.withdrawn_at",)
    assert "unknown in the case (null): request.withdrawn_at" in unknown.reason


def test_null_is_accepted_by_the_case_schemas_outside_lists() -> None:
    from policy_eval.rulebook.validation import CaseValidator

    book = load_rulebook()
    validator = CaseValidator(book.case_schemas)
    case = _unanswered()
    case["request"]["withdrawn_at"] = None
    case["order"]["received_at"] = None
    assert validator.check(case, "t", 1) is None
    case["request"]["submitted_at"] = None  # required: null is no answer there
    err = validator.check(case, "t", 1)
    assert err is not None and err.json_path == "$.request.submitted_at"


def test_a_when_that_is_false_without_the_unknown_value_still_decides() -> None:
    ev = Evaluator(load_rulebook(), only=["after-sales/return-refund-window"])
    case = _unanswered()
    case["order"]["received_at"] = None  # unknown receipt: the return window cannot be placed
    (r,) = ev.evaluate(case).results
    assert r.outcome.value == "not_applicable"  # a refund-only request: the return window does not apply
    case["request"]["type"] = "return_refund"
    (r,) = ev.evaluate(case).results
    assert r.outcome.value == "undetermined" and r.missing == ("order.received_at",)


def test_pdd_loader_writes_null_for_an_event_the_export_has_no_column_for() -> None:
    import io

    from policy_eval.plugins.loaders.pdd import load_pdd_after_sale

    head = "售后单号,订单号,售后类型,申请时间,确认收货时间,发货时间,商家处理时间,商家处理结果,退款成功时间"
    row = "AS-1,O-1,仅退款,2023-07-12 12:20:41,2023-07-12 11:47:05,2023-07-10 16:02:10,,,"
    (_, case), = list(load_pdd_after_sale(io.BytesIO(f"{head}\n{row}\n".encode()), "export.csv"))
    assert isinstance(case, dict)
    request = case["request"]
    assert "refund_succeeded_at" not in request and "merchant_response" not in request  # empty cells: not happened
    assert request["withdrawn_at"] is None  # no 撤销时间 column: unknown
    assert request["return"] is None and request["merchant_after_return"] is None
    assert case["order"]["shipped_at"] == "2023-07-10T16:02:10+08:00"


# --- the command line: --params on every command that loads a rulebook, rules --params --------------
def _cli(*argv: str) -> tuple[int, str, str]:
    import io

    from policy_eval.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_rules_params_lists_values_sources_and_users(tmp_path: Path) -> None:
    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED.replace("params:\n", "params:\n  grace: 2h\n", 1)))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 36h\n")
    code, out, _ = _cli("rules", "-p", tmp_path / "p", "--params")
    assert code == 0
    assert "demo v1  response_limit: duration = unset  [unset]  demo 4" in out
    assert "demo v1  grace: duration = 2h  [text]" in out
    assert "    used by: response-time" in out and "    used by: (no rule)" in out
    assert out.rstrip().endswith("2 parameters, 1 unset")
    code, out, _ = _cli("rules", "-p", tmp_path / "p", "--params", overlay)
    assert f"response_limit: duration = 36h  [deployment ({overlay}:3)]" in out


def test_cli_eval_and_check_take_the_overlay(tmp_path: Path) -> None:
    import json

    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    overlay = _write(tmp_path, "deployment.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(_answered(30)), encoding="utf-8")
    code, out, _ = _cli("eval", "-p", tmp_path / "p", "-f", "jsonl", "--detail", "full", case)
    (unset,) = json.loads(out.splitlines()[0])["results"]
    assert unset["outcome"] == "undetermined" and "set demo.response_limit" in unset["reason"]
    code, out, _ = _cli("eval", "-p", tmp_path / "p", "--params", overlay, "-f", "jsonl", "--detail", "full", case)
    (decided,) = json.loads(out.splitlines()[0])["results"]
    assert decided["outcome"] == "violated"
    assert decided["params"] == {"demo.response_limit": {"value": "24h", "source": str(overlay)}}
    bad = _write(tmp_path, "bad.yaml", "params:\n  demo:\n    response_limit: yes\n")
    code, _, err = _cli("check", "--params", bad, tmp_path / "p")
    assert code != 0 and f"{bad}:3:" in err


def test_a_revision_must_end_the_version_it_revises_and_withdraw_needs_revises(tmp_path: Path) -> None:
    _write(tmp_path, "v1.yaml", _policy(BASE))
    rev = _write(tmp_path, "v2.yaml", REVISION)
    (err,) = _errors(tmp_path)
    assert err.file == str(rev) and "set effective_until: 2024-06-01" in err.message
    plain = _write(tmp_path / "other", "v1.yaml", _policy(BASE) + "withdraw: [old-rule]\n")
    (err,) = _errors(tmp_path / "other")
    assert err.file == str(plain) and "'withdraw' belongs to a revision" in err.message
    assert plain.read_text(encoding="utf-8").splitlines()[err.line - 1].startswith("withdraw:")


def test_api_load_takes_an_overlay_mapping(tmp_path: Path) -> None:
    from policy_eval.api import Rulebook

    _write(tmp_path / "p", "demo.yaml", _policy(DEPLOYED))
    book = Rulebook.load(tmp_path / "p", params={"demo": {"response_limit": "24h"}})
    (r,) = book.evaluate(_answered(30)).results
    assert r.outcome.value == "violated" and r.params == {"demo.response_limit": {"value": "24h", "source": "<params>"}}
    with pytest.raises(ErrorList):
        Rulebook.load(tmp_path / "p", params={"demo": {"response_limit": "100.00 CNY"}})


def test_in_force_resolves_what_dated_calls_dated_and_only_that(monkeypatch: pytest.MonkeyPatch) -> None:
    """run.compose.in_force resolves a rule's dated parameters at an instant and leaves any other recording as
    it is (the same dict); whether there is one to resolve is :func:`dated`'s answer, asked, not repeated."""
    from policy_eval.run import compose

    june, july = (dt.datetime(2020, m, 1, tzinfo=dt.UTC) for m in (6, 7))
    window = compose._Dated((june, july), ("7d", "15d"))
    plain = {"p.fee": {"value": "3", "source": "params.yaml"}}
    mixed = {**plain, "p.window": {"value": window, "source": "params.yaml"}}
    assert not compose.dated(plain) and compose.dated(mixed)
    assert compose.in_force(plain, june) is plain and compose.in_force(None, june) is None
    assert [compose.in_force(mixed, t) for t in (june - dt.timedelta(1), june, july, "unknown")] == [
        {**plain, "p.window": {"value": v, "source": "params.yaml"}} for v in (None, "7d", "15d", None)]
    monkeypatch.setattr(compose, "dated", lambda params: False)  # one answer: in_force goes by it
    assert compose.in_force(mixed, june) is mixed
