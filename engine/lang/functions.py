"""Typed functions of the condition language and their registry.

A :class:`Function` declares its argument and result types (or a typing
rule for generic functions such as ``max``) so the checker can check calls
at load time, exactly alike for built-ins and plugin functions. The core
built-ins below are registered through the ``policy_eval_functions`` hook
by :mod:`policy_eval.plugins.core`, like any third-party plugin.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from policy_eval.lang.decimals import absolute, round_half_up
from policy_eval.lang.ops import MAX_DURATION_US, EvalFailure
from policy_eval.lang.patterns import compile_pattern, found, pin_pattern
from policy_eval.lang.types import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INT,
    MONEY,
    STRING,
    Type,
    is_number,
    is_ordered,
    list_of,
    unify,
)
from policy_eval.lang.values import SHANGHAI, UNKNOWN, Money, render
from policy_eval.lang.zonedata import read_as_written_since

__all__ = ["ArgumentError", "Function", "FunctionRegistry", "core_functions", "compile_pattern", "assignable"]

Typer = Callable[[Sequence[Type]], Type]


class ArgumentError(ValueError):
    """An argument of a call has the wrong type; ``index`` says which (0-based)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Function:
    """A function callable from conditions.

    ``params`` are the declared argument types (``variadic`` repeats the last
    one). ``typer``, when given, replaces ``params``/``result`` for generic
    functions: it gets the argument types and returns the result type or
    raises ``ValueError`` with a message. ``strict`` functions return unknown
    without being called when any argument is unknown. ``check_constant``
    validates constant arguments at load time (e.g. a regular expression). ``scans``: the positions of the
    arguments whose sizes multiply to the call's own work (``(0, 1)``: a text searched for each word of a list),
    charged to the evaluation budget at each call where what is looked for (an argument after the first) comes
    from the case, and counted in the static estimate (lang.budget.scan_at, lang.checker), one item for
    ``scan_steps`` of them (16 for a test in C, as ``contains_any``'s; fewer for a step in Python).

    ``bind``, when given, is a partial application made once, when a policy is checked, at a call whose
    arguments after the first are all constants (literals or parameters): called with their values, it returns
    ``(function, answers)``, the function to call there instead of ``impl`` (with the same arguments; it may have
    done once the work that depends on the constants alone: a list's entries split) and, or None, a dict from the
    first argument's value to the call's result that generated code looks up before calling. The function fills
    it; it holds only results the call returns for that argument (never None), and stays the one dict (emptied
    when full, never replaced). Only a first argument of type string is looked up.
    """

    name: str
    params: tuple[Type, ...]
    result: Type
    impl: Callable[..., Any]
    variadic: bool = False
    strict: bool = True
    typer: Typer | None = None
    check_constant: Callable[[int, Any], None] | None = None
    doc: str = ""
    plugin: str = "core"
    scans: tuple[int, ...] = ()
    scan_steps: int = 16
    bind: Callable[..., tuple[Callable[..., Any], dict[Any, Any] | None]] | None = None

    def signature(self) -> str:
        if self.typer is not None:
            return f"{self.name}(...)"
        args = ", ".join(str(p) for p in self.params)
        if self.variadic:
            args += ", ..."
        return f"{self.name}({args}) -> {self.result}"

    def result_type(self, args: Sequence[Type]) -> Type:
        if self.typer is not None:
            return self.typer(args)
        n = len(self.params)
        if (len(args) != n and not self.variadic) or (self.variadic and len(args) < n):
            raise ValueError(f"{self.name}() takes {n}{'+' if self.variadic else ''} argument(s), "
                             f"got {len(args)}: {self.signature()}")
        for i, actual in enumerate(args):
            expected = self.params[min(i, n - 1)]
            if not assignable(actual, expected):
                raise ArgumentError(f"argument {i + 1} of {self.name}() must be {expected}, got {actual}", i)
        return self.result


def assignable(actual: Type, expected: Type) -> bool:
    if expected.name == "any" or actual.name == "any":
        return True
    if actual == expected:
        return True
    if expected.name == "decimal" and actual.name == "int":
        return True
    if expected.name == "list" and actual.name == "list" and expected.item and actual.item:
        return assignable(actual.item, expected.item)
    return False


class FunctionRegistry:
    """Name → :class:`Function`; a later registration of a name is an error."""

    def __init__(self, functions: Iterable[Function] = ()) -> None:
        self._by_name: dict[str, Function] = {}
        for f in functions:
            self.add(f)

    def add(self, fn: Function) -> None:
        if fn.name in self._by_name and self._by_name[fn.name] is not fn:
            other = self._by_name[fn.name]
            raise ValueError(f"function {fn.name}() is defined twice (plugins {other.plugin!r} and {fn.plugin!r})")
        self._by_name[fn.name] = fn

    def get(self, name: str) -> Function | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Any:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)


# --- regular expressions: RE2, linear time, compiled once -------------------------------------------

def _check_pattern(position: int, value: Any) -> None:
    if position == 1 and isinstance(value, str):
        pin_pattern(value)  # a pattern written in the policy: checked now, kept compiled


# --- typing rules for generic functions -----------------------------------------------------------

