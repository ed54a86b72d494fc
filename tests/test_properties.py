"""Property tests of the condition language (docs/language.md).

* Random WELL-TYPED expressions (numbers, bools, strings, money, dates,
  datetimes, durations; case fields that may be absent/null, i.e. unknown;
  quantifiers over case lists) are generated as text together with their
  static type. They must compile, have that static type, and the compiled
  closures (``evaluate``) must agree with the reference tree-walking
  interpreter (``interpret``) on random case records.
* Random garbage text, and mutations of well-typed text, must only ever raise
  ``PolicyError`` subclasses at load time, with a sane 1-based column; whatever
  compiles must evaluate identically in both evaluators.
"""

from __future__ import annotations

import datetime
import json
import pathlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_eval import expression as lang
from policy_eval.errors import PolicyError

SCHEMA: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "conformance" / "case.schema.json").read_text(encoding="utf-8")
)

# max_examples comes from the Hypothesis profile (tests/conftest.py): 200 locally, 4,000 under CI=true.
PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
# The robustness properties (garbage in, only PolicyError out) keep a fixed budget in every profile;
# tests/test_fuzz.py runs longer campaigns of the same kind.
ROBUSTNESS_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=200)

MAX_DEPTH = 3
Draw = Callable[..., Any]

# --------------------------------------------------------------------------- leaves
# Literal texts per type. Magnitudes are kept small so that nested arithmetic
# stays far from datetime overflow (years 1..9999) and Decimal quantize limits.
LITERALS: dict[str, list[str]] = {
    "int": ["0", "1", "2", "7", "15", "48", "-3"],
    "decimal": ["0.1", "0.2", "0.3", "3.50", "1.005", "-2.25", "0.0"],
    "bool": ["true", "false"],
    "string": ['"水果"', "'qr_code'", '""', '"a\\"b"', '"加我微信"', '"ABC"', '"\\u6c34"'],
    "money": ["¥100", "¥0.50", "100.00 CNY", "59.90 CNY", "¥0.01", "¥0"],
    "date": ["2024-02-29", "2023-02-28", "2024-12-31", "2000-01-01", "2100-02-28"],
    "datetime": [
        "2024-02-28T12:00:00",
        "2024-02-29T23:59:59",
        "2024-03-01T00:00:00+08:00",
        "2024-03-01T00:00:00Z",
        "2023-12-31T16:00:00Z",
        "2024-03-01T00:00:00-05:00",
    ],
    "duration": ["48h", "24h", "7d", "15d", "30m", "90s", "1d12h", "0s", "-1d"],
}

# Case fields per type (all may be absent or null in a case record -> unknown).
FIELDS: dict[str, list[str]] = {
    "int": ["order.promised_days", "nested.a.b.c", "len(order.tags)", "len(messages)"],
    "decimal": ["order.rate"],
    "bool": ["order.shipped"],
    "string": ["order.id", "order.category", "order.tags[0]", "messages[1].text", "orders[0].reason"],
    "money": ["order.paid", "orders[0].amount", "orders[1].amount"],
    "date": ["order.day"],
    "datetime": [
        "order.received_at",
        "order.confirmed_at",
        "order.shipped_at",
        "messages[0].sent_at",
        "orders[1].at",
    ],
    "duration": ["order.limit"],
}

ORDERED = ["int", "decimal", "string", "money", "date", "datetime", "duration"]

# Quantifier sources: list text -> fields of an item variable, by type.
# "" means the variable itself.
SOURCES: list[tuple[str, dict[str, list[str]]]] = [
    ("messages", {"string": [".text", ".sender"], "datetime": [".sent_at"]}),
    ("orders", {"string": [".reason"], "money": [".amount"], "datetime": [".at"]}),
    ("order.tags", {"string": [""]}),
    ("order.scores", {"int": [""]}),
    ("[1, 2, 3]", {"int": [""]}),
    ("[48h, 30m, 0s]", {"duration": [""]}),
    ("[]", {}),
]


