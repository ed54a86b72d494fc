"""Load YAML safely, keeping the position of every node.

Input: bytes of a policy (or test) file. Output: plain Python data (dicts,
lists, str, int, Decimal, bool, None) and a :class:`Positions` table mapping
each JSON path to its YAML node, so later stages can report
``file:line:column`` -- also of a position *inside* a scalar (a name in a
condition), whatever the scalar's style.

Safety: only PyYAML's reader, scanner and parser are used (see
:class:`_Parser`: no composer, resolver or constructor is even present).
Nodes are composed here, without recursion, from parse events, and turned
into plain data here; no tag can build a Python object. Tags other than the YAML 1.2
core schema's (str, int, float, bool, null, seq, map) are refused. File
size, nesting depth and the alias-expanded size are bounded, so a "billion
laughs" file or 10,000 nested brackets are refused quickly with a located
error. Duplicate keys and merge keys (``<<``) are refused.

Plain scalars are typed by the YAML 1.2 core schema: ``true``/``false``,
``null``/``~``, integers and decimals (read exactly, as ``Decimal``).
Everything else stays text -- notably dates, which the condition language
reads itself, and YAML 1.1's ``yes``/``no``/``on``/``off``.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook.yamlerrors import at, decode, located, yaml_error
from policy_eval.rulebook.yamlpos import Positions

__all__ = ["load_yaml", "Positions", "MAX_FILE_BYTES", "MAX_NODES", "MAX_DEPTH", "MAX_ALIAS_CHARS"]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_ALIAS_CHARS = 1_000_000  # characters of text that aliases may repeat, in all (half a maximal file)
MAX_NUMBER_CHARS = 100  # longer numbers are refused (Python will not even print a 5,000-digit int)

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = _TAG + "seq", _TAG + "map"

# YAML 1.2 core schema, in resolution order (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_IMPLICIT = (
    (_NULL, re.compile(r"(?:null|Null|NULL|~|)")),
    (_BOOL, re.compile(r"(?:true|True|TRUE|false|False|FALSE)")),
    (_INT, re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")),
    (_FLOAT, re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")),
)

# the first characters of the forms above (empty aside): a plain scalar starting otherwise is text
_RESOLVABLE = frozenset("nN~tTfF+-0123456789.")


class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML from text to parse events, and no further."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)  # checks every character at once
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# libyaml's parser (when PyYAML was built with it), from text to the same parse events about ten times
# faster; like _Parser, it has no composer, resolver or constructor. It is only trusted where it agrees with
# _Parser: on a text without what the two read differently (a tab, which libyaml takes as a separator where
# PyYAML refuses it; a byte order mark, which shifts its positions by one; a character _Parser's reader
# refuses), and only when it gives a document: anything it or the composer refuses is parsed again by
# _Parser, which words the error as before (tests/test_yamlload_libyaml.py holds the two equal on every YAML
# file of the project and on thousands of mutated policies).
_CParser: Any = None
try:
    _CParser = importlib.import_module("yaml._yaml").CParser
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    pass
_NOT_FOR_LIBYAML = re.compile("[\t\ufeff]|" + yaml.reader.Reader.NON_PRINTABLE.pattern)
_MISSED = object()  # libyaml did not give the document (or was not asked)


def _with_libyaml(text: str, positions: Positions) -> Any:
    """The composed document as libyaml's events give it, or _MISSED (see above)."""
    if _CParser is None or _NOT_FOR_LIBYAML.search(text) is not None:
        return _MISSED
    parser = _CParser(text)
    try:
        root = _compose(parser, positions)
    except (yaml.YAMLError, PolicyLoadError):
        return _MISSED
    finally:
        parser.dispose()
    return root if _python_marks(root, positions) else _MISSED


def _python_marks(root: Node | None, positions: Positions) -> bool:
    """Give each node the marks PyYAML's reader gives its index: line and column from the text's line starts,
    name, buffer and pointer as the reader sets them. False (nothing to trust) at an empty plain scalar, which
    libyaml places differently (after a flow mapping's colon, or on the next line)."""
    starts, text = positions.line_starts, positions.text + "\0"  # (the reader ends its buffer so)
    stack = [root] if root is not None else []
    seen: set[int] = set()
    mark, name, find = yaml.Mark, "<unicode string>", bisect_right
    while stack:
        node = stack.pop()
        if id(node) in seen:  # (an alias: the same node again)
            continue
        seen.add(id(node))
        cls = type(node)
        if isinstance(node, ScalarNode) and node.value == "" and node.style is None:
            return False
        index = node.start_mark.index
        row = find(starts, index) - 1
        node.start_mark = mark(name, index, row, index - starts[row], text, index)
        index = node.end_mark.index
        row = find(starts, index) - 1
        node.end_mark = mark(name, index, row, index - starts[row], text, index)
        if cls is SequenceNode:
            stack.extend(node.value)
        elif cls is MappingNode:
            for pair in node.value:
                stack.extend(pair)
    return True



