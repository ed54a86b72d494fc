"""Every property of the case schemas and of the policy schema carries examples (issue 15 item 5), and every
example is valid for the property it illustrates, formats included (an editor offers them in completion and
shows them on hover, so a wrong one teaches a wrong record).

The walk is tests/test_schema_descriptions.py's: every ``properties`` entry at any depth, ``items`` included,
outside ``if``/``not``. Formats are checked as the engine checks case records (date-time and date); a ``$ref``
in a property resolves against its own schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_schema_descriptions import SCHEMAS, properties

from policy_eval.rulebook.validation import _REFERENCE_FORMATS

WITH_EXAMPLES = [SCHEMAS / "policy.schema.json", *sorted((SCHEMAS / "cases").glob("*.schema.json"))]


def _bad_examples(schema: dict[str, Any]) -> list[tuple[str, Any, list[str]]]:
    root = jsonschema.Draft202012Validator(schema, format_checker=_REFERENCE_FORMATS)
    bad = []
    for pointer, sub in properties(schema):
        for example in sub.get("examples") or []:
            errors = [e.message for e in root.evolve(schema=sub).iter_errors(example)]
            if errors:
                bad.append((pointer, example, errors))
    return bad


def test_the_schemas_are_found() -> None:
    names = {p.name for p in WITH_EXAMPLES}
    assert {"policy.schema.json", "after_sale.schema.json", "appeal.schema.json", "chat.schema.json",
            "shipment.schema.json", "store_metrics.schema.json", "warranty_claim.schema.json"} <= names


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_property_has_examples(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    found = list(properties(schema))
    assert found
    bare = [pointer for pointer, sub in found
            if not isinstance(sub.get("examples"), list) or not sub["examples"]]
    assert bare == [], f"{path.name}: properties without examples"


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_example_is_valid_with_formats(path: Path) -> None:
    assert _bad_examples(json.loads(path.read_text(encoding="utf-8"))) == []


def test_an_invalid_example_is_caught() -> None:
    """The check sees type, enum, pattern, $ref and the date-time / date formats, not only the JSON type."""
    schema = {"$defs": {"day": {"type": "string", "format": "date"}},
              "properties": {
                  "at": {"type": "string", "format": "date-time", "examples": ["2024-03-05T09:00:00+08:00",
                                                                               "2024-03-05 morning"]},
                  "day": {"$ref": "#/$defs/day", "examples": ["2024-02-30"]},
                  "kind": {"enum": ["a", "b"], "examples": ["c"]},
                  "id": {"type": "string", "pattern": "^S-", "examples": ["S-1", "X-1"]},
                  "n": {"type": "integer", "minimum": 0, "examples": [-1]}}}
    bad = [(pointer, example) for pointer, example, _ in _bad_examples(schema)]
    assert bad == [("#/properties/at", "2024-03-05 morning"), ("#/properties/day", "2024-02-30"),
                   ("#/properties/kind", "c"), ("#/properties/id", "X-1"), ("#/properties/n", -1)]
