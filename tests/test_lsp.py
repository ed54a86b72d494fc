"""The language server driven by a real LSP client over stdio (``policy-eval lsp`` in a subprocess).

The session: open a policy, type a misspelt field, receive the diagnostic at the right line and column
with the suggestion, hover a parameter, complete a field; then definition, symbols, code lens, command.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lspclient import answer, find, opened, replace_text
from lsprotocol import types


async def _session(tmp_path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with opened() as (client, doc, text):
        out["open"] = await answer(client.diagnostics.get())

        # type a misspelt field: order.shipped_at -> order.shiped_at in the first rule's let
        line, col = find(text, "order.shipped_at", after="shipped_before_submission:")
        edited = text.split("\n")
        edited[line] = edited[line][:col] + "order.shiped_at" + edited[line][col + len("order.shipped_at"):]
        replace_text(client, doc, 2, "\n".join(edited))
        out["typo"] = await answer(client.diagnostics.get())
        out["typo_at"] = (line, col)
        # a typo on a continuation line of a folded (>-) multi-line condition
        line2, col2 = find(text, "order.promised_ship_by", after="id: merchant-verification-cooperation")
        edited2 = text.split("\n")
        edited2[line2] = edited2[line2].replace("order.promised_ship_by", "order.promised_ship_bye", 1)
        replace_text(client, doc, 2, "\n".join(edited2))
        out["typo2"] = await answer(client.diagnostics.get())
        out["typo2_at"] = (line2, col2)
        replace_text(client, doc, 3, text)
        out["fixed"] = await answer(client.diagnostics.get())

        pl, pc = find(text, "receipt_window", after="receipt_end:")
        out["param_use"] = (pl, pc)
        out["hover_param"] = await answer(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=pl, character=pc + 3))))
        fl, fc = find(text, "order.received_at", after="receipt_end:")
        out["hover_field"] = await answer(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=fl, character=fc + 8))))
        out["definition"] = await answer(client.text_document_definition_async(types.DefinitionParams(
            text_document=doc, position=types.Position(line=pl, character=pc + 3))))
        out["param_def"] = find(text, "  receipt_window:")
        # complete a field: "order." typed at the end of a condition line
        typed = text.split("\n")
        cl, _ = find(text, "order.received_at + receipt_window", after="receipt_end:")
        typed[cl] = typed[cl] + " and order."
        replace_text(client, doc, 4, "\n".join(typed))
        await answer(client.diagnostics.get())
        out["complete_field"] = await answer(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=cl, character=len(typed[cl])))))
        el, ec = find(text, 'request.type == "return_refund"')
        typed2 = list(typed)
        typed2[el] = typed2[el][:ec] + 'request.type == "'
        replace_text(client, doc, 5, "\n".join(typed2))
        await answer(client.diagnostics.get())
        out["complete_enum"] = await answer(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=el, character=len(typed2[el])))))
        replace_text(client, doc, 6, text)
        await answer(client.diagnostics.get())
        out["symbols"] = await answer(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc)))
        out["lenses"] = await answer(client.text_document_code_lens_async(types.CodeLensParams(text_document=doc)))
        lens = next(x for x in out["lenses"] if x.command.arguments[1] == "return-refund-eligibility")
        out["evaluate"] = await answer(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=lens.command.command, arguments=lens.command.arguments)))
        out["text"] = text
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(_session(tmp_path_factory.mktemp("lsp")))


def test_bundled_policy_opens_without_diagnostics(session: dict[str, Any]) -> None:
    assert list(session["open"].diagnostics) == []


def test_misspelt_field_is_diagnosed_at_its_place_with_the_suggestion(session: dict[str, Any]) -> None:
    [d] = session["typo"].diagnostics
    line, col = session["typo_at"]
    # the unknown field name itself: "shiped_at" after "order."
    assert (d.range.start.line, d.range.start.character) == (line, col + len("order."))
    assert (d.range.end.line, d.range.end.character) == (line, col + len("order.shiped_at"))
    assert "shiped_at" in d.message and "did you mean 'shipped_at'?" in d.message
    assert d.severity == types.DiagnosticSeverity.Error
    assert list(session["fixed"].diagnostics) == []  # and it goes away when fixed


def test_position_is_exact_inside_a_multi_line_condition(session: dict[str, Any]) -> None:
    [d] = session["typo2"].diagnostics
    line, col = session["typo2_at"]
    assert (d.range.start.line, d.range.start.character) == (line, col + len("order."))
    assert "did you mean 'promised_ship_by'?" in d.message


def test_hover_parameter_shows_value_and_clause(session: dict[str, Any]) -> None:
    value = session["hover_param"].contents.value
    assert "receipt_window" in value and "15d" in value and "售后服务规则 2.1" in value


def test_hover_case_field_shows_type_and_schema_description(session: dict[str, Any]) -> None:
    value = session["hover_field"].contents.value
    assert "order.received_at" in value and "datetime" in value and "确认收货" in value


def test_definition_of_a_parameter(session: dict[str, Any]) -> None:
    loc = session["definition"]
    loc = loc[0] if isinstance(loc, list) else loc
    assert (loc.range.start.line, loc.range.start.character) == (session["param_def"][0], 2)


def test_completion_of_a_field_after_the_dot(session: dict[str, Any]) -> None:
    labels = {i.label for i in session["complete_field"].items}
    assert {"received_at", "shipped_at", "category", "promised_after_sale_days"} <= labels
    assert "refund_only" not in labels


def test_completion_of_enum_values(session: dict[str, Any]) -> None:
    labels = {i.label for i in session["complete_enum"].items}
    assert labels == {"refund_only", "return_refund"}


def test_document_symbols_list_policy_parameters_and_rules(session: dict[str, Any]) -> None:
    names = [s.name for s in session["symbols"]]
    assert names[0] == "after-sales v2"
    assert "receipt_window" in names and "refund-only-window" in names
    rule = next(s for s in session["symbols"] if s.name == "return-refund-eligibility")
    assert [c.name for c in rule.children] == []  # its tests are the policy's shared definitions now


def test_code_lens_evaluates_the_rule_on_an_example_case(session: dict[str, Any]) -> None:
    # the first after_sale case in examples/: a car (a special good) is outside the return-and-refund flow
    result = session["evaluate"]
    assert result["rule"] == "after-sales/return-refund-eligibility"
    assert Path(result["case"]).name == "after_sale_car_return_refund.json"
    assert result["version"] == "2" and result["outcome"] == "violated"
    assert "AS-221117-00315" in result["message"] and "汽车" in result["message"]