class Env:
    """Quantifier variables in scope: type -> expression texts."""

    def __init__(self, leaves: dict[str, list[str]] | None = None, depth: int = 0) -> None:
        self.leaves = leaves or {}
        self.depth = depth

    def bind(self, var: str, fields: dict[str, list[str]]) -> Env:
        leaves = {t: list(v) for t, v in self.leaves.items()}
        for t, suffixes in fields.items():
            leaves.setdefault(t, []).extend(var + s for s in suffixes)
        return Env(leaves, self.depth + 1)


def p(text: str) -> str:
    return f"({text})"


def leaf(draw: Draw, t: str, env: Env) -> str:
    choices = LITERALS[t] + FIELDS[t] + env.leaves.get(t, []) * 3
    return draw(st.sampled_from(choices))


def gen(draw: Draw, t: str, depth: int, env: Env) -> str:
    """A well-typed expression of static type ``t`` (text, fully parenthesized)."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return leaf(draw, t, env)
    sub = depth - 1
    return draw(st.sampled_from(BUILDERS[t]))(draw, sub, env)


def g(t: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: gen(draw, t, d, env)


def _if(t: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: p(
        f"if {gen(draw, 'bool', d, env)} then {gen(draw, t, d, env)} else {gen(draw, t, d, env)}"
    )


def _fn(name: str, *ts: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: f"{name}(" + ", ".join(gen(draw, t, d, env) for t in ts) + ")"


def _bin(a: str, op: str, b: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: p(f"{gen(draw, a, d, env)} {op} {gen(draw, b, d, env)}")


def _bin_lit(a: str, op: str, lits: list[str], lit_left: bool = False) -> Callable[[Draw, int, Env], str]:
    def build(draw: Draw, d: int, env: Env) -> str:
        lit = draw(st.sampled_from(lits))
        x = gen(draw, a, d, env)
        return p(f"{lit} {op} {x}" if lit_left else f"{x} {op} {lit}")

    return build


def _neg(t: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: p(f"-{gen(draw, t, d, env)}")


def _default(t: str) -> Callable[[Draw, int, Env], str]:
    return lambda draw, d, env: f"default({draw(st.sampled_from(FIELDS[t]))}, {gen(draw, t, d, env)})"


def _minmax(t: str) -> Callable[[Draw, int, Env], str]:
    def build(draw: Draw, d: int, env: Env) -> str:
        name = draw(st.sampled_from(["max", "min"]))
        n = draw(st.integers(2, 3))
        return f"{name}(" + ", ".join(gen(draw, t, d, env) for _ in range(n)) + ")"

    return build


def _quant(kind: str, body_type: str) -> Callable[[Draw, int, Env], str]:
    """any/all/count (bool body) or sum (body_type) over a list source."""

    def build(draw: Draw, d: int, env: Env) -> str:
        src, fields = draw(st.sampled_from(SOURCES))
        var = f"q{env.depth}"
        inner = env.bind(var, fields)
        body = gen(draw, body_type, d, inner)
        return p(f"{kind} {var} in {src}: {body}")

    return build


def _compare(draw: Draw, d: int, env: Env) -> str:
    t = draw(st.sampled_from(ORDERED + ["bool"]))
    ops = ["==", "!="] if t == "bool" else ["==", "!=", "<", "<=", ">", ">="]
    op = draw(st.sampled_from(ops))
    if t in ("int", "decimal"):  # numbers mix
        a, b = gen(draw, draw(st.sampled_from(["int", "decimal"])), d, env), gen(draw, t, d, env)
    else:
        a, b = gen(draw, t, d, env), gen(draw, t, d, env)
    return p(f"{a} {op} {b}")


def _membership(draw: Draw, d: int, env: Env) -> str:
    op = draw(st.sampled_from(["in", "not in"]))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return p(f"{gen(draw, 'int', d, env)} {op} [1, 2, 3]")
    if choice == 1:
        return p(f'{gen(draw, "string", d, env)} {op} ["水果", "生鲜", ""]')
    if choice == 2:
        return p(f"{gen(draw, 'string', d, env)} {op} order.tags")
    return p(f"{gen(draw, 'duration', d, env)} {op} [1d, 30m]")


PATTERNS = ['"a"', '"^水"', '"[0-9]+"', '"(?i)qr"', '"1[3-9][0-9]{9}"']
WORD_LISTS = ['["微信", "QQ"]', "[]", "order.tags"]


def _string_pred(draw: Draw, d: int, env: Env) -> str:
    name = draw(st.sampled_from(["contains", "starts_with", "ends_with", "matches", "contains_any"]))
    s = gen(draw, "string", d, env)
    if name == "matches":
        return f"matches({s}, {draw(st.sampled_from(PATTERNS))})"
    if name == "contains_any":
        return f"contains_any({s}, {draw(st.sampled_from(WORD_LISTS))})"
    return f"{name}({s}, {gen(draw, 'string', d, env)})"


def _exists(draw: Draw, d: int, env: Env) -> str:
    t = draw(st.sampled_from(list(FIELDS)))
    return f"exists({gen(draw, t, d, env)})"


def _days_fn(draw: Draw, d: int, env: Env) -> str:
    name = draw(st.sampled_from(["days", "hours", "minutes", "seconds"]))
    return f"{name}({draw(st.sampled_from(['0', '1', '2', '1.5', '-1', '0.25']))})"


def _round(draw: Draw, d: int, env: Env) -> str:
    return f"round({gen(draw, 'decimal', d, env)}, {draw(st.integers(0, 3))})"


def _date_shift(draw: Draw, d: int, env: Env) -> str:
    op = draw(st.sampled_from(["+", "-"]))
    return p(f"{gen(draw, 'date', d, env)} {op} {draw(st.sampled_from(['1d', '7d', '15d', '48h', '0s']))}")


SMALL_FACTORS = ["0", "1", "2", "0.5", "-1"]
SMALL_DIVISORS = ["1", "2", "4", "0", "0.5"]

BUILDERS: dict[str, list[Callable[[Draw, int, Env], str]]] = {
    "int": [
        _bin("int", "+", "int"),
        _bin("int", "-", "int"),
        _bin_lit("int", "*", ["0", "1", "2", "3"]),
        _neg("int"),
        _fn("abs", "int"),
        _fn("len", "string"),
        _minmax("int"),
        _default("int"),
        _if("int"),
        _quant("count", "bool"),
        _quant("sum", "int"),
    ],
    "decimal": [
        _bin("int", "/", "int"),
        _bin("decimal", "/", "decimal"),
        _bin("decimal", "+", "int"),
        _bin("int", "-", "decimal"),
        _bin("decimal", "+", "decimal"),
        _bin_lit("decimal", "*", ["0.5", "2", "3", "0.1"]),
        _bin("duration", "/", "duration"),
        _bin("money", "/", "money"),
        _neg("decimal"),
        _fn("abs", "decimal"),
        _round,
        _minmax("decimal"),
        _default("decimal"),
        _if("decimal"),
    ],
    "bool": [
        _compare,
        _compare,
        _bin("bool", "and", "bool"),
        _bin("bool", "or", "bool"),
        lambda draw, d, env: p(f"not {gen(draw, 'bool', d, env)}"),
        _membership,
        _string_pred,
        _exists,
        _quant("any", "bool"),
        _quant("all", "bool"),
        _if("bool"),
        _default("bool"),
    ],
    "string": [
        _bin("string", "+", "string"),
        _fn("lower", "string"),
        _fn("upper", "string"),
        _minmax("string"),
        _default("string"),
        _if("string"),
    ],
    "money": [
        _bin("money", "+", "money"),
        _bin("money", "-", "money"),
        _bin_lit("money", "*", SMALL_FACTORS),
        _bin_lit("money", "*", SMALL_FACTORS, lit_left=True),
        _bin_lit("money", "/", SMALL_DIVISORS),
        _neg("money"),
        _fn("abs", "money"),
        lambda draw, d, env: f'money({gen(draw, "decimal", d, env)}, "CNY")',
        _minmax("money"),
        _default("money"),
        _if("money"),
        _quant("sum", "money"),
    ],
    "date": [
        _date_shift,
        _fn("date_of", "datetime"),
        _minmax("date"),
        _default("date"),
        _if("date"),
    ],
    "datetime": [
        _bin("datetime", "+", "duration"),
        _bin("datetime", "-", "duration"),
        _bin("duration", "+", "datetime"),
        _fn("start_of_day", "date"),
        _minmax("datetime"),
        _default("datetime"),
        _if("datetime"),
    ],
    "duration": [
        _bin("duration", "+", "duration"),
        _bin("duration", "-", "duration"),
        _bin("datetime", "-", "datetime"),
        _bin("date", "-", "date"),
        _bin_lit("duration", "*", SMALL_FACTORS),
        _bin_lit("duration", "*", SMALL_FACTORS, lit_left=True),
        _bin_lit("duration", "/", SMALL_DIVISORS),
        _neg("duration"),
        _fn("abs", "duration"),
        _days_fn,
        _minmax("duration"),
        _default("duration"),
        _if("duration"),
        _quant("sum", "duration"),
    ],
}

TYPES = list(BUILDERS)


@st.composite
def typed_expressions(draw: Draw) -> tuple[str, str]:
    t = draw(st.sampled_from(TYPES))
    return gen(draw, t, draw(st.integers(0, MAX_DEPTH)), Env()), t


# --------------------------------------------------------------------------- case records
OFFSETS = ["+08:00", "Z", "-05:00", "+05:30", "+00:00"]


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field value, or None (null), or the marker for "absent"."""
    return st.one_of(strategy, strategy, strategy, st.none(), st.just(_ABSENT))


