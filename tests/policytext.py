"""Policy files for tests: a policy's text from its parts, written to a folder and loaded with the bundled
case schemas.

Tests that need a small policy of their own build it here instead of each keeping a copy of the header:

    text = policy(BODY)                                      # the after_sale ``demo`` header + BODY
    text = policy(rules_text(rule("r1", "len(messages) > 0", let=[("n", "len(messages)")])), **CHAT,
                  id="lets", document="tests/test_x.py")
    folder = write(tmp_path / "policies" / "p.yaml", text).parent
    book = load(folder)

``header`` writes the ``policy:`` block; ``rule`` one rule with the fields every rule must have (the
condition JSON-quoted, so any condition text is one YAML scalar); ``write`` creates the folders and
dedents. The texts are plain strings so a test can still ``replace`` a line to make the error it checks.
``errors`` loads a folder that must fail and returns its errors; ``at`` finds where a text stands in a file
(1-based line and column), so that a test computes the position it expects from the text it wrote.
``RESPONSE_TIME`` is the one rule with a deployment parameter that several tests share, and
``after_sale_case`` the minimal after_sale record their rules read.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.expression import default_functions
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_rulebook

__all__ = ["CHAT", "RESPONSE_TIME", "header", "policy", "rule", "rules_text", "write", "load", "errors", "at",
           "after_sale_case"]

# the header fields of a chat policy (the defaults are an after_sale one)
CHAT = {"applies_to": "chat", "reference_time": "messages[0].sent_at"}

# a rule whose limit the source text does not set: a deployment parameter (issue 19)
RESPONSE_TIME = """\
params:
  response_limit:
    type: duration
    clause: "demo 4 (响应时间符合平台规定的标准: the text sets no number)"
rules:
  - id: response-time
    title: the merchant answers within the platform's limit
    clause: demo 4
    severity: medium
    when: exists(request.merchant_response)
    require: request.merchant_response.at <= request.submitted_at + response_limit
    message: answered late
"""


def header(*, id: str = "demo", title: str | None = None, version: str = "1", document: str | None = None,
           effective_from: str = "2020-01-01", applies_to: str = "after_sale",
           reference_time: str = "request.submitted_at") -> str:
    """The ``policy:`` block (9 lines); title and source document default to the id."""
    return (f"policy:\n  id: {id}\n  title: {title or id}\n  version: \"{version}\"\n"
            f"  source: {{document: {document or id}}}\n  effective_from: {effective_from}\n"
            f"  applies_to: {applies_to}\n  reference_time: {reference_time}\n")


def policy(body: str = "", **head: Any) -> str:
    """A whole policy file: ``header(**head)`` followed by ``body`` (dedented)."""
    return header(**head) + textwrap.dedent(body)


def rule(id: str, require: str, *, let: Iterable[tuple[str, str]] | Mapping[str, str] = (), when: str | None = None,
         depends_on: str | None = None, title: str = "R", clause: str = "C", severity: str = "low",
         message: str = "M") -> str:
    """One item of ``rules:``: id, title, clause, severity, message, then ``let:``, ``depends_on`` (its YAML
    text, e.g. ``{a: complied}``), ``when`` and ``require`` (expressions JSON-quoted)."""
    pairs = list(let.items()) if isinstance(let, Mapping) else list(let)
    text = (f"  - id: {id}\n    title: {title}\n    clause: {clause}\n    severity: {severity}\n"
            f"    message: {message}\n")
    if pairs:
        text += "    let:\n" + "".join(f"      {name}: {json.dumps(expr)}\n" for name, expr in pairs)
    if depends_on is not None:
        text += f"    depends_on: {depends_on}\n"
    if when is not None:
        text += f"    when: {json.dumps(when)}\n"
    return text + f"    require: {json.dumps(require)}\n"


def rules_text(*rules: str) -> str:
    return "rules:\n" + "".join(rules)


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, creating its folders; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(folder: Path, **kw: Any) -> Any:
    """The rulebook of ``folder`` with the bundled case schemas and the core functions (no plugins)."""
    kw.setdefault("schema_dir", bundled_schemas())
    kw.setdefault("functions", default_functions())
    return load_rulebook(folder, **kw)


def errors(folder: Path, **kw: Any) -> list[PolicyError]:
    """The errors of loading ``folder`` (:func:`load`), which must fail."""
    with pytest.raises(ErrorList) as info:
        load(folder, **kw)
    return list(info.value.errors)


def at(path: Path, text: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th line holding ``text``, at ``text``."""
    found = [(i, line.index(text) + 1) for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if text in line]
    return found[occurrence - 1]


def after_sale_case(**request: Any) -> dict[str, Any]:
    """A refund-only request R1 on order O1 (confirmed 2024-02-20, submitted 2024-03-01 10:00, snapshot
    2024-03-20, all +08:00); ``request`` adds or replaces request fields."""
    req = {"id": "R1", "type": "refund_only", "submitted_at": "2024-03-01T10:00:00+08:00", **request}
    return {"kind": "after_sale", "case_id": "C1", "snapshot_at": "2024-03-20T00:00:00+08:00",
            "order": {"id": "O1", "confirmed_at": "2024-02-20T10:00:00+08:00"}, "request": req}


# An unshipped refund-only request past the promised shipping time: after-sales 2.3 violated, an automatic refund.
UNSHIPPED = {"kind": "after_sale", "case_id": "C-1", "order": {
    "id": "O-1", "store_id": "S-1", "goods_title": "保温杯", "category": "家居日用",
    "group_success_at": "2023-10-19T23:04:56+08:00", "confirmed_at": "2023-10-19T23:04:56+08:00",
    "promised_ship_by": "2023-10-21T23:04:56+08:00", "promised_after_sale_days": 7, "paid_amount": "19.90"},
    "request": {"id": "R-1", "type": "refund_only", "reason": "不想要了", "submitted_at": "2023-10-20T19:32:41+08:00",
                "status": "refunding"}, "snapshot_at": "2023-10-22T08:23:47+08:00"}
