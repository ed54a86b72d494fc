"""The corpora an impact runs over by name: the examples and the golden cases (the policy tests).

The examples (the impact page's "over the examples") are the ``--examples`` folder read as ``policy-eval eval``
and ``policy-eval diff`` read a folder given as cases, by the command line's own reader
(:func:`policy_eval.rulebook.cases.read_cases`): every ``.json``, ``.jsonl`` and ``.ndjson`` file (each also
gzipped), sub-folders included, a JSON array as its items, each record read exactly (Decimal numbers, a key
written twice refused). What it cannot use (a record eval refuses, a file or sub-folder it cannot read) is listed
with where it is, never skipped silently: ``where`` is the file relative to the folder, with the record's line
(``after_sales.jsonl:3``) when the file holds more than one record. Other files (``deployment.yaml``) are no
case files, for eval as here.

The golden cases are those of the policy test files, found as ``policy-eval test`` finds them; a test file it
refuses is listed likewise (its cases are not compared), not an error of the whole page.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from policy_eval.errors import CaseError, ErrorList, PolicyError, record_place
from policy_eval.resources import bundled_policies
from policy_eval.rulebook.cases import read_cases

__all__ = ["examples", "golden"]


def examples(folder: Path | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cases of the examples ``folder`` (none without one), and those refused (``where`` and ``error``)."""
    if folder is None or not folder.is_dir():
        return [], []
    records = list(read_cases([str(folder)]))
    per_file = Counter(source for source, _, _ in records)
    cases: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for source, record, item in records:
        if isinstance(item, dict):
            cases.append(item)
            continue
        name = _relative(folder, source)
        where = name if record is None or per_file[source] == 1 else record_place(name, record)
        if isinstance(item, CaseError):
            error = item.message if record is None else item.at_path()
        else:  # (the reader refuses a record that is not an object itself; this is diff's own check)
            error = f"$: a case must be a JSON object, got {type(item).__name__}"
        refused.append({"where": where, "error": error})
    return cases, refused


def golden(policies: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cases of the policy tests: the installed golden cases when serving the bundled rulebook, else the
    test files found in the served folder ``policies``; and each test file ``policy-eval test`` refuses (its
    first error, located), whose cases are not compared. Each test's own as_of is not applied (impact compares
    both rulebooks on the same case at its own time)."""
    from policy_eval.resources import bundled_tests
    from policy_eval.run.testing import discover, load_tests

    root = bundled_tests() if policies == bundled_policies().resolve() else policies
    cases: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for file in discover([root]):
        try:
            cases += [dict(t.case) for t in load_tests(file)]
        except PolicyError as exc:
            found = exc.errors if isinstance(exc, ErrorList) else [exc]
            more = f" (and {len(found) - 1} more error(s))" if len(found) > 1 else ""
            refused.append({"where": _relative(root, str(file)), "error": "a test file policy-eval test refuses: "
                            f"line {found[0].line}, column {found[0].column}: {found[0].message}{more}"})
    return cases, refused


def _relative(folder: Path, source: str) -> str:
    try:
        return Path(source).relative_to(folder).as_posix()
    except ValueError:
        return source
