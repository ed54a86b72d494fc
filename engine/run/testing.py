"""Policy unit tests: YAML files of cases with expected outcomes per rule.

Input: test files (``tests:`` list; see docs/policies.md) and a rulebook.
Output: :class:`TestOutcome` per test case (passed or failed with the
differences), and rule coverage: which outcomes each rule has a test for, in each version.
Used by ``policy-eval test`` and by the pytest plugin.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.lang.values import ValueParseError
from policy_eval.rulebook import Rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.rulebook.policy.schema import suggest
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.rulebook.yamlload import Positions, load_yaml
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult
from policy_eval.run.testplaces import placer

__all__ = ["PolicyTest", "TestOutcome", "discover", "load_tests", "run_test", "coverage", "evaluator_for_tests"]


@dataclass
class PolicyTest:
    name: str
    file: str
    line: int
    case: dict[str, Any]
    expect: dict[str, Any]
    as_of: str | None = None
    params: str | None = None  # the file's deployment overlay (``params:``, resolved from the test file's folder)
    case_file: str | None = None  # ``case: x.json``: the JSON file the case was read from (resolved)
    # where a member of an inline case stands in the test file: (line, column) of the JSON path of a schema
    # error (``$.request.submitted_at``), so the failure points at the member, not at the test's ``- name:``
    case_at: Callable[[str], tuple[int, int]] | None = field(default=None, compare=False, repr=False)


@dataclass
class TestOutcome:
    test: PolicyTest
    failures: list[str] = field(default_factory=list)
    result: CaseResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def discover(paths: Iterable[Path]) -> list[Path]:
    """YAML files with a top-level ``tests:`` key under the given files/folders."""
    found: list[Path] = []
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        for f in files:
            if not f.is_file():  # a FIFO named .yaml would block the read (the rulebook load reports it)
                continue
            try:
                head = f.read_text(encoding="utf-8-sig", errors="replace")
            except OSError:
                continue
            if any(line.startswith("tests:") for line in head.splitlines()):
                found.append(f)
    return found


# The keys of a test file, of one test and of a rule's expectation: the properties schemas/policy-test.schema.json
# declares at each level (tests/test_testfile_keys.py checks that they are the same). Any other key is an error.
FILE_KEYS = ("tests", "params")
TEST_KEYS = ("name", "as_of", "case", "expect")
EXPECT_KEYS = ("outcome", "version", "missing", "remedies", "message")
# what a test expects of a rule that gives the case no verdict (the version in force has no such rule, say)
ABSENT = "absent"


def load_tests(path: Path) -> list[PolicyTest]:
    """The tests of a policy test file, or every mistake in it, each located (an unknown key at the key), in
    line order: one is raised as a :class:`PolicyLoadError`, several as an :class:`ErrorList`."""
    data, positions = load_yaml(path.read_bytes(), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise PolicyLoadError("a policy test file needs a top-level 'tests:' list", file=str(path), line=1, column=1)
    errors = _unknown_keys(positions, data, FILE_KEYS, (), "at the top level of a test file")
    params = None
    try:
        params = _params_file(path, data, positions)
    except PolicyLoadError as exc:
        errors.append(exc)
    out = []
    for i, raw in enumerate(data["tests"]):
        test = _load_test(path, i, raw, positions, params, errors)
        if test is not None:
            out.append(test)
    if errors:
        errors.sort(key=lambda e: (e.line or 0, e.column or 0))
        raise errors[0] if len(errors) == 1 else ErrorList(errors)
    return out


def _load_test(path: Path, i: int, raw: Any, positions: Positions, params: str | None,
               errors: list[PolicyError]) -> PolicyTest | None:
    """Test #``i + 1`` of the file, its mistakes added to ``errors`` (then None)."""
    at, before = ("tests", i), len(errors)
    if not isinstance(raw, dict):
        errors.append(positions.error("each test is a mapping with 'case' and 'expect'", at))
        return None
    errors.extend(_unknown_keys(positions, raw, TEST_KEYS, at, f"in test #{i + 1}"))
    meant = {m for key in raw if key not in TEST_KEYS for m in difflib.get_close_matches(str(key), TEST_KEYS, n=1)}
    lacking = [key for key in ("case", "expect") if key not in raw and key not in meant]  # a misspelt one: at its key
    if lacking:
        errors.append(positions.error(f"each test needs 'case' and 'expect'; test #{i + 1} has no "
                                      f"{' and no '.join(repr(k) for k in lacking)}", at))
    case, case_file = raw.get("case"), None
    if isinstance(case, str):
        try:
            case, case_file = _case_file(path, case, positions, at + ("case",))
        except PolicyLoadError as exc:
            errors.append(exc)
    elif "case" in raw and not isinstance(case, dict):
        errors.append(positions.error("'case' is the case record (a mapping) or the path of a JSON file holding "
                                      "it (relative to this test file)", at + ("case",)))
    expect = raw.get("expect")
    if "expect" in raw and not isinstance(expect, dict):
        errors.append(positions.error("'expect' maps rule ids to outcomes", at + ("expect",)))
    elif isinstance(expect, dict):
        for rid, exp in expect.items():
            errors.extend(_expectation_errors(positions, rid, exp, at + ("expect", rid)))
    if len(errors) > before or not isinstance(case, dict) or not isinstance(expect, dict):
        return None
    line, _ = positions.where(at)
    name = str(raw.get("name") or f"test #{i + 1}")
    as_of = str(raw["as_of"]) if raw.get("as_of") is not None else None
    case_at = None if case_file is not None else placer(positions, at + ("case",), case)
    return PolicyTest(name, str(path), line, case, expect, as_of, params, case_file, case_at)


