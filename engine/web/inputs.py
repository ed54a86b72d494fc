"""What the workbench reads from its user: a case's JSON text, the values filled in on the case page, and the
caps on both.

* A case is read as ``policy-eval eval`` reads a record (:func:`policy_eval.rulebook.jsonrecord.parse_record`):
  a key written twice, NaN or a text that is not UTF-8 is refused with the message eval gives, and numbers
  are exact (``Decimal``, never binary floats). :func:`case_text` writes such a case back as JSON.
* A value filled in for a missing case field is JSON (else a string) and goes into the case
  (:func:`fill_case`). A value filled in for a missing deployment parameter (``params.<policy>.<name>``, a
  parameter the policy text leaves to the platform) is no case field: it is the text a ``--params`` file
  would hold for it, and :func:`overlay` writes the overlay that sets it for that run, over the served
  ``--params`` file, checked by the loader against the parameter's declared type and range.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from policy_eval.errors import CaseError, ErrorList, PolicyError
from policy_eval.rulebook.jsonrecord import duplicate_error, loads, parse_record

__all__ = ["MAX_UPLOAD", "MAX_CASES", "WorkbenchError", "TooLarge", "ParamError", "CaseStopped", "status", "too_large", "parse_case", "case_text", "fill_case",
           "param_of", "param_type", "overlay", "overlay_errors"]

MAX_UPLOAD = 5 * 1024 * 1024   # bytes of one uploaded or pasted document, held in memory
MAX_CASES = 20_000             # records of one uploaded JSON Lines batch


class WorkbenchError(Exception):
    """A user's input the workbench refuses (bad JSON, a path outside the folder): a 400."""


class TooLarge(WorkbenchError):
    """A request, upload or pasted document over the cap: a 413."""


class ParamError(WorkbenchError):
    """A value filled in for a deployment parameter that does not fit its declaration: a 422."""


class CaseStopped(WorkbenchError):
    """A case whose evaluation went past the served CPU limit (serve --record-limit, web.limit): a 422."""


def status(exc: Exception) -> int:
    """The HTTP status of a refused input: 413 over the cap, 422 a parameter value that does not fit or a case
    stopped at the CPU limit, else 400."""
    return 413 if isinstance(exc, TooLarge) else 422 if isinstance(exc, (ParamError, CaseStopped)) else 400


def too_large(what: str) -> TooLarge:
    return TooLarge(f"{what} is larger than {MAX_UPLOAD // (1024 * 1024)} MB")


def parse_case(text: str | bytes) -> dict[str, Any]:
    """The case in ``text``, read exactly as ``eval`` reads a record; a refusal is a WorkbenchError worded as
    eval words it (``$.claim: duplicate key "x" in this object (...)``), without eval's file:line prefix."""
    if len(text.encode("utf-8") if isinstance(text, str) else text) > MAX_UPLOAD:
        raise too_large("the case")
    text = text.removeprefix("\ufeff") if isinstance(text, str) else text.removeprefix(b"\xef\xbb\xbf")
    case = parse_record(text, "<case>", 1)
    if isinstance(case, CaseError):
        raise WorkbenchError(case.at_path())
    return case


