"""Every property of every bundled schema has a description (issue 15 item 5, the output and record schemas).

tests/test_schema_descriptions.py covers the schemas an author edits against (policy, policy test, cases);
before, the result, findings, metric-definition and order-record schemas left 106 properties undescribed,
so an editor or a reader of the JSON output had nothing to show for them. The walk is the same: every
``properties`` entry at any depth, outside ``if``/``not`` (which test a document rather than declare it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
ALL = sorted(SCHEMAS.rglob("*.schema.json"))


def _properties(node: Any, pointer: str = "#") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{pointer}/properties/{name}", sub
        for key, value in node.items():
            if key not in ("if", "not"):
                yield from _properties(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{pointer}/{i}")


def test_every_bundled_schema_is_walked() -> None:
    names = {str(p.relative_to(SCHEMAS)) for p in ALL}
    assert {"result.schema.json", "result-findings.schema.json", "metrics.schema.json",
            "records/order.schema.json", "policy.schema.json"} <= names


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_property_has_a_description(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    found = list(_properties(schema))
    assert found, "a schema without properties is not what this test expects"
    described = {pointer.rsplit("/", 1)[1] for pointer, sub in found
                 if isinstance(sub, dict) and str(sub.get("description", "")).strip()}
    # `"format": true` (a record shape closed by additionalProperties re-admitting a property declared in
    # another branch) is no declaration of its own: it passes if that property is described elsewhere
    bare = [pointer for pointer, sub in found
            if not (sub is True and pointer.rsplit("/", 1)[1] in described)
            and not (isinstance(sub, dict) and str(sub.get("description", "")).strip())]
    assert bare == [], f"{path.name}: properties without a description"


def test_a_description_does_not_change_what_validates() -> None:
    """The descriptions are annotations: a real findings record still validates, a broken one does not."""
    schema = json.loads((SCHEMAS / "result-findings.schema.json").read_text(encoding="utf-8"))
    record = {"format": "findings/1", "case_id": "C-1", "kind": "after_sale", "source": "x.jsonl", "record": 1,
              "rulebook": "sha256:" + "0" * 64, "status": "rejected",
              "error": {"message": "'order' is a required property", "json_path": "$"}}
    jsonschema.validate(record, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "error": {"message": "x", "json_path": "order"}}, schema)
