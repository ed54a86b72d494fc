"""One edited policy file checked with the other versions of its policy, as ``check`` checks a folder.

Input: the file's path and (possibly unsaved) text, the texts of other documents open in the editor, the
case schemas and the functions. Output: the errors ``check`` gives for this file when its folder is loaded
(a revision resolved against the version it revises, periods that overlap another version's), or the
loaded rulebook of that policy (for the code lens that evaluates a rule).

The cost is bounded: only the files of the same policy (same ``policy.id``) in the file's own folder are
loaded, from a temporary copy holding them and the edited text; each sibling's id is read once per text.
The loader reads files only, so the copy stands in for an in-memory override.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.rulebook.loader import Rulebook, load_rulebook
from policy_eval.rulebook.policy import PolicyVersion
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES, load_yaml

__all__ = ["policy_id", "siblings", "check_together", "load_together"]

_IDS: dict[str, tuple[str, str | None]] = {}  # path -> (the text last read, its policy id)


def policy_id(data: Any) -> str | None:
    meta = data.get("policy") if isinstance(data, dict) else None
    pid = meta.get("id") if isinstance(meta, dict) else None
    return pid if isinstance(pid, str) else None


def _id_of(path: Path, text: str) -> str | None:
    known = _IDS.get(str(path))
    if known is not None and known[0] == text:
        return known[1]
    try:
        pid = policy_id(load_yaml(text, str(path))[0])
    except PolicyError:
        pid = None
    _IDS[str(path)] = (text, pid)
    return pid


def siblings(path: Path, pid: str, open_texts: Mapping[str, str] | None = None) -> dict[Path, str]:
    """The other files of policy ``pid`` in ``path``'s folder: path -> text (an open document's text, else
    the file's)."""
    opened = {str(Path(k).resolve()): v for k, v in (open_texts or {}).items()}
    me = path.resolve()
    out: dict[Path, str] = {}
    try:
        candidates = sorted(p for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return out
    for p in candidates:
        if p.resolve() == me:
            continue
        text = opened.get(str(p.resolve()))
        if text is None:
            try:
                if p.stat().st_size > MAX_FILE_BYTES:
                    continue
                text = p.read_text(encoding="utf-8")
            except (OSError, ValueError):
                continue
        if _id_of(p, text) == pid:
            out[p] = text
    return out


@contextmanager
def _copy(path: Path, text: str, others: Mapping[Path, str]) -> Iterator[tuple[Path, dict[Path, Path]]]:
    """A temporary folder holding the edited text and the sibling texts under their own names: (the folder,
    each copy -> its original)."""
    with tempfile.TemporaryDirectory(prefix="policy-eval-lsp-") as tmp:
        folder = Path(tmp) / path.parent.name
        folder.mkdir()
        originals: dict[Path, Path] = {}
        for original, body in [(path, text), *others.items()]:
            copy = folder / original.name
            copy.write_text(body, encoding="utf-8")
            originals[copy] = original
        yield folder, originals


def _forms(copy: Path) -> list[str]:
    """How the loader may name a copied file in a message (absolute, or relative to the working folder)."""
    forms = {str(copy), str(copy.resolve())}
    try:
        forms.add(str(copy.resolve().relative_to(Path.cwd().resolve())))
    except (ValueError, OSError):
        pass
    return sorted(forms, key=len, reverse=True)


def _restore(errors: list[PolicyError], originals: dict[Path, Path]) -> list[PolicyError]:
    """The errors with each copy named by its original path, in their file field and in messages."""
    names = {form: str(original) for copy, original in originals.items() for form in _forms(copy)}
    for e in errors:
        if e.file is not None:
            e.file = names.get(e.file) or names.get(os.path.abspath(e.file)) or e.file
        for form in sorted(names, key=len, reverse=True):
            e.message = e.message.replace(form, names[form])
        e.args = (e.message,)
    return errors


def load_together(path: Path, text: str, others: Mapping[Path, str], schema_dir: Path,
                  functions: FunctionRegistry) -> Rulebook:
    """The rulebook of ``path``'s policy: the edited text and its siblings loaded as one folder. Raises
    ErrorList with every file's errors, named by the real paths."""
    with _copy(path, text, others) as (folder, originals):
        try:
            return load_rulebook(folder, schema_dir=schema_dir, functions=functions)
        except ErrorList as exc:
            raise ErrorList(_restore(list(exc.errors), originals)) from None
        except PolicyError as exc:
            raise ErrorList(_restore([exc], originals)) from None


def check_together(path: Path, text: str, others: Mapping[Path, str], schema_dir: Path,
                   functions: FunctionRegistry) -> list[PolicyError]:
    """This file's errors when loaded with the other versions of its policy (the others' errors are left
    to their own documents)."""
    return resolve_together(path, text, others, schema_dir, functions)[0]


def resolve_together(path: Path, text: str, others: Mapping[Path, str], schema_dir: Path,
                     functions: FunctionRegistry) -> tuple[list[PolicyError], PolicyVersion | None]:
    """:func:`check_together`, and the version this file defines as loaded with the others (a revision
    resolved: what it inherits included), None when the policy does not load."""
    try:
        rulebook = load_together(path, text, others, schema_dir, functions)
    except ErrorList as exc:
        return [e for e in exc.errors if e.file == str(path)], None
    mine = [v for v in rulebook.versions() if Path(v.file).name == path.name]
    return [], mine[0] if len(mine) == 1 else None
