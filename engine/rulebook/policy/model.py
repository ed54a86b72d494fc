"""The compiled form of a policy version: conditions, rules, remedies, waivers, versions.

Plain data built by :mod:`policy_eval.rulebook.policy.build` and read by the
evaluator; nothing here parses or checks.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyLoadError
from policy_eval.lang import ir
from policy_eval.lang.compiler import Compiled
from policy_eval.lang.cost import Estimate
from policy_eval.lang.types import Type
from policy_eval.lang.values import SHANGHAI, parse_date, parse_datetime

__all__ = ["Condition", "Template", "Remedy", "Rule", "Waiver", "Location", "ParamInfo", "PolicyVersion", "parse_instant",
           "SEVERITIES"]

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass
class Condition:
    """A compiled condition with its source and where it stands in the file."""

    text: str
    node: ir.IR
    fn: Compiled
    line: int
    column: int
    cost: Estimate | None = None  # the static estimate (lang.cost), checked against the loader's ceiling

    @property
    def type(self) -> Type:
        return self.node.type


@dataclass
class Template:
    """A message with ``{expression}`` placeholders."""

    parts: list[str | Condition]
    # the same as one generated function of (case, env), built on first use (run.messages.message_of)
    compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def render(self, values: Callable[[Condition], str]) -> str:
        return "".join(p if isinstance(p, str) else values(p) for p in self.parts)


@dataclass
class Remedy:
    kind: str
    to: str | None
    description: str | None
    form: str | None
    amount: Condition | None
    when: Condition | None
    duration: Condition | None = None  # how long a restriction lasts (an exact duration), when the text says


@dataclass
class Rule:
    id: str
    policy_id: str
    title: str
    clause: str
    severity: str
    when: Condition | None
    condition: Condition
    mode: str  # "require" or "forbid"
    message: Template
    remedies: list[Remedy]
    lets: dict[str, Condition]
    reading: str | None
    tags: list[str]
    line: int
    inputs: list[str] = field(default_factory=list)  # the case paths its when and condition read
    readers: dict[str, Callable[[Any], Any] | None] = field(default_factory=dict)  # path → raw JSON → value
    # rule id (same version) → the outcomes of that rule under which this one applies
    depends_on: dict[str, tuple[str, ...]] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)  # the parameters it uses (also through lets and definitions)
    file: str = ""  # the file it is written in (a revision inherits rules from the file it revises)
    # its remedies as one function of (case, env), built on first use (run.messages.remedies_of)
    remedies_compiled: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def full_id(self) -> str:
        return f"{self.policy_id}/{self.id}"

    def shown_nodes(self) -> list[Any]:
        """The expression trees of what a violated verdict shows: its message's placeholders, then each remedy's
        ``when``, amount and duration."""
        nodes = [p.node for p in self.message.parts if not isinstance(p, str)]
        for rem in self.remedies:
            nodes += [c.node for c in (rem.when, rem.amount, rem.duration) if c is not None]
        return nodes


@dataclass
class Waiver:
    id: str
    rules: list[str] | None
    scope: Condition
    reason: str
    approved_by: str
    start: _dt.datetime | None
    until: _dt.datetime

    def in_force(self, at: _dt.datetime) -> bool:
        return (self.start is None or self.start <= at) and at < self.until


@dataclass
class ParamInfo:
    """What a parameter is and where its value comes from: the text, a deployment overlay, or nowhere yet."""

    name: str
    type: str
    value: str | None  # rendered; None when unset
    source: str  # "text", "deployment" or "unset"
    clause: str | None
    file: str  # where the value (or the declaration of an unset one) stands
    line: int
    dated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "value": self.value, "source": self.source,
                "clause": self.clause, "file": self.file, "line": self.line}


@dataclass
class Location:
    """Where a part of a policy file stands, for errors found later (across versions)."""

    line: int
    column: int
    source_line: str | None = None


def boundary_text(at: _dt.datetime) -> str:
    """A version's first or last instant as periods show it: its date where it is midnight in Asia/Shanghai
    (the rulebook's zone: ``2027-01-01``), else the whole instant there (``2027-01-01T08:00:00+08:00``, which
    ``2027-01-01T00:00:00Z`` is): a date alone would hide the hours between two versions' boundaries."""
    local = at.astimezone(SHANGHAI)
    return local.date().isoformat() if local.time() == _dt.time() else local.isoformat()


@dataclass
class PolicyVersion:
    id: str
    title: str
    version: str
    source: dict[str, str]
    effective_from: _dt.datetime
    effective_until: _dt.datetime | None
    applies_to: str
    reference_time: Condition
    notes: str | None
    params: dict[str, ir.IR]
    rules: list[Rule]
    waivers: list[Waiver]
    file: str
    digest: str = ""
    locations: dict[str, Location] = field(default_factory=dict)  # keys of ``policy:`` → where they stand
    definitions: dict[str, Condition] = field(default_factory=dict)  # shared by every rule, in order
    order: list[str] = field(default_factory=list)  # rule ids, every rule after the rules it depends on
    param_info: dict[str, ParamInfo] = field(default_factory=dict)
    revises: str | None = None  # the version this one revises (its parts are resolved into this one)
    # run.fusing's fused functions of its rules, by the steps each was made for: a second evaluator of one loaded
    # rulebook (the embedding API's findings one, evaluate_many's workers' processor) compiles none again
    fused: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def start_stated(self) -> bool:
        """Whether the version's first instant is a date its file gives (not ``effective_from: unstated``)."""
        return self.effective_from != EARLIEST

    def start_text(self) -> str:
        """The first instant in force as a period shows it (:func:`boundary_text`: ``2021-01-01``), or
        ``unstated``."""
        return boundary_text(self.effective_from) if self.start_stated else UNSTATED

    def until_text(self) -> str:
        """The end of the period as :meth:`period` shows it, or ``open``."""
        return boundary_text(self.effective_until) if self.effective_until is not None else "open"

    def period(self) -> str:
        """The period in force as ``explain`` shows it: ``[2021-01-01 .. open)``, ``[unstated .. 2021-01-01)``,
        ``[2027-01-01T08:00:00+08:00 .. open)``."""
        return f"[{self.start_text()} .. {self.until_text()})"

    def in_force(self, at: _dt.datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)

    def error(self, message: str, where: str) -> PolicyLoadError:
        loc = self.locations.get(where, Location(1, 1))
        return PolicyLoadError(message, file=self.file, line=loc.line, column=loc.column,
                               source_line=loc.source_line)


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")

# ``effective_from: unstated``: the source text gives no date, so the version is in force for every instant
# before its ``effective_until`` (a first version only: any later one overlaps it). Kept as the earliest
# instant a datetime has room for in any offset, so that periods still compare and sort as instants.
UNSTATED = "unstated"
EARLIEST = _dt.datetime(1, 1, 2, tzinfo=_dt.UTC)


def parse_instant(text: str) -> _dt.datetime:
    """A date (its 00:00 Asia/Shanghai) or an ISO datetime (no offset = Asia/Shanghai)."""
    text = text.strip()
    if _DATE_ONLY.fullmatch(text):
        d = parse_date(text)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)
    return parse_datetime(text.replace(" ", "T", 1))

