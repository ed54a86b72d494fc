"""Full detail's verdicts of a version written from the pattern of their outcomes, each object made only when read.

In full detail (``eval --detail full``, ``policy-eval test``, the web workbench) most of a record is the verdicts of
rules that comply or do not apply: each an instance of its rule's preset class (run.presets), whose JSON is the
class's around the reference time. A version's fused function gives, with the outcomes, the pattern they make as
one int (``Kernel.keyed``: the loud steps' bits and the complied steps'). For each pattern seen, a :class:`Shape`
holds each rule's class (None: a violated or undetermined verdict, made by the general path) and the version's JSON
around the reference time and those loud verdicts, so that a case's verdicts of the version are written by one
join. The verdicts themselves, the objects ``CaseResult.results`` holds, the same that run.presetcode's maker
makes, are made when something reads them: a :class:`WrittenResult` is a CaseResult whose ``results`` are made on
first read; until then its record and its counts come from the shapes, byte for byte what the verdicts give
(tests/test_written.py compares them on the golden corpus and generated records).

Why: making a full record's twenty verdicts one object each (the class, its reference time, its own inputs' view)
and writing them one by one was about a sixth of a full record's CPU (bench/README.md, thirty-second session).

Bounds: at most :data:`MAX_SHAPES` patterns are remembered per version, and shapes holding :data:`MAX_SHAPE_BYTES` of
JSON in all; a case with a new pattern past either is made the usual way (as is one whose pattern has a class without
ready JSON, a policy text orjson refuses).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any

import orjson

from policy_eval.lang.compiler import REF_TIME
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.inputs import Inputs, own_paths
from policy_eval.run.kernel import GATED
from policy_eval.run.later import OwnInputs
from policy_eval.run.result import CaseResult, Outcome, RuleResult, tally_of

__all__ = ["Runs", "VersionRun", "WrittenResult", "written_result", "MAX_SHAPES", "MAX_SHAPE_BYTES"]

MAX_SHAPES = 1024  # patterns of outcomes remembered per version
MAX_SHAPE_BYTES = 8 << 20  # and the JSON their shapes hold, in all (the bundled rules' need 240 KB: bench/README.md)
_ORJSON = orjson.dumps
_ORJSON_ERROR = orjson.JSONEncodeError
_new = object.__new__
_COMPLIED, _VIOLATED = Outcome.COMPLIED, Outcome.VIOLATED
_RESULTS = CaseResult.__dict__["results"]  # (the slots WrittenResult's property fills, and its counts)
_TALLY = CaseResult.__dict__["_tally"]
_INIT_VALUES = operator.attrgetter(*(f.name for f in fields(CaseResult) if f.init))  # (what __reduce__ passes)
_UNSEEN = object()


class Shape:
    """One version's verdicts for one pattern of outcomes: each rule's preset class (None: made by the general
    path), the positions of those (``holes``), the JSON between them as parts joined by the reference time's JSON
    (``segments``, one more than the holes; None for an empty one), and the quiet verdicts counted."""

    __slots__ = ("kinds", "holes", "segments", "complied", "not_applicable", "size")

    def __init__(self, kinds: list[Any]) -> None:
        self.kinds = kinds
        self.holes: list[int] = []
        segments: list[tuple[bytes, ...] | None] = []
        part: list[bytes] = [b""]
        self.complied = self.not_applicable = 0
        for i, kind in enumerate(kinds):
            if kind is None:
                segments.append(tuple(part) if len(part) > 1 else None)
                part = [b""]
                self.holes.append(i)
                continue
            part[-1] += kind._head
            part.append(kind._tail + b",")
            if kind.outcome is _COMPLIED:
                self.complied += 1
            else:
                self.not_applicable += 1
        segments.append(tuple(part) if len(part) > 1 else None)
        self.segments = segments
        self.size = sum(len(p) for segment in segments if segment is not None for p in segment)  # (bytes held)


class VersionRun:
    """One version's verdicts on one case, as a shape, the case's reference time and inputs, and the verdicts the
    general path made for the shape's holes. :meth:`verdicts` makes the list the maker would have made."""

    __slots__ = ("shape", "ref_text", "union", "loud", "paths")
    shape: Shape
    ref_text: str
    union: dict[str, Any]
    loud: list[Any]  # (the general path's verdicts, in the shape's hole order)
    paths: list[tuple[str, ...]]

    def verdicts(self) -> list[RuleResult]:
        out: list[RuleResult] = []
        loud = iter(self.loud)
        ref_text, union = self.ref_text, self.union
        for kind, paths in zip(self.shape.kinds, self.paths, strict=True):
            if kind is None:
                out.append(next(loud))
                continue
            verdict = _new(kind)
            verdict.reference_time = ref_text
            verdict.inputs = _own(union, paths)
            out.append(verdict)
        return out


def _own(union: dict[str, Any], paths: tuple[str, ...]) -> OwnInputs:
    """A rule's view of its version's inputs (what run.inputs' generated function makes)."""
    own: OwnInputs = _new(OwnInputs)
    own.union = union
    own.paths = paths
    own._own = None
    return own