def _unknown_keys(positions: Positions, mapping: dict[Any, Any], known: Sequence[str], at: tuple[Any, ...],
                  where: str) -> list[PolicyError]:
    """An error at each key of ``mapping`` not in ``known``, naming the close known key if there is one."""
    return [positions.error(f"unknown key {_yaml_text(key)} {where}"
                            + (suggest(str(key), list(known)) or f" (known keys: {', '.join(known)})"),
                            at + (key,), key=True)
            for key in mapping if key not in known]


def _expectation_errors(positions: Positions, rid: Any, exp: Any, at: tuple[Any, ...]) -> list[PolicyError]:
    """The mistakes of the expectation ``exp`` of rule ``rid`` (at ``at``)."""
    if isinstance(exp, dict):
        errors = _unknown_keys(positions, exp, EXPECT_KEYS, at, f"in the expectation of {rid}")
        if "outcome" not in exp:
            return [*errors, positions.error(f"the expectation of {rid} needs 'outcome'", at)]
        if exp["outcome"] == ABSENT:
            return [*errors, positions.error(f"'{ABSENT}' is written alone, as {rid}: {ABSENT} (a rule with no "
                                             "verdict has no version, missing paths, remedies or message to compare)",
                                             at)]
        outcome, at = exp["outcome"], at + ("outcome",)
    else:
        errors, outcome = [], exp
    if isinstance(outcome, list):
        errors.append(positions.error(f"the expectation of {rid} is one outcome, not a list (a case has one verdict "
                                      "per rule: write the one this case should get)", at))
    elif not isinstance(outcome, str) or (outcome not in {o.value for o in Outcome} and outcome != ABSENT):
        errors.append(positions.error(f"unknown outcome {_yaml_text(outcome)} for {rid} (use complied, violated, "
                                      f"not_applicable, undetermined, or {ABSENT}: no verdict of that rule)", at))
    return errors


def _one_line(text: str) -> str:
    """A verdict's message or reason on one line of a failure (a reason quotes its condition on one line already,
    lang.parser.one_line; a message written as a YAML block may still hold line breaks): runs of whitespace one
    space."""
    return " ".join(text.split())


def _yaml_text(value: Any) -> str:
    """A value as YAML writes it (``true``, ``null``, ``'text'``), for messages to authors."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value) if isinstance(value, str) else str(value)


def _case_file(path: Path, name: str, positions: Any, at: tuple[Any, ...]) -> tuple[dict[str, Any], str]:
    """``case: NAME``: the one case record of the JSON file NAME (relative to the test file), read as
    ``eval`` reads a record (exact decimals, duplicate keys refused); any problem is an error at the line."""
    from policy_eval.errors import CaseError
    from policy_eval.rulebook.jsonrecord import parse_record

    file = _confined(path, name, positions, at, "case")
    if file.suffix.lower() != ".json":
        raise positions.error(f"case: {name!r} is not a .json file; 'case' is the case record itself or the "
                              "path of a JSON file holding it (relative to this test file)", at)
    if file.exists() and not file.is_file():  # a FIFO (reading one waits for a writer forever), a device, a folder
        raise positions.error(f"case: {file}: not a regular file; not read", at)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise positions.error(f"case: cannot read {file}: {exc.strerror or exc}", at) from None
    record = parse_record(data.removeprefix(b"\xef\xbb\xbf"), str(file), 1)
    if isinstance(record, CaseError):
        raise positions.error(f"case: {file}: {record.json_path}: {record.message}", at)
    return record, str(file)


def _params_file(path: Path, data: dict[str, Any], positions: Any) -> str | None:
    """The test file's ``params:`` (a deployment overlay, relative to the test file), checked to exist."""
    if data.get("params") is None:
        return None
    if not isinstance(data["params"], str) or not data["params"].strip():
        raise positions.error("'params' names a deployment overlay file (relative to this test file)", ("params",))
    overlay = _confined(path, data["params"], positions, ("params",), "params")
    if not overlay.is_file():
        raise positions.error(f"params: {'not a regular file; not read:' if overlay.exists() else 'no such file'} "
                              f"{overlay}", ("params",))
    return str(overlay)


