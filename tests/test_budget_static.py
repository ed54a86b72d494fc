"""Issue 13, item 5 (load time): a static cost estimate per condition, refused above a configurable ceiling.

The estimate is in items visited, the runtime budget's unit (docs/language.md, Cost). Expected figures
are worked out by hand from the documented rules: a list read from a case counts CASE_LIST_ITEMS items.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.cli import run
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.lang.cost import CASE_LIST_ITEMS
from policy_eval.rulebook import load_rulebook

N = CASE_LIST_ITEMS
CEILING = 1_000_000_000  # the ceiling docs/language.md suggests


def _policy(condition: str, lets: dict[str, str] | None = None) -> str:
    return pt.policy(pt.rules_text(pt.rule("r1", condition, let=lets or {})), **pt.CHAT, id="costly", title="Costly",
                  document="tests/test_budget_static.py")


def _load(tmp_path: Path, text: str, **kw: Any) -> Any:
    kw.setdefault("max_cost", CEILING)
    return _load_default(tmp_path, text, **kw)


def _errors(exc: PolicyError) -> list[PolicyError]:
    return list(exc.errors) if isinstance(exc, ErrorList) else [exc]


def test_a_flat_walk_of_a_case_list_is_estimated_and_loads(tmp_path: Path) -> None:
    book = _load(tmp_path, _policy('any m in messages: m.sender == "merchant"'))
    cond = book.policies["costly"].latest().rules[0].condition
    assert cond.cost is not None
    assert cond.cost.cost == N * (1 + 0) + 1  # the list's size times (1 + the body's cost), plus the charge


def test_nested_walks_of_case_lists_are_refused_at_the_outer_quantifier(tmp_path: Path) -> None:
    text = _policy('any a in messages: any b in messages: a.id == b.id')
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, text)
    (err,) = _errors(info.value)
    assert "estimated cost" in err.message and f"above the ceiling {CEILING:,}" in err.message
    assert "`any a in messages: any b in messages: a.id == b.id`" in err.message
    line = text.splitlines().index(next(x for x in text.splitlines() if "require:" in x)) + 1
    assert (err.line, err.column) == (line, len('    require: "') + 1)
    expected = N * (1 + N + 1) + 1
    assert f"{expected:,} items" in err.message
    # the ceiling is configurable
    book = _load(tmp_path, text, max_cost=10 ** 16)
    assert book.policies["costly"].latest().rules[0].condition.cost.cost == expected


def test_the_refusal_names_the_costly_construct_inside_a_bigger_condition(tmp_path: Path) -> None:
    text = _policy('len(messages) > 0 and (count a in messages: any b in messages: a.id == b.id) > 1')
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, text)
    (err,) = _errors(info.value)
    assert "`count a in messages: any b in messages: a.id == b.id`" in err.message
    assert err.column == len('    require: "') + text.split("require: ")[1].index("count")


def test_doubling_lets_are_refused_where_the_cost_passes_the_ceiling(tmp_path: Path) -> None:
    lets = {"l0": "collect m in messages: [1]"} | {f"l{i}": f"collect x in l{i - 1}: [x, x]" for i in range(1, 30)}
    text = _policy("len(l29) > 0", lets)
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, text)
    errors = _errors(info.value)
    # size(l_i) = N * 2**i; walking l_(i-1) and gathering l_i costs N * 2**(i-1) + 1 + N * 2**i
    first = min(i for i in range(1, 30) if N * 2 ** (i - 1) + 1 + N * 2 ** i > CEILING)
    assert f"let 'l{first}'" in errors[0].message
    assert errors[0].line == text.splitlines().index(f"      l{first}: {json.dumps(lets[f'l{first}'])}") + 1


def test_every_bundled_condition_has_an_estimate() -> None:
    book = load_rulebook()
    for version in book.versions():
        for rule in version.rules:
            for cond in [rule.condition, *([rule.when] if rule.when else []), *rule.lets.values()]:
                assert cond.cost is not None and cond.cost.cost >= 0, rule.full_id


def test_check_reports_the_largest_estimate(tmp_path: Path) -> None:
    folder = pt.write(tmp_path / "policies" / "p.yaml", _policy('any m in messages: m.sender == "merchant"')).parent
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", str(folder)], stdout=out, stderr=err) == 0, err.getvalue()
    assert f"largest cost estimate: {N + 1:,} items (costly/r1" in out.getvalue(), out.getvalue()


def _load_default(tmp_path: Path, text: str, **kw: Any) -> Any:
    return pt.load(pt.write(tmp_path / "policies" / "p.yaml", text).parent, **kw)


def test_a_walk_of_each_items_own_list_is_bounded_by_the_record(tmp_path: Path) -> None:
    """All messages' attachments together are part of one record: at most N of them, not N per message.
    Inner walk: N items + 1 charge, or 2 on a message whose data has size 1; outer: N x (1 + 2) + (N + 1) + 1."""
    book = _load(tmp_path, _policy('any m in messages: any a in m.attachments: a.kind == "image"'))
    assert book.policies["costly"].latest().rules[0].condition.cost.cost == 4 * N + 2


def test_a_built_list_may_repeat_items_so_it_is_not_amortized(tmp_path: Path) -> None:
    """`collect m in messages: [m, m]` holds every message twice: walking each one's attachments is then
    no longer bounded by the record, and the estimate stays a product (above the ceiling)."""
    text = _policy('any x in (collect m in messages: [m, m]): any a in x.attachments: a.kind == "image"')
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, text)
    gathered = 2 * N + 2  # N items of 2 each, bounded as above: N x 2 + 2
    walk = gathered * (1 + (N + 1)) + 1
    assert f"{(N + 1) + gathered + walk:,} items" in _errors(info.value)[0].message


def test_the_ceiling_applies_by_default_and_can_be_lifted(tmp_path: Path) -> None:
    text = _policy('any a in messages: any b in messages: a.id == b.id')
    with pytest.raises(PolicyError) as info:
        _load_default(tmp_path, text)
    assert "above the ceiling 1,000,000,000" in _errors(info.value)[0].message
    assert _load_default(tmp_path, text, max_cost=None).policies["costly"]
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--max-cost", "none", str(tmp_path / "policies")], stdout=out, stderr=err) == 0, err.getvalue()
    assert "ceiling not set" in out.getvalue()
    assert run(["check", str(tmp_path / "policies")], stdout=io.StringIO(), stderr=err) == 2


def test_the_bundled_rulebook_is_within_the_default_ceiling() -> None:
    """Every bundled condition is linear in the record: below 10**9 items on the largest record."""
    book = load_rulebook()
    worst = max(c.cost.cost for v in book.versions() for r in v.rules
                for c in [r.condition, *([r.when] if r.when else []), *r.lets.values()])
    assert worst <= 1_000_000_000
