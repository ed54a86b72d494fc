"""A narrow property: three-valued and/or/not inside quantifier bodies (issue 20, item 1).

The broad property of tests/test_properties.py draws every kind of expression, so an expression with an
``and`` whose left side is unknown and whose right side is false, inside a quantifier body, over a list
whose items miss the field, is rare in it: a wrong ``unknown and false`` in the closure evaluator (the one
the generated code calls for quantifier bodies) was found by 4,000 examples under one seed in three.

Here every expression is a quantifier (any, all, count, sum, filter) over ``messages`` or ``orders``
whose body is a small and/or/not/if tree of comparisons that are unknown when an item misses a field
and of known operands (literals, ``exists``, comparisons of fields the item has), and every case's list
holds items that miss fields at random. The generated code (``evaluate``) and the closures alone are
compared with the reference interpreter; the default (dev) profile's examples find the mutation above
under every seed tried (see bench/mutation.md, "Closure and/or in quantifier bodies").
"""

from __future__ import annotations

import itertools
import json
import pathlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_eval import expression as lang
from policy_eval.lang.compiler import REF_TIME, compile_ir

SCHEMA: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "conformance" / "case.schema.json").read_text(encoding="utf-8")
)

# The Hypothesis profile's budget (tests/conftest.py: 200 in dev, which finds the bugs above under every
# seed tried), capped at 1,000 under CI: each example runs on about 150 cases (some 20 ms).
SETTINGS = settings(
    max_examples=min(settings.default.max_examples, 1000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Draw = Callable[..., Any]

# Boolean atoms per list, in terms of the item variable ``x``: those in UNKNOWABLE read an item field and
# are unknown when the item misses it; those in KNOWN never are (literals, exists) or read the case root.
UNKNOWABLE: dict[str, list[str]] = {
    "messages": [
        'contains(x.text, "x")',
        'x.text == "x"',
        'x.sender == "buyer"',
        'x.sender != "merchant"',
        "len(x.text) > 1",
        "x.sent_at > 2024-03-01T00:00:00Z",
    ],
    "orders": [
        'x.reason == "quality"',
        'x.reason in ["size", "quality"]',
        'x.reason not in ["size"]',
        "x.amount > ¥10",
        "x.at < 2024-03-01T00:00:00Z",
    ],
}
KNOWN: dict[str, list[str]] = {
    "messages": ["false", "true", "exists(x.text)", "exists(x.sender)", "order.shipped"],
    "orders": ["false", "true", "exists(x.amount)", "exists(x.reason)", "order.shipped"],
}
SOURCES = list(UNKNOWABLE)


def body(draw: Draw, source: str, depth: int, top: bool = False) -> str:
    """A boolean tree of and/or/not/if over the atoms of ``source`` (fully parenthesized); half the atoms
    may be unknown, half are known, and the top is never a lone atom."""
    if depth <= 0 or (not top and draw(st.integers(0, 3)) == 0):
        return draw(st.sampled_from(draw(st.sampled_from([UNKNOWABLE, KNOWN]))[source]))
    kind = draw(st.sampled_from(["and", "and", "or", "or", "not", "if"]))
    if kind == "not":
        return f"(not {body(draw, source, depth - 1)})"
    if kind == "if":
        test, then, other = (body(draw, source, depth - 1) for _ in range(3))
        return f"(if {test} then {then} else {other})"
    return f"({body(draw, source, depth - 1)} {kind} {body(draw, source, depth - 1)})"


@st.composite
def quantified(draw: Draw) -> tuple[str, str]:
    """``(source, expression)``: a quantifier over ``source`` with a drawn body."""
    source = draw(st.sampled_from(SOURCES))
    b = body(draw, source, draw(st.integers(1, 3)), top=True)
    kind = draw(st.sampled_from(["any", "all", "count", "sum", "filter", "len_filter"]))
    if kind == "sum":
        return source, f"sum x in {source}: if {b} then 2 else 1"
    if kind == "filter":
        return source, f"filter x in {source}: {b}"
    if kind == "len_filter":
        return source, f"len(filter x in {source}: {b})"
    return source, f"{kind} x in {source}: {b}"


_ABSENT = object()

# The values an item's fields take (absent and null read as unknown).
FIELD_VALUES: dict[str, dict[str, list[Any]]] = {
    "messages": {
        "sender": ["buyer", "merchant"],
        "text": ["x", "abc x", "", "zz"],
        "sent_at": ["2024-02-29T23:00:00+08:00", "2024-03-02T00:00:00Z"],
    },
    "orders": {
        "reason": ["quality", "size", ""],
        "amount": ["5.00", "10.00", "59.90 CNY"],
        "at": ["2024-02-29T23:00:00+08:00", "2024-03-02T00:00:00Z"],
    },
}
SHIPPED: list[Any] = [_ABSENT, True, False]


def _present(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not _ABSENT}


def _items(source: str) -> st.SearchStrategy[dict[str, Any]]:
    """An item whose fields are each absent (Hypothesis's simplest choice), null or a value."""
    fields = FIELD_VALUES[source]
    return st.fixed_dictionaries({k: st.sampled_from([_ABSENT, None, *v]) for k, v in fields.items()}).map(_present)


def _case(source: str, items: list[dict[str, Any]], shipped: Any) -> dict[str, Any]:
    return {source: items, **({"order": {"shipped": shipped}} if shipped is not _ABSENT else {})}


def single_item_cases(source: str) -> list[dict[str, Any]]:
    """Every item of ``source`` (each field absent or each of its values) alone in the list, with
    ``order.shipped`` absent, true and false: with one item, any/all/count/sum/filter show the body's
    own value, so an evaluator that gets one body wrong on one item cannot hide it behind another item."""
    fields = FIELD_VALUES[source]
    combos = itertools.product(*([_ABSENT, *v] for v in fields.values()))
    items = [_present(dict(zip(fields, combo, strict=True))) for combo in combos]
    return [_case(source, [item], shipped) for item in items for shipped in SHIPPED]


SINGLE_ITEM_CASES = {source: single_item_cases(source) for source in SOURCES}


@st.composite
def drawn_cases(draw: Draw, source: str) -> list[dict[str, Any]]:
    """One to three cases, each a list of one to five items (fields missing at random)."""
    lists = draw(st.lists(st.lists(_items(source), min_size=1, max_size=5), min_size=1, max_size=3))
    return [_case(source, items, draw(st.sampled_from(SHIPPED))) for items in lists]


def _outcome(fn: Callable[[dict[str, Any]], Any], case: dict[str, Any]) -> tuple[str, str]:
    try:
        return ("value", lang.render(fn(case)))
    except Exception as exc:  # noqa: BLE001 - compared between the evaluators
        return ("raised", type(exc).__name__)


@SETTINGS
@given(st.data())
def test_quantifier_bodies_with_unknown_operands_agree(data: st.DataObject) -> None:
    """Each drawn expression on every single-item case of its list and on drawn many-item cases."""
    source, text = data.draw(quantified(), label="expression")
    drawn = data.draw(drawn_cases(source), label="cases")
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    closures = compile_ir(prog.node)
    for case in SINGLE_ITEM_CASES[source] + drawn:
        reference = _outcome(prog.interpret, case)
        assert reference[0] == "value", f"{text!r} on {case!r}: the interpreter raised {reference[1]}"
        assert _outcome(prog.evaluate, case) == reference, f"generated code: {text!r} on {case!r}"
        assert _outcome(lambda c: closures(dict(c), {REF_TIME: lang.UNKNOWN}), case) == reference, (
            f"closures: {text!r} on {case!r}"
        )


def test_atoms_are_unknown_on_an_empty_item_except_the_known_ones() -> None:
    """The generator's premise: on an item with no fields, the field atoms are unknown and the others
    are not (so the bodies mix unknown and known operands)."""
    for source in SOURCES:
        for atom in UNKNOWABLE[source] + KNOWN[source]:
            prog = lang.compile_expression(f"any x in {source}: {atom}", case_schema=SCHEMA)
            value = lang.render(prog.interpret({source: [{}], "order": {"shipped": False}}))
            assert (value != "unknown") == (atom in KNOWN[source]), (source, atom, value)
