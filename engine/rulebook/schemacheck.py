"""Case schemas checked when the rulebook loads, as policy files are.

Input: the case schema files (``cases/<kind>.schema.json``) of a schema folder. Output: a located
:class:`~policy_eval.errors.PolicyLoadError` for each file that is not JSON, is not a valid JSON Schema
(checked against its metaschema; every error, with its JSON path), or holds a ``pattern`` (or a
``patternProperties`` key) that RE2 cannot run. ``check`` reports them; ``eval`` refuses to start on
them, rather than failing on the first record that reaches the bad part.

JSON has no positions in Python's reader, so a schema error's line is found by looking for the offending
key (and value) in the file's text; the JSON path in the message is exact either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema

from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.lang.functions import compile_pattern

__all__ = ["check_case_schemas", "check_case_schema"]

# Keywords whose values are data, not schemas: a "pattern" key inside them is not a pattern.
_DATA_KEYWORDS = frozenset({"enum", "const", "examples", "default"})


def check_case_schemas(files: list[Path], shown: Callable[[Path], str] = str) -> list[PolicyError]:
    """Every error of every case schema file (``shown`` names a file in messages)."""
    errors: list[PolicyError] = []
    for path in files:
        errors.extend(check_case_schema(path, shown(path)))
    return errors


def check_case_schema(path: Path, shown: str) -> list[PolicyError]:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [PolicyLoadError(f"cannot read this case schema: {exc}", file=shown, line=1, column=1)]
    key = (shown, text)
    if key not in _CHECKED:
        if len(_CHECKED) >= 256:
            _CHECKED.clear()
        _CHECKED[key] = _check(text, shown)
    return list(_CHECKED[key])


# The metaschema check costs about 0.1 s for the bundled schemas: done once per file content in a process
# (tests and servers load the same rulebook many times).
_CHECKED: dict[tuple[str, str], list[PolicyError]] = {}


def _check(text: str, shown: str) -> list[PolicyError]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return [PolicyLoadError(f"not valid JSON: {exc.msg}", file=shown, line=exc.lineno, column=exc.colno)]
    except RecursionError:
        return [PolicyLoadError("JSON nested too deeply", file=shown, line=1, column=1)]
    if not isinstance(schema, dict):
        return [PolicyLoadError("a case schema must be a JSON object", file=shown, line=1, column=1)]
    errors: list[PolicyError] = []
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        found = sorted(cls(cls.META_SCHEMA).iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))
    except RecursionError:
        return [PolicyLoadError("case schema nested too deeply", file=shown, line=1, column=1)]
    for error in found:
        path_parts = list(error.absolute_path)
        line, column = _locate(text, path_parts, error.instance)
        errors.append(PolicyLoadError(f"not a valid JSON Schema at {error.json_path}: {_short(error.message)}",
                                      file=shown, line=line, column=column))
    for json_path, parts, pattern in _patterns(schema):
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            line, column = _locate(text, parts, pattern)
            errors.append(PolicyLoadError(f"{json_path}: {exc} (case schema patterns run on RE2: no look-arounds "
                                          "or back-references)", file=shown, line=line, column=column))
    return errors


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:300] + "…"


def _patterns(schema: Any, path: str = "$", parts: tuple[Any, ...] = ()) -> Iterator[tuple[str, list[Any], str]]:
    """Every ``pattern`` value and ``patternProperties`` key in schema positions: (JSON path, path parts,
    the pattern)."""
    stack: list[tuple[Any, str, tuple[Any, ...]]] = [(schema, path, parts)]
    while stack:
        node, where, at = stack.pop()
        if isinstance(node, list):
            stack.extend((v, f"{where}[{i}]", (*at, i)) for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield f"{where}.pattern", [*at, key], value
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    yield f"{where}.patternProperties[{json.dumps(pattern)}]", [*at, key, pattern], pattern
            if key not in _DATA_KEYWORDS:
                stack.append((value, f"{where}.{key}", (*at, key)))


def _locate(text: str, parts: list[Any], value: Any) -> tuple[int, int]:
    """Line and column of the value at ``parts`` in JSON ``text``, found by its key (and the value
    itself when it is a string); line 1, column 1 when it cannot be told."""
    keys = [p for p in parts if isinstance(p, str)]
    if not keys:
        return 1, 1
    key = re.escape(json.dumps(keys[-1], ensure_ascii=False)[1:-1])
    candidates = [m.start() for m in re.finditer(rf'"{key}"\s*:', text)]
    if isinstance(value, str):
        literal = re.escape(json.dumps(value, ensure_ascii=False))
        exact = [m.start() for m in re.finditer(rf'"{key}"\s*:\s*{literal}', text)]
        candidates = exact or candidates
        if not candidates:  # a patternProperties key: the pattern is the key itself
            candidates = [m.start() for m in re.finditer(rf'{literal}\s*:', text)]
    if not candidates:
        return 1, 1
    offset = candidates[0]
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
