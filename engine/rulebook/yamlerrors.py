"""Errors found while reading YAML text, worded for a policy author and located in the file."""

from __future__ import annotations

from typing import Any

import yaml

from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook.yamlhints import explain_error
from policy_eval.rulebook.yamlpos import Positions

__all__ = ["located", "at", "yaml_error", "decode"]


def located(message: str, positions: Positions, index: int) -> PolicyLoadError:
    line, column = positions.position_of(index)
    return PolicyLoadError(message, file=positions.file, line=line, column=column,
                           source_line=positions.line_text(line))


def at(message: str, positions: Positions, mark: Any) -> PolicyLoadError:
    return PolicyLoadError(message, file=positions.file, line=mark.line + 1, column=mark.column + 1,
                           source_line=positions.line_text(mark.line + 1))


def yaml_error(exc: yaml.MarkedYAMLError, positions: Positions) -> PolicyLoadError:
    """PyYAML's scanner/parser error, at the problem, naming where the construct it was in began."""
    mark = exc.problem_mark or exc.context_mark
    message = str(exc.problem or exc.context)
    if exc.context and exc.problem:
        began = exc.context_mark
        message += f" ({exc.context}" + (f" started at line {began.line + 1}, column {began.column + 1})"
                                         if began is not None else ")")
    hint = explain_error(exc, positions.lines)
    if hint is not None:  # the project's words, at the mistake (a missing colon is found a line later)
        return located(f"invalid YAML: {message}; hint: {hint.text}", positions,
                       positions.line_starts[hint.line] + hint.column)
    return at(f"invalid YAML: {message}", positions, mark)


def decode(data: bytes, file: str) -> str:
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
