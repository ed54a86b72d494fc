"""Schemas for editors: the policy-test schema, `policy-eval schema --write`, and validating bundled files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PE = Path(sys.executable).parent / "policy-eval"


class _Yaml12(yaml.SafeLoader):
    """PyYAML without YAML 1.1's timestamps: unquoted dates stay text, as the schemas say to load them."""


_Yaml12.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", sorted((ROOT / "policies").rglob("*.yaml")), ids=lambda p: p.parent.name + "/" + p.name)
def test_bundled_file_validates_against_the_schema_its_editor_line_names(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema_path = (path.parent / first.split("=", 1)[1].strip()).resolve()
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    data = yaml.load(text, Loader=_Yaml12)  # noqa: S506 - a SafeLoader subclass
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)] == []
    if "policy" in data:
        assert schema_path == ROOT / "schemas" / "policy.schema.json"


def test_the_schema_says_how_to_load_dates() -> None:
    text = (ROOT / "schemas" / "policy-test.schema.json").read_text(encoding="utf-8")
    assert "1.2 core schema" in text


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "golden").glob("*.yaml")), ids=lambda p: p.name)
def test_golden_file_validates_against_the_policy_test_schema(path: Path) -> None:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12)  # noqa: S506
    assert [e.message for e in _validator("policy-test").iter_errors(data)] == []


def test_policy_test_schema_refuses_an_unknown_outcome() -> None:
    bad = {"tests": [{"case": {"kind": "after_sale"}, "expect": {"after-sales/refund-only-window": "passed"}}]}
    assert list(_validator("policy-test").iter_errors(bad))


def test_schema_write_puts_every_schema_in_a_folder(tmp_path: Path) -> None:
    proc = subprocess.run([str(PE), "schema", "--write", str(tmp_path / "schemas")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("policy", "policy-test", "result", "cases/after_sale"):
        written = tmp_path / "schemas" / f"{name}.schema.json"
        assert written.read_bytes() == (ROOT / "schemas" / f"{name}.schema.json").read_bytes()
    # a policy folder outside the repository can now point its editor line at them
    policy = tmp_path / "after_sales" / "v2.yaml"
    policy.parent.mkdir()
    text = (ROOT / "policies" / "after_sales" / "v2.yaml").read_text(encoding="utf-8")
    first = "# yaml-language-server: $schema=../schemas/policy.schema.json"
    policy.write_text(first + "\n" + text.split("\n", 1)[1], encoding="utf-8")
    target = (policy.parent / first.split("=", 1)[1]).resolve()
    assert target.is_file()
    check = subprocess.run([str(PE), "check", str(tmp_path / "after_sales")], capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr


def test_schema_prints_one_and_refuses_an_unknown_name() -> None:
    one = subprocess.run([str(PE), "schema", "policy-test"], capture_output=True, text=True, timeout=300)
    assert one.returncode == 0 and json.loads(one.stdout)["title"].startswith("policy-eval policy-test file")
    bad = subprocess.run([str(PE), "schema", "polcy"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no schema 'polcy'" in bad.stderr


def test_the_policy_schema_says_how_to_load_dates() -> None:
    """yaml.safe_load (YAML 1.1) turns `effective_from: 2021-01-01` into a date, which the schema refuses; the
    schema's description says to load with the 1.2 core schema, under which the same file validates."""
    description = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))["description"]
    assert "1.2 core schema" in description and "dates" in description
    text = (ROOT / "policies" / "after_sales" / "v2.yaml").read_text(encoding="utf-8")
    # (effective_from is a date text or `unstated`: a date object is neither)
    assert any(e.json_path == "$.policy.effective_from" for e in _validator("policy").iter_errors(yaml.safe_load(text)))
    assert [e.message for e in _validator("policy").iter_errors(yaml.load(text, Loader=_Yaml12))] == []  # noqa: S506
