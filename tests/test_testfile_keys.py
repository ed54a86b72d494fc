"""Policy test files (`policy-eval test`): an unknown key is a located error with a did-you-mean hint, every
mistake of a file is reported in one run (in line order), the errors show before the summary, and a failure
quotes a rule's multi-line condition on one line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from policy_eval.cli import run
from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.run import testing
from policy_eval.run.testing import load_tests

ROOT = Path(__file__).resolve().parent.parent
FEE_CHARGED = ROOT / "examples" / "warranty_fee_charged.json"  # national-warranty/free-service: violated
SUMMARY = "0 passed, 0 failed, 1 file(s) with errors"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _errors(path: Path) -> list[PolicyError]:
    with pytest.raises(PolicyError) as info:
        load_tests(path)
    return info.value.errors if isinstance(info.value, ErrorList) else [info.value]


# --- the known keys: one source of truth ---------------------------------------------------------------------

def test_the_known_keys_are_the_schemas_properties() -> None:
    schema = json.loads((ROOT / "schemas" / "policy-test.schema.json").read_text(encoding="utf-8"))
    test = schema["properties"]["tests"]["items"]
    expectation = next(b for b in test["properties"]["expect"]["additionalProperties"]["anyOf"]
                       if b.get("type") == "object")
    assert set(testing.FILE_KEYS) == set(schema["properties"]) and schema["additionalProperties"] is False
    assert set(testing.TEST_KEYS) == set(test["properties"]) and test["additionalProperties"] is False
    assert set(testing.EXPECT_KEYS) == set(expectation["properties"]) and expectation["additionalProperties"] is False


# --- 1. an unknown key is an error at the key ----------------------------------------------------------------

REPRO = f"""tests:
  - name: judged as of 2019
    as-of: 2019-06-01
    case: {FEE_CHARGED}
    expect:
      national-warranty/free-service: violated
"""


@pytest.mark.parametrize(("text", "where", "said"), [
    (REPRO, (3, 5), "unknown key 'as-of' in test #1; did you mean 'as_of'?"),
    (REPRO.replace("    as-of: 2019-06-01\n", "").replace("    expect:", "    expects:"), (4, 5),
     "unknown key 'expects' in test #1; did you mean 'expect'?"),
    ("param: deployment.yaml\n" + REPRO.replace("as-of", "as_of"), (1, 1),
     "unknown key 'param' at the top level of a test file; did you mean 'params'?"),
    (REPRO.replace("as-of: 2019-06-01", "comment: x"), (3, 5),
     "unknown key 'comment' in test #1 (known keys: name, as_of, case, expect)"),
    (REPRO.replace("as-of", "as_of").replace("violated", "{outcome: violated, remedy: []}"), (6, 59),
     "unknown key 'remedy' in the expectation of national-warranty/free-service; did you mean 'remedies'?"),
])
def test_an_unknown_key_is_an_error_at_the_key(tmp_path: Path, text: str, where: tuple[int, int], said: str) -> None:
    path = _write(tmp_path / "t.yaml", text)
    (error,) = _errors(path)
    assert isinstance(error, PolicyLoadError)
    assert (error.file, error.line, error.column, error.message) == (str(path), *where, said)


def test_the_bundled_golden_tests_use_only_known_keys() -> None:
    for path in sorted((ROOT / "tests" / "golden").glob("*.yaml")):
        assert load_tests(path), path


def test_a_misspelt_as_of_no_longer_passes(fast_load: None, tmp_path: Path) -> None:
    path = _write(tmp_path / "t.yaml", REPRO)
    code, out, err = _run("test", str(path))
    assert code == 1
    assert err.startswith(f"{path}:3:5: unknown key 'as-of' in test #1; did you mean 'as_of'?\n")
    assert out.splitlines()[-1] == SUMMARY
    fixed = _write(tmp_path / "fixed.yaml", REPRO.replace("as-of", "as_of"))
    code, out, err = _run("test", str(fixed))  # judged as of 2019 now (the text gives no start date): it passes
    assert code == 0, out + err


# --- 2. every mistake of a file in one run, in line order -----------------------------------------------------

THREE = f"""tests:
  - name: one
    case: {FEE_CHARGED}
    expect:
      national-warranty/free-service: violatd
  - name: two
    case: {FEE_CHARGED}
    expect:
      national-warranty/free-service: complid
  - name: three
    case: {FEE_CHARGED}
    expect:
      national-warranty/free-service:
        outcome: violated
        remedy: [{{kind: x}}]
