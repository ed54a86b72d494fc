"""Every property of the schemas an author edits against has a description (an editor shows it on hover and
in completion), and every example given validates against the property it illustrates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
# The schemas policy authors write against: policy files, policy-test files and the case records their
# conditions read. (result*.schema.json describe the engine's output, not something an author edits.)
AUTHORED = [SCHEMAS / "policy.schema.json", SCHEMAS / "policy-test.schema.json",
            *sorted((SCHEMAS / "cases").glob("*.schema.json"))]
_CONDITIONS = {"if", "not"}  # subschemas that test a document, not properties an editor shows


def properties(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON pointer, subschema) of every property declared anywhere in ``node``."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield f"{pointer}/properties/{name}", sub
        for key, value in node.items():
            if key not in _CONDITIONS:
                yield from properties(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from properties(value, f"{pointer}/{i}")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_walk_finds_properties_at_every_depth() -> None:
    schema = {"properties": {"a": {"description": "x", "properties": {"b": {}}},
                             "c": {"items": {"properties": {"d": {}}}}},
              "if": {"properties": {"a": {"required": ["b"]}}}}
    found = [p for p, _ in properties(schema)]
    assert sorted(found) == ["#/properties/a", "#/properties/a/properties/b", "#/properties/c",
                             "#/properties/c/items/properties/d"]


@pytest.mark.parametrize("path", AUTHORED, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_property_has_a_description(path: Path) -> None:
    schema = _load(path)
    bare = [p for p, sub in properties(schema) if not str(sub.get("description") or "").strip()]
    assert bare == [], f"{path.name}: properties without a description: {bare}"


@pytest.mark.parametrize("path", AUTHORED, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_example_is_valid_for_its_property(path: Path) -> None:
    schema = _load(path)
    root = jsonschema.Draft202012Validator(schema)
    bad = []
    for pointer, sub in properties(schema):
        for example in sub.get("examples", []):
            errors = [e.message for e in root.evolve(schema=sub).iter_errors(example)]
            if errors:
                bad.append((pointer, example, errors))
    assert bad == []


def test_the_authored_schemas_are_found() -> None:
    names = {p.name for p in AUTHORED}
    assert {"policy.schema.json", "policy-test.schema.json", "after_sale.schema.json", "chat.schema.json"} <= names
