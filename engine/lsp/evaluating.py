"""The command ``policy-eval.evaluateRule``: one rule of the edited policy on one case, as a JSON object.

Its answer is ``{case, rule, version, outcome, message}``, or ``{case, error}`` saying what stands in the way
(docs/editors.md): a case file that is missing, unreadable or not one JSON object (read as ``eval`` reads a
record: exact decimals, duplicate keys refused), a policy that does not load, a rule the policy does not
have ("did you mean"), a case its schema refuses (checked as ``eval`` checks it, with the JSON path), a
case of another kind, a case without the reference time that picks the version, or no version in force then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policy_eval.authoring.folder import load_together, siblings
from policy_eval.authoring.outline import Document, schema_dir_for

__all__ = ["evaluate_rule", "read_case_file"]


def read_case_file(name: str) -> tuple[dict[str, Any] | None, str]:
    """The case record in the JSON file ``name`` (a path or a ``file:`` URI) and its path; or None and what is
    wrong with it."""
    from pygls.uris import to_fs_path

    from policy_eval.errors import CaseError
    from policy_eval.rulebook.jsonrecord import parse_record

    path = (to_fs_path(name) or name) if name.startswith("file:") else name
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, f"no such case file: {path}"
    except OSError as exc:
        return None, f"cannot read the case file {path}: {exc.strerror or exc}"
    record = parse_record(data.removeprefix(b"\xef\xbb\xbf"), path, 1)
    if isinstance(record, CaseError):
        return None, f"the case file {path} does not hold a case record: {record.at_path()}"
    return record, path


def _example_case(doc: Document) -> tuple[dict[str, Any], str] | None:
    from policy_eval.rulebook.jsonrecord import parse_record

    kind = doc.raw("policy", "applies_to")
    for folder in [Path(doc.file).parent, *Path(doc.file).parent.parents][:5]:
        for case_file in sorted((folder / "examples").glob("*.json")) if (folder / "examples").is_dir() else ():
            try:
                case = parse_record(case_file.read_bytes().removeprefix(b"\xef\xbb\xbf"), str(case_file), 1)
            except OSError:
                continue
            if isinstance(case, dict) and case.get("kind") == kind:
                return case, str(case_file)
    return None


def _schema_problem(rulebook: Any, case: Any, source: str) -> str | None:
    """What the case schema refuses in ``case`` (the validator ``eval`` uses), or None."""
    from policy_eval.rulebook.validation import CaseValidator

    problem = CaseValidator(rulebook.case_schemas).check(case, source, None)
    if problem is None:
        return None
    more = len(problem.errors) - 1 + problem.omitted
    kind = case.get("kind") if isinstance(case, dict) else None
    refused = (f"the {kind} case schema refuses the case" if isinstance(kind, str) and kind in rulebook.case_schemas
               else "the case is refused")  # not an object, or no known kind
    return f"{refused}: {problem.at_path()}" + (f" (and {more} more)" if more > 0 else "")


def _no_verdict(result: Any, history: Any, rule_id: str) -> str:
    """Why the case has no verdict of the rule: the policy-level verdict's reason, worded for the editor."""
    level = next((r for r in result.results if r.policy == history.id and r.rule is None), None)
    if result.error:
        return f"the case is refused: {result.error['json_path']}: {result.error['message']}"
    if level is None:  # a version was picked, and it has no such rule (it came in another version)
        version = dict(result.versions).get(history.id)
        holding = [v.version for v in history.versions if any(r.id == rule_id for r in v.rules)]
        return (f"rule {rule_id!r} is not in version {version} of {history.id}, the version in force for this "
                f"case (it is in version{'s' if len(holding) != 1 else ''} {', '.join(holding)})")
    if level.missing:
        return (f"the case gives no reference time: `{history.latest().reference_time.text.strip()}` is missing "
                f"({', '.join(level.missing)})")
    if level.reference_time is not None:
        return f"no version of {history.id} is in force at {level.reference_time}"
    return str(level.reason)  # the reference time is unreadable


def evaluate_rule(doc: Document, rule_id: str, case: Any = None,
                  open_texts: dict[str, str] | None = None) -> dict[str, Any]:
    """Evaluate one rule of the document's policy (its text as in the editor, loaded with the other versions
    of the policy beside it, as ``check`` loads the folder) on a case (an object, a case file's path, or
    None: an example case); the result as a JSON object."""
    from policy_eval.cli.common import suggest
    from policy_eval.errors import ErrorList
    from policy_eval.run.evaluate import Evaluator

    source = "argument"
    if isinstance(case, str):
        name = case
        case, source = read_case_file(name)
        if case is None:
            return {"case": name, "error": source}
    elif case is None:
        found = _example_case(doc)
        if found is None:
            return {"error": "no example case of this policy's kind (pass a case or a case file)"}
        case, source = found
    policy_id = doc.raw("policy", "id")
    path = Path(doc.file)
    others = siblings(path, policy_id, open_texts) if isinstance(policy_id, str) else {}
    try:
        rulebook = load_together(path, doc.text, others, schema_dir_for(path), doc.functions)
    except ErrorList as exc:
        first = exc.errors[0]
        return {"case": source, "error": f"the policy does not load ({len(exc.errors)} error"
                f"{'s' if len(exc.errors) != 1 else ''}; the first: {first.location}: {first.message})"}
    history = rulebook.policies.get(policy_id) if isinstance(policy_id, str) else None
    if history is None:
        return {"case": source, "error": "this document defines no policy (policy.id)"}
    known = {r.id for v in history.versions for r in v.rules}
    if rule_id not in known:
        return {"case": source, "error": f"no rule {rule_id!r} in this policy{suggest(rule_id, known)}"}
    problem = _schema_problem(rulebook, case, source)
    if problem is not None:
        return {"case": source, "error": problem}
    if case.get("kind") != history.applies_to:
        return {"case": source, "error": f"the case is of kind {case.get('kind')!r}; policy {history.id} applies "
                f"to {history.applies_to!r} cases"}
    result = Evaluator(rulebook, explain=True, only=[f"{policy_id}/{rule_id}"]).evaluate(case, source=source)
    rows = [r for r in result.results if r.rule == rule_id]
    if not rows:
        return {"case": source, "error": _no_verdict(result, history, rule_id)}
    r = rows[0]
    return {"case": source, "rule": r.full_id, "version": r.version, "outcome": r.outcome.value,
            "message": r.message}
