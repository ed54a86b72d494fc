"""Full detail's quiet verdicts, made from constants: most of what a complied verdict says is its rule's.

In full detail (``eval --detail full``, the web workbench, ``policy-eval test``) every rule of every case
gets a verdict. A complied or not-applicable verdict of a rule without dependencies, on a case the version's
fused function decided (run.kernel), and not explained, says only constants of its rule (id, title, clause,
severity, the fixed reason, its deployment parameters when none is dated) plus the case's reference time and
the inputs it read. For each such rule and outcome a :class:`PresetResult` class is
made once, holding the constants and a ready record; a verdict is then that class with two fields set, the
same verdict the general path (``Evaluator._judge`` then ``compose.finish``) builds, field for field
(tests/test_presets.py compares them on the golden corpus). Every other verdict goes the general path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.result import FIELDS, Outcome, RuleResult, _MadeResult

__all__ = ["presets", "PresetResult"]

_ORJSON = orjson.dumps
_ORJSON_ERROR = orjson.JSONEncodeError
# Where a preset verdict's reference time goes in its class's JSON (PresetResult.of). Only a whole JSON string
# equal to it matches; a template holding such a string elsewhere too (a policy's YAML can write "\0") splits in
# three and is not used: that class's records are written from the dict (tests/test_presets.py).
_SENTINEL = "\x00policy-eval reference time\x00"


class PresetResult(_MadeResult):
    """A complied or not-applicable verdict of full detail whose every field but the reference time and the
    inputs is a constant of its rule: the class made by :meth:`of` for that rule and outcome holds them, and
    the record (:meth:`to_dict`) is a copy of one made in advance. Made by :func:`presets`."""

    __slots__ = ()
    _template: dict[str, Any] = {}
    # (_head and _tail: the template's JSON before and after the reference time's value; None: from the dict)

    @classmethod
    def of(cls, constants: dict[str, Any]) -> type[PresetResult]:
        """The class of one rule's verdicts with one outcome: ``constants`` holds every field but
        ``reference_time`` and ``inputs``."""
        if set(constants) != set(FIELDS) - {"reference_time", "inputs"}:
            raise ValueError(f"a preset verdict needs every field but reference_time and inputs: {sorted(constants)}")
        template = RuleResult(**constants, reference_time="").to_dict(with_inputs=False)
        extra: dict[str, Any] = {"_template": template, "__init__": object.__init__}  # (run.presetcode calls it bare)
        try:
            parts = _ORJSON({**template, "reference_time": _SENTINEL}).split(_ORJSON(_SENTINEL))
        except _ORJSON_ERROR:  # (a lone surrogate in a policy's text): its records are written from the dict
            parts = []
        if len(parts) == 2:  # (the sentinel once: a policy's text cannot fake it, or it is not split)
            extra["_head"], extra["_tail"] = parts
        made: type[PresetResult] = cls._made(constants, extra)
        return made

    def json_bytes(self) -> bytes:
        """:meth:`RuleResult.json_bytes` from the class's JSON around its reference time's (``run.result._written``, inline)."""
        head = self._head
        if head is None:
            return RuleResult.json_bytes(self)
        data: bytes = _ORJSON(self.reference_time).join((head, self._tail))
        return data

    def to_dict(self, *, with_inputs: bool = True) -> dict[str, Any]:
        if with_inputs and self.inputs:
            return RuleResult.to_dict(self, with_inputs=True)
        out = self._template.copy()
        out["reference_time"] = self.reference_time
        return out


_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE


def presets(versions: Iterable[PolicyVersion], reasons: dict[int, dict[Outcome, str]],
            deployed: dict[int, dict[str, dict[str, Any]]], explained: frozenset[Outcome], dated: Any
            ) -> dict[int, dict[Outcome, type[PresetResult]]]:
    """Per rule (by id) that can have them, the preset classes of its quiet outcomes that are not explained.

    ``reasons``: each rule's complied and not-applicable reasons; ``deployed``: each rule's recorded
    deployment parameters (run.compose.deployed); ``dated``: whether one of those has a dated value
    (then the value depends on the case's reference time, and the rule is left to the general path)."""
    out: dict[int, dict[Outcome, type[PresetResult]]] = {}
    for v in versions:
        if v.waivers:
            continue
        for r in v.rules:
            params = deployed.get(id(r))
            if r.depends_on or (params and dated(params)):
                continue
            kinds = {o: _kind(v, r, o, reasons[id(r)][o], params) for o in (_COMPLIED, _NOT_APPLICABLE)
                     if o not in explained}
            if kinds:
                out[id(r)] = kinds
    return out


def _kind(version: PolicyVersion, rule: Rule, outcome: Outcome, reason: str,
          params: dict[str, dict[str, Any]] | None) -> type[PresetResult]:
    return PresetResult.of({
        "policy": version.id, "version": version.version, "rule": rule.id, "title": rule.title,
        "clause": rule.clause, "outcome": outcome, "severity": rule.severity, "reason": reason, "message": None,
        "remedies": (), "missing": (), "explanation": (), "waiver": None, "error": None, "depends": None,
        "params": params or None, "comply": ()})