def _t_exists(args: Sequence[Type]) -> Type:
    if len(args) != 1:
        raise ValueError("exists() takes exactly 1 argument")
    return BOOL


def _t_default(args: Sequence[Type]) -> Type:
    if len(args) != 2:
        raise ValueError("default() takes 2 arguments: default(value, fallback)")
    common = unify(args[0], args[1])
    if common is None:
        raise ValueError(f"default(): value is {args[0]} but fallback is {args[1]}")
    return common


def _t_extreme(name: str) -> Typer:
    def typer(args: Sequence[Type]) -> Type:
        if len(args) == 1 and args[0].name == "list" and args[0].item is not None:
            args = [args[0].item]
        elif len(args) == 1:
            raise ValueError(f"{name}() takes two or more values, or one list")
        if not args:
            raise ValueError(f"{name}() needs at least one argument")
        if any(a.name == "null" for a in args):
            raise ValueError(f"{name}() cannot order null; use default(...) for a missing value")
        known = [a for a in args if a.name != "any"]  # unknown types (an earlier error) match anything
        if not known:
            return ANY
        common: Type | None = known[0]
        for a in known[1:]:
            common = unify(common, a) if common is not None else None
        if common is None or not is_ordered(common):
            raise ValueError(f"{name}() needs arguments of one ordered type, got {', '.join(map(str, args))}")
        return common
    return typer


def _t_abs(args: Sequence[Type]) -> Type:
    if len(args) != 1 or not (is_number(args[0]) or args[0] in (MONEY, DURATION) or args[0].name == "any"):
        raise ValueError("abs() takes one number, money or duration")
    return args[0]


def _t_len(args: Sequence[Type]) -> Type:
    if len(args) != 1 or not (args[0] == STRING or args[0].name in ("list", "any")):
        raise ValueError(f"len() takes one string or list, got {', '.join(map(str, args)) or 'nothing'}")
    return INT


# --- implementations ---------------------------------------------------------------------------------

def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        if len(args) == 1 and isinstance(args[0], list):
            items = args[0]
            if not items or any(x is UNKNOWN for x in items):
                return UNKNOWN
            return pick(items)
        return pick(args)
    return run


def _money(x: Any, currency: str) -> Money:
    return Money(Decimal(x), currency)


# +08:00 as the tzinfo object the batch reader's timestamps hold (msgspec keeps one per offset): two aware datetimes
# with the same tzinfo object compare by their fields (28 ns), with two such objects, even equal ones, by asking each for
# its offset through a method call (330 ns); start_of_day's answers from 1992 on are at it (about one compare a record)
_CST = msgspec.json.decode(b'"2000-01-01T00:00:00+08:00"', type=_dt.datetime).tzinfo
# A time written at +08:00 where Asia/Shanghai keeps +08:00 at every instant (from 1992 on: its last transition, the end of
# its summer time, was on 1991-09-15; lang.zonedata reads it from the zone's own data) is Shanghai's own local time: its
# day is its date as written, without the zone's look-up (a case's timestamps are mostly written so: 270 -> 90 ns a
# call). Where the data cannot say so, every time goes through the zone.
_CST_SINCE = read_as_written_since(SHANGHAI, 8 * 3600)


def _date_of(t: _dt.datetime) -> _dt.date:
    if type(t) is _dt.datetime and type(zone := t.tzinfo) is _dt.timezone and (zone is _CST or zone == _CST) \
            and t.year >= _CST_SINCE:
        return t.date()
    return t.astimezone(SHANGHAI).date()


_DAYS: dict[_dt.date, _dt.datetime] = {}  # start_of_day's answers by day: a batch's days recur across its cases
_DAYS_MAX = 4096


def _start_of_day(d: _dt.date) -> _dt.datetime:
    """00:00 Asia/Shanghai of the day: at +08:00 (``_CST``) where the zone keeps +08:00 at every instant of its year,
    the same instant as the zone's own midnight; before, in the zone (the summers of 1986-1991 were +09:00)."""
    if type(d) is not _dt.date:  # (a subclass: not kept)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=_CST if d.year >= _CST_SINCE else SHANGHAI)
    start = _DAYS.get(d)
    if start is None:  # (an aware datetime cannot change: one object serves every case of its day)
        if len(_DAYS) >= _DAYS_MAX:
            _DAYS.clear()
        start = _DAYS[d] = _dt.datetime(d.year, d.month, d.day, tzinfo=_CST if d.year >= _CST_SINCE else SHANGHAI)
    return start


_WHOLE_SECONDS = 999_999_999 * 86400  # a whole number of seconds a timedelta always holds (its bound is 999,999,999 days)
_KEPT_COUNTS = 1024  # durations kept per unit, by count (a timedelta cannot change: one object serves every case)


