"""Parameter ranges (docs/policies.md, "Parameter ranges"): a declaration's ``minimum:`` / ``maximum:``, and
without a ``minimum`` no negative duration, int or money. A value out of range is an error located where
the value is written (the policy file, a dated value, a deployment overlay) naming the range; a range that
does not fit the declared type is an error at the bound. The expected messages and positions are read off
the texts below, not from a run of the engine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.resources import bundled_policies

ROOT = Path(__file__).resolve().parent.parent
NEGATIVE = ("params:\n  cs-conduct:\n    response_limit: -3m\n    harassment_window: -10m\n"
            "    harassment_max_messages: -1\n")


def _cli(*argv: Any) -> tuple[int, str, str]:
    from policy_eval.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], out, err)
    return code, out.getvalue(), err.getvalue()


def _errors(folder: Path, **kw: Any) -> list[PolicyError]:
    with pytest.raises(ErrorList) as info:
        pt.load(folder, **kw)
    return list(info.value.errors)


def _demo(tmp_path: Path, params: str, use: str = "request.submitted_at + limit > request.submitted_at") -> Path:
    """A policy folder whose one rule reads the parameter ``limit`` (``params`` is the ``params:`` block)."""
    body = params + pt.rules_text(pt.rule("r", use))
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(body))
    return tmp_path / "p"


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# --- the report: negative values in an overlay ---------------------------------------------------------
def test_the_negative_overlay_of_the_report_is_refused_located_in_the_overlay(tmp_path: Path) -> None:
    overlay = pt.write(tmp_path / "neg.yaml", NEGATIVE)
    code, out, err = _cli("check", "-p", ROOT / "policies", "--params", overlay)
    assert code == 2 and out == ""
    assert (f"{overlay}:3:21: cs-conduct.response_limit must be at least 0m, got -3m (no minimum declared: a "
            "duration must not be negative)") in err
    assert f"{overlay}:4:24: cs-conduct.harassment_window must be at least 0m, got -10m" in err
    assert f"{overlay}:5:30: cs-conduct.harassment_max_messages must be at least 0, got -1 (no minimum " \
           "declared: an int must not be negative)" in err
    assert "3 errors" in err
    # eval loads the same way: no verdict on the example, no "more than -1 messages within -10m"
    code, out, err = _cli("eval", "-p", ROOT / "policies", "--params", overlay,
                          ROOT / "examples" / "chat_clean_presale.json")
    assert code == 2 and "VIOLATED" not in out and f"{overlay}:3:21: cs-conduct.response_limit" in err


def test_an_overlay_mapping_from_the_api_is_checked_too() -> None:
    from policy_eval.api import Rulebook

    with pytest.raises(ErrorList) as info:
        Rulebook.load(entry_points=False, params={"cs-conduct": {"harassment_max_messages": -1}})
    (err,) = info.value.errors
    assert err.file == "<params>" and err.message.startswith("cs-conduct.harassment_max_messages must be at least 0")


def test_zero_is_a_limit_like_any_other(tmp_path: Path) -> None:
    overlay = pt.write(tmp_path / "zero.yaml", "params:\n  cs-conduct:\n    response_limit: 0m\n"
                       "    harassment_window: 0s\n    harassment_max_messages: 0\n")
    code, out, err = _cli("check", "-p", ROOT / "policies", "--params", overlay)
    assert code == 0 and out.startswith("ok:"), err


# --- an explicit range ---------------------------------------------------------------------------------
RANGED = """\
params:
  limit:
    type: duration
    value: {value}
    clause: demo 2
    minimum: 1h
    maximum: 48h
