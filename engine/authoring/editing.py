"""Edits an editor may apply to a policy document: an error's quick fix, the formatter's changes, lint's findings.

Input: a :class:`~policy_eval.authoring.outline.Document` (or a file's text) and what the checker, ``fmt`` and
``lint`` say of it. Output: plain positions and texts (0-based lines, columns in code points), which the
language server (:mod:`policy_eval.lsp`) turns into LSP code actions, text edits and diagnostics.

* :func:`fix_edit`: where an error's ``fix`` (an unknown name's "did you mean", a full-width character, another
  language's operator, a keyword misspelt) applies: the replaced span is the written text itself, found at the
  error's place, else nothing is offered (a condition written with YAML escapes, say).
* :func:`fixed_texts`: every sure fix of a load's errors applied to their files' texts (``check --fix``).
* :func:`format_edits`: ``fmt``'s output as replaced runs of lines, so an editor keeps the cursor and marks
  outside them.
* :func:`lint_findings`: ``lint FOLDER``'s warnings for the document's folder, read from disk, less the checks
  that need the project's policy tests (``rule-untested``). Its notes (``info``: a parameter several rules share,
  say) are facts for a review, not mistakes to mark in the text: ``policy-eval lint`` lists them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from policy_eval.authoring.findings import Finding
from policy_eval.authoring.fmt import format_text
from policy_eval.authoring.lint import lint_paths
from policy_eval.authoring.outline import Document, schema_dir_for
from policy_eval.errors import PolicyError
from policy_eval.lang.functions import FunctionRegistry

__all__ = ["fix_edit", "fixed_texts", "replaced", "format_edits", "lint_findings", "EDITOR_SKIPS"]

# The lint check an editor does not show: it reads the policy tests, which an open policy does not name.
EDITOR_SKIPS = frozenset({"rule-untested"})


def fix_edit(doc: Document, error: PolicyError) -> tuple[int, int, int, str] | None:
    """(line, start, end, new text) replacing what ``error.fix`` names, in ``doc`` as it now reads; None when the
    error has no fix or the document no longer holds the text at its place."""
    if error.fix is None or error.line is None or error.column is None:
        return None
    wrong, right = error.fix
    lines = doc.lines
    line, start = error.line - 1, error.column - 1
    if not (0 <= line < len(lines) and wrong):
        return None
    text = lines[line]
    if text.startswith(wrong, start):
        return line, start, start + len(wrong), right
    if not wrong.isidentifier():  # (an operator or a character is placed exactly; no other place is meant)
        return None
    # a name inside the expression placed there (a field of a dotted path: 'order.shiped_at' placed at 'order')
    end = error.end_column - 1 if error.end_column is not None and error.end_column - 1 > start else len(text)
    m = re.compile(rf"(?<![\w]){re.escape(wrong)}(?!\w)").search(text, start, end)
    return (line, m.start(), m.end(), right) if m is not None else None


def fixed_texts(errors: list[PolicyError], read: Callable[[str], str]) -> dict[str, tuple[str, list[str]]]:
    """Each file's text with the fixes of its errors applied (``read``: a file's current text), and what was fixed
    (``line:column: 'wrong' -> 'right'``); files with no fix to apply are left out. Two fixes of one place: the
    first."""
    out: dict[str, tuple[str, list[str]]] = {}
    by_file: dict[str, list[PolicyError]] = {}
    for e in errors:
        if e.fix is not None and e.file is not None:
            by_file.setdefault(e.file, []).append(e)
    for file, found in by_file.items():
        doc = Document(file, read(file))
        kept: list[tuple[int, int, int, str]] = []
        for edit in sorted(edit for e in found if (edit := fix_edit(doc, e)) is not None):
            if not kept or kept[-1][0] < edit[0] or kept[-1][2] <= edit[1]:  # (none overlapping: the first kept)
                kept.append(edit)
        if not kept:
            continue
        lines = doc.lines
        said = [f"{line + 1}:{start + 1}: {lines[line][start:end]!r} -> {right!r}" for line, start, end, right in kept]
        out[file] = (replaced(doc.text, [((line, start, end), right) for line, start, end, right in kept]), said)
    return out


def replaced(text: str, edits: Iterable[tuple[tuple[int, int, int], str]]) -> str:
    """``text`` with each span (0-based line, start and end columns in code points) replaced by its new text; the
    spans do not overlap."""
    lines = text.split("\n")
    for (line, start, end), new in sorted(edits, reverse=True):
        lines[line] = lines[line][:start] + new + lines[line][end:]
    return "\n".join(lines)


def format_edits(text: str, file: str) -> list[tuple[int, int, str]]:
    """``fmt``'s changes to ``text`` as (first line, end line, new text): lines [first, end) of ``text`` replaced,
    in order, none overlapping; [] when the text is canonical. Raises :class:`~policy_eval.errors.PolicyError`
    (a located ``FormatError`` or load error) where ``fmt`` would refuse the file."""
    out = format_text(text, file)
    if out == text:
        return []
    old, new = _lines(text), _lines(out)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append((i1, i2, "".join(new[j1:j2])))
    return edits


def _lines(text: str) -> list[str]:
    """The lines with their ends, split at "\n" only (as an editor counts lines: not at U+2028 or a form feed)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def lint_findings(path: Path, functions: FunctionRegistry, schema_dir: Path | None = None) -> list[Finding]:
    """The warnings ``policy-eval lint`` gives the policy file at ``path`` (its folder linted together, as saved on
    disk), less :data:`EDITOR_SKIPS`; [] when the folder does not load (``check``'s errors say why)."""
    try:
        found = lint_paths([path.parent], schema_dir=schema_dir or schema_dir_for(path), functions=functions,
                           tests=[])
    except (PolicyError, OSError):
        return []
    here = path.resolve()
    return [f for f in found
            if f.severity != "info" and f.check not in EDITOR_SKIPS and Path(f.file).resolve() == here]
