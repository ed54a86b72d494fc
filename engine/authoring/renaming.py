"""A rename that is checked: the renamed policy, and the other versions of it beside it, must load as before.

Input: a :class:`~policy_eval.authoring.outline.Document`, the place of the name, the new name, the functions
and the texts open in the editor. Output: the edits (:func:`checked_rename`), or :class:`RenameError` saying
why not: what :func:`~policy_eval.authoring.references.rename_edits` refuses, or the first error the rename
would cause in this file or in another version of the policy in its folder (a revision that inherits the
renamed definition or amends the rule whose let it was, say), which the references of one document cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from policy_eval.authoring.editing import replaced
from policy_eval.authoring.folder import policy_id, siblings
from policy_eval.authoring.outline import Document, analyse
from policy_eval.authoring.references import Place, RenameError, rename_edits, symbol_at
from policy_eval.lang.functions import FunctionRegistry

__all__ = ["checked_rename", "RenameError"]


def checked_rename(doc: Document, line: int, column: int, new_name: str, functions: FunctionRegistry,
                   open_texts: Mapping[str, str] | None = None) -> list[tuple[Place, str]]:
    """The edits renaming the name at (line, column) to ``new_name`` in ``doc``; raises :class:`RenameError`."""
    symbol = symbol_at(doc, line, column)
    if symbol is None:
        raise RenameError("no parameter, definition or let is named here")
    if doc.errors:
        raise RenameError(f"the policy does not load ({len(doc.errors)} error{'s' * (len(doc.errors) > 1)}): fix it "
                          "first, so that every use of the name is known")
    edits = rename_edits(doc, symbol, new_name)
    path = Path(doc.file)
    text = replaced(doc.text, edits)
    texts = {**(open_texts or {}), str(path): text}
    after = analyse(path, text, functions, open_texts=texts)
    if after.errors:
        raise RenameError(f"the renamed policy would not load: {after.errors[0].message}")
    pid = policy_id(doc.data)
    for other, body in (siblings(path, pid, texts) if pid is not None else {}).items():
        before = analyse(other, body, functions, open_texts=open_texts)
        renamed = analyse(other, body, functions, open_texts=texts)
        if renamed.errors and not before.errors:
            e = renamed.errors[0]
            raise RenameError(f"renaming '{symbol.name}' breaks {other.name}:{e.line}:{e.column}: {e.message}")
    return edits
