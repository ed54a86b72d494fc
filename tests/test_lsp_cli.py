"""``policy-eval lsp`` as a command: without the lsp extra, and with ``--plugin`` (issue 15).

Before: without pygls the command ended in "internal error: ModuleNotFoundError ... (a bug in policy-eval
...)", exit 4; and ``--plugin MODULE`` was accepted and ignored, so a policy calling the plugin's function
was diagnosed as calling an unknown function. Now the first prints the install hint (exit 2, as ``serve``
does) and the second loads the plugin before the server starts.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from lspclient import answer, find, opened
from lsprotocol import types

from policy_eval.cli import run

PLUGIN = '''\
from policy_eval.lang.functions import Function
from policy_eval.lang.types import STRING
from policy_eval.plugins.hookspecs import hookimpl


@hookimpl
def policy_eval_functions():
    return [Function("shout", (STRING,), STRING, str.upper, doc="the text in capital letters")]
'''

POLICY = """\
policy:
  id: loud
  title: a policy calling a plugin's function
  version: "1"
  source: {document: fixture}
  effective_from: 2021-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
rules:
  - id: loud-order
    title: the order id is in capitals
    clause: "1"
    severity: low
    require: shout(order.id) == order.id
    message: order {order.id}
"""


def test_without_the_lsp_extra_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "policy_eval.lsp.server" or m.split(".")[0] == "pygls"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` now fails as when it is not installed
    out, err = io.StringIO(), io.StringIO()
    code = run(["lsp"], stdout=out, stderr=err)
    assert code == 2
    assert err.getvalue() == ("policy-eval lsp needs the lsp extra: pip install 'policy-eval[lsp]' "
                              "(pygls, lsprotocol)\n")
    assert out.getvalue() == ""


def test_another_missing_module_is_not_blamed_on_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "policy_eval.lsp.server", raising=False)
    monkeypatch.setitem(sys.modules, "policy_eval.authoring.outline", None)  # a bug, not a missing extra
    err = io.StringIO()
    assert run(["lsp"], stdout=io.StringIO(), stderr=err) == 4
    assert "internal error" in err.getvalue() and "pip install" not in err.getvalue()


async def _session(path: Path, plugin_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with opened(path, args=["--plugin", "shout_plugin"], env={"PYTHONPATH": str(plugin_dir)}) as (
            client, doc, text):
        out["open"] = await answer(client.diagnostics.get())
        line, col = find(text, "shout(")
        out["hover"] = await answer(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=line, character=col + 1))))
        lens = (await answer(client.text_document_code_lens_async(types.CodeLensParams(text_document=doc))))[0]
        case = {"kind": "after_sale", "case_id": "C-1", "order": {"id": "ABC"},  # (a case the schema takes)
                "request": {"id": "R-1", "type": "refund_only", "submitted_at": "2023-01-01T00:00:00+08:00"}}
        out["evaluate"] = await answer(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=lens.command.command, arguments=[*lens.command.arguments, case])))
    return out


@pytest.fixture(scope="module")
def plugin_session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("plugin")
    (root / "shout_plugin.py").write_text(PLUGIN, encoding="utf-8")
    path = root / "loud" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(POLICY, encoding="utf-8")
    return asyncio.run(_session(path, root))


def test_lsp_plugin_makes_the_plugins_functions_known(plugin_session: dict[str, Any]) -> None:
    assert list(plugin_session["open"].diagnostics) == []  # without the plugin: an unknown function
    value = plugin_session["hover"].contents.value
    assert "shout(string) -> string" in value and "the text in capital letters" in value
    assert plugin_session["evaluate"]["outcome"] == "complied"


def test_without_the_plugin_its_function_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(POLICY, encoding="utf-8")
    err = io.StringIO()
    assert run(["check", "-p", str(tmp_path)], stdout=io.StringIO(), stderr=err) == 2
    assert "shout" in err.getvalue()