"""


def test_an_explicit_range_bounds_the_policys_own_value(tmp_path: Path) -> None:
    folder = _demo(tmp_path, RANGED.format(value="72h"))
    (err,) = _errors(folder)
    assert err.message == "demo.limit must be between 1h and 48h, got 72h"
    assert (err.file, err.line, err.column) == (str(folder / "demo.yaml"), _line_of(folder / "demo.yaml", "72h"), 12)
    (err,) = _errors(_demo(tmp_path, RANGED.format(value="30m")))
    assert err.message == "demo.limit must be between 1h and 48h, got 30m"
    for inside in ("1h", "48h", "2d"):  # both bounds included
        assert pt.load(_demo(tmp_path, RANGED.format(value=inside))).policies["demo"].latest().params["limit"]


def test_a_minimum_alone_and_a_maximum_alone(tmp_path: Path) -> None:
    only_min = "params:\n  limit:\n    type: duration\n    value: 30m\n    clause: d\n    minimum: 1h\n"
    (err,) = _errors(_demo(tmp_path, only_min))
    assert err.message == "demo.limit must be at least 1h, got 30m"
    only_max = "params:\n  limit:\n    type: duration\n    value: 3d\n    clause: d\n    maximum: 48h\n"
    (err,) = _errors(_demo(tmp_path, only_max))
    assert err.message == "demo.limit must be between 0m and 48h, got 3d"
    # a maximum alone keeps the floor of 0
    (err,) = _errors(_demo(tmp_path, only_max.replace("3d", "-1h")))
    assert err.message == ("demo.limit must be between 0m and 48h, got -1h (no minimum declared: a duration must "
                           "not be negative)")


def test_a_declared_negative_minimum_allows_a_negative_value(tmp_path: Path) -> None:
    skew = "params:\n  limit:\n    type: duration\n    value: -2h\n    clause: d\n    minimum: -1d\n"
    book = pt.load(_demo(tmp_path, skew))
    assert str(book.policies["demo"].latest().param_info["limit"].value) == "-2h"
    (err,) = _errors(_demo(tmp_path, skew.replace("-2h", "-2d")))
    assert err.message == "demo.limit must be at least -1d, got -2d"


def test_an_overlay_value_outside_the_declared_range_is_located_in_the_overlay(tmp_path: Path) -> None:
    deployed = "params:\n  limit:\n    type: duration\n    clause: demo 4\n    minimum: 1m\n    maximum: 1h\n"
    folder = _demo(tmp_path, deployed)
    pt.load(folder)  # unset: nothing to check
    assert pt.load(folder, params={"demo": {"limit": "1h"}})
    overlay = pt.write(tmp_path / "o.yaml", "params:\n  demo:\n    limit: 2h\n")
    (err,) = _errors(folder, params=overlay)
    assert (err.file, err.line, err.column) == (str(overlay), 3, 12)
    assert err.message == (f"demo.limit must be between 1m and 1h, got 2h (range declared at {folder / 'demo.yaml'}:"
                           f"{_line_of(folder / 'demo.yaml', 'limit:')})")


def test_an_overlay_cannot_declare_a_range(tmp_path: Path) -> None:
    folder = _demo(tmp_path, "params:\n  limit:\n    type: duration\n    clause: demo 4\n")
    overlay = pt.write(tmp_path / "o.yaml", "params:\n  demo:\n    limit:\n      value: 1h\n      minimum: 0m\n")
    with pytest.raises(ErrorList) as info:
        pt.load(folder, params=overlay)
    (err,) = info.value.errors
    assert (err.line, err.column) == (5, 7) and "'minimum' belongs to the policy's declaration" in err.message


# --- dated values --------------------------------------------------------------------------------------
def test_a_dated_value_out_of_range_is_located_at_its_date(tmp_path: Path) -> None:
    dated = ("params:\n  limit:\n    type: duration\n    values:\n      2020-01-01: 24h\n      2021-01-01: 96h\n"
             "    clause: d\n    maximum: 72h\n")
    folder = _demo(tmp_path, dated)
    (err,) = _errors(folder)
    assert err.message == "demo.limit must be between 0m and 72h, got 96h"
    assert (err.line, err.column) == (_line_of(folder / "demo.yaml", "96h"), 19)
    (err,) = _errors(_demo(tmp_path, dated.replace("96h", "-1h").replace("    maximum: 72h\n", "")))
    assert err.message == "demo.limit must be at least 0m, got -1h (no minimum declared: a duration must not be negative)"


def test_a_dated_overlay_value_out_of_range(tmp_path: Path) -> None:
    folder = _demo(tmp_path, "params:\n  limit:\n    type: duration\n    clause: demo 4\n    minimum: 1m\n")
    overlay = pt.write(tmp_path / "o.yaml", "params:\n  demo:\n    limit:\n      values:\n"
                       "        2020-01-01: 30m\n        2022-01-01: 30s\n")
    (err,) = _errors(folder, params=overlay)
    assert (err.file, err.line, err.column) == (str(overlay), 6, 21)
    assert err.message.startswith("demo.limit must be at least 1m, got 30s (range declared at ")


# --- the types a range fits ----------------------------------------------------------------------------
def test_a_range_of_the_wrong_type_is_an_error_at_the_bound(tmp_path: Path) -> None:
    folder = _demo(tmp_path, "params:\n  limit:\n    type: duration\n    value: 2h\n    clause: d\n    minimum: 3\n")
    (err,) = _errors(folder)
    assert err.kind == "type" and err.message == ("the minimum of parameter 'limit' must be duration, got int; hint: a "
                                                  "duration has a unit: write 3h (or 3d, 3m, 3s)")
    assert (err.line, err.column) == (_line_of(folder / "demo.yaml", "minimum: 3"), 14)
    (err,) = _errors(_demo(tmp_path, "params:\n  limit:\n    type: duration\n    value: 2h\n    clause: d\n"
                                     "    maximum: 10.00 CNY\n"))
    assert err.message == "the maximum of parameter 'limit' must be duration, got money"


def test_a_range_on_a_type_without_order_and_a_maximum_below_the_minimum(tmp_path: Path) -> None:
    text = "params:\n  limit:\n    type: string\n    value: x\n    clause: d\n    maximum: y\n"
    folder = _demo(tmp_path, text, use='limit == "x"')
    (err,) = _errors(folder)
    assert err.message.startswith("parameter 'limit' is string: 'maximum' bounds a parameter of type int, decimal")
    assert (err.line, err.column) == (_line_of(folder / "demo.yaml", "maximum: y"), 5)
    swapped = "params:\n  limit:\n    type: int\n    value: 5\n    clause: d\n    minimum: 10\n    maximum: 1\n"
    folder = _demo(tmp_path, swapped, use="limit > 0")
    (err,) = _errors(folder)  # reported once: the value is not checked against a range that cannot hold
    assert err.message == "parameter 'limit': its maximum 1 is below its minimum 10"
    assert err.line == _line_of(folder / "demo.yaml", "maximum: 1")


def test_items_of_a_list_money_and_short_forms(tmp_path: Path) -> None:
    items = "params:\n  limit:\n    type: list<int>\n    value: [1, -1]\n    clause: d\n"
    folder = _demo(tmp_path, items, use="len(limit) > 0")
    (err,) = _errors(folder)
    assert err.message.startswith("demo.limit[1] must be at least 0, got -1")
    assert (err.line, err.column) == (_line_of(folder / "demo.yaml", "[1, -1]"), 16)
    fee = "params:\n  limit:\n    type: money\n    value: -5.00 CNY\n    clause: d\n"
    (err,) = _errors(_demo(tmp_path, fee, use="limit == limit"))
    assert err.message == ("demo.limit must be at least 0.00 CNY, got -5.00 CNY (no minimum declared: a money "
                           "amount must not be negative)")
    usd = "params:\n  limit:\n    type: money\n    value: 5.00 USD\n    clause: d\n    maximum: 100.00 CNY\n"
    (err,) = _errors(_demo(tmp_path, usd, use="limit == limit"))
    assert err.message.endswith("got 5.00 USD (another currency than its range)")
    (err,) = _errors(_demo(tmp_path, "params:\n  limit: -2h\n"))  # the short form: the type of its literal
    assert err.message.startswith("demo.limit must be at least 0m, got -2h")
    decimal = "params:\n  limit:\n    type: decimal\n    value: -0.5\n    clause: d\n"
    assert pt.load(_demo(tmp_path, decimal, use="limit < 1"))  # no floor for a decimal unless declared


def test_lint_reports_an_out_of_range_value_of_a_policy_file(tmp_path: Path) -> None:
    folder = _demo(tmp_path, "params:\n  limit: -2h\n")
    code, out, err = _cli("lint", folder)
    assert code == 2 and f"{folder / 'demo.yaml'}:{_line_of(folder / 'demo.yaml', '-2h')}:10: demo.limit must be " \
                          "at least 0m, got -2h" in out + err


# --- what is bundled still loads -----------------------------------------------------------------------
def test_the_bundled_policies_and_the_example_deployment_still_load() -> None:
    from policy_eval.rulebook import load_rulebook

    plain = load_rulebook(bundled_policies())
    deployed = load_rulebook(bundled_policies(), params=ROOT / "examples" / "deployment.yaml")
    assert plain.policies.keys() == deployed.policies.keys() and plain.digest != deployed.digest
    metrics = deployed.policies["service-metrics"].latest()
    assert metrics.param_info["dispute_rate_multiple"].source == "deployment"
    code, out, err = _cli("check", "--params", ROOT / "examples" / "deployment.yaml")
    assert code == 0 and out.startswith("ok: "), err


def test_the_bundled_multiples_declare_a_minimum_of_zero(tmp_path: Path) -> None:
    overlay = pt.write(tmp_path / "o.yaml", "params:\n  service-metrics:\n    intervention_multiple: -1.5\n")
    code, _, err = _cli("check", "--params", overlay)
    assert code == 2 and f"{overlay}:3:28: service-metrics.intervention_multiple must be at least 0, got -1.5" in err