def case_text(value: Any, indent: int | None = None, level: int = 0) -> str:
    """``value`` (a case as :func:`parse_case` reads it: exact numbers are Decimal) written as JSON text; with
    ``indent``, pretty-printed. Without it, as ``json.dumps(value, ensure_ascii=False)`` writes."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        items = [f"{json.dumps(str(k), ensure_ascii=False)}: {case_text(v, indent, level + 1)}"
                 for k, v in value.items()]
        return _joined("{", items, "}", indent, level)
    if isinstance(value, (list, tuple)):
        return _joined("[", [case_text(v, indent, level + 1) for v in value], "]", indent, level)
    return json.dumps(value, ensure_ascii=False)


def _joined(open_: str, items: list[str], close: str, indent: int | None, level: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    inner, outer = " " * indent * (level + 1), " " * indent * level
    return f"{open_}\n{inner}" + f",\n{inner}".join(items) + f"\n{outer}{close}"


def fill_case(case: dict[str, Any], path: str, raw: str) -> None:
    """Set the case field ``a.b.c`` (a missing field named by an undetermined verdict) to ``raw`` read as
    JSON (exactly, as a case is read), or as a string when it is not JSON."""
    try:
        value: Any = loads(raw)
    except ValueError:  # not JSON (or NaN): the text itself
        value = raw
    else:
        duplicated = duplicate_error(value, "<fill>", 1)
        if duplicated is not None:
            raise WorkbenchError(f"{path}: {duplicated.at_path()}")
    parts = [p for p in path.replace("[", ".").replace("]", "").split(".") if p]
    node: Any = case
    for i, part in enumerate(parts):
        key: Any = int(part) if part.isdigit() and isinstance(node, list) else part
        if i == len(parts) - 1:
            node[key] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]


def param_of(book: Any, path: str) -> tuple[str, str] | None:
    """``(policy, name)`` when ``path`` (``params.<policy>.<name>``, as an undetermined verdict names a missing
    value) is a parameter of a policy of ``book`` (a :class:`~policy_eval.api.Rulebook`), else None."""
    if not path.startswith("params."):
        return None
    policy, _, name = path[len("params."):].rpartition(".")
    history = book.book.policies.get(policy)
    if not name or history is None or not any(name in v.params for v in history.versions):
        return None
    return policy, name


def param_type(book: Any, path: str) -> str | None:
    """The declared type of the parameter ``path`` names (``duration``, ``int``, ...), or None."""
    found = param_of(book, path)
    if found is None:
        return None
    for version in reversed(book.book.policies[found[0]].versions):
        info = version.param_info.get(found[1])
        if info is not None:
            return str(info.type)
    return None


def overlay(served: Path | None, values: Mapping[tuple[str, str], str], folder: Path) -> tuple[Path, dict[int, str]]:
    """Write ``folder/params.yaml``: the served ``--params`` file's values with ``values`` (``(policy, name)``
    -> the text typed for it, read as a ``--params`` file's value is read) set over them. Returns the file and,
    by line, the ``params.<policy>.<name>`` each typed value is on (to name it in an error)."""
    merged: dict[str, dict[str, Any]] = {}
    if served is not None:
        data = yaml.safe_load(served.read_text(encoding="utf-8")) or {}
        for policy, entries in (data.get("params") or {}).items():
            merged[str(policy)] = {str(k): _plain(v) for k, v in (entries or {}).items()}
    for (policy, name), raw in values.items():
        merged.setdefault(policy, {})[name] = _Typed(raw)
    lines, where = ["params:"], {}
    for policy, entries in merged.items():
        lines.append(f"  {json.dumps(policy, ensure_ascii=False)}:")
        for name, value in entries.items():
            if isinstance(value, _Typed):
                where[len(lines) + 1] = f"params.{policy}.{name}"
                shown = json.dumps(value.text, ensure_ascii=False)  # a YAML string: the value's literal text
            else:
                shown = json.dumps(value, ensure_ascii=False)  # JSON is YAML flow text
            lines.append(f"    {json.dumps(name, ensure_ascii=False)}: {shown}")
    file = folder / "params.yaml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file, where


def _plain(value: Any) -> Any:
    """A value of a YAML overlay as JSON can write it (dates as their ISO text, as the overlay reads them)."""
    if isinstance(value, dict):
        return {_plain(k) if isinstance(k, (_dt.date, _dt.datetime)) else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


class _Typed:
    """A value typed on the page for a deployment parameter (its text, as a --params file holds it)."""

    def __init__(self, text: str) -> None:
        self.text = text


def overlay_errors(exc: PolicyError, where: dict[int, str], values: Mapping[tuple[str, str], str]) -> str:
    """The loader's errors on an :func:`overlay`, each naming the parameter and the value typed for it."""
    typed = {f"params.{p}.{n}": raw for (p, n), raw in values.items()}
    out = []
    for e in exc.errors if isinstance(exc, ErrorList) else [exc]:
        path = where.get(e.line or 0)
        out.append(f"{path} = {typed[path]}: {e.message}" if path else e.message)
    return ("the deployment parameter value does not fit its declaration (it is checked as a --params file's "
            "value is): " + "; ".join(out))
