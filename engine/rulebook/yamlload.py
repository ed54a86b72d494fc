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
from policy_eval.rulebook.yamlhints import explain_error

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

class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML from text to parse events, and no further."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)  # checks every character at once
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# PyYAML's notion of a line break (its marks count lines this way).
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


@dataclass
class Positions:
    """JSON path (tuple of keys/indexes) → YAML node, plus the file's text."""

    file: str
    lines: list[str]
    nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)
    key_nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)
    text: str = ""
    line_starts: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def of(cls, file: str, text: str) -> Positions:
        starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        return cls(file, _LINE_BREAK.split(text), text=text, line_starts=starts)

    def where(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path`` (or of its key), else of its nearest parent."""
        table = self.key_nodes if key else self.nodes
        p = tuple(path)
        while p:
            node = table.get(p) or self.nodes.get(p)
            if node is not None:
                return node.start_mark.line + 1, node.start_mark.column + 1
            p = p[:-1]
        node = self.nodes.get(())
        if node is not None:
            return node.start_mark.line + 1, node.start_mark.column + 1
        return 1, 1

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None

    def error(self, message: str, path: tuple[Any, ...] = (), *, key: bool = False,
              cls: type[PolicyLoadError] = PolicyLoadError) -> PolicyLoadError:
        line, column = self.where(path, key=key)
        return cls(message, file=self.file, line=line, column=column, source_line=self.line_text(line))

    def position_of(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of a character index of the text."""
        row = bisect_right(self.line_starts, index) - 1
        return row + 1, index - self.line_starts[row] + 1

    def expression_position(self, path: tuple[Any, ...], line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) inside the value of the scalar at ``path`` to the file.

        Works for every scalar style: plain (also over several lines), quoted (escapes included),
        literal ``|`` and folded ``>``.
        """
        node = self.nodes.get(tuple(path))
        if not isinstance(node, ScalarNode):
            return self.where(path)
        value_lines = node.value.split("\n")
        line = min(max(line, 1), len(value_lines))
        offset = sum(len(x) + 1 for x in value_lines[: line - 1]) + column - 1
        sources = _value_sources(self.text, node)
        return self.position_of(sources[min(max(offset, 0), len(sources) - 1)])


def _value_sources(text: str, node: ScalarNode) -> list[int]:
    """For each character of a scalar's value, the index in ``text`` it comes from; plus one past the end.

    Characters of the source that make no character of the value (quotes, escapes' backslashes,
    indentation, folded line breaks) are skipped by aligning value and source greedily.
    """
    i, end = node.start_mark.index, node.end_mark.index
    style = node.style
    if style in ("|", ">"):
        m = _LINE_BREAK.search(text, i, end)
        i = m.end() if m else end
    elif style in ("'", '"'):
        i += 1
    out: list[int] = []
    for ch in node.value:
        while i < end:
            s = text[i]
            if style == '"' and s == "\\":
                nxt = text[i + 1] if i + 1 < end else ""
                if nxt in ("\r", "\n"):  # escaped line break: makes no character
                    i += 2
                    continue
                out.append(i)
                i += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
                break
            if style == "'" and s == "'" and text.startswith("''", i):
                out.append(i)
                i += 2
                break
            i += 1
            if s == ch or (ch == " " and s in "\r\n"):
                out.append(i - 1)
                break
        else:
            out.append(end)
    out.append(out[-1] + 1 if out else i)
    return out


def _located(message: str, positions: Positions, index: int) -> PolicyLoadError:
    line, column = positions.position_of(index)
    return PolicyLoadError(message, file=positions.file, line=line, column=column,
                           source_line=positions.line_text(line))


def _at(message: str, positions: Positions, mark: Any) -> PolicyLoadError:
    return PolicyLoadError(message, file=positions.file, line=mark.line + 1, column=mark.column + 1,
                           source_line=positions.line_text(mark.line + 1))


def _yaml_error(exc: yaml.MarkedYAMLError, positions: Positions) -> PolicyLoadError:
    """PyYAML's scanner/parser error, at the problem, naming where the construct it was in began."""
    mark = exc.problem_mark or exc.context_mark
    message = str(exc.problem or exc.context)
    if exc.context and exc.problem:
        began = exc.context_mark
        message += f" ({exc.context}" + (f" started at line {began.line + 1}, column {began.column + 1})"
                                         if began is not None else ")")
    hint = explain_error(exc, positions.lines)
    if hint is not None:  # the project's words, at the mistake (a missing colon is found a line later)
        return _located(f"invalid YAML: {message}; hint: {hint.text}", positions,
                        positions.line_starts[hint.line] + hint.column)
    return _at(f"invalid YAML: {message}", positions, mark)


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data[: exc.start].count(b"\n") + 1
        column = len(data[line_start: exc.start].decode("utf-8", errors="replace")) + 1
        line_end = data.find(b"\n", exc.start)
        shown = data[line_start: line_end if line_end >= 0 else len(data)].decode("utf-8", errors="replace")
        raise PolicyLoadError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
                              file=file, line=line, column=column, source_line=shown.rstrip("\r")) from None


