"""The language server after the outside trial (trial A, items 1 and 8).

Item 1, before: after a clean ``shutdown`` and ``exit`` the server exited with status 1, printing "policy-eval
lsp: internal error: ValueError: I/O operation on closed file. (a bug in policy-eval ...)" and a traceback:
pygls closed ``sys.stdout`` and the CLI's final flush met the closed file. Now the status is the LSP's (0
after ``shutdown``, 1 without it) and stderr stays empty; a command that really closes stdout is still an
internal error (exit 4, one line), without the traceback.

Item 8, before: ``policy-eval.evaluateRule`` answered a missing case file with a raw JSON-RPC error -32603 and a
Python traceback, and an unknown rule id or a case without its reference time with "the rule's policy
version is not in force for this case". Now every failure is an ``{"error": ...}`` result saying what is
wrong, and the case is read and schema-checked as ``eval`` reads and checks a record.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import IO, Any

import pytest
from lspclient import PE, POLICY, ROOT, answer, opened
from lsprotocol import types

from policy_eval.authoring.outline import Document, analyse
from policy_eval.lsp.evaluating import evaluate_rule
from policy_eval.plugin_manager import get_plugin_manager

CASE = ROOT / "examples" / "after_sale_clothing_return_ok.json"  # v2 of after-sales in force
V1_CASE = ROOT / "examples" / "after_sale_v1_unshipped_platform_review.json"  # v1 in force
RULE = "return-refund-eligibility"


# --- item 1: the exit status ----------------------------------------------------------------------------------

def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read(stream: IO[bytes]) -> dict[str, Any]:
    length = 0
    while line := stream.readline().strip():
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length, "the server closed its output"
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def _reply(stream: IO[bytes], rid: int) -> dict[str, Any]:
    while "method" in (message := _read(stream)) or message.get("id") != rid:
        pass  # a notification or a request of the server's
    return message


def _session(shutdown: bool) -> tuple[int, str]:
    """initialize, initialized, (shutdown,) exit over stdio, each answer awaited: (exit status, stderr)."""
    proc = subprocess.Popen([str(PE), "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                 "params": {"processId": None, "rootUri": None, "capabilities": {}}}))
        proc.stdin.flush()
        assert "capabilities" in _reply(proc.stdout, 1)["result"]
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        if shutdown:
            proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}))
            proc.stdin.flush()
            assert _reply(proc.stdout, 2)["result"] is None
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit", "params": None}))
        proc.stdin.flush()
        code = proc.wait(timeout=120)
        return code, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_exit_after_shutdown_is_status_0_and_silent() -> None:
    code, stderr = _session(shutdown=True)
    assert (code, stderr) == (0, "")


def test_exit_without_shutdown_is_status_1_and_silent() -> None:
    code, stderr = _session(shutdown=False)
    assert (code, stderr) == (1, "")


def test_a_command_closing_stdout_is_still_an_internal_error_without_a_traceback(tmp_path: Path) -> None:
    """main()'s last flush on a stdout closed under another command: still reported (exit 4, the one line
    run() writes), not hidden, and no second report as a traceback with exit 1."""
    script = tmp_path / "closes_stdout.py"
    script.write_text(textwrap.dedent("""\
        import sys
        from policy_eval.cli import main
        from policy_eval.cli.commands import completion

        def run(args, out, err, stdin):
            sys.stdout.close()
            return 0

        completion.run = run
        sys.argv = ["policy-eval", "completion", "bash"]
        main()
        """), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "POLICY_EVAL_TRACEBACK"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120, env=env)
    stderr = proc.stderr.decode()
    assert proc.returncode == 4, stderr
    assert stderr == ("policy-eval completion: internal error: ValueError: I/O operation on closed file. "
                      "(a bug in policy-eval; POLICY_EVAL_TRACEBACK=1 shows where)\n")


# --- item 8: evaluateRule's failures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def doc() -> Document:
    return analyse(POLICY, POLICY.read_text(encoding="utf-8"), get_plugin_manager().functions())


def _case(path: Path = CASE) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def test_a_good_case_still_gives_the_verdict(doc: Document) -> None:
    assert evaluate_rule(doc, RULE, str(CASE)) == {
        "case": str(CASE), "rule": f"after-sales/{RULE}", "version": "2", "outcome": "complied", "message": None}
    assert evaluate_rule(doc, RULE, CASE.as_uri())["outcome"] == "complied"  # a file: URI is a path too


def test_a_missing_case_file_is_named(doc: Document, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.json"
    assert evaluate_rule(doc, RULE, str(missing)) == {"case": str(missing), "error": f"no such case file: {missing}"}
    assert evaluate_rule(doc, RULE, str(tmp_path))["error"] == f"cannot read the case file {tmp_path}: Is a directory"


def test_a_case_file_that_is_not_one_json_record_is_located(doc: Document, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "kind": "after_sale",\n  "case_id": "x"\n  "order": {}\n}\n', encoding="utf-8")
    assert evaluate_rule(doc, RULE, str(broken))["error"] == (
        f"the case file {broken} does not hold a case record: $: invalid JSON: Expecting ',' delimiter "
        "(line 4, column 3)")
    twice = tmp_path / "twice.json"  # read as eval reads a record: a duplicate key is refused
    twice.write_text(CASE.read_text(encoding="utf-8").replace('"kind": "after_sale",',
                                                              '"kind": "after_sale", "kind": "chat",'),
                     encoding="utf-8")
    assert 'duplicate key "kind"' in evaluate_rule(doc, RULE, str(twice))["error"]


def test_an_unknown_rule_says_so_with_a_suggestion(doc: Document) -> None:
    out = evaluate_rule(doc, "return-refund-eligibilty", _case())
    assert out["error"].startswith("no rule 'return-refund-eligibilty' in this policy; did you mean "
                                   "'return-refund-eligibility'")
    assert evaluate_rule(doc, "no-such-rule", _case())["error"] == "no rule 'no-such-rule' in this policy"


def test_a_rule_of_another_version_names_the_version_in_force(doc: Document) -> None:
    assert evaluate_rule(doc, "unshipped-auto-refund", _case(V1_CASE))["error"] == (
        "rule 'unshipped-auto-refund' is not in version 1 of after-sales, the version in force for this case "
        "(it is in version 2)")


def test_a_case_the_schema_refuses_is_told_with_its_json_path(doc: Document) -> None:
    case = _case()
    case["request"]["submitted_at"] = 5
    assert evaluate_rule(doc, RULE, case) == {"case": "argument", "error": (
        "the after_sale case schema refuses the case: $.request.submitted_at: 5 is not of type 'string'")}
    assert evaluate_rule(doc, RULE, {"kind": "warranty_claim"})["error"].startswith(
        "the warranty_claim case schema refuses the case: $: 'case_id' is a required property (and ")
    assert evaluate_rule(doc, RULE, [1])["error"] == "the case is refused: $: a case must be a JSON object, got an array"
    chat = _case(ROOT / "examples" / "chat_clean_presale.json")
    assert evaluate_rule(doc, RULE, chat)["error"] == "the case is of kind 'chat'; policy after-sales applies to " \
                                                      "'after_sale' cases"


def test_no_version_in_force_says_when(tmp_path: Path) -> None:
    """(The bundled after-sales versions leave no gap: version 1's start is unstated; a copy dates it.)"""
    folder = tmp_path / "after_sales"
    shutil.copytree(POLICY.parent, folder)
    v1 = folder / "v1.yaml"
    text = v1.read_text(encoding="utf-8")
    assert text.count("  effective_from: unstated ") == 1
    v1.write_text(text.replace("  effective_from: unstated ", "  effective_from: 2019-01-01 "), encoding="utf-8")
    v2 = folder / "v2.yaml"
    dated = analyse(v2, v2.read_text(encoding="utf-8"), get_plugin_manager().functions())
    case = _case()
    case["request"]["submitted_at"] = "2001-01-01T00:00:00+08:00"
    assert evaluate_rule(dated, RULE, case)["error"] == (
        "no version of after-sales is in force at 2001-01-01T00:00:00+08:00")


def test_a_case_without_its_reference_time_says_what_is_missing(tmp_path: Path) -> None:
    """The reference time on an optional field (order.shipped_at): the case fits its schema without it."""
    policy = tmp_path / "shipped.yaml"
    policy.write_text(textwrap.dedent("""\
        policy:
          id: shipped
          title: dated by shipment
          version: "1"
          source: {document: fixture}
          effective_from: 2021-01-01
          applies_to: after_sale
          reference_time: order.shipped_at
        rules:
          - id: has-reason
            title: the request gives a reason
            clause: "1"
            severity: low
            require: exists(request.reason)
            message: request {request.id}
        """), encoding="utf-8")
    shipped = analyse(policy, policy.read_text(encoding="utf-8"), get_plugin_manager().functions())
    case = _case()
    assert evaluate_rule(shipped, "has-reason", copy.deepcopy(case))["outcome"] == "complied"
    del case["order"]["shipped_at"]
    assert evaluate_rule(shipped, "has-reason", case) == {"case": "argument", "error": (
        "the case gives no reference time: `order.shipped_at` is missing (order.shipped_at)")}


async def _commands(missing: str) -> list[Any]:
    async with opened() as (client, doc, _):
        await answer(client.diagnostics.get())
        return [await answer(client.workspace_execute_command_async(types.ExecuteCommandParams(
                    command="policy-eval.evaluateRule", arguments=arguments)))
                for arguments in ([doc.uri, RULE, missing], [doc.uri])]


def test_over_stdio_a_missing_case_file_is_a_result_not_an_internal_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nonexistent.json")
    on_missing, too_few = asyncio.run(_commands(missing))
    assert on_missing == {"case": missing, "error": f"no such case file: {missing}"}
    assert too_few == {"error": "policy-eval.evaluateRule takes the document URI, a rule id and optionally a case "
                                "(an object or a case file's path); got 1 argument"}