def _confined(path: Path, name: str, positions: Any, at: tuple[Any, ...], key: str) -> Path:
    """The file a test file names (``case:``, ``params:``), relative to the test file, symbolic links resolved.
    It must lie under the folder above the test file's own (the tree the tests belong to: ``../cases/x.json``)
    or under the working directory: a test file arriving in a pull request must not make ``policy-eval test``
    read, and quote in its errors, a file of the machine it runs on (``../../../home/ci/.git-credentials``)."""
    file = (path.parent / name).resolve()
    roots = (path.resolve().parent.parent, Path.cwd().resolve())
    if not any(file.is_relative_to(root) for root in roots):
        raise positions.error(f"{key}: {name!r} is outside the folder above this test file's and outside the "
                              "working directory; not read (name a file of the tests' own tree, relative to the "
                              "test file)", at)
    return file


def _find(result: CaseResult, rule_id: str) -> RuleResult | None:
    policy = rule_id.split("/", 1)[0]
    for r in result.results:
        if r.full_id == rule_id:
            return r
    for r in result.results:  # a policy-level verdict (no version in force, reference time missing)
        if r.rule is None and r.policy == policy:
            return r
    return None


def _money_text(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('amount')} {value.get('currency', 'CNY')}"
    text = str(value).strip().replace("¥", "")
    parts = text.split()
    from decimal import Decimal

    amount = Decimal(parts[0]).quantize(Decimal("0.01"))
    return f"{amount} {parts[1] if len(parts) > 1 else 'CNY'}"


def evaluator_for_tests(rulebook: Rulebook) -> Evaluator:
    """The evaluator tests run on: a test compares outcomes, versions, missing paths, remedies and messages, never
    an explanation or the inputs read, so none is made (an undetermined verdict's missing paths still are). A
    failing test is explained apart (``policy-eval test``: with an explaining evaluator)."""
    return Evaluator(rulebook, explain="missing", record_inputs=False)


def run_test(test: PolicyTest, evaluator: Evaluator, validator: CaseValidator | None = None,
             enrichers: Sequence[Callable[[dict[str, Any]], dict[str, Any]]] | None = None) -> TestOutcome:
    """Evaluate a test's case as ``policy-eval eval`` would and compare with its expectations.

    ``enrichers`` default to those of the process-wide plugins (pass ``()``
    for none): the case is enriched, then validated, then evaluated.
    """
    outcome = TestOutcome(test)
    if enrichers is None:
        from policy_eval.plugin_manager import get_plugin_manager

        enrichers = get_plugin_manager().enrichers()
    case = test.case
    for enrich in enrichers:
        try:
            case = enrich(case)
        except Exception as exc:
            outcome.failures.append(f"enricher {getattr(enrich, '__qualname__', enrich)!s} failed: "
                                    f"{type(exc).__name__}: {exc}")
            return outcome
    as_of = None
    if test.as_of is not None:
        try:
            as_of = parse_instant(test.as_of)
        except (ValueParseError, ValueError) as exc:
            outcome.failures.append(f"bad as_of: {exc}")
            return outcome
    if validator is not None:
        err = validator.check(case, test.file, test.line)
        if err is not None:
            where = "" if test.case_at is None else "{}:{}:{}: ".format(test.file, *test.case_at(err.json_path))
            outcome.failures.append(f"{where}case does not match its schema: {err.json_path}: {err.message}")
            return outcome
    result = evaluator.evaluate(case, as_of=as_of, source=test.file, record=test.line)
    outcome.result = result
    if result.error is not None:
        outcome.failures.append(f"case rejected: {result.error['message']}")
        return outcome
    for rule_id, exp in test.expect.items():
        want = exp if isinstance(exp, dict) else {"outcome": exp}
        got = _find(result, rule_id)
        if want["outcome"] == ABSENT:
            outcome.failures.extend(_absent(evaluator.rulebook, rule_id, got))
            continue
        if got is None:
            evaluated = sorted({r.full_id for r in result.results})
            elsewhere = [v.version for v in evaluator.rulebook.versions() if any(r.full_id == rule_id for r in v.rules)]
            judged = {r.version for r in result.results if r.policy == rule_id.split("/", 1)[0] and r.version}
            if elsewhere and judged:
                outcome.failures.append(
                    f"{rule_id}: no verdict: version {', '.join(sorted(judged))} judged the case and has no such rule "
                    f"(version{'s' if len(elsewhere) > 1 else ''} {', '.join(elsewhere)} "
                    f"{'have' if len(elsewhere) > 1 else 'has'} it); expect {ABSENT} if that is meant")
                continue
            close = difflib.get_close_matches(rule_id, evaluated, n=1)
            hint = f"; did you mean {close[0]}?" if close else (
                f" (evaluated: {', '.join(evaluated[:8])}{' …' if len(evaluated) > 8 else ''})" if evaluated
                else " (no policy applies to this kind)")
            outcome.failures.append(f"{rule_id}: no such rule evaluated for this case (kind {result.kind}){hint}")
            continue
        if got.outcome.value != want["outcome"]:
            outcome.failures.append(f"{rule_id}: expected {want['outcome']}, got {got.outcome.value} "
                                    f"— {_one_line(got.message or got.reason)}")
            continue
        if "version" in want and str(want["version"]) != str(got.version):
            outcome.failures.append(f"{rule_id}: expected version {want['version']}, got {got.version}")
        if "missing" in want:
            missing = sorted(want["missing"])
            if sorted(got.missing) != missing:
                outcome.failures.append(f"{rule_id}: expected missing {missing}, got {sorted(got.missing)}")
        if "remedies" in want:
            outcome.failures.extend(_compare_remedies(rule_id, want["remedies"], list(got.remedies)))
        if "message" in want and str(want["message"]) not in (got.message or ""):
            outcome.failures.append(f"{rule_id}: message {got.message!r} does not contain {want['message']!r}")
    return outcome


