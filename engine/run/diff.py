"""Impact of a policy revision: which cases change outcome, for which rule.

Input: two rulebooks and the same case records. Output: transitions
``(rule, from_outcome, to_outcome) → [case ids]`` plus totals, so an author
sees before publishing that e.g. "37 cases go from violated to complied".

A transition of a rule that depends on other rules names the dependencies
whose outcome changed on the same case (``through``): the change is caused
through them. It also names what differs under the rule between the two sides, which may
have moved it (a list of differences, not a proof of cause): the parameters
the rule reads (directly or through definitions and lets) that are valued
differently (``params``: a deployment overlay's, and a policy's own where the
revision changed the number its text sets, ``after-sales.refund_window 15d ->
7d``, each as in force at the case's reference time), and the parts that decide
its outcome written differently by the two versions (``changed``: ``when``,
``require``/``forbid``, ``let NAME``, ``definition NAME``, ``depends_on``). A rule that exists on one side only is ``absent`` on the other. Absent and
``not_applicable`` are the same for the case (the rule asks nothing of it), so
a rule added or removed where it would not apply is *not* a change; a rule
added where it applies is (``absent → violated``). Records that are not
objects or fail their kind's schema (when a validator is given) are counted
as rejected and compared no further. ``compared`` counts the cases that at
least one policy judged with different versions (by file content) on the two
sides: when it is 0, the revision could not change any verdict of these cases
(e.g. every case predates the new version).

A case whose outcomes all stay may still get something else: per rule, the verdicts with the same outcome on
both sides whose remedies (kind, recipient, exact amount, duration, form), severity or message differ are
listed too (:mod:`policy_eval.run.verdict_changes`), and counted as ``same_outcome_cases`` when no rule of
the case changes outcome.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import CaseError, printable
from policy_eval.lang import ir
from policy_eval.lang.timestamps import parse_timestamp
from policy_eval.rulebook import Rulebook
from policy_eval.rulebook.policy import Condition, PolicyVersion, Rule
from policy_eval.run.compose import in_force, param_value
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, RuleResult
from policy_eval.run.verdict_changes import SameOutcome, compare_verdicts

__all__ = ["Transition", "DiffReport", "diff_rulebooks", "latest_only", "notes", "ABSENT"]

ABSENT = "absent"
_NO_EFFECT = {ABSENT, "not_applicable"}


@dataclass
class Transition:
    rule: str
    clause: str | None
    before: str
    after: str
    cases: list[str] = field(default_factory=list)
    through: set[str] = field(default_factory=set)  # rules it depends on whose outcome changed as well
    params: set[tuple[str, str, str]] = field(default_factory=set)  # (parameter, old value, new value)
    changed: set[str] = field(default_factory=set)  # parts of the rule written differently by the two versions


@dataclass
class DiffReport:
    cases: int = 0
    changed_cases: int = 0
    rejected: int = 0
    compared: int = 0
    transitions: dict[tuple[str, str, str], Transition] = field(default_factory=dict)
    rejections: list[str] = field(default_factory=list)
    identical: bool = False  # the two rulebooks have the same content hash: nothing can change
    unjudged: list[str] = field(default_factory=list)  # new or changed versions that judged none of the cases
    same_outcome_cases: int = 0  # cases no rule of which changes outcome, but some verdict's remedies/severity/message
    same_outcome: dict[str, SameOutcome] = field(default_factory=dict)  # rule → those differences, on any case
    pinned: str = ""  # "--latest" or "--as-of" when the versions compared were chosen so (not by the cases' times)

    @property
    def changed(self) -> bool:
        """Whether the revision changes anything these cases get: an outcome, remedies, severity or message."""
        return bool(self.changed_cases or self.same_outcome_cases)

    def ordered(self) -> list[Transition]:
        """By rule, then by how many cases move (most first), then by outcome names."""
        return sorted(self.transitions.values(), key=lambda t: (t.rule, -len(t.cases), t.before, t.after))

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "changed_cases": self.changed_cases, "rejected": self.rejected,
            "compared": self.compared, "identical": self.identical,
            "transitions": [
                {"rule": t.rule, "clause": t.clause, "from": t.before, "to": t.after, "count": len(t.cases),
                 "cases": t.cases, **({"through": sorted(t.through)} if t.through else {}),
                 **({"params": [{"param": p, "from": x, "to": y} for p, x, y in sorted(t.params)]}
                    if t.params else {}),
                 **({"changed": sorted(t.changed)} if t.changed else {})}
                for t in self.ordered()
            ],
            "same_outcome_changed_cases": self.same_outcome_cases,
            "same_outcome_changes": [self.same_outcome[rule].to_dict() for rule in sorted(self.same_outcome)],
            "rejections": self.rejections,
            "unjudged_versions": self.unjudged,
        }

    def text(self, limit: int = 8) -> str:
        """The report for a terminal: one line per rule and per change, case ids and rejections with every
        unprintable character escaped (:func:`policy_eval.errors.printable`) so a case cannot forge a line."""
        lines = []

        def listed(cases: list[str]) -> str:
            return printable(", ".join(cases[:limit])) + (f", … ({len(cases) - limit} more)" if len(cases) > limit else "")

        by_rule: dict[str, list[Transition]] = {}
        for t in self.ordered():
            by_rule.setdefault(t.rule, []).append(t)
        for rule in sorted(set(by_rule) | set(self.same_outcome)):
            moved, kept = by_rule.get(rule, []), self.same_outcome.get(rule)
            clause = moved[0].clause if moved else kept.clause if kept is not None else None
            lines.append(printable(f"{rule}" + (f" [{clause}]" if clause else "")))
            for t in moved:
                through = f" through {printable(', '.join(sorted(t.through)))}" if t.through else ""
                if t.params:
                    through += " with " + printable(", ".join(f"{p} {x} -> {y}" for p, x, y in sorted(t.params)))
                if t.changed:
                    through += ("; " if t.params else " with ") + "changed " + printable(", ".join(sorted(t.changed)))
                lines.append(f"  {t.before} -> {t.after}{through}: {len(t.cases)} case{'s' if len(t.cases) != 1 else ''} "
                             f"({listed(t.cases)})")
            if kept is not None:  # then the verdicts of the rule that keep their outcome but change otherwise
                lines.extend(kept.lines(listed, limit))
        for r in self.rejections[:limit]:
            lines.append(printable(f"REJECTED {r}"))
        if len(self.rejections) > limit:
            lines.append(f"… and {len(self.rejections) - limit} more rejected record(s)")
        said = notes(self)  # (each unjudged version's note, then at most one "nothing compared")
        lines.extend(said[:len(self.unjudged)])
        if self.same_outcome_cases:  # (a line of its own, before the outcome count scripts read)
            lines.append(f"{self.same_outcome_cases} of {self.cases} case(s) keep every outcome but change remedies, "
                         "severity or message")
        lines.append(f"{self.changed_cases} of {self.cases} case(s) change outcome"
                     + (f"; {self.rejected} record(s) rejected and not compared" if self.rejected else ""))
        lines.extend(said[len(self.unjudged):])
        return "\n".join(lines)


def notes(report: DiffReport, as_of: str = "--as-of DATE", *, latest: bool = True) -> list[str]:
    """What a diff report notes about its counts: a note for each new or changed version that judged none of the
    cases (``report.unjudged``, in that order), then, when nothing was compared, why (the rulebooks are
    identical, or every case was judged by the same versions and parameters on both sides) and how to judge the
    cases otherwise. ``as_of`` names how the reader sets the as-of date (the command line's ``--as-of DATE``;
    the workbench's date beside the editor), ``latest`` whether ``--latest`` is there to name (not on a page).
    Case data is escaped (:func:`policy_eval.errors.printable`)."""
    how = f" ({as_of}" + ("; --latest judges each policy by its newest version" if latest else "") + ")"
    out = [printable(f"note: {version} judged none of these cases (their reference times fall outside its period, "
                     f"on the new side); an as-of date in its period judges them by it{how}")
           for version in report.unjudged]
    evaluated = report.cases - report.rejected
    if report.identical:
        out.append("nothing compared: the two rulebooks are identical (the same content hash: policy files, case "
                   "schemas and deployment parameters)")
    elif evaluated and not report.compared:
        out.append(f"nothing compared: each of the {evaluated} case(s) was judged by the same policy versions and "
                   "deployment parameters on both sides " + (
                       "(with --latest, each side's newest version by effective_from: the same on both sides)"
                       if report.pinned == "--latest" else
                       f"(the versions in force at the as-of date); another as-of date judges them by others{how}"
                       if report.pinned == "--as-of" else
                       f"(e.g. all predate the new version); an as-of date in the new version's period judges them "
                       f"by it{how}"))
    return out


def latest_only(rulebook: Rulebook) -> Rulebook:
    """The same rulebook with only the latest version of each policy, in force at every time."""
    import copy

    clone = copy.copy(rulebook)
    clone.policies = {}
    for pid, history in rulebook.policies.items():
        h = copy.copy(history)
        v = copy.copy(history.latest())
        v.effective_from = v.effective_from.replace(year=1)
        v.effective_until = None
        h.versions = [v]
        clone.policies[pid] = h
    clone.newest_only = True  # (diff's report says so: "with --latest, ...")
    return clone


def _versions(rulebook: Rulebook, result: CaseResult) -> dict[str, str]:
    """policy id → content digest of the version that judged ``result`` (absent: no version chosen)."""
    chosen = {r.policy: r.version for r in result.results if r.version is not None}
    out = {}
    for pid, version in chosen.items():
        history = rulebook.policies.get(pid)
        found = next((v for v in history.versions if v.version == version), None) if history else None
        out[pid] = found.digest if found is not None else f"?{version}"
    return out


def _params(result: CaseResult) -> dict[str, Any]:
    """rule → the deployment parameters its verdict used, as in force for the case."""
    return {r.full_id: {k: v.get("value") for k, v in r.params.items()} for r in result.results if r.params}


def _changed_params(before: RuleResult | None, after: RuleResult | None) -> list[tuple[str, str, str]]:
    """The deployment parameters of a rule valued differently on the two sides (``unset`` for none)."""
    x = (before.params if before is not None else None) or {}
    y = (after.params if after is not None else None) or {}

    def shown(entry: dict[str, Any] | None) -> str:
        value = entry.get("value") if entry else None
        return "unset" if value is None else str(value)

    return [(p, shown(x.get(p)), shown(y.get(p))) for p in sorted(set(x) | set(y))
            if shown(x.get(p)) != shown(y.get(p))]


def _version_rule(rulebook: Rulebook, result: RuleResult) -> tuple[PolicyVersion, Rule] | None:
    """The version that gave a verdict and its rule (None for a policy-level verdict)."""
    history = rulebook.policies.get(result.policy)
    version = next((v for v in history.versions if v.version == result.version), None) if history else None
    rule = next((r for r in version.rules if r.id == result.rule), None) if version is not None else None
    return (version, rule) if version is not None and rule is not None else None


def _definitions_read(version: PolicyVersion, rule: Rule) -> set[str]:
    """The policy-level definitions a rule's when, condition and lets read, directly or through others."""
    roots = [c.node for c in (rule.when, rule.condition, *rule.lets.values()) if c is not None]
    return {n.name for n in ir.walk(*roots) if isinstance(n, ir.LetRef) and n.name in version.definitions
            and n.expr is version.definitions[n.name].node}


def _changed_parts(old: Rulebook, new: Rulebook, before: RuleResult | None, after: RuleResult | None) -> list[str]:
    """The parts that decide a rule's outcome (when, require or forbid, its lets, the definitions they read,
    depends_on) written differently by the two versions that judged the case: with the parameters, what may
    have moved the transition. None where the same version (by content) judged both sides."""
    x = _version_rule(old, before) if before is not None else None
    y = _version_rule(new, after) if after is not None else None
    if x is None or y is None or x[0].digest == y[0].digest:
        return []
    (ov, orule), (nv, nrule) = x, y

    def text(c: Condition | None) -> str | None:
        return " ".join(c.text.split()) if c is not None else None

    out = ["when"] if text(orule.when) != text(nrule.when) else []
    if (orule.mode, text(orule.condition)) != (nrule.mode, text(nrule.condition)):
        out.append(nrule.mode)
    out += [f"let {name}" for name in sorted(set(orule.lets) | set(nrule.lets))
            if text(orule.lets.get(name)) != text(nrule.lets.get(name))]
    if orule.depends_on != nrule.depends_on:
        out.append("depends_on")
    out += [f"definition {name}" for name in sorted(_definitions_read(ov, orule) | _definitions_read(nv, nrule))
            if text(ov.definitions.get(name)) != text(nv.definitions.get(name))]
    return out


def _text_params(rulebook: Rulebook, result: RuleResult) -> dict[str, str]:
    """The parameters a verdict's rule reads whose values its policy's text sets, as in force at the verdict's
    reference time (``policy.name`` -> the value as shown)."""
    found = _version_rule(rulebook, result)
    if found is None:
        return {}
    version, rule = found
    entries = {f"{version.id}.{name}": {"value": param_value(version.params.get(name), info.value)}
               for name in rule.params if (info := version.param_info.get(name)) is not None
               and info.source == "text"}
    try:
        at = parse_timestamp(result.reference_time) if result.reference_time else None
    except ValueError:
        at = None
    return {k: "unset" if e["value"] is None else str(e["value"]) for k, e in (in_force(entries, at) or {}).items()}


def _changed_text_params(old: Rulebook, new: Rulebook, before: RuleResult | None, after: RuleResult | None
                         ) -> list[tuple[str, str, str]]:
    """The policy's own parameters of a rule valued differently by the two versions that judged the case (a
    rule on one side only: none; the other side asks nothing of the case)."""
    if before is None or after is None or before.version is None or after.version is None:
        return []
    x, y = _text_params(old, before), _text_params(new, after)
    return [(p, x[p], y[p]) for p in sorted(set(x) & set(y)) if x[p] != y[p]]


def _key(case: CaseResult, index: int) -> str:
    return case.case_id or f"{case.source}:{case.record or index}"


def diff_rulebooks(old: Evaluator, new: Evaluator, records: Iterable[tuple[str, int, Any]],
                   as_of: Any = None, validator: Any = None) -> DiffReport:
    """Compare the verdicts of ``old`` and ``new`` on each record; ``validator`` (anything with
    ``check(case, source, record) -> CaseError | None``, e.g. a CaseValidator) rejects bad records."""
    report = DiffReport(identical=old.rulebook.digest == new.rulebook.digest,
                        pinned="--latest" if old.rulebook.newest_only and new.rulebook.newest_only
                        else "--as-of" if as_of is not None else "")
    # the versions of the new side that the old side lacks (by content), and how many cases each judged
    old_digests = {v.digest for h in old.rulebook.policies.values() for v in h.versions}
    fresh = {(pid, v.digest): v for pid, h in new.rulebook.policies.items() for v in h.versions
             if v.digest not in old_digests}
    judged: dict[tuple[str, str], int] = {}
    kinds: set[str] = set()  # the policies that judged some case on the new side
    parts_of: dict[Any, list[str]] = {}  # (old verdict's rule, new verdict's rule) -> _changed_parts
    for index, (source, number, case) in enumerate(records, 1):
        report.cases += 1
        problem: CaseError | None = case if isinstance(case, CaseError) else None
        if problem is None and not isinstance(case, dict):
            problem = CaseError(f"a case must be a JSON object, got {type(case).__name__}", source=source,
                                record=number)
        if problem is None and validator is not None:
            problem = validator.check(case, source, number)
        if problem is not None:
            report.rejected += 1
            report.rejections.append(str(problem))
            continue
        if report.identical:  # (one rulebook twice, by content: every verdict the same; what is rejected is counted)
            continue
        before = old.evaluate(case, as_of=as_of, source=source, record=number)
        after = new.evaluate(case, as_of=as_of, source=source, record=number)
        chosen = _versions(new.rulebook, after)
        for pid, digest in chosen.items():
            judged[(pid, digest)] = judged.get((pid, digest), 0) + 1
        kinds.update(r.policy for r in after.results)
        if _versions(old.rulebook, before) != chosen or _params(before) != _params(after):
            report.compared += 1
        a = {r.full_id: r for r in before.results}
        b = {r.full_id: r for r in after.results}
        changed = other = False
        for rule_id in sorted(set(a) | set(b)):
            x = a[rule_id].outcome.value if rule_id in a else ABSENT
            y = b[rule_id].outcome.value if rule_id in b else ABSENT
            if x == y and x != ABSENT:
                other |= compare_verdicts(report.same_outcome, _key(before, index), a[rule_id], b[rule_id])
            if x == y or {x, y} <= _NO_EFFECT:
                continue
            changed = True
            clause = (b.get(rule_id) or a[rule_id]).clause
            t = report.transitions.setdefault((rule_id, x, y), Transition(rule_id, clause, x, y))
            t.cases.append(_key(before, index))
            t.through.update(_through(a.get(rule_id), b.get(rule_id)))
            t.params.update(_changed_params(a.get(rule_id), b.get(rule_id)))
            t.params.update(_changed_text_params(old.rulebook, new.rulebook, a.get(rule_id), b.get(rule_id)))
            x_r, y_r = a.get(rule_id), b.get(rule_id)
            parts_key = (x_r and (x_r.policy, x_r.version, x_r.rule), y_r and (y_r.policy, y_r.version, y_r.rule))
            if (parts := parts_of.get(parts_key)) is None:  # (the rules' texts alone decide it: once a pair)
                parts = parts_of[parts_key] = _changed_parts(old.rulebook, new.rulebook, x_r, y_r)
            t.changed.update(parts)
        report.changed_cases += changed
        report.same_outcome_cases += other and not changed
    # (with --as-of, a version not in force at that date judging none is what was asked for: no note)
    at = as_of if isinstance(as_of, _dt.datetime) and as_of.tzinfo is not None else None
    report.unjudged = [f"{pid} version {v.version} (from {v.start_text()})"
                       for (pid, digest), v in fresh.items() if pid in kinds and not judged.get((pid, digest))
                       and (at is None or v.in_force(at))]
    return report


def _through(before: RuleResult | None, after: RuleResult | None) -> list[str]:
    """The dependencies of a rule whose outcome changed too: the transition is caused through them."""
    x = (before.depends if before is not None else None) or {}
    y = (after.depends if after is not None else None) or {}
    either = after if after is not None else before
    policy = either.policy if either is not None else ""
    return [f"{policy}/{d}" for d in sorted(set(x) | set(y)) if x.get(d) != y.get(d)]
