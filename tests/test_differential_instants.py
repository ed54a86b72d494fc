"""Every way of running the rules decides the same on cases moved to their boundaries.

The golden cases say what the texts decide at a handful of instants. The engine reaches a verdict by
several routes, each made fast in its own way: the version's fused function (lang.fusion) with the
findings kernel (run.kernel), each rule's own generated code (the general path, here with fusion
off), the embedding API's lazy verdicts (run.lazy, run.lazycode), and the batch worker, which reads the
record's JSON text (rulebook.jsonrecord), checks it against the compiled case schema and reads its
timestamps through their fast path (lang.timestamps). Here each golden case has its timestamps moved:
each one onto another of the case's instants plus or minus a step the rules count in (a second, an hour,
48 hours, a day, 15 days, a microsecond: where windows and deadlines begin and end), or by a random
amount, and written in another of RFC 3339's forms (``Z``, other offsets, a fraction of a second, no
offset). Money gets a random amount of cents. Every route must give the same verdicts; the reference is
the general path rule by rule.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import re
from decimal import Decimal
from typing import Any

import pytest
from goldencorpus import golden_tests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_eval.api import Rulebook
from policy_eval.lang.timestamps import parse_timestamp
from policy_eval.lang.values import ValueParseError
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.batch import BatchOptions, Processor
from policy_eval.run.evaluate import Evaluator

# the golden cases the bundled rulebook decides as it stands (no deployment overlay of parameters)
TESTS = [t for t in golden_tests() if t.params is None]

SECOND = _dt.timedelta(seconds=1)
STEPS = [_dt.timedelta(0), _dt.timedelta(microseconds=1), SECOND, _dt.timedelta(hours=1),
         _dt.timedelta(hours=24), _dt.timedelta(hours=48), _dt.timedelta(days=3), _dt.timedelta(days=7),
         _dt.timedelta(days=15), _dt.timedelta(days=30)]
ZONES = [_dt.timezone(_dt.timedelta(hours=8)), _dt.UTC, _dt.timezone(-_dt.timedelta(hours=5)),
         _dt.timezone(_dt.timedelta(hours=5, minutes=45))]
# POLICY_EVAL_FUZZ_SCALE=10 multiplies the budget (a longer run), as in tests/test_fuzz.py
SCALE = float(os.environ.get("POLICY_EVAL_FUZZ_SCALE", "1"))
CHECKED = settings(max_examples=max(1, int(150 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


class Routes:
    """The bundled rulebook loaded once, and each route to a verdict."""

    def __init__(self) -> None:
        book = load_rulebook()
        self.fused = Evaluator(book, detail="findings")
        self.general = Evaluator(book, detail="full", explain="missing")
        self.general._kernel._fused.clear()  # each rule decided on its own: the reference
        self.api = Rulebook.load(entry_points=False)
        self.batch = Processor(BatchOptions(detail="findings", explain="missing"), rulebook=book)


@pytest.fixture(scope="module")
def routes() -> Routes:
    return Routes()


def _instants(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], _dt.datetime]]:
    """The paths of the case's timestamps (texts of the RFC 3339 date-time form), with their instants."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _instants(v, (*path, k))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _instants(v, (*path, i))]
    if isinstance(value, str) and len(value) >= 19 and value[10:11] in "Tt" and value[4:5] == "-":
        try:
            return [(path, parse_timestamp(value))]
        except ValueParseError:
            return []
    return []


