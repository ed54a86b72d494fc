"""A batch record read and checked against its case schema in C (msgspec), its timestamps parsed once.

Input: the rulebook's case schemas (as loaded, unknown-value convention applied). Output: ``decode(text)``, the
case a JSON Lines record holds and whether it holds no null, when it is valid, else None; or None in place of
``decode`` when no kind's schema is in the subset below. The case is what ``jsonrecord.read_checked`` gives for
the record: the same plain dicts, lists and texts, keys in the record's order, and its timestamps parsed into
lang.timestamps' memo (with ``texts``, their text into lang.values' memory too), where the rules' readers look
first.

Why: ``read_checked`` spent 12-14 µs of a record's ~45 (bench/ingest.py): orjson, a walk of the whole record
by the schema's compiled check (rulebook.schemacompile), and a Python call of ~600 ns per timestamp. Here
msgspec reads the record twice, in C: into dicts, checking the types, enums, lengths and bounds as it reads (a
TypedDict made from the schema: about what orjson alone costs), and into a Struct of its timestamps only,
parsed. One generated function then walks the two: a timestamp in RFC 3339's commonest form
(``2023-06-02T16:00:00+08:00``: the form lang.timestamps' fast path gives to the same C parser msgspec's equals,
digits, offset and all) is remembered as msgspec parsed it; any other text is parsed by lang.timestamps, which
refuses what RFC 3339 refuses (msgspec takes a space for ``T``, a fraction finer than a microsecond, an offset
without its colon: bench/ingest.py lists them) and reads a text with no offset as Asia/Shanghai's (msgspec's
datetime is naive); a leap second, which msgspec refuses, sends the record the other way. The walker also
checks the patterns with RE2 and counts the keys.

Nulls: the record is read first with the same types less their null options (the *strict* TypedDict), which
takes most records: one it takes holds no null, so the evaluator need not look for one, and the caller need not
search the text for ``null`` (0.5-0.9 µs a record). Where the strict types refuse the record and the others take
it, it holds a null (they differ in nothing else); that costs such a record a second read. A kind where some
value can only be null has no strict types: its records are searched as before.

None is not an error: the caller reads the record the way it did before (``read_checked``, then the general
path, which words what is wrong). So a record is taken here only when that way would take it too, with the
same value:

* kinds: a schema whose ``kind`` is a ``const`` and whose every object forbids other keys
  (``additionalProperties: false``), built of ``type`` (string, integer, boolean, null, object, array),
  ``properties``, ``required``, ``enum``/``const`` (strings, integers, booleans, null), ``minLength``/
  ``maxLength``, ``minimum``/``maximum`` (integers), ``minItems``/``maxItems``, ``items``, ``pattern`` (RE2, as
  the other validators run it: Python's ``re``, which msgspec would use, reads ``$`` and ``\\d`` otherwise) and
  ``format: date-time``. Anything else (a number, which must be read exactly, as ``Decimal``; ``format: date``)
  leaves the kind to the other way;
* the kind is read from the text's first ``"kind":`` (no string holds a ``"`` without a backslash): a nested one,
  or none, gives a kind whose type then refuses the record, or no kind;
* a key written twice, or one the schema does not name: msgspec keeps the last, or drops it. Without a
  backslash a string holds no ``"``, so each key adds one ``":`` to the text with its blanks dropped (and a
  string only by starting with a colon): a record whose count differs from the keys decoded goes the other way,
  and so does any text with a backslash. That count (a copy of the text, then a two-byte search: ~1.1 µs of an
  after-sale record's ~6) is asked only when a cheaper one does not settle it: the text's colons, counted as one
  byte, against the keys decoded plus three for each timestamp the walker took in the commonest form (whose shape
  has a colon at three places). Each key in the text adds one colon and each such timestamp at least three, so the
  two are equal only when the text has no key more than those decoded (and no other colon in a string); where
  they differ, the ``":`` count decides as before. tests/test_msgdecode.py compares every answer with
  ``read_checked``'s on generated records, the golden cases and records mutated at every place.

Safety: the types are built from the schema's values (names, constants, bounds) as data; the walker is generated
from fixed templates, every key, pattern and constant bound as a name, never written into the source.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict, Union

import msgspec

from policy_eval.lang.codecache import code_for
from policy_eval.lang.isotext import _DATETIME_TEXT, _DATETIME_TEXT_MAX
from policy_eval.lang.timestamps import MEMO, MEMO_MAX, parse_timestamp
from policy_eval.lang.values import ValueParseError
from policy_eval.rulebook.jsonrecord import MAX_RECORD_BYTES
from policy_eval.rulebook.schemacompile import _ANNOTATIONS
from policy_eval.rulebook.schemaregex import _RE2Search

__all__ = ["compile_decoder", "Decode"]

Decode = Callable[[bytes], "tuple[dict[str, Any], bool] | None"]

_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "enum", "const", "minLength",
                       "maxLength", "minimum", "maximum", "minItems", "maxItems", "items", "pattern", "format"})
_SCALARS: dict[str, Any] = {"boolean": bool, "null": type(None)}
_BLANKS = b" \t\r\n"
_KIND = b'"kind"'
_MAX_DEPTH = 24


class _Unsupported(Exception):
    pass


_PARSED = _dt.datetime  # (no offset: naive, which the walker leaves to lang.timestamps, as any other form)


class _Builder:
    """One kind's two msgspec types (a TypedDict of the whole record, texts as they are; a Struct of its
    timestamps only, parsed) and the source of its walker over the two (timestamps, patterns, keys)."""

    def __init__(self, kind: str, texts: bool, strict: bool = False) -> None:
        self.kind = kind
        self.texts = texts
        self.strict = strict  # (no value may be null: the types without their null options)
        self.names: dict[str, Any] = {
            "type": type, "len": len, "dict": dict, "list": list, "str": str, "zip": zip, "id": id,
            "_memo": MEMO, "_memo_max": MEMO_MAX, "_parse": parse_timestamp, "_Bad": (ValueParseError, ValueError),
            "_texts": _DATETIME_TEXT, "_texts_max": _DATETIME_TEXT_MAX,
        }
        self.lines: list[str] = []
        self.made = 0
        self.locals = 0

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def local(self, prefix: str = "x") -> str:
        self.locals += 1
        return f"{prefix}{self.locals}"

    def add(self, indent: int, *lines: str) -> None:
        self.lines.extend(" " * indent + line for line in lines)

    def name(self) -> str:
        self.made += 1
        return f"{_identifier(self.kind)}_{self.made}"

    def type_of(self, schema: Any, var: str, parsed: str, indent: int, depth: int) -> tuple[Any, Any]:
        """``schema``'s msgspec type and its timestamps' (None: it holds none); the walker's lines for the value
        held by the local ``var``, whose timestamps, parsed, are the expression ``parsed``."""
        if depth > _MAX_DEPTH or not isinstance(schema, dict):
            raise _Unsupported("depth or a boolean subschema")
        unknown = {k for k in schema if k not in _KEYWORDS and k not in _ANNOTATIONS and not k.startswith("x-")}
        if unknown:
            raise _Unsupported(", ".join(sorted(unknown)))
        kinds = schema.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if "const" in schema or "enum" in schema:
            return self.enum(schema, kinds), None
        if not isinstance(kinds, list) or not kinds:
            raise _Unsupported("no type")
        if self.strict:
            kinds = [k for k in kinds if k != "null"]
            if not kinds:
                raise _Unsupported("null only")
        options: list[Any] = []
        stamps: list[Any] = []
        # the walker's test that the value is of a kind: where the types allow one kind (and null), msgspec has
        # read the value as that kind or None (or it is absent), so `is not None` says as much as its type's test
        sole = sum(k != "null" for k in kinds) == 1
        for kind in kinds:
            if kind == "string":
                typ, stamp = self.string(schema, var, parsed, indent, sole)
            elif kind == "integer":
                typ, stamp = _meta(int, ge=schema.get("minimum"), le=schema.get("maximum")), None
            elif kind in _SCALARS:
                typ, stamp = _SCALARS[kind], (type(None) if kind == "null" else None)
            elif kind == "object":
                typ, stamp = self.object(schema, var, parsed, indent, depth, sole)
            elif kind == "array":
                typ, stamp = self.array(schema, var, parsed, indent, depth, sole)
            else:
                raise _Unsupported(f"type {kind!r}")
            options.append(typ)
            if stamp is not None:
                stamps.append(stamp)
        held = [s for s in stamps if s is not type(None)]
        return _union(options), (_union(stamps) if held else None)

    def enum(self, schema: dict[str, Any], kinds: Any) -> Any:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        if not isinstance(values, list) or not values or any(type(v) not in (str, int, bool, type(None))
                                                              for v in values):
            raise _Unsupported("enum")
        allowed = set(kinds) if isinstance(kinds, list) else None
        if allowed is not None and allowed - {"string", "integer", "boolean", "null"}:
            raise _Unsupported("an enum of another type")
        if schema.get("format") is not None or "pattern" in schema:
            raise _Unsupported("an enum with string keywords")
        typed = [v for v in values if v is not None and (allowed is None or _json_type(v) in allowed)]
        options: list[Any] = [Literal[tuple(typed)]] if typed else []
        if None in values and (allowed is None or "null" in allowed) and not self.strict:
            options.append(type(None))
        if not options:
            raise _Unsupported("an enum no value of which has the type")
        return _union(options)

    @staticmethod
    def held(var: str, typename: str, sole: bool) -> str:
        """The walker's test that the local ``var`` holds a value of the type (see ``sole`` in :meth:`type_of`)."""
        return f"{var} is not None" if sole else f"type({var}) is {typename}"

    def string(self, schema: dict[str, Any], var: str, parsed: str, indent: int, sole: bool = False
               ) -> tuple[Any, Any]:
        fmt = schema.get("format")
        if fmt not in (None, "date-time"):
            raise _Unsupported(f"format {fmt!r}")
        pattern = schema.get("pattern")
        if pattern is not None:
            if not isinstance(pattern, str):
                raise _Unsupported("pattern")
            try:
                searcher = _RE2Search(pattern)
            except Exception as exc:  # (a pattern RE2 refuses: the load-time check names it)
                raise _Unsupported("pattern") from exc
            # (its remembered answer first, one call less: a text held here is a str; False there is searched again)
            known, search = self.constant(searcher.answers), self.constant(searcher.search)
            self.add(indent, f"if {self.held(var, 'str', sole)} and not ({known}.get({var}) or {search}({var})):",
                     "    return None")
        text = _meta(str, min_length=schema.get("minLength"), max_length=schema.get("maxLength"))
        if fmt != "date-time":
            return text, None
        # RFC 3339's commonest form (lang.timestamps' fast path: its shape; msgspec has read its digits, offset
        # and all, exactly as that path's C parser does) is remembered as msgspec parsed it; any other text goes
        # through lang.timestamps, which refuses what RFC 3339 does (a space for T, ...) and remembers the rest.
        # The shape (OFFSET_SHAPES: ``-`` ``-`` ``T`` ``:`` ``:`` sign ``:`` at 4, 7, 10, 13, 16, 19, 22) is tested
        # at two places: of the texts msgspec read as a timestamp, those of 25 characters with a colon at 22 end
        # in a ``±HH:MM`` offset after whole seconds, so only the separator at 10 is left to test (two 1-character
        # indexes, 30 ns less a timestamp than a sliced copy hashed for a set: tests/test_msgdecode.py)
        self.add(indent,
                 f"if {self.held(var, 'str', sole)}:",
                 f"    if len({var}) == 25 and {var}[22] == ':' and {var}[10] == 'T':",
                 # (the memo's size: checked once a record, at the top; ``t`` only for the texts below)
                 f"        _memo[{var}] = {'t = ' if self.texts else ''}{parsed}",
                 "        d += 1")  # (three colons of the text, at the places the shape holds: see the module)
        if self.texts:  # (isoformat's own text, but for a zero offset, which it writes +00:00; the offset's digits
            # tested one at a time, the hour's second first, not a sliced copy of the offset compared)
            self.add(indent, f"        if {var}[21] != '0' or {var}[20] != '0' or {var}[24] != '0' or {var}[23] != '0':",
                     f"            _texts[id(t)] = (t, {var})")
        self.add(indent,
                 "    else:",
                 "        try:",
                 f"            _parse({var})",
                 "        except _Bad:",
                 "            return None")
        return text, _PARSED

    def array(self, schema: dict[str, Any], var: str, parsed: str, indent: int, depth: int, sole: bool = False
              ) -> tuple[Any, Any]:
        item, item_parsed = self.local(), self.local("p")
        mark = len(self.lines)
        self.add(indent, f"if {self.held(var, 'list', sole)}:", "")  # (the loop's line: known once the items are)
        typ, stamp = self.type_of(schema.get("items", {}), item, item_parsed, indent + 8, depth + 1)
        if len(self.lines) == mark + 2:  # (nothing to do for the items)
            del self.lines[mark:]
        elif stamp is None:
            self.lines[mark + 1] = " " * (indent + 4) + f"for {item} in {var}:"
        else:
            self.lines[mark + 1] = " " * (indent + 4) + f"for {item}, {item_parsed} in zip({var}, {parsed}):"
        bounds = {"min_length": schema.get("minItems"), "max_length": schema.get("maxItems")}
        return _meta(list[typ], **bounds), (list[stamp] if stamp is not None else None)  # type: ignore[valid-type]

    def object(self, schema: dict[str, Any], var: str, parsed: str, indent: int, depth: int, sole: bool = False
               ) -> tuple[Any, Any]:
        if schema.get("additionalProperties") is not False:
            raise _Unsupported("an object that allows other keys")
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        if not isinstance(properties, dict) or not isinstance(required, list) or set(required) - set(properties):
            raise _Unsupported("properties")
        if depth == 0 and (not isinstance(properties.get("kind"), dict) or properties["kind"].get("const") != self.kind
                           or "kind" not in required):
            raise _Unsupported("a kind that is not a required const")
        self.add(indent, f"if {self.held(var, 'dict', sole)}:", f"    n += len({var})")
        fields: dict[str, Any] = {}
        stamps: list[tuple[Any, ...]] = []
        renamed: dict[str, str] = {}
        for key, sub in properties.items():
            if not isinstance(key, str):
                raise _Unsupported("a key")
            child, attribute = self.local(), f"f{len(stamps)}"
            mark = len(self.lines)
            self.add(indent + 4, f"{child} = {var}.get({self.constant(key)})")
            typ, stamp = self.type_of(sub, child, f"{parsed}.{attribute}", indent + 4, depth + 1)
            if len(self.lines) == mark + 1:
                del self.lines[mark:]  # (nothing to do under it)
            fields[key] = Required[typ] if key in required else NotRequired[typ]
            if stamp is not None:
                renamed[attribute] = key
                stamps.append((attribute, Union[stamp, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        made = TypedDict(self.name(), fields)  # type: ignore[misc]
        if not stamps:
            return made, None
        return made, msgspec.defstruct(self.name(), stamps, rename=renamed)


def _json_type(value: Any) -> str:
    return {str: "string", bool: "boolean", int: "integer"}.get(type(value), "null")


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text) or "kind"


def _meta(typ: Any, **bounds: Any) -> Any:
    given = {k: v for k, v in bounds.items() if v is not None}
    if any(type(v) is not int for v in given.values()):
        raise _Unsupported("a bound that is not an integer")
    return Annotated[typ, msgspec.Meta(**given)] if given else typ


def _union(options: list[Any]) -> Any:
    return options[0] if len(options) == 1 else Union[tuple(options)]  # noqa: UP007


def _kind(kind: str, schema: Any, texts: bool = False) -> tuple[Callable[[bytes], Any], Callable[[bytes], Any] | None,
                                           Callable[[dict[str, Any], Any], tuple[int, int] | None],
                                           Callable[[bytes], Any] | None] | None:
    """The kind's decoders (the record's TypedDict; its timestamps' Struct, None when it has none), its walker
    (``walk(case, parsed)``: the keys in the case and how many of its timestamps were of the commonest form, or None
    when a timestamp or a pattern refuses it) and its strict
    decoder (the same TypedDict with no null allowed anywhere, None where some value can only be null), or None
    outside the subset."""
    if not (isinstance(schema, dict) and schema.get("type") == "object"):
        return None
    builder = _Builder(kind, texts)
    try:
        made, stamps = builder.type_of(schema, "c", "s", 4, 0)
        decoder = msgspec.json.Decoder(made)
        parser = msgspec.json.Decoder(stamps) if stamps is not None else None
    except (_Unsupported, TypeError, ValueError, RecursionError):
        return None
    try:  # (its walker's lines are the same: only its types are kept)
        strict: Any = msgspec.json.Decoder(_Builder(kind, texts, strict=True).type_of(schema, "c", "s", 4, 0)[0]).decode
    except (_Unsupported, TypeError, ValueError, RecursionError):
        strict = None
    # (the memo and the texts are emptied when full before a record, so that each holds at most its bound and one
    # record's timestamps)
    head = ["def walk(c, s):", "    n = d = 0", "    if len(_memo) >= _memo_max:", "        _memo.clear()"]
    if texts:
        head += ["    if len(_texts) >= _texts_max:", "        _texts.clear()"]
    source = "\n".join([*head, *builder.lines, "    return n, d", ""])
    namespace: dict[str, Any] = {"__builtins__": {}, **builder.names}
    exec(code_for(source, f"<policy-eval record walk {kind}>"), namespace)  # noqa: S102  (templates only)
    return decoder.decode, parser.decode if parser is not None else None, namespace["walk"], strict


def compile_decoder(schemas: Mapping[str, Any], texts: bool = False) -> Decode | None:
    """``decode(text)`` for the kinds of ``schemas`` in the subset (see the module), or None when none is.
    ``texts``: a timestamp's text is remembered as its display text too (lang.isotext.render_datetime): for full
    detail, which shows every timestamp a rule reads (no slower than formatting them, measured); in findings detail
    the few shown are formatted when shown, cheaper than remembering them all."""
    kinds = {kind.encode(): made for kind, schema in schemas.items()
             if isinstance(kind, str) and '"' not in kind and "\\" not in kind
             and (made := _kind(kind, schema, texts)) is not None}
    if not kinds:
        return None
    errors = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)  # (nesting too deep for msgspec)
    blanks = _BLANKS

    def decode(text: bytes) -> tuple[dict[str, Any], bool] | None:
        # (a search, not ``in``: bytes' ``in`` tries its operand as an integer first, an exception formatted and
        # dropped, ~1,700 machine instructions a record)
        if type(text) is not bytes or len(text) > MAX_RECORD_BYTES or text.find(b"\\") >= 0:
            return None
        at = text.find(_KIND)
        if at < 0:
            return None
        start = text.find(b'"', at + 6) + 1
        made = kinds.get(text[start:text.find(b'"', start)]) if start and text[at + 6:start - 1].strip(blanks) == b":" \
            else None
        if made is None:
            return None
        strict = made[3]
        try:
            # (no null anywhere, most records: the strict types take it; else the record holds a null, or is not taken)
            null_free = strict is not None
            try:
                case = strict(text) if strict is not None else made[0](text)
            except errors:
                if not null_free:
                    raise
                null_free = False
                case = made[0](text)
            parsed = made[1](text) if made[1] is not None else None
        except errors:
            return None
        walked = made[2](case, parsed)
        if walked is None:
            return None
        keys, stamps = walked
        # (no key written twice or unknown: the colons first, one byte counted; else the keys' own count)
        if text.count(b":") != keys + 3 * stamps and keys != text.translate(None, blanks).count(b'":'):
            return None
        return case, null_free or text.find(b"null") < 0

    return decode