def load_yaml(data: bytes | str, file: str = "<input>") -> tuple[Any, Positions]:
    """Parse one YAML document safely; return the data and its positions."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise PolicyLoadError(f"file too large ({len(data)} bytes; at most {MAX_FILE_BYTES})", file=file,
                              line=1, column=1)
    text = decode(data, file)
    positions = Positions.of(file, text)
    parser: _Parser | None = None
    try:
        root = _with_libyaml(text, positions)
        if root is _MISSED:
            parser = _Parser(text)
            root = _compose(parser, positions)
    except yaml.MarkedYAMLError as exc:
        raise yaml_error(exc, positions) from None
    except yaml.reader.ReaderError as exc:
        raise located(f"invalid YAML: control character 0x{exc.character:02x} is not allowed",
                       positions, exc.position) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above is marked
        raise PolicyLoadError(f"invalid YAML: {exc}", file=file, line=1, column=1) from None
    finally:
        if parser is not None:
            parser.dispose()
    if root is None:
        return None, positions
    return _convert(root, (), positions), positions


@dataclass
class _Extent:
    """What a node amounts to once its aliases are expanded: nodes, characters of text, levels."""

    nodes: int = 1
    chars: int = 0
    height: int = 1

    def add(self, child: _Extent) -> None:
        self.nodes += child.nodes
        self.chars += child.chars
        self.height = max(self.height, child.height + 1)


@dataclass
class _Open:
    """A collection being composed."""

    node: CollectionNode
    anchor: str | None
    items: list[Node] = field(default_factory=list)
    extent: _Extent = field(default_factory=_Extent)


def _compose(parser: Any, pos: Positions) -> Node | None:
    """Compose the single document of the stream into nodes, iteratively, enforcing every bound.

    Aliases are bounded twice: by the nodes they add (a "billion laughs") and by the characters they
    add (one long condition aliased into many places would be parsed and compiled once per alias).
    """
    parser.get_event()  # stream start
    if parser.check_event(StreamEndEvent):
        return None
    parser.get_event()  # document start
    anchors: dict[str, tuple[Node, _Extent]] = {}
    stack: list[_Open] = []
    nodes = alias_chars = 0  # nodes of the alias-expanded document so far; characters added by aliases
    root: Node | None = None
    while root is None:
        event: Any = parser.get_event()
        start: Any = event.start_mark  # (PyYAML's stubs disagree on the type of marks)
        node: Node
        anchor: str | None = None
        kind = type(event)
        if kind is ScalarEvent:  # (most events: composed first, without an extent of its own unless anchored)
            nodes += 1
            if nodes > MAX_NODES:
                raise at(f"document has more than {MAX_NODES} nodes; refused", pos, start)
            value = event.value
            # (a plain scalar's style: None from _Parser, "" from libyaml)
            node = ScalarNode(_scalar_tag(event, pos), value, start, event.end_mark, style=event.style or None)
            if event.anchor is not None:
                anchors[event.anchor] = (node, _Extent(chars=len(value)))
            if stack:
                top = stack[-1]
                top.items.append(node)
                grown = top.extent
                grown.nodes += 1
                grown.chars += len(value)
                if grown.height < 2:
                    grown.height = 2
            else:
                root = node
            continue
        if kind is SequenceEndEvent or kind is MappingEndEvent:
            done = stack.pop()
            node, extent, anchor = done.node, done.extent, done.anchor
            node.end_mark = event.end_mark
            node.value = done.items if isinstance(node, SequenceNode) else \
                list(zip(done.items[::2], done.items[1::2], strict=True))
        elif kind is AliasEvent:
            if event.anchor not in anchors:
                opened = any(o.anchor == event.anchor for o in stack)
                raise at(f"alias *{event.anchor} refers to " + (
                    "a node that contains it (recursive alias)" if opened else "no anchor defined before it"),
                    pos, start)
            node, extent = anchors[event.anchor]
            nodes += extent.nodes
            alias_chars += extent.chars
            if nodes > MAX_NODES:
                raise at(f"document expands to more than {MAX_NODES} nodes through alias *{event.anchor} "
                          "(an alias/anchor bomb?); refused", pos, start)
            if alias_chars > MAX_ALIAS_CHARS:
                raise at(f"aliases repeat more than {MAX_ALIAS_CHARS} characters of text, the last through "
                          f"alias *{event.anchor} (an alias/anchor bomb?); refused", pos, start)
            if len(stack) + extent.height > MAX_DEPTH:
                raise at(f"YAML nested too deeply through alias *{event.anchor} (at most {MAX_DEPTH} levels)",
                          pos, start)
        else:
            nodes += 1
            if nodes > MAX_NODES:
                raise at(f"document has more than {MAX_NODES} nodes; refused", pos, start)
            assert isinstance(event, CollectionStartEvent)
            if len(stack) >= MAX_DEPTH:
                raise at(f"YAML nested too deeply (at most {MAX_DEPTH} levels)", pos, start)
            mapping = isinstance(event, MappingStartEvent)
            default = _MAP if mapping else _SEQ
            if event.tag not in (None, "!", default):
                raise at(f"YAML tag {_tag_text(event.tag)} is not allowed in policy files", pos, start)
            cls = MappingNode if mapping else SequenceNode
            # (a block sequence under a key at its own indentation: flow_style None from _Parser, False from
            # libyaml; nothing reads it but a test comparing the two)
            stack.append(_Open(cls(default, [], start, None, flow_style=bool(event.flow_style)), event.anchor))
            continue
        if anchor is not None:
            anchors[anchor] = (node, extent)
        if stack:
            stack[-1].items.append(node)
            stack[-1].extent.add(extent)
        else:
            root = node
    parser.get_event()  # document end
    if not parser.check_event(StreamEndEvent):
        raise at("a policy file holds a single YAML document; found another one here", pos,
                  parser.peek_event().start_mark)
    return root


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _scalar_tag(event: ScalarEvent, pos: Positions) -> str:
    if event.tag is None:
        if not event.implicit[0]:  # quoted
            return _STR
        value = event.value
        if value and value[0] not in _RESOLVABLE:  # (no core-schema form starts so: a word, a date's digits do)
            return _STR
        return next((tag for tag, rx in _IMPLICIT if rx.fullmatch(value)), _STR)
    if event.tag == "!":
        return _STR
    if event.tag in (_STR, _INT, _FLOAT, _BOOL, _NULL):
        return str(event.tag)
    raise at(f"YAML tag {_tag_text(event.tag)} is not allowed in policy files", pos, event.start_mark)


def _scalar(node: ScalarNode, pos: Positions, path: tuple[Any, ...] = ()) -> Any:
    """The Python value of a core-schema scalar (its tag was checked when it was composed)."""
    text = node.value
    if node.tag == _STR:
        return text
    if node.tag in (_INT, _FLOAT) and len(text) > MAX_NUMBER_CHARS:
        where = ".".join(map(str, path)) or "number"
        raise at(f"{where}: number too long ({len(text)} characters; at most {MAX_NUMBER_CHARS})", pos,
                  node.start_mark)
    if node.tag == _NULL and _IMPLICIT[0][1].fullmatch(text):
        return None
    if node.tag == _BOOL and _IMPLICIT[1][1].fullmatch(text):
        return text.lower() == "true"
    if node.tag == _INT and _IMPLICIT[2][1].fullmatch(text):
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        return int(text[2:] if base != 10 else text, base)
    if node.tag == _FLOAT:
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is not None and value.is_finite():
            return value
        raise at(f"not a finite decimal number: {text!r}", pos, node.start_mark)
    raise at(f"{text!r} is not a valid {node.tag[len(_TAG):]}", pos, node.start_mark)


def _convert(node: Node, path: tuple[Any, ...], pos: Positions) -> Any:
    """Nodes → plain data, recording positions. Recursion is bounded: composition capped the depth."""
    pos.nodes[path] = node
    if isinstance(node, ScalarNode):
        return _scalar(node, pos, path)
    if isinstance(node, SequenceNode):
        return [_convert(child, path + (i,), pos) for i, child in enumerate(node.value)]
    assert isinstance(node, MappingNode)
    out: dict[Any, Any] = {}
    nodes, key_nodes = pos.nodes, pos.key_nodes
    for key_node, value_node in node.value:
        if type(key_node) is not ScalarNode:
            raise at("mapping keys must be scalars", pos, key_node.start_mark)
        if key_node.value == "<<" and key_node.style is None:
            raise at("YAML merge keys ('<<') are not allowed in policy files", pos, key_node.start_mark)
        key = key_node.value if key_node.tag == _STR else _scalar(key_node, pos, path)
        sub = path + (key,)
        if key in out:
            first = key_nodes[sub]
            raise at(f"duplicate key {key!r} (first defined at line {first.start_mark.line + 1})", pos,
                      key_node.start_mark)
        key_nodes[sub] = key_node
        if type(value_node) is ScalarNode and value_node.tag == _STR:  # (most values: text, as _scalar gives it)
            nodes[sub] = value_node
            out[key] = value_node.value
        else:
            out[key] = _convert(value_node, sub, pos)
    return out
