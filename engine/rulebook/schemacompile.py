"""Case schemas compiled to one Python function each: ``check(case) -> bool`` (True: valid).

Input: a case kind's JSON Schema (as loaded, unknown-value convention applied). Output: a function that
answers only *whether* a case is valid, or None when the schema uses a keyword outside the subset below
(then :mod:`policy_eval.rulebook.validation` keeps fastjsonschema for that kind).

Why: fastjsonschema's generated code spent 25-40 µs on an after_sale case (issue 14), most of it on
bookkeeping a valid case never needs (error names, ``data__...`` variables, ``isinstance`` of tuples).
This generator emits straight-line code per property with exact ``type(x) is str`` tests and
``return False`` at the first failure; the located message for an invalid case is still worded by the
existing path, which runs whenever this function says False.

The subset: ``type`` (a name or a list), ``properties``, ``required``, ``additionalProperties`` (bool or
schema), ``enum``/``const`` of strings, integers, booleans and null, ``minLength``/``maxLength`` (code
points), ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (numbers), ``pattern`` (RE2,
``search`` semantics, as the other two validators run it), ``items`` (one schema), ``minItems``/
``maxItems``, ``format`` date-time and date (the parsers validation.py registers: ``parse_timestamp``, for a
text not in the memo it fills for the rules' readers, and ``parse_date``), boolean subschemas, and annotations
(``description``, ``title``, ``examples``, ``default``, ``$schema``, ``$id``, ``$comment``, ``x-*``).

Semantics are the reference validator's (jsonschema, draft 2020-12) where the answer is True; where
unsure the function says False, which only costs the slower path: a value of a subclass of ``str``,
``dict`` or ``list``, a ``Decimal`` in an integer enum, an unorderable NaN. "integer" accepts ``int``
(and a float with no fraction, as jsonschema does) but neither ``bool`` nor any ``Decimal`` (jsonschema
does not count ``Decimal("1.0")`` or ``Decimal("1")`` as an integer, nor does fastjsonschema).

Safety: nothing from the schema reaches the source text except through a table of constants (bound as
globals ``_k0``, ``_k1``, ...) or the ``repr`` of a property name that is a ``str`` or of a bound that is
an ``int``; the source is capped (:data:`MAX_SOURCE`) and so is the schema's depth; the generated code
runs with a handful of builtins only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from policy_eval.lang.codecache import code_for
from policy_eval.lang.timestamps import MEMO, parse_timestamp
from policy_eval.lang.values import parse_date
from policy_eval.rulebook.casevalues import _OPTIONS, _decimal
from policy_eval.rulebook.jsonrecord import _scan
from policy_eval.rulebook.schemaregex import _RE2Search

__all__ = ["compile_case_schema", "MAX_SOURCE", "MAX_DEPTH"]

MAX_SOURCE = 256 * 1024  # characters of generated source: a bigger schema keeps fastjsonschema
MAX_DEPTH = 24  # nested subschemas; Python refuses more than 20 nested loops and ~100 indents

_ANNOTATIONS = frozenset({"description", "title", "examples", "default", "$schema", "$id", "$comment"})
_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "enum", "const", "minLength", "maxLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "items", "minItems",
    "maxItems", "format",
})
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_COMPARE = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}

# One exact-type test per JSON type name, on a variable named {v}, tried in this order (commonest first).
_TYPE_TEST = {
    "string": "type({v}) is str",
    "integer": "type({v}) is int or (type({v}) is float and {v}.is_integer())",
    "number": "type({v}) is int or type({v}) is Decimal or type({v}) is float",
    "boolean": "type({v}) is bool",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "null": "{v} is None",
}
_TYPE_ORDER = tuple(_TYPE_TEST)
_GROUP = {"integer": "number"}  # keyword groups: a number's keywords apply to integers too
_GUARD = {  # a value the group's keywords look at (bool is not a number; a Decimal is never an integer)
    "string": "type({v}) is str",
    "number": "type({v}) is int or type({v}) is Decimal or type({v}) is float",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "boolean": "type({v}) is bool",
}
_JSON_TYPES = (str, int, bool, type(None), Decimal, float, dict, list)

_BUILTINS = {"type": type, "len": len, "str": str, "int": int, "bool": bool, "float": float, "dict": dict,
             "list": list, "frozenset": frozenset}


class _Unsupported(Exception):
    """The schema leaves the subset (or the limits): no compiled check for it."""


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    if isinstance(value, Decimal):  # exactly Decimal (type-tested below); NaN cannot order, sNaN raises on ==
        return type(value) is Decimal and not value.is_nan()
    return type(value) in (int, float) and value == value


# Exact mode (``compile_case_schema(..., exact=True)``): a number is an ``int`` only (a binary float, orjson's
# reading of ``1.5`` or ``7.0``, is not exact: -1, and the general reader reads the record again with Decimals)
_EXACT_TYPE_TEST = {**_TYPE_TEST, "integer": "type({v}) is int", "number": "type({v}) is int"}
_EXACT_GUARD = {**_GUARD, "number": "type({v}) is int"}
_OBJECT_KEYS = frozenset({"properties", "required", "additionalProperties"})
_ARRAY_KEYS = frozenset({"items", "minItems", "maxItems"})


class _Generator:
    def __init__(self, exact: bool = False) -> None:
        self.constants: list[Any] = []
        self._names = 0
        self._size = 0
        self.exact = exact
        self.no = "return -1" if exact else "return False"
        self.test, self.guard = (_EXACT_TYPE_TEST, _EXACT_GUARD) if exact else (_TYPE_TEST, _GUARD)

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"_k{len(self.constants) - 1}"

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def grow(self, lines: list[str]) -> list[str]:
        self._size += sum(len(line) + 1 for line in lines)
        if self._size > MAX_SOURCE * 4:  # re-indented copies counted too: bounds the work, not only the text
            raise _Unsupported("generated source too large")
        return lines

    def node(self, schema: Any, v: str, depth: int, loops: int) -> list[str]:
        """Lines (indent 0) that ``return False`` unless the value in variable ``v`` satisfies ``schema``."""
        if schema is True:
            return self._scanned(v) if self.exact else []
        if schema is False:
            return [self.no]
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            raise _Unsupported("not a schema, or nested too deeply")
        for key in schema:
            if not isinstance(key, str) or not (key in _KEYWORDS or key in _ANNOTATIONS or key.startswith("x-")):
                raise _Unsupported(f"keyword {key!r}")
        types = self._types(schema.get("type"))
        groups = {
            "string": self._string(schema, v),
            "number": self._number(schema, v),
            "object": self._object(schema, v, depth, loops),
            "array": self._array(schema, v, depth, loops),
        }
        out: list[str] = []
        if self.exact:
            if types is None:  # (exact mode's object and array lines count and scan: only with their keywords)
                groups["object"] = groups["object"] if schema.keys() & _OBJECT_KEYS else []
                groups["array"] = groups["array"] if schema.keys() & _ARRAY_KEYS else []
            out += self._counted(schema, v, types, groups)
        if types is None:
            if any(groups.values()):  # keep to the exact JSON types (a subclass of str goes the slow way)
                out.append(f"if type({v}) not in {self.constant(frozenset(_JSON_TYPES))}: {self.no}")
            for group, lines in groups.items():
                if lines:
                    out += [f"if {self.guard[group].format(v=v)}:", *("    " + line for line in lines)]
        else:
            tests = [self.test[t].format(v=v) for t in _TYPE_ORDER if t in types]
            only = {_GROUP.get(t, t) for t in types - {"null"}}
            single = next(iter(only)) if len(only) == 1 else None
            lines = groups.get(single or "", [])
            if single is not None and "null" in types and lines:
                # the common optional field: its type's keywords under its exact type test, else null or fail
                test = " or ".join(self.test[t].format(v=v) for t in _TYPE_ORDER if t in types and t != "null")
                out += [f"if {test}:", *("    " + line for line in lines), f"elif {v} is not None: {self.no}"]
            else:
                out.append(f"if not ({' or '.join(tests)}): {self.no}")
                for name, checks in groups.items():
                    out += self._group(types, name, checks, v)
        out += self._enum(schema, v, types)  # after the type test: it may rely on the type being exact
        return self.grow(out)

    @staticmethod
    def _types(value: Any) -> frozenset[str] | None:
        if value is None:
            return None
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in _TYPE_TEST
                                                               for n in names):
            raise _Unsupported("type")
        return frozenset(names)

    def _counted(self, schema: dict[str, Any], v: str, types: frozenset[str] | None,
                 groups: dict[str, list[str]]) -> list[str]:
        """Exact mode: the lines that count the value's JSON strings into ``n`` (a string's own count goes into
        its group's lines, which run for a ``str`` only; an object's keys, in its own lines)."""
        if types is not None or "enum" in schema or "const" in schema:  # (an enum's values are scalars)
            groups["string"] = [*groups["string"], "n += 1"]
            return []
        if groups["object"] or groups["array"]:
            raise _Unsupported("exact mode: an object or array schema without a type")  # counted twice
        return self._scanned(v)  # any JSON value: its strings counted, a float refused

    def _scanned(self, v: str) -> list[str]:
        s = self.name("s")
        return [f"if ({s} := _scan({v})) < 0: return -1", f"n += {s}"]

    def _group(self, types: frozenset[str], group: str, lines: list[str], v: str) -> list[str]:
        """``lines`` under the guard that the value is of the keyword group's type, when the type test
        has not already settled it."""
        members = {t for t in types if _GROUP.get(t, t) == group}
        if not lines or not members:
            return []  # no keywords, or the type test already refused every value they look at
        if members == types:
            return lines
        if types - members == {"null"}:
            return [f"if {v} is not None:", *("    " + line for line in lines)]
        return [f"if {self.guard[group].format(v=v)}:", *("    " + line for line in lines)]

    def _enum(self, schema: dict[str, Any], v: str, types: frozenset[str] | None) -> list[str]:
        out = []
        for key in ("enum", "const"):
            if key not in schema:
                continue
            values = schema[key] if key == "enum" else [schema[key]]
            if not isinstance(values, list):
                raise _Unsupported("enum")
            strs = frozenset(x for x in values if type(x) is str)
            ints = frozenset(x for x in values if type(x) is int)
            if len(strs) + len(ints) + sum(x is None or type(x) is bool for x in values) != len(values):
                raise _Unsupported("enum or const of other values")  # jsonschema's equality: not copied
            if types is not None and types <= {"string", "null"} and not ints and not any(
                    type(x) is bool for x in values):
                # the type check left an exact str or None: a plain membership test decides
                out.append(f"if {v} not in {self.constant(strs | ({None} if None in values else set()))}: "
                           f"{self.no}")
                continue
            parts = []
            if strs:
                parts.append(f"(type({v}) is str and {v} in {self.constant(strs)})")
            if ints:
                parts.append(f"(type({v}) is int and {v} in {self.constant(ints)})")
            parts += [f"{v} is {x!r}" for x in (None, True, False) if any(y is x for y in values)]
            out.append(f"if not ({' or '.join(parts) or 'False'}): {self.no}")
        return out

    def _lengths(self, schema: dict[str, Any], keys: tuple[str, str], v: str) -> list[str]:
        """``minLength``/``maxLength`` or ``minItems``/``maxItems`` on a value known to be an exact ``str``
        or ``list`` (the type test or the group's guard comes first): a minimum of 1 is ``not v``."""
        out = []
        for key, op in zip(keys, ("<", ">"), strict=True):
            if key in schema:
                bound = schema[key]
                if not _is_int(bound) or bound < 0:
                    raise _Unsupported(key)
                out.append(f"if not {v}: {self.no}" if op == "<" and bound == 1 else
                           f"if len({v}) {op} {bound!r}: {self.no}")
        return out

    def _string(self, schema: dict[str, Any], v: str) -> list[str]:
        out = self._lengths(schema, ("minLength", "maxLength"), v)
        if "pattern" in schema:
            pattern = schema["pattern"]
            if not isinstance(pattern, str):
                raise _Unsupported("pattern")
            try:
                search = _RE2Search(pattern).search  # what the fastjsonschema path runs (schemaregex.use_re2)
            except Exception as exc:  # a pattern RE2 refuses: the load-time check names it, not us
                raise _Unsupported("pattern") from exc
            out.append(f"if not {self.constant(search)}({v}): {self.no}")
        if "format" in schema:
            fmt = schema["format"]
            if fmt == "date-time":
                # raises ValueParseError (a ValueError): False. A text read before (the memo the rules
                # read too, lang.timestamps) is not parsed again
                out.append(f"if {v} not in _timestamps: _parse_timestamp({v})")
            elif fmt == "date":
                out.append(f"_parse_date({v})")
            else:
                raise _Unsupported("format")  # fastjsonschema checks other formats, jsonschema does not
        return out

    def _number(self, schema: dict[str, Any], v: str) -> list[str]:
        out = []
        for key in _NUMBER_KEYS:
            if key in schema:
                bound = schema[key]
                if not _is_number(bound):
                    raise _Unsupported(key)  # a bool (draft 4's exclusiveMinimum), NaN, a string
                out.append(f"if {v} {_COMPARE[key]} {self.constant(bound)}: {self.no}")
        return out

    def _object(self, schema: dict[str, Any], v: str, depth: int, loops: int) -> list[str]:
        """Lines that check an exact ``dict`` in ``v``: required keys, additional properties, then each
        property's own checks."""
        props = schema.get("properties", {})
        required = schema.get("required", [])
        extra = schema.get("additionalProperties", True)
        if not isinstance(props, dict) or not all(isinstance(k, str) for k in props):
            raise _Unsupported("properties")
        if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
            raise _Unsupported("required")
        names = {prop: self.name("x") for prop in props}
        bodies = {prop: self.node(sub, names[prop], depth + 1, loops) for prop, sub in props.items()}
        out = [f"n += len({v})"] if self.exact else []
        # a required property with checks of its own is read as v[name] below, which raises KeyError
        # (False) when it is missing: only the others need a membership test
        unread = [k for k in dict.fromkeys(required) if not bodies.get(k)]
        if unread:
            out.append(f"if {' or '.join(f'{k!r} not in {v}' for k in unread)}: {self.no}")
        if extra is False:
            out.append(f"if not {v}.keys() <= {self.constant(frozenset(props))}: {self.no}"
                       if props else f"if {v}: {self.no}")
        else:
            key, value = self.name("k"), self.name("x")
            body = self.node(extra, value, depth + 1, loops + 1)  # (True: nothing, or in exact mode its scan)
            if body:
                if loops >= 15:
                    raise _Unsupported("loops nested too deeply")
                out.append(f"for {key}, {value} in {v}.items():")
                out.append(f"    if {key} not in {self.constant(frozenset(props))}:")
                out += ["        " + line for line in body]
        for prop, body in bodies.items():
            if not body:
                continue
            x = names[prop]
            if prop in required:
                out += [f"{x} = {v}[{prop!r}]", *body]
            else:
                out += [f"if {prop!r} in {v}:", f"    {x} = {v}[{prop!r}]", *("    " + line for line in body)]
        return out

    def _array(self, schema: dict[str, Any], v: str, depth: int, loops: int) -> list[str]:
        out = self._lengths(schema, ("minItems", "maxItems"), v)
        if "items" not in schema and self.exact:
            out += self._scanned(v)
        elif "items" in schema:
            item = self.name("x")
            body = self.node(schema["items"], item, depth + 1, loops + 1)  # a list (draft 7 tuples): refused
            if body:
                if loops >= 15:
                    raise _Unsupported("loops nested too deeply")
                out += [f"for {item} in {v}:", *("    " + line for line in body)]
        return out


def generate(schema: Any, exact: bool = False, screen: bool = False) -> tuple[str, dict[str, Any]] | None:
    """The source of ``check`` and the globals it runs with, or None outside the subset or the limits
    (``exact``, ``screen``: see :func:`compile_case_schema`)."""
    gen = _Generator(exact)
    try:
        body = gen.node(schema, "case", 0, 0)
    except (_Unsupported, RecursionError):
        return None
    if screen and not exact:  # (casevalues.plain's call; orjson's errors are TypeErrors)
        body = [*body, "_dumps(case, default=_decimal, option=_OPTIONS)"]
    lines = [
        "def check(case):",
        *(["    n = 0"] if exact else []),
        "    try:",
        *("        " + line for line in body or ["pass"]),
        # a required property missing (KeyError), a bad timestamp or date (ValueParseError), a NaN met by a
        # bound (InvalidOperation), what orjson cannot write (screen): not valid here; the slow path words it
        f"    except (KeyError, ValueError, ArithmeticError, RecursionError{', TypeError' if screen else ''}):",
        f"        {gen.no}",
        "    return n" if exact else "    return True",
    ]
    source = "\n".join(lines) + "\n"
    if len(source) > MAX_SOURCE:
        return None
    namespace: dict[str, Any] = {f"_k{i}": value for i, value in enumerate(gen.constants)}
    namespace.update(__builtins__=_BUILTINS, Decimal=Decimal, KeyError=KeyError, ValueError=ValueError,
                     ArithmeticError=ArithmeticError, RecursionError=RecursionError,
                     _timestamps=MEMO, _parse_timestamp=parse_timestamp, _parse_date=parse_date, _scan=_scan,
                     TypeError=TypeError, _dumps=orjson.dumps, _decimal=_decimal, _OPTIONS=_OPTIONS)
    return source, namespace


def compile_case_schema(schema: Any, name: str = "case schema", exact: bool = False, screen: bool = False
                        ) -> Callable[[Any], Any] | None:
    """``check(case) -> bool`` for ``schema``, or None when it leaves the subset (see the module).

    ``screen=True``: True only where, besides, orjson can write the case (:func:`~policy_eval.rulebook.casevalues.plain`,
    in the same call: a case handed over as Python values may hold what JSON cannot).

    ``exact=True``: ``check(record) -> int`` for a record as orjson reads it: the number of JSON strings it
    holds (keys and string values, as :func:`policy_eval.rulebook.jsonrecord.read_checked` compares with the
    text's quotes) when it is valid and holds no binary float anywhere, else -1 (a float's exact value is not
    known, so a number must be an ``int``). One walk does the schema check and the reader's float and
    duplicate-key walk. None also where an untyped subschema with properties or items would count twice."""
    generated = generate(schema, exact, screen)
    if generated is None:
        return None
    source, namespace = generated
    try:
        code = code_for(source, f"<compiled {name}>")
        exec(code, namespace)  # the source is built from fixed templates only (see the module docstring)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    check: Callable[[Any], Any] = namespace["check"]
    return check
