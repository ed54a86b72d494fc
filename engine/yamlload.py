"""Load YAML safely, keeping the position of every node.

Input: bytes of a policy (or test) file. Output: plain Python data (dicts,
lists, str, int, bool, None) and a :class:`Positions` table mapping each
JSON path to its YAML node, so later stages can report ``file:line:column``.

Safety: composition only (no object construction, no tags beyond the core
schema), duplicate keys rejected, size and nesting bounded, and alias
expansion bounded so a "billion laughs" file is refused quickly and with
little memory. Dates and floats are *not* converted by YAML: they stay text
and are read by the condition language, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import PolicyLoadError

__all__ = ["load_yaml", "Positions", "MAX_FILE_BYTES", "MAX_NODES", "MAX_DEPTH"]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"
_ALLOWED = {_STR, _FLOAT, "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
            "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving null, bool, int and float (read as exact Decimal); dates stay text.

    Never mutates the base class's resolver table.
    """


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool",
                                                       "tag:yaml.org,2002:int", _FLOAT)]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Positions:
    """JSON path (tuple of keys/indexes) → YAML node, plus the file's lines."""

    file: str
    lines: list[str]
    nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)
    key_nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)

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

    def expression_position(self, path: tuple[Any, ...], line: int, column: int) -> tuple[int, int]:
        """Map (line, column) inside a scalar's text to the file (handles quotes and block scalars)."""
        node = self.nodes.get(tuple(path))
        if not isinstance(node, ScalarNode):
            return self.where(path)
        start_line, start_col = node.start_mark.line, node.start_mark.column
        style = node.style
        if style in ("|", ">"):
            first = start_line + 1
            while first < len(self.lines) and not self.lines[first].strip():
                first += 1
            indent = len(self.lines[first]) - len(self.lines[first].lstrip()) if first < len(self.lines) else 0
            if style == "|":
                return first + line, indent + column
            return self._folded(first, indent, node.value, line, column)
        if node.end_mark.line == start_line:  # single-line plain or quoted scalar
            return start_line + 1, start_col + column + (1 if style in ("'", '"') else 0)
        return self._folded(start_line, start_col, node.value, line, column)

    def _folded(self, first: int, indent: int, value: str, line: int, column: int) -> tuple[int, int]:
        offset = sum(len(x) + 1 for x in value.split("\n")[: line - 1]) + column - 1
        row = first
        col0 = indent if row != first else indent
        consumed = 0
        while row < len(self.lines):
            raw = self.lines[row]
            content = raw.strip()
            lead = len(raw) - len(raw.lstrip())
            if row == first:
                lead = col0 if raw[col0:].strip() == content else lead
            if consumed + len(content) >= offset:
                return row + 1, lead + (offset - consumed) + 1
            consumed += len(content) + 1
            row += 1
        return first + 1, indent + 1


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PolicyLoadError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})", file=file,
                              line=line, column=column) from None


def load_yaml(data: bytes | str, file: str = "<input>") -> tuple[Any, Positions]:
    """Parse one YAML document safely; return the data and its positions."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise PolicyLoadError(f"file too large ({len(data)} bytes; at most {MAX_FILE_BYTES})", file=file,
                              line=1, column=1)
    text = _decode(data, file)
    lines = text.splitlines()
    positions = Positions(file, lines)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except RecursionError:
        raise PolicyLoadError(f"YAML nested too deeply (at most {MAX_DEPTH} levels)", file=file, line=1,
                              column=1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else 1
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise PolicyLoadError(f"invalid YAML: {msg}", file=file, line=line, column=column,
                              source_line=positions.line_text(line)) from None
    except yaml.YAMLError as exc:
        raise PolicyLoadError(f"invalid YAML: {exc}", file=file, line=1, column=1) from None
    finally:
        loader.dispose()
    if root is None:
        return None, positions
    _check_expansion(root, positions)
    return _convert(root, (), positions, loader, 0), positions


def _check_expansion(root: Node, positions: Positions) -> None:
    """Reject documents whose alias-expanded size is huge (billion laughs), in linear time."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        kids: list[Node] = []
        if isinstance(node, SequenceNode):
            kids = list(node.value)
        elif isinstance(node, MappingNode):
            kids = [n for kv in node.value for n in kv]
        if not done:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(k), 1) for k in kids)
        if total > MAX_NODES:
            raise positions.error(
                f"document expands to more than {MAX_NODES} nodes (alias/anchor bomb?); refused")
        sizes[id(node)] = total


def _convert(node: Node, path: tuple[Any, ...], pos: Positions, loader: _Loader, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise pos.error(f"YAML nested too deeply (at most {MAX_DEPTH} levels)", path)
    pos.nodes[path] = node
    if node.tag not in _ALLOWED:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        raise PolicyLoadError(f"YAML tag {node.tag!r} is not allowed in policy files", file=pos.file,
                              line=line, column=column, source_line=pos.line_text(line))
    if isinstance(node, ScalarNode):
        if node.tag == _STR:
            return node.value
        if node.tag == _FLOAT:
            try:
                value = Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                line = node.start_mark.line + 1
                raise PolicyLoadError(f"not a finite decimal number: {node.value!r}", file=pos.file, line=line,
                                      column=node.start_mark.column + 1, source_line=pos.line_text(line))
            return value
        return loader.construct_object(node, deep=False)
    if isinstance(node, SequenceNode):
        return [_convert(child, path + (i,), pos, loader, depth + 1) for i, child in enumerate(node.value)]
    assert isinstance(node, MappingNode)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise pos.error("mapping keys must be plain scalars", path)
        if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
            line = key_node.start_mark.line + 1
            raise PolicyLoadError("YAML merge keys ('<<') are not allowed in policy files", file=pos.file,
                                  line=line, column=key_node.start_mark.column + 1, source_line=pos.line_text(line))
        key = key_node.value if key_node.tag == _STR else loader.construct_object(key_node, deep=False)
        if key in out:
            first = pos.key_nodes[path + (key,)]
            line = key_node.start_mark.line + 1
            raise PolicyLoadError(
                f"duplicate key {key!r} (first defined at line {first.start_mark.line + 1})", file=pos.file,
                line=line, column=key_node.start_mark.column + 1, source_line=pos.line_text(line))
        pos.key_nodes[path + (key,)] = key_node
        out[key] = _convert(value_node, path + (key,), pos, loader, depth + 1)
    return out