_ABSENT = object()

datetimes_text = st.builds(
    lambda dt, off: dt.isoformat() + off,
    st.datetimes(
        min_value=datetime.datetime(2000, 1, 1),
        max_value=datetime.datetime(2030, 12, 31),
    ).map(lambda dt: dt.replace(microsecond=0)),
    st.sampled_from(OFFSETS),
)
dates_text = st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2030, 12, 31)).map(
    lambda d: d.isoformat()
)
amounts = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
money_text = st.builds(lambda a, code: f"{a}{code}", amounts, st.sampled_from(["", " CNY"]))
iso_durations = st.one_of(
    st.integers(0, 96).map(lambda h: f"PT{h}H"),
    st.integers(0, 30).map(lambda d: f"P{d}D"),
    st.tuples(st.integers(0, 10), st.integers(0, 23), st.integers(0, 59)).map(
        lambda x: f"P{x[0]}DT{x[1]}H{x[2]}M"
    ),
    st.integers(0, 100000).map(lambda s: f"PT{s}S"),
)
words = st.sampled_from(["水果", "生鲜", "qr_code", "", "加我微信 abc", "ABC", "13812345678", "QQ 12345678"])


def _record(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({k: _maybe(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not _ABSENT}
    )


order_records = _record(
    {
        "id": words,
        "category": words,
        "received_at": datetimes_text,
        "confirmed_at": datetimes_text,
        "shipped_at": datetimes_text,
        "promised_days": st.integers(0, 30),
        "paid": money_text,
        "rate": st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False, allow_infinity=False),
        "day": dates_text,
        "limit": iso_durations,
        "tags": st.lists(words, max_size=3),
        "scores": st.lists(st.integers(0, 10), max_size=4),
        "shipped": st.booleans(),
    }
)
message_records = _record(
    {"sender": st.sampled_from(["buyer", "merchant"]), "text": words, "sent_at": datetimes_text}
)
order_item_records = _record(
    {"reason": st.sampled_from(["quality", "size", ""]), "amount": money_text, "at": datetimes_text}
)
case_records = _record(
    {
        "order": order_records,
        "messages": st.lists(message_records, max_size=3),
        "orders": st.lists(order_item_records, max_size=3),
        "nested": _record({"a": _record({"b": _record({"c": st.integers(-5, 5)})})}),
    }
)


# --------------------------------------------------------------------------- helpers
def _outcome(fn: Callable[[dict[str, Any]], Any], case: dict[str, Any]) -> tuple[str, str]:
    try:
        return ("value", lang.render(fn(case)))
    except Exception as exc:  # noqa: BLE001 - compared between the two evaluators
        return ("raised", type(exc).__name__)


def _check_error(text: str, exc: PolicyError) -> None:
    assert isinstance(exc.column, int), f"{text!r}: column {exc.column!r}"
    assert 1 <= exc.column <= len(text) + 1, f"{text!r}: column {exc.column} out of range ({exc.message})"
    assert exc.line == 1, f"{text!r}: line {exc.line} for single-line text"
    assert isinstance(exc.message, str) and exc.message


def _compile_any(text: str) -> Any:
    """Compile; only PolicyError subclasses may escape (anything else fails)."""
    try:
        return lang.compile_expression(text, case_schema=SCHEMA)
    except PolicyError as exc:
        _check_error(text, exc)
        return None


# --------------------------------------------------------------------------- properties
@PROPERTY_SETTINGS
@given(typed_expressions(), st.lists(case_records, min_size=1, max_size=3))
def test_well_typed_expressions_compile_and_evaluators_agree(
    typed: tuple[str, str], cases: list[dict[str, Any]]
) -> None:
    text, t = typed
    try:
        prog = lang.compile_expression(text, case_schema=SCHEMA)
    except PolicyError as exc:  # a well-typed expression must load
        raise AssertionError(
            f"well-typed {t} expression rejected: {text!r}: {type(exc).__name__}: {exc.message}"
        ) from exc
    assert str(prog.type) == t, f"{text!r}: static type"
    empty: dict[str, Any] = {}
    for case in [empty, *cases]:
        compiled = _outcome(prog.evaluate, case)
        reference = _outcome(prog.interpret, case)
        assert compiled == reference, f"{text!r} on {case!r}"
        assert compiled[0] == "value", f"{text!r} on {case!r}: evaluation raised {compiled[1]}"


GARBAGE_ALPHABET = "0123456789.+-*/<>=!()[],:'\"\\ _¥$@#?&|;{}abcdefghijklmnopqrstuvwxyzTZCNY水果"
TOKENS = [
    "1",
    "0",
    "-",
    "+",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "in",
    "not in",
    "if",
    "then",
    "else",
    "any",
    "all",
    "count",
    "sum",
    "x",
    "x.y",
    "true",
    "false",
    "null",
    "0.1",
    "¥5",
    "100.00 CNY",
    "48h",
    "1d12h",
    "2024-02-29",
    "2024-02-29T23:59:59",
    "2024-03-01T00:00:00Z",
    '"水果"',
    "'a'",
    '"',
    "order",
    "order.received_at",
    "order.tags",
    "messages",
    "messages[0]",
    "len",
    "max",
    "exists",
    "default",
    "days",
    "round",
    "money",
    "matches",
    "[]",
]


@ROBUSTNESS_SETTINGS
@given(
    st.one_of(
        st.text(alphabet=GARBAGE_ALPHABET, max_size=40),
        st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
    )
)
def test_garbage_only_raises_policy_errors(text: str) -> None:
    prog = _compile_any(text)
    if prog is not None:
        assert _outcome(prog.evaluate, {}) == _outcome(prog.interpret, {}), text


@st.composite
def mutated_expressions(draw: Draw) -> str:
    text, _ = draw(typed_expressions())
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        ch = draw(st.sampled_from(list('()[],:+-*/<>=". 0a') + ["and ", " or", "not ", "1d", "¥"]))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + ch + text[i + 1 :]
    return text


@ROBUSTNESS_SETTINGS
@given(mutated_expressions(), case_records)
def test_mutated_expressions_only_raise_policy_errors(text: str, case: dict[str, Any]) -> None:
    prog = _compile_any(text)
    if prog is not None:
        assert _outcome(prog.evaluate, case) == _outcome(prog.interpret, case), f"{text!r} on {case!r}"


def test_generator_produces_every_type() -> None:
    """Sanity check of the generator itself (no engine involved)."""
    assert set(TYPES) == set(LITERALS) == set(FIELDS)
    for t, builders in BUILDERS.items():
        assert builders, t
