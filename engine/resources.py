"""Where the bundled policies and schemas live, installed or in a checkout."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["bundled_policies", "bundled_schemas", "bundled_tests", "policy_schema", "result_schema", "load_json"]


def _package_dir(package: str) -> Path:
    return Path(str(resources.files(package)))


def bundled_policies() -> Path:
    """The rulebook shipped with the package (``policies/`` in the repository)."""
    return _package_dir("policy_eval.policies")


def bundled_tests() -> Path:
    """The bundled rulebook's policy tests (golden cases; ``tests/golden/`` in the repository)."""
    return _package_dir("policy_eval.golden")


def bundled_schemas() -> Path:
    return _package_dir("policy_eval.schemas")


@cache
def load_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def policy_schema() -> Any:
    return load_json(str(bundled_schemas() / "policy.schema.json"))


def result_schema() -> Any:
    return load_json(str(bundled_schemas() / "result.schema.json"))
