"""Policy files → checked, compiled policy versions.

Input: a policy YAML file (loaded by :mod:`policy_eval.rulebook.yamlload`), the case
types and the function registry. Output: a :class:`PolicyVersion` whose rules
hold compiled conditions, or located errors -- all of them, not just the
first. Every error points into the YAML file, a condition error at its place
inside the condition.

Two passes: the file is validated against ``schemas/policy.schema.json``
(:mod:`.schema`); then every part the schema found well-formed is checked and
compiled (parts with schema errors are skipped, so one mistake is not
reported twice) by :class:`.build.Builder`, one module per section of the
format: :mod:`.params`, :mod:`.rules` (lets, conditions, messages, remedies),
:mod:`.waivers`; :mod:`.versions` checks the versions of one policy together.
:mod:`.model` holds the compiled data, :mod:`.inputs` what a condition reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import Type
from policy_eval.rulebook.errororder import in_order
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.policy.build import Builder
from policy_eval.rulebook.policy.inherit import Layout
from policy_eval.rulebook.policy.inputs import inputs_of
from policy_eval.rulebook.policy.model import (
    SEVERITIES,
    Condition,
    Location,
    ParamInfo,
    PolicyVersion,
    Remedy,
    Rule,
    Template,
    Waiver,
    parse_instant,
)
from policy_eval.rulebook.policy.schema import schema_errors
from policy_eval.rulebook.yamlload import Positions

__all__ = ["Condition", "Template", "Remedy", "Rule", "Waiver", "Location", "ParamInfo", "PolicyVersion", "load_policy_file", "prepare",
           "parse_instant", "inputs_of", "SEVERITIES"]


def prepare(data: Any, positions: Positions) -> tuple[Source, list[PolicyError]]:
    """Validate one document against the policy schema: the document (with the paths the schema found
    broken, which the builder skips) and the schema's errors."""
    found = schema_errors(data, positions)
    return Source(data, positions, [p for p, _ in found]), [e for _, e in found]


def load_policy_file(path: Path | str, data: Any, positions: Positions, case_types: Mapping[str, Type],
                     functions: FunctionRegistry, *, prepared: tuple[Source, list[PolicyError]] | None = None,
                     layout: Layout | None = None, overlay: Mapping[str, Entry] | None = None,
                     max_cost: int | None = DEFAULT_CEILING) -> PolicyVersion:
    """Validate and compile one loaded policy document; raise ErrorList with every error found.

    ``layout``: for a revision, its parts resolved against the version it revises; ``overlay``: the
    deployment's values for the policy's parameters.
    """
    if not isinstance(data, dict):
        raise PolicyLoadError("a policy file must be a YAML mapping with 'policy:' and 'rules:'",
                              file=str(path), line=1, column=1)
    src, found = prepared if prepared is not None else prepare(data, positions)
    builder = Builder(data, positions, case_types, functions, broken=src.broken, layout=layout, overlay=overlay,
                      max_cost=max_cost)
    version = builder.build()
    errors = list(found) + builder.errors
    if errors or version is None:
        raise ErrorList(in_order(errors, [positions.file]) or [PolicyLoadError("policy could not be built",
                                                                                 file=str(path))])
    return version