"""


def test_every_mistake_of_a_file_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.yaml", THREE)
    errors = _errors(path)
    assert [(e.line, e.column) for e in errors] == [(5, 39), (9, 39), (15, 9)]
    assert errors[0].message.startswith("unknown outcome 'violatd'")
    assert errors[1].message.startswith("unknown outcome 'complid'")
    assert errors[2].message.startswith("unknown key 'remedy' in the expectation of national-warranty/free-service")


def test_mistakes_of_every_kind_are_collected_and_sorted(tmp_path: Path) -> None:
    text = f"""tests:
  - name: a
    case: missing.json
    expect: {{national-warranty/free-service: [complied, violated]}}
  - name: b
    case: [not, a, record]
    expect: {{national-warranty/free-service: {{version: "2"}}}}
  - name: c
    checks: {{}}
    case: {FEE_CHARGED}
param: x.yaml
"""
    errors = _errors(_write(tmp_path / "t.yaml", text))
    assert [(e.line, e.message.split(";")[0].split(" (")[0]) for e in errors] == [
        (3, f"case: cannot read {tmp_path / 'missing.json'}: No such file or directory"),
        (4, "the expectation of national-warranty/free-service is one outcome, not a list"),
        (6, "'case' is the case record"),
        (7, "the expectation of national-warranty/free-service needs 'outcome'"),
        (8, "each test needs 'case' and 'expect'"),
        (9, "unknown key 'checks' in test #3"),
        (11, "unknown key 'param' at the top level of a test file"),
    ]


def test_the_command_prints_every_error_of_the_file(fast_load: None, tmp_path: Path) -> None:
    path = _write(tmp_path / "t.yaml", THREE)
    code, out, err = _run("test", str(path))
    assert code == 1 and out.splitlines()[-1] == SUMMARY
    located = [line.split(": ", 1)[0] for line in err.splitlines() if line.startswith(str(path))]
    assert located == [f"{path}:5:39", f"{path}:9:39", f"{path}:15:9"]


# --- 3. the errors before the summary, when both streams show on one terminal ----------------------------------

class _Buffered(io.StringIO):
    """A stream buffered until flushed, as stdout and stderr may be; what is flushed goes to one shared screen."""

    def __init__(self, screen: list[str]) -> None:
        super().__init__()
        self.screen, self.sent = screen, 0

    def flush(self) -> None:
        text = self.getvalue()
        self.screen.append(text[self.sent:])
        self.sent = len(text)


def test_errors_show_in_their_place_before_the_summary(fast_load: None, tmp_path: Path) -> None:
    good = _write(tmp_path / "a_good.yaml", REPRO.replace("    as-of: 2019-06-01\n", ""))
    bad = _write(tmp_path / "b_bad.yaml", THREE.split("  - name: two")[0])  # one error: 'violatd'
    screen: list[str] = []
    out, err = _Buffered(screen), _Buffered(screen)
    code = run(["test", str(good), str(bad)], out, err)
    err.flush()  # what the process's exit would flush
    shown = "".join(screen)
    assert code == 1
    assert shown.index(f"{good} .") < shown.index(f"{bad}:5:39: unknown outcome 'violatd'") \
        < shown.index("1 passed, 0 failed, 1 file(s) with errors")
    assert out.getvalue().endswith("1 passed, 0 failed, 1 file(s) with errors\n")  # each stream as before
    assert err.getvalue().startswith(f"{bad}:5:39") and "passed" not in err.getvalue()


# --- 4. a multi-line condition quoted on one line ---------------------------------------------------------------

NOT_APPLICABLE = """tests:
  - name: expect complied where the rule does not apply
    case:
      kind: after_sale
      case_id: GOLD-AB-102
      snapshot_at: "2020-06-10T10:00:00+08:00"
      order: {id: O-AB-U1, store_id: S-1, category: 服饰, group_success_at: "2020-06-01T10:00:00+08:00", confirmed_at: "2020-06-01T10:00:00+08:00", promised_ship_by: "2020-06-03T10:00:00+08:00", promised_after_sale_days: 7, paid_amount: "59.90"}
      request: {id: R-AB-102, type: refund_only, submitted_at: "2020-06-03T10:00:00+08:00", status: pending_merchant, platform_verification: {requested_at: "2020-06-03T11:00:00+08:00", due_at: "2020-06-04T11:00:00+08:00", merchant_reply: {at: "2020-06-04T09:00:00+08:00", action: provided}}}
    expect:
      after-sales/refund-only-handling-limit: complied
"""  # noqa: E501 - a case record as authors write it


def test_a_failure_quotes_a_multi_line_condition_on_one_line(fast_load: None, tmp_path: Path) -> None:
    # the rule's `when:` is folded YAML with a more-indented line, which keeps its line break and indentation
    path = _write(tmp_path / "t.yaml", NOT_APPLICABLE)
    code, out, _ = _run("test", str(path))
    assert code == 1
    (failure,) = [line for line in out.splitlines() if "expected complied, got not_applicable" in line]
    assert "exists(request.withdrawn_at) or exists(request.refund_succeeded_at) or snapshot_at > deadline)` " \
           "is false" in failure
    assert "\\n" not in failure and "  " not in failure.strip()
