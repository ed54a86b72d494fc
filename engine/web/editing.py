"""The editor page's help beyond the errors: each error's quick fix, lint's warnings, and formatting.

Input: the edited file's path relative to the served folder, its text, and (for lint) the temporary copy of the
folder the edit is checked in. Output: JSON-ready dicts for ``/api/check`` and ``/api/format``. The same core as
the language server's (:mod:`policy_eval.authoring.editing`): a fix only where the checker is sure of it and the
text at the error's place is what it names; lint's warnings less ``rule-untested``; ``fmt``'s canonical text.
Lines are 1-based, columns 0-based code points (the page counts them with ``Array.from``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policy_eval.authoring.editing import fix_edit, lint_findings
from policy_eval.authoring.fmt import format_text
from policy_eval.authoring.outline import Document
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.resources import bundled_schemas

__all__ = ["fixes", "warnings", "formatted"]


def fixes(exc: PolicyError, relpath: str, text: str, names: list[str | None]) -> list[dict[str, Any] | None]:
    """For each located error of ``exc`` (``names``: the file each is in, as :func:`~policy_eval.web.workbench._errors`
    names it), the edit that fixes it in ``text`` when it is this file's and has one, else None."""
    found = exc.errors if isinstance(exc, ErrorList) else [exc]
    doc = Document(relpath, text)
    out: list[dict[str, Any] | None] = []
    for e, name in zip(found, names, strict=True):
        edit = fix_edit(doc, e) if name == relpath else None
        out.append({"line": edit[0] + 1, "start": edit[1], "end": edit[2], "text": edit[3]} if edit else None)
    return out


def warnings(folder: Path, relpath: str, schemas: Path | None) -> list[dict[str, Any]]:
    """Lint's warnings for the edited file, linted in ``folder`` (the copy holding the edit, which loads) with the
    other files of its folder; ``schemas``: the case schemas it loads with (None: the copy's own, else bundled)."""
    from policy_eval.plugin_manager import get_plugin_manager

    if schemas is None:
        schemas = folder / "schemas" if (folder / "schemas" / "cases").is_dir() else bundled_schemas()
    found = lint_findings(folder / relpath, get_plugin_manager().functions(), schemas)
    return [{"file": relpath, "line": f.line, "column": f.column, "check": f.check, "message": f.message,
             "text": f"{relpath}:{f.line}:{f.column}: warning[{f.check}]: {f.message}"} for f in found]


def formatted(relpath: str, text: str) -> dict[str, Any]:
    """``fmt``'s text for the edited file, or the located reason it refuses to format it."""
    try:
        return {"text": format_text(text, relpath), "error": None}
    except PolicyError as exc:
        where = ":".join(str(x) for x in (relpath, exc.line, exc.column) if x is not None)
        return {"text": None, "error": f"{where}: {exc.message}"}
