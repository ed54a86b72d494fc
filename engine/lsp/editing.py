"""The editing features in LSP terms: lint findings as diagnostics, quick fixes, and formatting.

Input: a document's analysis (:class:`~policy_eval.authoring.outline.Document`), its lint findings and the edits
:mod:`policy_eval.authoring.editing` computes. Output: LSP diagnostics, code actions and text edits, their
columns in the client's units (``to_client``: a code-point position converted, UTF-16 by default).

* Lint runs when a document is opened or saved (its folder read from disk, as ``policy-eval lint FOLDER``
  reads it), not while typing; while typing, a finding stays shown as long as its line reads as it did then.
  Its warnings are diagnostic warnings, their code the check's id.
* A quick fix is offered for each error diagnostic the checker gave a fix (``PolicyError.fix``), and for an
  unused let, definition or parameter lint found (its lines removed, where the policy still loads without them).
* Formatting is ``policy-eval fmt``'s: the changed runs of lines, or nothing (with the reason shown) where
  ``fmt`` would refuse the file.
* Semantic tokens: what each token of the conditions is (:mod:`policy_eval.authoring.highlight`), encoded
  as LSP's relative integers against :data:`LEGEND`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lsprotocol import types

from policy_eval.authoring.editing import fix_edit, format_edits
from policy_eval.authoring.findings import Finding
from policy_eval.authoring.highlight import MODIFIERS, TYPES, highlight
from policy_eval.authoring.lintfixes import removal
from policy_eval.authoring.outline import Document

__all__ = ["Linted", "lint_diagnostics", "quick_fixes", "text_edits", "LEGEND", "semantic_tokens"]

LEGEND = types.SemanticTokensLegend(token_types=list(TYPES), token_modifiers=list(MODIFIERS))
_TYPE = {t: i for i, t in enumerate(TYPES)}
_MODIFIER = {m: 1 << i for i, m in enumerate(MODIFIERS)}

ToClient = Callable[[Document, int, int], types.Position]
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "info": types.DiagnosticSeverity.Hint}


class Linted:
    """A document's lint findings and the lines they were found on."""

    def __init__(self, lines: list[str], findings: list[Finding]) -> None:
        self.lines = lines
        self.findings = findings

    def current(self, doc: Document) -> list[Finding]:
        """The findings whose line still reads as when linted (an edit above does not move them: they wait
        for the next save)."""
        now = doc.lines
        return [f for f in self.findings
                if 0 < f.line <= min(len(now), len(self.lines)) and now[f.line - 1] == self.lines[f.line - 1]]


def lint_diagnostics(doc: Document, findings: list[Finding], to_client: ToClient,
                     length: Callable[[Document, int, int], int]) -> list[types.Diagnostic]:
    out = []
    for f in findings:
        line, col = f.line - 1, max(f.column - 1, 0)
        out.append(types.Diagnostic(
            range=types.Range(start=to_client(doc, line, col), end=to_client(doc, line, col + length(doc, line, col))),
            message=f.message, severity=_SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
            source="policy-eval lint", code=f.check))
    return out


def quick_fixes(uri: str, doc: Document, asked: types.Range, to_client: ToClient, findings: Sequence[Finding] = (),
                loads: Callable[[str], bool] | None = None) -> list[types.CodeAction]:
    """A code action for each of the document's errors that has a fix, and each lint finding that a removal fixes
    (:func:`~policy_eval.authoring.lintfixes.removal`; ``loads``: whether a text of the document loads), on the
    lines asked about."""
    actions = []
    for finding in findings:
        if loads is None or not asked.start.line <= finding.line - 1 <= asked.end.line:
            continue
        removed = removal(doc, finding, loads)
        if removed is None:
            continue
        first, end, title = removed
        span = types.Range(start=types.Position(line=first, character=0), end=types.Position(line=end, character=0))
        actions.append(types.CodeAction(
            title=title, kind=types.CodeActionKind.QuickFix,
            diagnostics=[types.Diagnostic(range=span, message=finding.message, source="policy-eval lint",
                                          severity=types.DiagnosticSeverity.Warning, code=finding.check)],
            edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=span, new_text="")]})))
    for error in doc.errors:
        edit = fix_edit(doc, error)
        if edit is None or not asked.start.line <= edit[0] <= asked.end.line:
            continue
        line, start, end, right = edit
        span = types.Range(start=to_client(doc, line, start), end=to_client(doc, line, end))
        wrong = doc.lines[line][start:end]
        actions.append(types.CodeAction(
            title=f"Write '{right}' for '{wrong}'", kind=types.CodeActionKind.QuickFix, is_preferred=True,
            diagnostics=[types.Diagnostic(range=span, message=error.message, source="policy-eval",
                                          severity=types.DiagnosticSeverity.Error, code=error.kind)],
            edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=span, new_text=right)]})))
    return actions


def text_edits(doc: Document, to_client: ToClient) -> list[types.TextEdit]:
    """``fmt``'s changes to the document as text edits (raises what :func:`format_edits` raises)."""
    lines = doc.lines  # (split on "\n": the last item is the text after the last newline, "" if none)

    def at(line: int) -> types.Position:
        if line < len(lines) - 1 or lines[-1] == "":
            return types.Position(line=line, character=0)
        return to_client(doc, len(lines) - 1, len(lines[-1]))  # (the end of a last line with no newline)

    return [types.TextEdit(range=types.Range(start=at(first), end=at(end)), new_text=new)
            for first, end, new in format_edits(doc.text, doc.file)]


def semantic_tokens(doc: Document, to_client: ToClient) -> types.SemanticTokens:
    """The document's tokens as LSP encodes them: per token, the line's distance from the last token's, the start
    (from the last token's start on the same line, else from the line's), the length, the type and the modifiers."""
    data: list[int] = []
    last_line = last_start = 0
    for line, start, end, kind, modifiers in highlight(doc):
        a, b = to_client(doc, line, start).character, to_client(doc, line, end).character
        data += [line - last_line, a - last_start if line == last_line else a, b - a, _TYPE[kind],
                 sum(_MODIFIER[m] for m in modifiers)]
        last_line, last_start = line, a
    return types.SemanticTokens(data=data)
