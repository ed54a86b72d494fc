"""The ``comment-continues-condition`` lint check: ``require: X # and Y`` is the condition ``X`` alone.

Input: a :class:`~policy_eval.authoring.findings.LintInput`. Output: a finding at each YAML comment that follows
an expression written as a plain scalar (not quoted, not a ``>-`` / ``|`` block) on its line and reads as more
of it: YAML ends a plain value at `` #``, so ``and Y`` is dropped without a word. (The loader explains a comment
line that cuts a plain value over several lines, :mod:`policy_eval.rulebook.yamlhints`; on one line YAML has
nothing to complain about.) The expressions are those :mod:`policy_eval.authoring.yamlexpr` lists: ``when``,
``require``, ``forbid``, remedies' ``amount`` / ``duration`` / ``when``, waivers' ``scope``, ``reference_time``
and each ``let`` and ``definitions`` entry.

"Reads as more of it" is kept narrow, so that a note (``# 2.1: the window``, ``# or later``) is left alone: the
value, a space and the comment's text must parse as one expression, and every name the comment's part brings
must be one the policy knows (a parameter, definition, let, a field of the case, or a name the value already
reads or the comment binds with ``any x in``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import yaml

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.authoring.yamlexpr import EXPRESSION_KEYS, EXPRESSION_MAPS
from policy_eval.errors import PolicyError
from policy_eval.lang import ast
from policy_eval.lang.parser import parse
from policy_eval.rulebook.yamlpos import Positions

__all__ = ["comments_continuing_conditions"]

_CONDITIONS = frozenset({"when", "require", "forbid", "scope"})  # (the others give a value)


def _fields(node: yaml.Node) -> Iterator[tuple[str, str, yaml.ScalarNode]]:
    """(what it is, the key it is written under, scalar) for each expression under ``node`` (params skipped)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            if name == "params":
                continue
            if name in EXPRESSION_KEYS and isinstance(value, yaml.ScalarNode):
                yield f"'{name}' {'condition' if name in _CONDITIONS else 'expression'}", name, value
            elif name in EXPRESSION_MAPS and isinstance(value, yaml.MappingNode):
                what = "let" if name == "let" else "definition"
                yield from ((f"{what} '{k.value}'", str(k.value), v) for k, v in value.value
                            if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode))
            else:
                yield from _fields(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _fields(item)


def _trailing_comment(positions: Positions, node: yaml.ScalarNode) -> tuple[int, str] | None:
    """(index of the ``#``, the comment's text) of a comment after ``node`` on the line where it ends."""
    text = positions.text
    end = node.end_mark.index
    eol = min((i for i in (text.find("\n", end), text.find("\r", end)) if i >= 0), default=len(text))
    rest = text[end:eol]
    stripped = rest.lstrip(" \t")
    if not stripped.startswith("#"):
        return None
    return end + len(rest) - len(stripped), stripped.lstrip("#").strip()


def _nodes(node: Any) -> Iterator[ast.Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            yield n
            stack += [getattr(n, f.name) for f in dataclasses.fields(n) if f.name != "span"]
        elif isinstance(n, tuple):
            stack += list(n)


def _continues(value: str, comment: str, known: set[str]) -> bool:
    """Whether ``value`` followed by ``comment`` is one expression whose added names are all known."""
    if not comment or not value.strip():
        return False
    joined = f"{value} {comment}"
    try:
        tree = parse(joined)
    except (PolicyError, ValueError, RecursionError):
        return False
    nodes = list(_nodes(tree))
    bound = {n.var for n in nodes if isinstance(n, ast.Quant)}
    mine = {n.name for n in nodes if isinstance(n, ast.Name) and n.span.start < len(value)}
    added = [n.name for n in nodes if isinstance(n, ast.Name) and n.span.start > len(value)]
    return all(name in known or name in bound or name in mine for name in added)


def _known(data: LintInput, file: str) -> set[str]:
    """The names an expression of ``file`` may read: parameters, definitions, lets, fields of the case."""
    out: set[str] = set()
    for version in data.rulebook.versions():
        if version.file != file:
            continue
        out |= set(version.params) | set(version.definitions)
        for rule in version.rules:
            out |= set(rule.lets)
        schema = data.rulebook.case_schemas.get(version.applies_to)
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            out |= set(schema["properties"])
    return out


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def comments_continuing_conditions(data: LintInput) -> Iterator[Finding]:
    for file, (_, positions) in data.sources.items():
        root = positions.nodes.get(())
        if root is None or "#" not in positions.text:
            continue
        known: set[str] | None = None
        seen: set[int] = set()
        for what, key, node in _fields(root):
            if node.style is not None or id(node) in seen:  # quoted or a block: '#' is its own text
                continue
            seen.add(id(node))
            found = _trailing_comment(positions, node)
            if found is None:
                continue
            if known is None:
                known = _known(data, file)
            at, comment = found
            if not _continues(node.value, comment, known):
                continue
            line, column = positions.position_of(at)
            value, note = _short(node.value), _short(comment)
            yield Finding(
                "comment-continues-condition",
                f"this comment is not part of the {what}: YAML ends a value written without quotes at ' #', so the "
                f"{what} is only '{value}'. If '{note}' belongs to it, delete the '#': '{key}: {value} {note}' (for "
                f"a long one, '{key}: >-' and the whole of it on the lines below; inside quotes or a block '#' "
                "still starts a comment). If it is a note, put it on a line of its own",
                file, line, column)
