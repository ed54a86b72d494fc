"""Verdicts: the four outcomes and the result records, with their two JSON shapes.

* findings (the batch default, ``schemas/result-findings.schema.json``, format ``findings/1``): per case its
  id and kind, the versions applied, each violated, undetermined or waived verdict (rule, clause, message,
  remedies with amounts, missing paths) and the counts of every outcome. Titles and severities, constant
  per rule, are the rulebook's (``policy-eval rules --format json``), not repeated in every record.
* full (``--detail full``, ``schemas/result.schema.json``, format ``1``): every verdict of every rule, with
  the inputs read and, when asked for, explanations.

Both are stable: other tools consume them. JSON text is written by orjson (compact, UTF-8, exact: every
number the results carry is already a string), with the standard library as the fallback for what orjson
refuses (lone surrogates read from a case, integers beyond 64 bits); the bytes are the same either way
(:func:`dumps`, from :mod:`policy_eval.run.jsontext`).
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import orjson

from policy_eval.run.jsontext import dumps
from policy_eval.run.later import Later, Made, recorded

__all__ = ["Outcome", "RuleResult", "LazyResult", "CaseResult", "RESULT_FORMAT_VERSION", "FINDINGS_FORMAT_VERSION", "dumps"]

RESULT_FORMAT_VERSION = "1"
FINDINGS_FORMAT_VERSION = "findings/1"

_ORJSON = orjson.dumps
_ORJSON_ERROR = orjson.JSONEncodeError


class Outcome(enum.StrEnum):
    """The four outcomes of a rule on a case (a waived rule is ``not_applicable`` with its waiver)."""

    COMPLIED = "complied"
    VIOLATED = "violated"
    NOT_APPLICABLE = "not_applicable"
    UNDETERMINED = "undetermined"


@dataclass(slots=True, eq=False)
class RuleResult:
    """The verdict of one rule (or of a whole policy, when ``rule`` is None) on one case.

    Treat it as immutable. (Not a frozen dataclass: a batch builds tens of millions of these, and a
    frozen dataclass's ``__init__`` costs several times more.) Two verdicts are equal when every field
    is, whichever class built them (see :class:`LazyResult`).
    """

    policy: str
    version: str | None
    rule: str | None
    title: str
    clause: str | None
    outcome: Outcome
    severity: str
    reason: str
    message: str | None = None
    remedies: tuple[dict[str, Any], ...] = ()
    missing: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    explanation: Sequence[dict[str, Any]] = ()
    waiver: dict[str, Any] | None = None
    error: str | None = None
    reference_time: str | None = None
    depends: dict[str, str] | None = None  # rule it depends on → that rule's outcome (before any waiver)
    params: dict[str, dict[str, Any]] | None = None  # deployment parameter → {"value", "source"}
    comply: tuple[dict[str, Any], ...] = ()  # what would decide it otherwise (eval --explain; run.due.comply)
    _head: ClassVar[bytes | None] = None  # (a PresetResult's: its class's JSON before the reference time's)
    _tail: ClassVar[bytes] = b""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleResult):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable by construction, as before

    @property
    def full_id(self) -> str:
        return f"{self.policy}/{self.rule}" if self.rule else self.policy

    def finding(self) -> dict[str, Any]:
        """This verdict as a findings record lists it (rule-constant title and severity left out)."""
        outcome = self.outcome
        if outcome is _VIOLATED and not self.missing and self.waiver is None and self.error is None \
                and not self.depends and not self.params:  # (most findings: the same dict, in one step)
            rule, message = self.rule, self.message
            found: dict[str, Any] = {"rule": f"{self.policy}/{rule}" if rule else self.policy, "outcome": "violated",
                                     "clause": self.clause, "message": message if message is not None else self.reason}
            if self.remedies:
                found["remedies"] = list(self.remedies)
            return found
        # (``_value_`` is the member's own attribute, ``value`` a property)
        out: dict[str, Any] = {"rule": self.full_id, "outcome": outcome._value_, "clause": self.clause}
        if outcome is _VIOLATED:
            out["message"] = self.message if self.message is not None else self.reason
            if self.remedies:
                out["remedies"] = list(self.remedies)
        else:
            out["reason"] = self.reason
        if self.missing:
            out["missing"] = list(self.missing)
        return self._context(out)

    def _context(self, out: dict[str, Any]) -> dict[str, Any]:
        """What both shapes record beside the outcome: waiver, error, dependencies, deployment parameters."""
        if self.waiver is not None:
            out["waiver"] = self.waiver
        if self.error is not None:
            out["error"] = self.error
        if self.depends:
            out["depends"] = self.depends
        if self.params:
            out["params"] = self.params
        return out

    def json_bytes(self) -> bytes:
        """This verdict as a full record's ``results`` list writes it: orjson's bytes of :meth:`to_dict` without
        inputs (a :class:`PresetResult`: made from its class's). Raises ``orjson.JSONEncodeError`` for what orjson
        refuses (the record is then written by the standard library: :meth:`CaseResult.to_json_bytes`)."""
        data: bytes = _ORJSON(self.to_dict(with_inputs=False), default=str)
        return data

    def to_dict(self, *, with_inputs: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.policy, "version": self.version, "rule": self.rule, "id": self.full_id,
            "title": self.title, "clause": self.clause, "outcome": self.outcome.value,
            "severity": self.severity, "reason": self.reason, "reference_time": self.reference_time,
        }
        if self.message is not None:
            out["message"] = self.message
        if self.remedies:
            out["remedies"] = list(self.remedies)
        if self.missing:
            out["missing"] = list(self.missing)
        # an explanation not asked for (Later) is left out: the record must not depend on who read what
        explained = bool(self.explanation) if type(self.explanation) is not Later else False
        if (with_inputs or explained) and self.inputs:  # (not made when not written: run.later.OwnInputs)
            out["inputs"] = dict(self.inputs)
        if explained:
            out["explanation"] = list(self.explanation)
        self._context(out)
        if self.comply:
            out["comply"] = list(self.comply)
        return out


FIELDS = tuple(f.name for f in fields(RuleResult))  # (not its class variables)
_COMPLIED, _VIOLATED = Outcome.COMPLIED, Outcome.VIOLATED
_NOT_APPLICABLE, _UNDETERMINED = Outcome.NOT_APPLICABLE, Outcome.UNDETERMINED
_LAZY = frozenset(FIELDS)
_FIELD_VALUES = operator.attrgetter(*FIELDS)
_INPUTS, _EXPLANATION = FIELDS.index("inputs"), FIELDS.index("explanation")
_MADE_COPY = Made.copy  # (a recorded-inputs mapping's own copy: run.later; an ABC's isinstance is a Python call)


class _MadeResult(RuleResult):  # (also run.presets.PresetResult)
    """A verdict of a class made for one rule and outcome, the rule's constants being the class's own: it
    prints, travels to another process, and is copied with changes (``dataclasses.replace`` calls its
    ``__class__``: a made class takes no fields) as the plain :class:`RuleResult` it stands for. ``type()`` and
    ``isinstance`` still see the made class."""

    __slots__ = ()

    @classmethod
    def _made(cls, constants: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        unknown = set(constants) - set(FIELDS)
        if unknown:
            raise ValueError(f"not verdict fields: {sorted(unknown)}")
        return type(cls.__name__, (cls,), {"__slots__": (), "__module__": cls.__module__, **(extra or {}),
                                           **constants})

    def __reduce__(self) -> Any:
        """The plain verdict, inputs and explanation computed (the fields read by one C call, and recorded inputs
        copied as the dict they are made into: ``dict()`` of a mapping asks for each key in Python)."""
        values = list(_FIELD_VALUES(self))
        inputs = values[_INPUTS]
        kind = type(inputs)
        values[_INPUTS] = inputs.copy() if kind is dict or getattr(kind, "copy", None) is _MADE_COPY else dict(inputs)
        values[_EXPLANATION] = tuple(values[_EXPLANATION])
        return RuleResult, tuple(values)

    def __repr__(self) -> str:
        return "RuleResult(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in FIELDS) + ")"

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: N802 - (see the class)
        return RuleResult


class LazyResult(_MadeResult):
    """A verdict of the embedding API (``Rulebook.evaluate``) built with only what every caller reads.

    Made by :meth:`of` for one rule and outcome: its policy, version, rule, title, clause, severity, outcome, waiver
    (none: a version with waivers is not judged this way) and, where it is constant, its reason are the made class's
    own (constants of the rulebook, not copied into every verdict); the reference time is set on each. Every other
    field (message, remedies, inputs, explanation...) is filled on first read, all at once, from the verdict the
    general path builds for the same rule, case and outcome (``_fill``: a tuple, a function first, called with the
    tuple and this verdict), so a read gives what an eager evaluation gives, provided the case was not changed in
    between. Most callers read outcomes only.
    """

    __slots__ = ("_fill",)
    _fill: tuple[Any, ...] | None

    @classmethod
    def of(cls, constants: dict[str, Any]) -> type[LazyResult]:
        """The class of one rule's lazy verdicts with one outcome: ``constants`` maps fields to values. (Its
        verdicts are made by calling it bare: object's own ``__init__``, at C speed.)"""
        made: type[LazyResult] = cls._made(constants, {"__init__": object.__init__})
        return made

    def __getattr__(self, name: str) -> Any:  # only reached for a field not set yet
        if name not in _LAZY:
            raise AttributeError(name)
        fill = object.__getattribute__(self, "_fill")
        if fill is not None:  # (None: another thread filled it meanwhile)
            full = fill[0](fill, self)
            for f in FIELDS:
                try:
                    object.__getattribute__(self, f)
                except AttributeError:
                    setattr(self, f, getattr(full, f))
            self._fill = None  # every field set: the case and environment it held are no longer needed
        return object.__getattribute__(self, name)


def _written(verdicts: Sequence[RuleResult]) -> bytes:
    """The JSON list of the verdicts' :meth:`RuleResult.json_bytes`, joined once (a preset verdict's made here)."""
    parts: list[bytes] = [b"["]  # (each verdict's pieces and a comma, joined once: no verdict's bytes made alone)
    ref: Any = None
    ref_json = b""
    for verdict in verdicts:
        head = verdict._head
        if head is None:
            parts += (verdict.json_bytes(), b",")
            continue
        if verdict.reference_time is not ref:
            ref = verdict.reference_time
            ref_json = _ORJSON(ref)
        parts += (head, ref_json, verdict._tail, b",")
    if len(parts) == 1:
        return b"[]"
    parts[-1] = b"]"  # (the last comma)
    return b"".join(parts)


def tally_of(verdicts: Iterable[RuleResult], complied: int = 0, not_applicable: int = 0) -> tuple[int, int, int, int]:
    """``verdicts`` by outcome, (complied, violated, not applicable, undetermined), beside those counted already."""
    violated = undetermined = 0
    for r in verdicts:  # (commonest first: in full detail most verdicts say a rule does not apply)
        outcome = r.outcome
        if outcome is _NOT_APPLICABLE:
            not_applicable += 1
        elif outcome is _COMPLIED:
            complied += 1
        elif outcome is _VIOLATED:
            violated += 1
        elif outcome is _UNDETERMINED:
            undetermined += 1
        else:
            raise ValueError(f"not an outcome: {outcome!r}")
    return complied, violated, not_applicable, undetermined


@dataclass(slots=True)
class CaseResult:
    """Every verdict on one case, or the error that kept the case from being evaluated. Treat it as immutable
    (not a frozen dataclass: its ``__init__`` cost 4 µs, a sixth of an API call)."""

    case_id: str | None
    kind: str | None
    source: str | None
    record: int | None
    results: tuple[RuleResult, ...] = ()
    rulebook: str = ""
    as_of: str | None = None
    error: dict[str, Any] | None = None
    # (policy, version applied or None when no version could be picked), in evaluation order
    versions: tuple[tuple[str, str | None], ...] = ()
    # findings detail: (complied, not_applicable) verdicts counted but not kept in ``results``
    quiet: tuple[int, int] | None = None
    _tally: tuple[int, int, int, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def violated(self) -> list[RuleResult]:
        return [r for r in self.results if r.outcome is Outcome.VIOLATED]

    @property
    def is_findings(self) -> bool:
        """True when ``results`` holds only the findings (see ``quiet``), False for every verdict."""
        return self.quiet is not None

    def counts(self) -> dict[str, int]:
        complied, violated, not_applicable, undetermined = self.tally()
        return {"complied": complied, "violated": violated, "not_applicable": not_applicable,
                "undetermined": undetermined}

    def tally(self) -> tuple[int, int, int, int]:
        """The verdicts by outcome: (complied, violated, not applicable, undetermined), counted ones included;
        kept (the record's summary and the run's totals, run.blocks.count, both take it)."""
        if self._tally is not None:
            return self._tally
        self._tally = made = tally_of(self.results, *(self.quiet or (0, 0)))
        return made

    def to_findings(self) -> dict[str, Any]:
        """The findings shape (schemas/result-findings.schema.json); works on a full result too."""
        if self.error is None and self.as_of is None:  # (a batch's records: the same dict, in one step)
            complied, violated, not_applicable, undetermined = self._tally or self.tally()
            found: list[dict[str, Any]] = []
            for r in self.results:  # (a loop, not a list comprehension: a Python 3.11 call less a record)
                if (o := r.outcome) is _VIOLATED or o is _UNDETERMINED or r.waiver is not None:
                    found.append(r.finding())
            return {"format": FINDINGS_FORMAT_VERSION, "case_id": self.case_id, "kind": self.kind,
                    "source": self.source, "record": self.record, "rulebook": self.rulebook, "status": "evaluated",
                    "versions": dict(self.versions),
                    "summary": {"complied": complied, "violated": violated, "not_applicable": not_applicable,
                                "undetermined": undetermined},
                    "findings": found}
        out = self._front(FINDINGS_FORMAT_VERSION)
        if self.error is not None:
            out["status"] = "rejected"
            out["error"] = self.error
            return out
        out["status"] = "evaluated"
        out["versions"] = dict(self.versions)
        out["summary"] = self.counts()
        out["findings"] = [r.finding() for r in self.results
                           if (o := r.outcome) is _VIOLATED or o is _UNDETERMINED or r.waiver is not None]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The record in this result's own shape: findings when it holds only findings, else full."""
        return self._record(False)

    def _record(self, serialised: bool) -> dict[str, Any]:
        """:meth:`to_dict`; ``serialised``: a full record's ``results`` (its last key) already written as one JSON
        list, in bytes (:func:`_written`), for :meth:`to_json_bytes` only."""
        if self.quiet is not None:
            return self.to_findings()
        out = self._front()
        if self.error is not None:
            out["status"] = "rejected"
            out["error"] = self.error
        else:
            out["status"] = "evaluated"
            out["summary"] = self.counts()
            # the values read, once for the case (a rule repeats its own only beside an explanation): run.later
            out["inputs"] = recorded(self.results, fresh=not serialised)  # (serialised: only read, by orjson)
            out["results"] = _written(self.results) if serialised else \
                [r.to_dict(with_inputs=False) for r in self.results]
        return out

    def _front(self, form: str = RESULT_FORMAT_VERSION) -> dict[str, Any]:
        """A record's keys before its status, in the shape ``form`` names (full: run.written writes the rest of one
        too; findings)."""
        out: dict[str, Any] = {
            "format": form, "case_id": self.case_id, "kind": self.kind,
            "source": self.source, "record": self.record, "rulebook": self.rulebook,
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of
        return out

    def to_json(self) -> str:
        """The JSON text of :meth:`to_dict` (one JSON Lines record, in this result's own shape)."""
        data = self.to_json_bytes()
        return data.decode() if isinstance(data, bytes) else data

    def json_pieces(self) -> list[bytes | str]:
        """:meth:`to_json_bytes` in pieces, which joined make it (one, or orjson's bytes that a full record written
        from shapes is made of: run.written), for a caller that joins many records at once (run.blocks)."""
        return [self.to_json_bytes()]

    def to_json_bytes(self) -> bytes | str:
        """:meth:`to_json` as UTF-8 bytes, as orjson writes them (not decoded to be encoded again); the text
        itself when orjson refuses the record (see :func:`dumps`), which may not be UTF-8 (a lone surrogate)."""
        try:
            if self.quiet is not None:  # (findings: no results list to splice in)
                findings: bytes = _ORJSON(self.to_findings(), default=str)
                return findings
            out = self._record(True)
            results = out.pop("results", None)
            if results is None:
                data: bytes = _ORJSON(out, default=str)
                return data
            # the rest, then the results (most of the bytes: copied once, not grown into orjson's buffer)
            return b"".join((_ORJSON(out, default=str)[:-1], b',"results":', results, b"}"))
        except _ORJSON_ERROR:
            return dumps(self.to_dict())
