"""Lint `comment-continues-condition`: `require: X # and Y` is the condition X alone (a usability trial: YAML
makes ` # and Y` a comment, the loader has nothing to say about it on one line, and lint said nothing either).

Each expected place is computed from the text written (policytext.at), and each note that must NOT be reported
(`# 2.1: the window`, `# or later`, ...) is one an analyst writes beside a condition.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from policytext import at, policy, write

from policy_eval.authoring.lint import CHECKS, lint_paths
from policy_eval.resources import bundled_schemas

CHECK = "comment-continues-condition"
PE = Path(sys.executable).parent / "policy-eval"


def _rule(id: str, body: str) -> str:
    return f"  - id: {id}\n    title: R\n    clause: C\n    severity: low\n    message: M\n" + body


CONTINUED = "rules:\n" + _rule("handled", (
    '    when: request.type == "refund_only"  # or request.type == "return_refund"\n'
    "    require: exists(request.merchant_response)  # and request.merchant_response.at <= request.submitted_at + 48h\n"
)) + _rule("window", (
    "    let:\n"
    "      window_end: order.confirmed_at  # + 15d\n"
    "    require: >-\n"
    "      request.submitted_at <= window_end\n"
)) + _rule("over-lines", (
    "    require: request.submitted_at >= order.confirmed_at\n"
    "      and exists(request.withdrawn_at)  #and not exists(request.refund_succeeded_at)\n"
)) + _rule("refund", (
    "    require: exists(request.refund_succeeded_at)\n"
    "    remedies:\n"
    "      - kind: auto_refund\n"
    "        to: buyer\n"
    "        amount: order.paid_amount  # - 10.00 CNY\n"
))

# notes beside a condition: none of them reads as more of it
NOTES = "rules:\n" + _rule("noted", (
    "    let:\n"
    "      window_end: order.confirmed_at + 15d  # 2.1: the window\n"
    "    when: exists(request.submitted_at)  # or later\n"
    "    require: request.submitted_at <= window_end  # not counted on holidays\n"
)) + _rule("quoted", (
    '    when: "request.type == \\"refund_only\\""  # and request.type == "return_refund"\n'
    "    require: exists(request.withdrawn_at)  # and the buyer withdrew it: 2.6\n"
)) + _rule("blocks", (
    "    require: |-\n"
    "      exists(request.withdrawn_at)  # and exists(request.refund_succeeded_at)\n"
)) + _rule("suppressed", (
    f"    # lint: ignore[{CHECK}] kept for the 2024 revision, where the refund counts too\n"
    "    require: exists(request.withdrawn_at)  # or exists(request.refund_succeeded_at)\n"
))


def _found(folder: Path) -> list:
    return [f for f in lint_paths([folder], schema_dir=bundled_schemas()) if f.check == CHECK]


def test_a_comment_that_reads_as_more_of_the_condition_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "policies" / "p.yaml", policy(CONTINUED))
    found = _found(path.parent)
    expected = [at(path, '# or request.type == "return_refund"'), at(path, "# and request.merchant_response.at"),
                at(path, "# + 15d"), at(path, "#and not exists"), at(path, "# - 10.00 CNY")]
    assert [(f.line, f.column) for f in found] == expected
    assert all(f.file == str(path) and f.severity == "warning" for f in found)
    require = found[1].message
    assert require == (
        "this comment is not part of the 'require' condition: YAML ends a value written without quotes at ' #', "
        "so the 'require' condition is only 'exists(request.merchant_response)'. If 'and request.merchant_response.at"
        " <= request.submitted_at + 48h' belongs to it, delete the '#': 'require: exists(request.merchant_response) "
        "and request.merchant_response.at <= request.submitted_at + 48h' (for a long one, 'require: >-' and the "
        "whole of it on the lines below; inside quotes or a block '#' still starts a comment). If it is a note, "
        "put it on a line of its own")
    assert "not part of the 'when' condition" in found[0].message
    assert "not part of the let 'window_end'" in found[2].message
    assert "is only 'request.submitted_at >= order.confirmed_at and exists(request.withdrawn_at)'." in found[3].message
    assert "not part of the 'amount' expression" in found[4].message


def test_notes_beside_a_condition_are_left_alone(tmp_path: Path) -> None:
    path = write(tmp_path / "policies" / "p.yaml", policy(NOTES))
    assert _found(path.parent) == []


def test_the_cli_warns_and_deny_warnings_fails(tmp_path: Path) -> None:
    path = write(tmp_path / "policies" / "p.yaml", policy(CONTINUED))
    proc = subprocess.run([str(PE), "lint", "--deny-warnings", "--format", "json", str(path.parent),
                           "--schemas", str(bundled_schemas())], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    mine = [f for f in json.loads(proc.stdout)["findings"] if f["check"] == CHECK]
    line, column = at(path, "# and request.merchant_response.at")
    assert {"file": str(path), "line": line, "column": column, "severity": "warning"}.items() <= mine[1].items()


def test_the_check_is_listed() -> None:
    assert CHECKS[CHECK].severity == "warning"
    doc = (Path(__file__).resolve().parent.parent / "docs" / "lint.md").read_text(encoding="utf-8")
    assert f"| `{CHECK}` | warning |" in doc