class _Ready:
    __slots__ = ("rules", "kinds", "paths", "inputs", "shapes")

    def __init__(self, rules: list[Rule], kinds: list[Any], inputs: Inputs) -> None:
        self.rules = rules
        self.kinds = kinds
        self.paths = own_paths([r.readers for r in rules])
        self.inputs = inputs
        self.shapes: dict[int, Shape | None] = {}


class Runs:
    """The evaluator's versions that can be written from shapes: those without dependencies among their rules,
    whose inputs are recorded and with at least one preset class."""

    def __init__(self, versions: Iterable[PolicyVersion], rules: dict[int, list[Rule]],
                 kinds: dict[int, dict[Outcome, type]], inputs: dict[int, Inputs], plans: Mapping[int, Any],
                 kernel: Any, judge: Any, makers: dict[int, Callable[..., list[Any]]]) -> None:
        """``judge``: the evaluator (its general path ``rule_result``, ``violated`` and ``_text``); ``makers``: its
        generated makers by version (run.presetcode), for a pattern without a usable shape."""
        self._kernel = kernel
        self._general = judge.rule_result
        self._violated = judge.violated
        self._text = judge._text
        self._makers = makers
        self._held = 0  # bytes of JSON the shapes hold (MAX_SHAPE_BYTES)
        self._ready: dict[int, _Ready] = {}
        for v in versions:
            mine = rules[id(v)]
            classes = [kinds.get(id(r)) for r in mine]
            if id(v) not in plans and id(v) in inputs and any(classes) and kernel.fused(v) is not None:
                self._ready[id(v)] = _Ready(mine, classes, inputs[id(v)])

    def run(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], nulls: tuple[str, ...] = (),
            want: int = 0) -> VersionRun | list[Any] | None:
        """The version's verdicts on ``case`` as a :class:`VersionRun`; a list (made by the version's maker) where
        the pattern has no usable shape; None where the version is not written this way or its fused function did
        not decide (the caller's general path then decides). A violated verdict is built directly where it can be
        (``Judge.violated``: the general path's verdict without its calls), any other by the general path.

        ``nulls``: the case's explicit nulls on paths the version's rules read (``want``: the bit mask of the rules
        reading them), as the evaluator's general path takes such a case in full detail: the fused function reading
        them as absent, and the rules its null reading finds they decide (``Kernel.null_gated``) judged by the
        general path, as every loud verdict then is; their bits are part of the pattern."""
        ready = self._ready.get(id(version))
        if ready is None or (keyed := self._kernel.keyed(version, case, env, bool(nulls))) is None:
            return None
        decided, key = keyed
        if nulls:
            gated = self._kernel.null_gated(version, case, env, want)
            if gated is None:
                return None
            if gated:  # (what the general path gives the maker: no preset outcome for those)
                n = len(decided)
                decided = tuple(GATED if gated >> i & 1 else o for i, o in enumerate(decided))
                key = key & ~(gated | gated << n) | gated << 2 * n
        shapes = ready.shapes
        shape: Any = shapes.get(key, _UNSEEN)
        if shape is _UNSEEN:
            shape = None
            if len(shapes) < MAX_SHAPES and self._held < MAX_SHAPE_BYTES:
                classes = [k.get(o) if k is not None else None for k, o in zip(ready.kinds, decided, strict=True)]
                shape = shapes[key] = Shape(classes) if all(k is None or k._head is not None for k in classes) \
                    else None
                self._held += shape.size if shape is not None else 0
        ref_text = self._text(env[REF_TIME])
        if shape is None:
            return self._makers[id(version)](decided, ready.inputs(case), ref_text, self._general, version, case, env,
                                             nulls)
        union = ready.inputs(case, True)
        rules, paths = ready.rules, ready.paths
        run: VersionRun = _new(VersionRun)
        run.shape, run.ref_text, run.union, run.paths = shape, ref_text, union, paths
        loud = run.loud = []
        for i in shape.holes:
            own = _own(union, paths[i])
            if (outcome := decided[i]) is not _VIOLATED or nulls or \
                    (made := self._violated(version, rules[i], case, env, ref_text, own)) is None:
                made = self._general(version, rules[i], case, env, ref_text, own, None, nulls, outcome)
            loud.append(made)
        return run


