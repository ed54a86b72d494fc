"""The builder's shared machinery: locating errors, checking and compiling one expression.

Each section of the policy format (parameters, rules, waivers) is a mixin of
:class:`BuilderBase` in a module of its own; :mod:`.build` assembles them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError, PolicyLoadError, PolicyTypeError, clip
from policy_eval.lang import dynamic, ir
from policy_eval.lang.ast import Span
from policy_eval.lang.checker import Scope, check
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.constants import failing_on_constants
from policy_eval.lang.cost import CASE_LIST_ITEMS, DEFAULT_CEILING, estimate
from policy_eval.lang.functions import FunctionRegistry, assignable
from policy_eval.lang.parser import comment_spans, parse
from policy_eval.lang.types import Type
from policy_eval.rulebook.literalhints import typed_hint
from policy_eval.rulebook.policy.model import Condition, Location, ParamInfo, parse_instant
from policy_eval.rulebook.policy.nesting import MAX_LET_CHAIN, MAX_NESTING, Nesting
from policy_eval.rulebook.policy.schema import Path_
from policy_eval.rulebook.yamlhints import condition_hint
from policy_eval.rulebook.yamlload import Positions


@dataclass
class Source:
    """One YAML document the builder reads: a policy file, the file it revises, a deployment overlay.

    ``broken`` lists the paths where the schema found errors: parts at or under them are skipped.
    """

    data: Any
    pos: Positions
    broken: list[Path_] = field(default_factory=list)
    # an amended rule (inherit.amended): where each part it inherits is written, (file, line, column) by
    # its key (``("when",)``, ``("let", name)``); None for a document as written
    origins: dict[tuple[str, ...], tuple[str, int, int]] | None = None


@dataclass
class Entry:
    """A part of the resolved document: which file it comes from and where it stands there."""

    src: Source
    path: Path_


def span_at(line: int, column: int) -> Span:
    return Span(line, column, line, column, 0, 0)


class BuilderBase:
    """State and helpers shared by the sections of the builder; collects every error it finds.

    ``broken`` lists the paths where the schema found errors: parts at or under them are skipped.
    """

    def __init__(self, data: dict[str, Any], positions: Positions, case_types: Mapping[str, Type],
                 functions: FunctionRegistry, broken: Iterable[Path_] = ()) -> None:
        self.src = Source(data, positions, list(broken))
        self.case_types = case_types
        self.functions = functions
        self.errors: list[PolicyError] = []
        self.param_paths: dict[str, Entry] = {}  # where each constant parameter's value stands
        self.checked_items: set[tuple[str, int, str, int]] = set()
        self.param_info: dict[str, ParamInfo] = {}
        self.policy_id = ""
        self.max_cost: int | None = DEFAULT_CEILING
        self.nesting = Nesting()  # how deep each checked condition reaches through its lets

    # The document being read: the policy file, or (inside ``at``) the file a part comes from.
    @property
    def data(self) -> Any:
        return self.src.data

    @property
    def pos(self) -> Positions:
        return self.src.pos

    @property
    def broken(self) -> list[Path_]:
        return self.src.broken

    @contextmanager
    def at(self, src: Source) -> Iterator[None]:
        """Read (and locate errors) in another document for a while."""
        saved, self.src = self.src, src
        try:
            yield
        finally:
            self.src = saved

    # --- helpers --------------------------------------------------------------------------------------
    def ok(self, path: Path_) -> bool:
        """Whether the part at ``path`` exists and has no schema error at, under or above it."""
        try:
            self.get(path)
        except (KeyError, IndexError, TypeError):
            return False
        return not any(b[: len(path)] == path or path[: len(b)] == b for b in self.broken)

    def fail(self, message: str, path: Path_, cls: type[PolicyError] = PolicyLoadError, key: bool = False) -> None:
        line, column = self.pos.where(path, key=key)
        self.errors.append(cls(message, file=self.pos.file, line=line, column=column,
                               source_line=self.pos.line_text(line)))

    def location(self, path: Path_) -> Location:
        line, column = self.pos.where(path)
        return Location(line, column, self.pos.line_text(line))

    def relocate(self, exc: PolicyError, path: Path_, offset: tuple[int, int] = (0, 0)) -> None:
        """Place an error located inside a condition (line/column of its text) in the file."""
        line, column = exc.line or 1, exc.column or 1
        width = exc.end_column - column if exc.end_column is not None and exc.end_column > column else None
        if line == 1:
            column += offset[1]
        line, column = self.pos.expression_position(path, line + offset[0], column)
        exc.relocate(file=self.pos.file, line=line, column=column, source_line=self.pos.line_text(line))
        exc.end_column = column + width if width is not None else None
        self.errors.append(exc)

    def expression(self, path: Path_, scope: Scope, expect: Type | None = None, what: str = "condition",
                   text: str | None = None, offset: tuple[int, int] = (0, 0)) -> Condition | None:
        raw = self.get(path) if text is None else text
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if not isinstance(raw, str):
            self.fail(f"{what} must be text", path)
            return None
        try:
            node = check(parse(raw), scope, raw)
        except PolicyError as exc:
            hint = condition_hint(raw) if exc.kind in ("syntax", "name") else ""
            if hint and exc.message.endswith("?"):  # 'did you mean CNY?' then the hint: a sentence of its own
                hint = " Hint: " + hint.removeprefix("; hint: ")
            exc.message += hint
            self.relocate(exc, path, offset)
            return None
        if expect is not None and not assignable(node.type, expect):
            self.relocate(PolicyTypeError(f"{what} must be {expect}, got {node.type}"
                                          f"{typed_hint(raw, expect, node.type)}", line=1, column=1),
                          path, offset)
            return None
        if expect is not None:  # (an expression of type any: checked to be ``expect`` when it is read)
            node = dynamic.cast(node, expect, what)
        if not self.shallow_enough(node, path, what, offset):
            return None
        cost = estimate(node)
        if self.max_cost is not None and cost.cost > self.max_cost:
            hot = cost.hot or node
            s = hot.span
            self.relocate(PolicyLoadError(
                f"{what}: estimated cost {cost.cost:,} items is above the ceiling {self.max_cost:,}; "
                f"`{clip(hot.text)}` may visit {max(cost.hot_cost, cost.cost):,} items (a list read from a case "
                f"counts as {CASE_LIST_ITEMS:,} items; see docs/language.md, Cost)",
                line=s.line, column=s.column), path, offset)
            return None
        failing = failing_on_constants(node)
        if failing is not None:  # fails on every case: an error here, not an undetermined verdict each time
            s = failing[0].span
            self.relocate(PolicyTypeError(failing[1], line=s.line, column=s.column,
                                          end_column=s.end_column if s.end_line == s.line else None), path, offset)
            return None
        self.check_parameter_items(node)
        if text is None and "#" in raw and not self.comments_end_their_lines(raw, path, what):
            return None
        line, column = self.pos.expression_position(path, 1 + offset[0], 1 + offset[1])
        return Condition(raw, node, compile_fast(node, raw), line, column, cost)

    def comments_end_their_lines(self, raw: str, path: Path_, what: str) -> bool:
        """Whether each ``#`` comment of the expression at ``path`` ends where its line of the file ends; else
        an error at the first that does not. YAML joins the lines of a folded block (``>-``) into one, so
        ``a <= b   # 48 h`` and then ``or c`` on the next line reach the language as ``a <= b # 48 h or c``: the
        comment hides ``or c``, and the condition means less than it says."""
        for start, end in comment_spans(raw):
            first = self.pos.expression_position(path, *_line_column(raw, start))
            last = self.pos.expression_position(path, *_line_column(raw, end - 1))
            if first[0] != last[0]:
                self.errors.append(PolicyLoadError(
                    f"{what}: this comment hides what follows it: YAML joins the lines of a '>-' block into "
                    "one, so everything after the '#' is ignored; use '|-' to keep the line breaks, or put the "
                    "comment above the key", file=self.pos.file, line=first[0], column=first[1],
                    source_line=self.pos.line_text(first[0])))
                return False
        return True

    def shallow_enough(self, node: ir.IR, path: Path_, what: str, offset: tuple[int, int]) -> bool:
        """Whether ``node``, counted through the lets it uses, nests at most MAX_NESTING levels (else an error
        at the reference that leads deepest): evaluators recurse through lets (docs/language.md, Limits)."""
        depth = self.nesting.of(node).depth
        if depth <= MAX_NESTING:
            return True
        names: list[str] = []
        ref = self.nesting.deepest_reference(node)
        at = ref.span if ref is not None else node.span
        while ref is not None:
            names.append(ref.name)
            ref = self.nesting.deepest_reference(ref.expr)
        through = f" through {_chain_text(names)}" if names else ""
        self.relocate(PolicyLoadError(
            f"{what} nested too deeply counting the lets it uses: {depth} levels{through} (at most {MAX_NESTING}; "
            "see docs/language.md, Limits)", line=at.line, column=at.column), path, offset)
        return False

    def let_chain_ok(self, name: str, cond: Condition, path: Path_) -> bool:
        """Whether the let or definition ``name`` heads a chain of lets at most MAX_LET_CHAIN references deep
        (else an error at its name): evaluators recurse through such a chain (docs/language.md, Limits)."""
        if self.nesting.of(cond.node).hops <= MAX_LET_CHAIN:
            return True
        names = [name, *self.nesting.chain(cond.node)]
        self.fail(f"let chain deeper than {MAX_LET_CHAIN}: {_chain_text(names)} ({len(names)} lets and definitions, "
                  f"each using the next; see docs/language.md, Limits)", path, key=True)
        return False

    def check_parameter_items(self, node: ir.IR) -> None:
        """Check, at load time, arguments taken one by one from a list parameter through a quantifier.

        A function may check constant arguments when a condition is loaded (``matches`` compiles its
        pattern). The checker does so for constants in the condition; here the items of a list parameter
        a quantifier walks (``any p in patterns: matches(m.text, p)``) are checked too, each at its place.
        """
        stack: list[tuple[ir.IR, dict[str, ir.Const]]] = [(node, {})]
        while stack:
            n, bound = stack.pop()
            if isinstance(n, ir.LetRef):
                continue  # a let-binding is checked where it is defined
            if isinstance(n, ir.Quant):
                inner = {k: v for k, v in bound.items() if k != n.var}
                coll = n.collection
                if isinstance(coll, ir.Const) and coll.name in self.param_paths and isinstance(coll.value, list):
                    inner[n.var] = coll
                stack += [(coll, bound), (n.body, inner)]
                continue
            fn = self.functions.get(n.name) if isinstance(n, ir.Call) else None
            if fn is not None and fn.check_constant is not None:
                for i, arg in enumerate(ir.children(n)):
                    param = bound.get(arg.name) if isinstance(arg, ir.Var) else None
                    if param is not None:
                        self.check_items(fn.name, fn.check_constant, i, param)
            stack += [(c, bound) for c in ir.children(n)]

    def check_items(self, function: str, check: Callable[[int, Any], None], i: int, param: ir.Const) -> None:
        name = str(param.name)
        for j, item in enumerate(param.value):
            if (function, i, name, j) in self.checked_items:
                continue
            self.checked_items.add((function, i, name, j))
            try:
                check(i, item)
            except ValueError as exc:
                where = self.param_paths[name]
                with self.at(where.src):
                    self.fail(f"{exc} (item {j + 1} of parameter '{name}', argument {i + 1} of {function}())",
                              where.path + (j,), PolicyTypeError)

    def get(self, path: Path_) -> Any:
        node: Any = self.data
        for p in path:
            node = node[p]
        return node

    def instant(self, path: Path_, *, key: bool = False) -> _dt.datetime | None:
        """The date or datetime at ``path`` (or, with ``key``, the one that is the last key of ``path``)."""
        text = str(path[-1] if key else self.get(path))
        try:
            return parse_instant(text)
        except ValueError:  # ValueParseError included
            self.fail(f"'{text}' is not a valid date (2021-01-01) or datetime (2021-01-01T08:00:00+08:00)", path,
                      key=key)
            return None


def _chain_text(names: list[str]) -> str:
    """``b65 -> b64 -> b63 -> ... -> b0``: a chain of let names, its middle left out when long."""
    shown = names if len(names) <= 8 else [*names[:4], "...", *names[-2:]]
    return " -> ".join(shown)


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of a character index of an expression's text."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
