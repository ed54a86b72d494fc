"""The runtime evaluation budget: items visited per record and rule, metered as evaluation goes.

Input: nothing at load time. At run time the evaluator opens a :func:`metered`
block around the evaluation of one rule on one record; quantifiers charge the
length of the list they walk (before walking it), ``collect`` the items it
gathers, string concatenation the characters it makes. When the meter runs out
a :class:`BudgetExceeded` (an :class:`~policy_eval.lang.ops.EvalFailure`, so
that record's rule is undetermined with an error and the batch goes on) is
raised, naming the construct that was being evaluated.

Outside a metered block nothing is counted (library callers opt in with
:func:`metered`). The meter lives in a context variable so threads and async
tasks each have their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from policy_eval.errors import clip
from policy_eval.lang import ir
from policy_eval.lang.decimals import add
from policy_eval.lang.ops import EvalFailure

__all__ = ["BudgetExceeded", "Meter", "fresh", "metered", "charge", "current", "concat_at", "scan_at", "size_of",
           "never_charges", "may_charge", "QUIET_MODULES", "DEFAULT_BUDGET", "SCAN_STEPS"]

DEFAULT_BUDGET = 1_000_000  # items visited per rule and record; about a second of work at worst
# Steps of work done inside one C call (a word looked for in 64 characters of text, about 80 ns; a list item
# compared, about 20 ns) that cost one item (about a microsecond, what a quantifier's item costs).
SCAN_STEPS = 16

# The modules whose functions never charge the budget: the language's operators, readers, values, time
# arithmetic and core functions, and Python's operators and builtins; none of them charges or calls back
# into anything that could (they are given values, never functions). What charges: a quantifier (not a
# function), string and list ``+`` (:func:`concat_at`, of this module), a closure or a let's function
# (lang.compiler), a plugin's function. Not ``functools``: a ``functools.partial`` says it is of functools
# whatever function it wraps, a plugin's included.
QUIET_MODULES = frozenset({"policy_eval.lang.ops", "policy_eval.lang.functions", "policy_eval.lang.readers",
                           "policy_eval.lang.values", "policy_eval.lang.timestamps", "policy_eval.lang.decimals",
                           "_operator", "operator", "builtins"})


def never_charges(fn: object) -> bool:
    """Whether calling ``fn`` (an operator's or a call's function in a checked tree, or one generated code
    calls) can never charge the budget: it comes from one of :data:`QUIET_MODULES`. The one answer for
    :func:`may_charge` and lang.twovalued (must the two-valued code's spending be undone)."""
    return getattr(fn, "__module__", None) in QUIET_MODULES


def may_charge(roots: Iterable[ir.IR | None]) -> bool:
    """Whether evaluating these trees (lets and definitions included) can charge the budget: run.lazy runs a
    version whose rules cannot without setting the budget's context variable, and lang.fusion refills the
    budget only before a rule that can."""
    stack = [n for n in roots if n is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # (a DAG: a let used twice is one node)
            continue
        seen.add(id(node))
        if isinstance(node, ir.Quant):
            return True
        if isinstance(node, (ir.Op, ir.Call)) and not never_charges(node.fn):  # (lang.budget says which may)
            return True
        stack.extend(ir.children(node))
    return False


class BudgetExceeded(EvalFailure):
    """The runtime budget of one rule on one record ran out while evaluating ``where`` (a span text)."""

    def __init__(self, limit: int, where: str, line: int, column: int) -> None:
        super().__init__(f"budget exceeded ({limit:,} items) at {line}:{column} `{clip(where)}`", where)
        self.limit = limit
        self.where = where
        self.line = line
        self.column = column


class Meter:
    """``fused``: whether a version's fused function (lang.fusion) may still run on this record: False once one
    ran out of budget on it, so that its rules are decided one by one, each once, rather than the failing work
    run again by the next path that tries the fused function (docs/language.md: at most twice the budget)."""

    __slots__ = ("left", "limit", "fused")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit
        self.fused = True


_new = object.__new__


def fresh(limit: int | None) -> Meter | None:
    """``Meter(limit)`` for one case, None when unmetered; made without ``__init__``'s call (every record's path)."""
    if limit is None:
        return None
    meter: Meter = _new(Meter)
    meter.limit = meter.left = limit
    meter.fused = True
    return meter


_CURRENT: ContextVar[Meter | None] = ContextVar("policy_eval_budget", default=None)


# the meter of the case being evaluated, or None: the context variable's own ``get`` (a C call; a Python function
# around it cost a frame on every record's path)
current: Callable[[], Meter | None] = _CURRENT.get


class metered:  # noqa: N801 - used as a function: ``with metered(limit):``
    """Meter the block with a fresh budget of ``limit`` items (None: unmetered); ``as`` gives the Meter.

    A class rather than a generator-based context manager: the evaluator opens one per case, and this
    costs a fifth of what ``contextlib`` does."""

    __slots__ = ("meter", "_token")

    def __init__(self, limit: int | None = DEFAULT_BUDGET) -> None:
        self.meter = Meter(limit) if limit is not None else None

    def __enter__(self) -> Meter | None:
        self._token = _CURRENT.set(self.meter)
        return self.meter

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def charge(n: int, where: str, line: int, column: int) -> None:
    """Spend ``n`` items; raise BudgetExceeded (naming ``where`` at line:column) when the budget is gone."""
    meter = _CURRENT.get()
    if meter is not None:
        meter.left -= n
        if meter.left < 0:
            raise BudgetExceeded(meter.limit, where, line, column)


def concat_at(where: str, line: int, column: int) -> Callable[[Any, Any], Any]:
    """``+`` that charges what it makes when it joins strings or lists (a let doubling one is otherwise
    exponential in memory): a list item costs one item, 64 characters of a string one item."""
    def concat(a: Any, b: Any) -> Any:
        if type(a) is str and type(b) is str:
            charge((len(a) + len(b)) // 64, where, line, column)
        elif type(a) is list and type(b) is list:
            charge(len(a) + len(b), where, line, column)
        elif type(a) is Decimal or type(b) is Decimal:  # (untyped operands: a decimal sum is exact or refused)
            return add(a, b)
        return a + b
    return concat


def size_of(value: Any) -> int:
    """A value's size in the budget's units: a list's items, a string's 64-character blocks (at least one)."""
    if type(value) is str:
        return len(value) // 64 + 1
    if type(value) is list or type(value) is tuple:
        return len(value)
    return 1


def scan_at(fn: Callable[..., Any], scans: tuple[int, ...], where: str, line: int, column: int,
            steps: int = SCAN_STEPS) -> Callable[..., Any]:
    """``fn`` (a function of the language, or the list ``in`` operator) charging its own work before it runs: the
    product of the sizes (:func:`size_of`) of its arguments at the positions ``scans``, one item per ``steps`` of
    them (:data:`SCAN_STEPS` for work in C). ``contains_any(text, words)`` looks for each word in the whole text:
    a text of a record searched for each item of a list of the same record is a product of the record's sizes,
    which only the budget can stop (the checker wraps a call only where what is looked for comes from the case).
    One charge a call, whatever the sizes; ``scans`` and ``steps`` are kept on the function for the static
    estimate (lang.cost)."""
    if len(scans) == 1:
        (i,) = scans

        def scan1(*args: Any) -> Any:
            meter = _CURRENT.get()
            if meter is not None:
                meter.left -= size_of(args[i]) // steps
                if meter.left < 0:
                    raise BudgetExceeded(meter.limit, where, line, column)
            return fn(*args)
        scan1.scans, scan1.steps = scans, steps  # type: ignore[attr-defined]
        return scan1

    def scan(*args: Any) -> Any:
        meter = _CURRENT.get()
        if meter is not None:
            product = 1
            for i in scans:
                product *= size_of(args[i])
            meter.left -= product // steps
            if meter.left < 0:
                raise BudgetExceeded(meter.limit, where, line, column)
        return fn(*args)
    scan.scans, scan.steps = scans, steps  # type: ignore[attr-defined]
    return scan