def _absent(rulebook: Rulebook, rule_id: str, got: RuleResult | None) -> list[str]:
    """The failures of an ``absent`` expectation: the rule gave a verdict, or no version has such a rule (a
    misspelt id would otherwise pass as absent)."""
    if got is not None and got.rule is None and got.outcome is Outcome.NOT_APPLICABLE:
        got = None  # no version of the policy is in force: none of its rules judges the case
    if got is not None:
        by = f"from version {got.version}" if got.version is not None else \
            f"(the policy's own verdict: {_one_line(got.reason)})"
        return [f"{rule_id}: expected absent (no verdict), got {got.outcome.value} {by}"]
    known = sorted({r.full_id for v in rulebook.versions() for r in v.rules})
    if rule_id in known:
        return []
    close = difflib.get_close_matches(rule_id, known, n=1)
    return [f"{rule_id}: expected absent, but no version of the rulebook has such a rule"
            + (f"; did you mean {close[0]}?" if close else "")]


def _compare_remedies(rule_id: str, wanted: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    failures = []
    if len(wanted) != len(got):
        return [f"{rule_id}: expected {len(wanted)} remedies, got {len(got)}: {[g['kind'] for g in got]}"]
    for w, g in zip(wanted, got, strict=True):
        for key, value in w.items():
            if key == "amount":
                have = g.get("amount")
                have_text = _money_text(have) if have is not None else None
                if have_text != _money_text(value):
                    failures.append(f"{rule_id}: remedy {g['kind']} amount {have_text}, expected {_money_text(value)}")
            elif str(g.get(key)) != str(value):
                failures.append(f"{rule_id}: remedy {key} = {g.get(key)!r}, expected {value!r}")
    return failures


def coverage(rulebook: Rulebook, outcomes: Iterable[TestOutcome]) -> dict[str, set[str]]:
    """``policy/rule@version`` → the set of outcomes some passing test expects of that rule in that version.

    Counted per rule and version: a rule carried into a new version is covered there only by a test
    whose case that version judged.
    """
    cov: dict[str, set[str]] = {}
    for version in rulebook.versions():
        for rule in version.rules:
            cov.setdefault(f"{rule.full_id}@{version.version}", set())
    for o in outcomes:
        judged = {r.full_id: r.version for r in o.result.results} if o.result is not None else {}
        for rule_id, exp in o.test.expect.items():
            want = exp["outcome"] if isinstance(exp, dict) else exp
            key = f"{rule_id}@{judged.get(rule_id)}"
            if key in cov:
                cov[key].add(want)
    return cov


def iter_tests(paths: Iterable[Path]) -> Iterator[PolicyTest]:
    for f in discover(paths):
        yield from load_tests(f)
