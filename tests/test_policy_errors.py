"""Load-time errors of policy files: one bad file per error, each at its exact file:line:column.

The fixtures are tests/data/policies/bad/*.yaml (one error each, described in the
file's first line) with their own case schemas (tests/data/policies/schemas), so
nothing here depends on the bundled rulebook. Every expected position was worked
out by hand from the fixture text; the comments say which character it is.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest

from policy_eval import cli
from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError, PolicyNameError, PolicyTypeError
from policy_eval.rulebook import load_rulebook

DATA = Path(__file__).parent / "data" / "policies"
BAD = DATA / "bad"
SCHEMAS = DATA / "schemas"

# The bad files share one layout: line 1 a comment, line 2 "policy:", line 8 effective_from,
# line 9 applies_to (effective_until when present), line 12 "  limit: 48h", line 14 "  - id: r1",
# line 17 severity, line 18 require, line 19 message.
CASES = [
    # file, error class, line, column, message substring
    ("yaml_syntax.yaml", PolicyLoadError, 16, 11, "expected ',' or ']', but got ':' (while parsing a flow "
                                                  "sequence started at line 15, column 12)"),  # ':' after clause
    ("duplicate_key.yaml", PolicyLoadError, 17, 5, "duplicate key 'clause' (first defined at line 16)"),
    ("unknown_key.yaml", PolicyLoadError, 18, 5, "unknown key 'sevrity'; did you mean 'severity'?"),
    ("missing_key.yaml", PolicyLoadError, 14, 5, "'clause' is required"),  # the rule's first key
    ("bad_severity.yaml", PolicyLoadError, 17, 15, "'urgent' is not one of info, low, medium, high, critical"),
    ("require_and_forbid.yaml", PolicyLoadError, 19, 5, "both 'require' and 'forbid'"),  # the forbid key
    ("neither_require_nor_forbid.yaml", PolicyLoadError, 14, 5, "a rule needs 'require'"),
    ("duplicate_rule_id.yaml", PolicyLoadError, 20, 9, "duplicate rule id 'r1' (first at rule #1, line 14)"),
    # "    require: reply.at <= request.submitted_at + limt": value at column 14, 'limt' 35 characters later
    ("undefined_param_plain.yaml", PolicyNameError, 18, 49, "unknown name 'limt'"),
    # '"' at 14; before 'limt': 16 + len('\\"') + len('\\u9000') + len('\\"') + 4 + 35 = 65 source characters
    ("undefined_param_quoted.yaml", PolicyNameError, 18, 80, "did you mean 'limit'?"),
    # 2nd line of the | block: 8 spaces, then 35 characters before 'limt'
    ("undefined_param_block.yaml", PolicyNameError, 20, 44, "unknown name 'limt'"),
    ("unknown_field.yaml", PolicyNameError, 18, 34, "unknown field 'submited_at' of 'request'; did you mean "
                                                    "'submitted_at'?"),  # the field name after 'request.'
    ("money_plus_duration.yaml", PolicyTypeError, 18, 14, "cannot add duration to money"),
    ("function_arguments.yaml", PolicyTypeError, 18, 54, "argument 1 of days() must be decimal, got string"),
    ("let_hides_field.yaml", PolicyNameError, 19, 7, "let-binding 'order' hides the case field 'order'"),
    ("param_hides_field.yaml", PolicyNameError, 13, 3, "parameter 'reply' hides the case field 'reply'"),
    ("waiver_unknown_rule.yaml", PolicyNameError, 22, 17, "waiver names unknown rule 'r1x'; did you mean 'r1'?"),
    ("overlap/v2.yaml", PolicyLoadError, 8, 19, "overlaps version '1'"),  # the effective_from of version 2
    ("reference_time/v2.yaml", PolicyLoadError, 10, 19, "must use the same reference_time"),
    ("until_before_from.yaml", PolicyLoadError, 9, 20, "effective_until must be later than effective_from"),
    ("unknown_kind.yaml", PolicyLoadError, 9, 15, "unknown case kind 'refnud'; did you mean 'refund'?"),
    ("bad_date.yaml", PolicyLoadError, 8, 19, "'2020-02-30' is not a valid date"),
    ("dated_param_gap.yaml", PolicyTypeError, 16, 7, "parameter 'window' has no value from 2020-01-01"),
    # '"' at 14, text from 15; 'late: replied {reply.at}, limit {' is 33 characters
    ("placeholder_error.yaml", PolicyNameError, 19, 48, "unknown name 'limt'"),
    ("python_tag.yaml", PolicyLoadError, 4, 10, "YAML tag !!python/object/apply:os.system is not allowed"),
    # f's 2nd alias takes the expanded document past 200,000 nodes: "  f: &f [*e, *e" → column 14
    ("alias_bomb.yaml", PolicyLoadError, 26, 14, "document expands to more than 200000 nodes"),
    ("not_utf8.yaml", PolicyLoadError, 4, 13, "not valid UTF-8 (byte 0xe9)"),  # "  title: Caf\xe9"
    # the 2nd item of "  patterns: ['[0-9]{16}', '(a+']", walked by 'any p in patterns: matches(..., p)'
    ("pattern_in_param_list.yaml", PolicyTypeError, 13, 27, "invalid pattern '(a+'"),
]


def _errors(path: Path) -> list[PolicyError]:
    with pytest.raises(PolicyError) as info:
        load_rulebook(path, schema_dir=SCHEMAS)
    exc = info.value
    return list(exc.errors) if isinstance(exc, ErrorList) else [exc]


def _load_target(name: str) -> Path:
    """The file itself, or its folder for errors across the versions of a policy."""
    return BAD / name.split("/")[0] if "/" in name else BAD / name


@pytest.mark.parametrize(("name", "cls", "line", "column", "message"), CASES, ids=[c[0] for c in CASES])
def test_error_is_reported_at_its_exact_place(name: str, cls: type[PolicyError], line: int, column: int,
                                              message: str) -> None:
    errors = _errors(_load_target(name))
    assert len(errors) == 1, "\n".join(map(str, errors))
    err = errors[0]
    assert type(err) is cls
    assert (Path(err.file or "").as_posix().endswith(f"bad/{name}"), err.line, err.column) == (True, line, column), err
    assert message in err.message
    # the rendered form editors and CI understand: file:line:column: message, the line, a caret under the column
    text = str(err).splitlines()
    assert text[0] == f"{err.file}:{line}:{column}: {err.message}"
    if err.source_line is not None and err.source_line.isascii():
        assert text[1] == "    " + err.source_line
        assert text[2].index("^") == 4 + column - 1


def test_every_fixture_is_in_the_table() -> None:
    names = {p.relative_to(BAD).as_posix() for p in BAD.rglob("*.yaml")}
    tabled = {c[0] for c in CASES} | {"overlap/v1.yaml", "reference_time/v1.yaml", "several_errors.yaml"}
    assert names == tabled


def test_several_errors_in_one_file_are_all_reported_in_file_order() -> None:
    errors = _errors(BAD / "several_errors.yaml")
    assert [(e.line, e.column) for e in errors] == [(14, 11), (21, 5), (28, 49), (35, 12)]
    assert "unknown type 'percentage'" in errors[0].message
    assert "unknown key 'sevrity'" in errors[1].message
    assert "unknown name 'limt'" in errors[2].message
    assert "'2021-13-01' is not a valid date" in errors[3].message


def test_check_reports_every_error_of_a_folder() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["check", str(BAD), "--schemas", str(SCHEMAS), "--format", "json"], stdout=out, stderr=err)
    assert code == 2
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    found = {(Path(e["file"]).as_posix().split("bad/", 1)[1], e["line"], e["column"]) for e in report["errors"]}
    expected = {(name, line, column) for name, _, line, column, _ in CASES}
    expected |= {("several_errors.yaml", line, column) for line, column in [(14, 11), (21, 5), (28, 49), (35, 12)]}
    assert found == expected
    assert len(report["errors"]) == len(expected)


def test_check_text_output_lists_every_error_and_the_count() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.run(["check", str(BAD), "--schemas", str(SCHEMAS)], stdout=out, stderr=err) == 2
    located = [line for line in err.getvalue().splitlines() if re.match(r"\S+\.yaml:\d+:\d+: ", line)]
    assert len(located) == len(CASES) + 4
    assert err.getvalue().splitlines()[-1].startswith(f"{len(CASES) + 4} errors")


def test_alias_bomb_is_refused_quickly() -> None:
    started = time.process_time()
    errors = _errors(BAD / "alias_bomb.yaml")
    assert time.process_time() - started < 1.0
    assert "alias/anchor bomb" in errors[0].message


def test_utf8_byte_order_mark_is_accepted() -> None:
    raw = (DATA / "misc" / "bom.yaml").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    book = load_rulebook(DATA / "misc" / "bom.yaml", schema_dir=SCHEMAS)
    assert [v.id for v in book.versions()] == ["with-bom"]


def test_utf8_byte_order_mark_does_not_shift_columns(tmp_path: Path) -> None:
    text = (BAD / "undefined_param_plain.yaml").read_bytes()
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text)
    (err,) = _errors(path)
    assert (err.line, err.column) == (18, 49)


def _base_text() -> str:
    return (DATA / "misc" / "bom.yaml").read_bytes().decode("utf-8-sig")


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_base_text() + "notes: |\n" + ("  " + "x" * 98 + "\n") * 30_000, encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    started = time.process_time()
    (err,) = _errors(path)
    assert time.process_time() - started < 1.0
    assert (err.line, err.column) == (1, 1)
    assert "file too large" in err.message


def test_a_huge_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # sparse: cheap to make, 100 MB to read
    started = time.process_time()
    (err,) = _errors(path)
    assert time.process_time() - started < 1.0
    assert (err.line, err.column) == (1, 1)
    assert err.message.startswith(f"file too large ({100 * 1024 * 1024} bytes")


def test_ten_thousand_nested_brackets_in_a_condition(tmp_path: Path) -> None:
    text = _base_text()
    condition = "reply.at <= request.submitted_at + limit"
    assert condition in text
    path = tmp_path / "deep.yaml"
    path.write_text(text.replace(condition, "(" * 10_000 + "true" + ")" * 10_000), encoding="utf-8")
    (err,) = _errors(path)  # no RecursionError
    assert (err.line, err.column) == (18, 14)
    assert "too long (20004 characters; at most 20000)" in err.message
    assert len(str(err).splitlines()[0]) < 200  # the message does not quote the whole condition

    path.write_text(text.replace(condition, "(" * 5_000 + "true" + ")" * 5_000), encoding="utf-8")
    (err,) = _errors(path)
    assert type(err).__name__ == "PolicySyntaxError"
    assert err.line == 18 and err.column is not None and err.column >= 14
    assert "nested too deeply" in err.message


def test_ten_thousand_nested_brackets_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(_base_text() + "x-deep: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    started = time.process_time()
    (err,) = _errors(path)  # no RecursionError
    # a generous bound (the machine may be shared): the depth cap stops the parser at level 65, so this
    # is milliseconds; without it, ten thousand levels would end in a RecursionError, not a slow answer
    assert time.process_time() - started < 30.0
    # line 20; the root mapping is level 1, so the 64th '[' (column 9 + 63) would be level 65
    assert (err.line, err.column) == (20, 72)
    assert "YAML nested too deeply (at most 64 levels)" in err.message


def test_one_error_is_not_reported_twice_through_its_consequences() -> None:
    """An unknown case kind does not make every name of every condition unknown as well."""
    (err,) = _errors(BAD / "unknown_kind.yaml")
    assert "refnud" in err.message


def test_a_rule_whose_condition_fails_can_still_be_named_by_a_waiver(tmp_path: Path) -> None:
    text = (BAD / "waiver_unknown_rule.yaml").read_text(encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("rules: [r1, r1x]", "rules: [r1]").replace("+ limit", "+ limt"), encoding="utf-8")
    (err,) = _errors(path)
    assert "unknown name 'limt'" in err.message


@pytest.mark.parametrize(("message", "line", "column", "fragment"), [
    ("|\n      late: replied {reply.at},\n      limit {limt} passed", 21, 14, "unknown name 'limt'"),
    ('"late: {reply.at"', 19, 21, "unclosed '{' in message"),  # at the brace
    ('"{{literal}} and {reply.at + 1}"', 19, 32, "cannot add int to datetime"),
])
def test_errors_in_message_placeholders_point_into_the_message(tmp_path: Path, message: str, line: int,
                                                               column: int, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_base_text().replace("    message: late\n", f"    message: {message}\n"), encoding="utf-8")
    (err,) = _errors(path)
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in err.message


def test_version_given_as_a_number_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_base_text().replace('version: "1"', "version: 1"), encoding="utf-8")
    (err,) = _errors(path)
    assert (err.line, err.column) == (5, 12)
    assert err.message == "policy.version: expected string, got a number; write it in quotes"