def load_yaml(data: bytes | str, file: str = "<input>") -> tuple[Any, Positions]:
    """Parse one YAML document safely; return the data and its positions."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise PolicyLoadError(f"file too large ({len(data)} bytes; at most {MAX_FILE_BYTES})", file=file,
                              line=1, column=1)
    text = _decode(data, file)
    positions = Positions.of(file, text)
    parser: _Parser | None = None
    try:
        parser = _Parser(text)
        root = _compose(parser, positions)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, positions) from None
    except yaml.reader.ReaderError as exc:
        raise _located(f"invalid YAML: control character 0x{exc.character:02x} is not allowed",
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


def _compose(parser: _Parser, pos: Positions) -> Node | None:
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
        if isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            done = stack.pop()
            node, extent, anchor = done.node, done.extent, done.anchor
            node.end_mark = event.end_mark
            node.value = done.items if isinstance(node, SequenceNode) else \
                list(zip(done.items[::2], done.items[1::2], strict=True))
        elif isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                opened = any(o.anchor == event.anchor for o in stack)
                raise _at(f"alias *{event.anchor} refers to " + (
                    "a node that contains it (recursive alias)" if opened else "no anchor defined before it"),
                    pos, start)
            node, extent = anchors[event.anchor]
            nodes += extent.nodes
            alias_chars += extent.chars
            if nodes > MAX_NODES:
                raise _at(f"document expands to more than {MAX_NODES} nodes through alias *{event.anchor} "
                          "(an alias/anchor bomb?); refused", pos, start)
            if alias_chars > MAX_ALIAS_CHARS:
                raise _at(f"aliases repeat more than {MAX_ALIAS_CHARS} characters of text, the last through "
                          f"alias *{event.anchor} (an alias/anchor bomb?); refused", pos, start)
            if len(stack) + extent.height > MAX_DEPTH:
                raise _at(f"YAML nested too deeply through alias *{event.anchor} (at most {MAX_DEPTH} levels)",
                          pos, start)
        else:
            nodes += 1
            if nodes > MAX_NODES:
                raise _at(f"document has more than {MAX_NODES} nodes; refused", pos, start)
            if isinstance(event, ScalarEvent):
                end: Any = event.end_mark
                node = ScalarNode(_scalar_tag(event, pos), event.value, start, end, style=event.style)
                extent, anchor = _Extent(chars=len(event.value)), event.anchor
            else:
                assert isinstance(event, CollectionStartEvent)
                if len(stack) >= MAX_DEPTH:
                    raise _at(f"YAML nested too deeply (at most {MAX_DEPTH} levels)", pos, start)
                mapping = isinstance(event, MappingStartEvent)
                default = _MAP if mapping else _SEQ
                if event.tag not in (None, "!", default):
                    raise _at(f"YAML tag {_tag_text(event.tag)} is not allowed in policy files", pos, start)
                cls = MappingNode if mapping else SequenceNode
                stack.append(_Open(cls(default, [], start, None, flow_style=event.flow_style), event.anchor))
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
        raise _at("a policy file holds a single YAML document; found another one here", pos,
                  parser.peek_event().start_mark)
    return root


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _scalar_tag(event: ScalarEvent, pos: Positions) -> str:
    if event.tag is None:
        if not event.implicit[0]:  # quoted
            return _STR
        return next((tag for tag, rx in _IMPLICIT if rx.fullmatch(event.value)), _STR)
    if event.tag == "!":
        return _STR
    if event.tag in (_STR, _INT, _FLOAT, _BOOL, _NULL):
        return str(event.tag)
    raise _at(f"YAML tag {_tag_text(event.tag)} is not allowed in policy files", pos, event.start_mark)


def _scalar(node: ScalarNode, pos: Positions, path: tuple[Any, ...] = ()) -> Any:
    """The Python value of a core-schema scalar (its tag was checked when it was composed)."""
    text = node.value
    if node.tag == _STR:
        return text
    if node.tag in (_INT, _FLOAT) and len(text) > MAX_NUMBER_CHARS:
        where = ".".join(map(str, path)) or "number"
        raise _at(f"{where}: number too long ({len(text)} characters; at most {MAX_NUMBER_CHARS})", pos,
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
        raise _at(f"not a finite decimal number: {text!r}", pos, node.start_mark)
    raise _at(f"{text!r} is not a valid {node.tag[len(_TAG):]}", pos, node.start_mark)


def _convert(node: Node, path: tuple[Any, ...], pos: Positions) -> Any:
    """Nodes → plain data, recording positions. Recursion is bounded: composition capped the depth."""
    pos.nodes[path] = node
    if isinstance(node, ScalarNode):
        return _scalar(node, pos, path)
    if isinstance(node, SequenceNode):
        return [_convert(child, path + (i,), pos) for i, child in enumerate(node.value)]
    assert isinstance(node, MappingNode)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _at("mapping keys must be scalars", pos, key_node.start_mark)
        if key_node.value == "<<" and key_node.style is None:
            raise _at("YAML merge keys ('<<') are not allowed in policy files", pos, key_node.start_mark)
        key = _scalar(key_node, pos, path)
        if key in out:
            first = pos.key_nodes[path + (key,)]
            raise _at(f"duplicate key {key!r} (first defined at line {first.start_mark.line + 1})", pos,
                      key_node.start_mark)
        pos.key_nodes[path + (key,)] = key_node
        out[key] = _convert(value_node, path + (key,), pos)
    return out