def _amounts(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of money written as text with two places (``"59.90"``)."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _amounts(v, (*path, k))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _amounts(v, (*path, i))]
    if isinstance(value, str) and value.count(".") == 1 and value.replace(".", "").isdigit() \
            and len(value.partition(".")[2]) == 2:
        return [path]
    return []


def _written(instant: _dt.datetime, zone: _dt.tzinfo | None, fraction: bool) -> str:
    """The instant in one of RFC 3339's forms: in ``zone`` (None: no offset, read as Asia/Shanghai), ``Z``
    for UTC, with a fraction of a second when it has one or ``fraction`` asks for ``.000``."""
    shown = instant.astimezone(zone or ZONES[0])
    text = shown.replace(tzinfo=None).isoformat()
    if fraction and "." not in text:
        text += ".000"
    if zone is None:
        return text
    return text + "Z" if zone is _dt.UTC else text + shown.strftime("%z")[:3] + ":" + shown.strftime("%z")[3:]


def _set(case: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = case
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@st.composite
def moved_cases(draw: st.DrawFn) -> tuple[dict[str, Any], _dt.datetime | None]:
    """A golden case with its timestamps and amounts moved (see the module docstring), and its ``as_of``."""
    test = draw(st.sampled_from(TESTS))
    case = copy.deepcopy(test.case)
    found = _instants(case)
    instants = [instant for _, instant in found]
    for path, instant in found:
        if not draw(st.booleans()):
            continue  # (some stay where the golden case put them)
        how = draw(st.sampled_from(["boundary", "boundary", "random"]))
        if how == "boundary":
            anchor = draw(st.sampled_from(instants))
            step = draw(st.sampled_from(STEPS))
            moved = anchor + step * draw(st.sampled_from([1, -1])) + draw(st.sampled_from(
                [_dt.timedelta(0), _dt.timedelta(0), SECOND, -SECOND]))
        else:
            moved = instant + _dt.timedelta(seconds=draw(st.integers(-40 * 86400, 40 * 86400)))
        zone = draw(st.sampled_from([*ZONES, ZONES[0], None]))
        _set(case, path, _written(moved, zone, draw(st.booleans())))
    for path in _amounts(case):
        if draw(st.booleans()):
            _set(case, path, str(Decimal(draw(st.integers(0, 500_000))) / 100))
    return case, parse_instant(test.as_of) if test.as_of else None


def _verdicts(results: Any) -> list[tuple[Any, ...]]:
    return sorted((r.policy, r.rule, r.outcome.value, r.message, r.missing, json.dumps(
        [dict(x) for x in r.remedies], default=str, sort_keys=True)) for r in results)


@CHECKED
@given(moved=moved_cases())
def test_fused_kernel_and_general_path_agree(routes: Routes, moved: tuple[dict[str, Any], Any]) -> None:
    case, as_of = moved
    fast = routes.fused.evaluate(case, as_of=as_of)
    reference = routes.general.evaluate(case, as_of=as_of)
    assert fast.to_findings() == reference.to_findings()


@CHECKED
@given(moved=moved_cases())
def test_embedding_api_agrees_with_the_general_path(routes: Routes, moved: tuple[dict[str, Any], Any]) -> None:
    case, as_of = moved
    lazy = routes.api.evaluate(case, as_of=as_of)
    reference = routes.general.evaluate(case, as_of=as_of)
    assert lazy.error is None
    assert _verdicts(lazy.results) == _verdicts(reference.results)
    assert lazy.versions == reference.versions


def _json_text(case: dict[str, Any]) -> bytes:
    """The case as a JSON Lines record, an exact number (a ``Decimal``) written as the number it is."""
    marked = json.dumps(case, ensure_ascii=False, default=lambda d: f"\0{d}\0" if isinstance(d, Decimal) else d)
    return re.sub(r'"\\u0000([^"]*)\\u0000"', r"\1", marked).encode()


@CHECKED
@given(moved=moved_cases())
def test_batch_worker_on_json_text_agrees_with_the_general_path(routes: Routes,
                                                               moved: tuple[dict[str, Any], Any]) -> None:
    case, as_of = moved
    if as_of is not None:  # (a batch takes its reference time from each case, or one --as-of for all)
        return
    text = _json_text(case)
    batch = routes.batch.process(("x", 1, text))
    reference = routes.general.evaluate(case, source="x", record=1)
    assert batch.error is None, batch.error
    assert batch.to_findings() == reference.to_findings()