class WrittenResult(CaseResult):
    """A full-detail CaseResult whose ``results`` are made when first read (from ``_parts``: each policy's
    :class:`VersionRun`, or its verdict of the whole policy); until then its record (:meth:`to_json_bytes`) and
    counts (:meth:`tally`) come from the parts. Travels to another process as the plain CaseResult."""

    __slots__ = ("_parts",)
    _parts: list[Any] | None

    @property
    def results(self) -> tuple[RuleResult, ...]:
        parts = self._parts
        if parts is not None:
            made: list[RuleResult] = []
            for part in parts:
                if type(part) is VersionRun:
                    made += part.verdicts()
                else:
                    made.append(part)
            _RESULTS.__set__(self, tuple(made))
            self._parts = None
        got: tuple[RuleResult, ...] = _RESULTS.__get__(self, CaseResult)
        return got

    @results.setter
    def results(self, value: tuple[RuleResult, ...]) -> None:
        self._parts = None
        _RESULTS.__set__(self, value)

    def __reduce__(self) -> Any:
        return CaseResult, _INIT_VALUES(self)

    def __eq__(self, other: object) -> bool:  # (equal to the plain CaseResult it stands for)
        if not isinstance(other, CaseResult):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(CaseResult) if f.compare)

    __hash__ = None  # type: ignore[assignment]  # (as CaseResult's)

    def tally(self) -> tuple[int, int, int, int]:
        parts = self._parts
        if parts is None or _TALLY.__get__(self, CaseResult) is not None:
            return CaseResult.tally(self)
        complied = not_applicable = 0
        loud: list[Any] = []
        for part in parts:
            if type(part) is VersionRun:
                complied += part.shape.complied
                not_applicable += part.shape.not_applicable
                loud += part.loud
            else:
                loud.append(part)
        made = tally_of(loud, complied, not_applicable)
        _TALLY.__set__(self, made)
        return made

    def json_pieces(self) -> list[bytes | str]:
        parts = self._parts
        if parts is not None:
            try:
                written = _written(parts)
                if written is not None:
                    out = self._front()
                    out["status"] = "evaluated"
                    out["summary"] = self.counts()
                    out["inputs"] = written[0]
                    pieces: list[bytes | str] = written[1]  # type: ignore[assignment]  # (the results' pieces after
                    # the record's head: joined once, with it, by the caller)
                    pieces[0] = _ORJSON(out, default=str)[:-1] + b',"results":['
                    return pieces
            except _ORJSON_ERROR:
                pass
        return [CaseResult.to_json_bytes(self)]  # (the verdicts made: what reads them decides)

    def to_json_bytes(self) -> bytes | str:
        pieces = self.json_pieces()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)  # type: ignore[arg-type]  # (bytes: orjson's)


def _written(parts: list[Any]) -> tuple[dict[str, Any], list[bytes]] | None:
    """The record's ``inputs`` and the pieces of its JSON from its ``results`` on (the first piece, ``[``, is the
    caller's to replace with the record's head); None where a whole policy's verdict reads something (the
    verdicts then write the record). The inputs are what ``run.later.recorded`` makes of the verdicts: the
    versions' unions merged where every verdict's inputs are its version's view, else each verdict's own merged
    in order (an undetermined verdict's are the reads traced: :func:`_merged`)."""
    unions: list[dict[str, Any]] = []
    views = True
    out: list[bytes] = [b"["]
    ref: Any = None
    ref_json = b""
    for part in parts:
        if type(part) is not VersionRun:  # a whole policy's verdict (no version in force): it reads nothing
            if part.rule is not None or part.inputs:
                return None
            out += (part.json_bytes(), b",")
            continue
        union = part.union
        unions.append(union)
        if part.ref_text is not ref:
            ref = part.ref_text
            ref_json = _ORJSON(ref)
        segments = part.shape.segments
        for j, verdict in enumerate(part.loud):
            got = verdict.inputs
            if type(got) is not OwnInputs or got.union is not union:
                views = False
            segment = segments[j]
            if segment is not None:
                out.append(ref_json.join(segment))
            out += (verdict.json_bytes(), b",")
        segment = segments[-1]
        if segment is not None:
            out.append(ref_json.join(segment))
    if len(out) > 1:
        out[-1] = out[-1][:-1]  # (the last comma)
    out.append(b"]}")
    if not views:
        return _merged(parts), out
    if len(unions) == 1:
        return unions[0], out
    merged: dict[str, Any] = {}
    for union in unions:
        merged.update(union)
    return merged, out


def _merged(parts: list[Any]) -> dict[str, Any]:
    """``run.later.recorded``'s merge of every verdict's inputs, in order, without the verdicts: a preset one's are
    its rule's view of its version's union."""
    merged: dict[str, Any] = {}
    for part in parts:
        if type(part) is not VersionRun:  # (a whole policy's verdict: it reads nothing)
            continue
        union = part.union
        loud = iter(part.loud)
        for kind, paths in zip(part.shape.kinds, part.paths, strict=True):
            if kind is None:
                got = next(loud).inputs
                merged.update(got._get() if type(got) is OwnInputs else got)
                continue
            for p in paths:
                if p in union:
                    merged[p] = union[p]
    return merged


def written_result(case_id: str | None, kind: str, source: str | None, record: int | None, parts: list[Any],
                   rulebook: str, as_of: str | None, versions: tuple[tuple[str, str | None], ...]) -> WrittenResult:
    """A full-detail result of ``parts`` (see :class:`WrittenResult`)."""
    made: WrittenResult = _new(WrittenResult)
    made.case_id, made.kind, made.source, made.record = case_id, kind, source, record
    made.rulebook, made.as_of, made.error, made.versions, made.quiet = rulebook, as_of, None, versions, None
    _TALLY.__set__(made, None)
    made._parts = parts
    return made