def _dur(unit: str) -> Callable[[Any], _dt.timedelta]:
    size = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}[unit]
    kept: dict[int, _dt.timedelta] = {}  # (a count from a case, most often, and the same few counts recur)

    def run(n: Any) -> _dt.timedelta:
        if type(n) is int:
            hit = kept.get(n)
            if hit is not None:
                return hit
            if -_WHOLE_SECONDS <= (whole := n * size) <= _WHOLE_SECONDS:  # (the same duration as below, exactly)
                if len(kept) >= _KEPT_COUNTS:
                    kept.clear()
                hit = kept[n] = _dt.timedelta(seconds=whole)
                return hit
        us = Decimal(n) * size * 1_000_000
        if not -MAX_DURATION_US <= us <= MAX_DURATION_US:  # (int() of 1E+917519 alone is half a minute)
            raise OverflowError("duration out of range (more than 999,999,999 days)")
        return _dt.timedelta(microseconds=int(us))
    return run


def _text(value: Any) -> str:
    """A value as a message shows it (text unquoted, anything else canonically): for joining into text."""
    return value if type(value) is str else render(value)


NORMALIZE_MAX = 100_000  # characters: NFKC can make one character eighteen (U+FDFA), so memory stays bounded
_SPACE = re.compile(r"\s+")


# Texts normalised lately, by value: a message's text is normalised by every rule that reads it, a dozen times a
# chat case (3 µs each for a line of Chinese). Bounded in entries and in the length of a text kept; emptied when full.
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 256
_NORMALIZED_KEPT = 2048  # characters: a longer text is normalised at each call


def _normalize(s: str) -> str:
    """Text as compared where spacing, full-width forms and letter case carry no meaning (an address):
    NFKC (全角 １００ is 100), case-folded, every whitespace character removed (by one substitution: splitting
    made a string of every word, millions for a long text)."""
    if len(s) > NORMALIZE_MAX:
        raise EvalFailure(f"normalize: a text of {len(s):,} characters (at most {NORMALIZE_MAX:,})")
    kept = type(s) is str and len(s) <= _NORMALIZED_KEPT
    if kept and (done := _NORMALIZED.get(s)) is not None:
        return done
    done = _SPACE.sub("", unicodedata.normalize("NFKC", s).casefold())
    if kept:
        if len(_NORMALIZED) >= _NORMALIZED_MAX:
            _NORMALIZED.clear()
        _NORMALIZED[s] = done
    return done


def _matches(s: str, pattern: str) -> bool:
    return found(compile_pattern(pattern), s)


def core_functions() -> list[Function]:
    """The core standard library (see docs/language.md, Functions)."""
    S, B = STRING, BOOL
    return [
        Function("exists", (ANY,), BOOL, lambda x: x is not UNKNOWN, strict=False, typer=_t_exists,
                 doc="true when the value is present (never unknown)"),
        Function("default", (ANY, ANY), ANY, lambda x, d: d if x is UNKNOWN else x, strict=False,
                 typer=_t_default, doc="the value, or the fallback when it is unknown"),
        Function("max", (ANY,), ANY, _extreme(max), typer=_t_extreme("max"), doc="the largest argument"),
        Function("min", (ANY,), ANY, _extreme(min), typer=_t_extreme("min"), doc="the smallest argument"),
        Function("abs", (ANY,), ANY, absolute, typer=_t_abs, doc="absolute value"),
        Function("len", (ANY,), INT, len, typer=_t_len, doc="length of a string or list"),
        Function("contains", (S, S), B, lambda s, sub: sub in s, doc="substring test"),
        Function("contains_any", (S, list_of(S)), B, lambda s, words: any(w in s for w in words if w),
                 doc="true if any of the words occurs in the text", scans=(0, 1)),
        Function("matches", (S, S), B, _matches, check_constant=_check_pattern,
                 doc="RE2 search (linear time)", scans=(0, 1)),
        Function("starts_with", (S, S), B, lambda s, p: s.startswith(p)),
        Function("ends_with", (S, S), B, lambda s, p: s.endswith(p)),
        Function("lower", (S,), S, lambda s: s.lower()),
        Function("text", (ANY,), S, _text,
                 doc="a value as a message shows it: text as it is, 2023-06-18T00:00:00+08:00, 48h, 12.00 CNY"),
        Function("normalize", (S,), S, _normalize,
                 doc="the text in Unicode NFKC form, case-folded, every whitespace character removed"),
        Function("upper", (S,), S, lambda s: s.upper()),
        Function("days", (DECIMAL,), DURATION, _dur("days"), doc="a duration of n days"),
        Function("hours", (DECIMAL,), DURATION, _dur("hours")),
        Function("minutes", (DECIMAL,), DURATION, _dur("minutes")),
        Function("seconds", (DECIMAL,), DURATION, _dur("seconds")),
        Function("date_of", (DATETIME,), DATE, _date_of, doc="the Asia/Shanghai calendar day of a time"),
        Function("start_of_day", (DATE,), DATETIME, _start_of_day, doc="00:00 Asia/Shanghai of a day"),
        Function("round", (DECIMAL, INT), DECIMAL, round_half_up, doc="round half up to n places"),
        Function("money", (DECIMAL, S), MONEY, _money, doc="money from an amount and a currency"),
        Function("amount", (MONEY,), DECIMAL, lambda m: m.amount, doc="the number of a money value, whatever its currency"),
        Function("currency", (MONEY,), S, lambda m: m.currency, doc="the currency code of a money value"),
    ]
