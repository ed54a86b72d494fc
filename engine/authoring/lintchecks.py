"""The lint checks: one generator per check id of :data:`policy_eval.authoring.lint.CHECKS`.

Input: a :class:`~policy_eval.authoring.lint.LintInput`. Output: findings, each located at the part of
the policy file it is about. Everything here is read from the checked IR of the loaded rulebook, never
from condition text, except where two conditions are compared as written (whitespace aside).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.authoring.lintcomment import comments_continuing_conditions
from policy_eval.authoring.lintcontradict import contradiction
from policy_eval.authoring.lintlists import full_width_list_separators
from policy_eval.authoring.lintstale import stale_inherited_texts
from policy_eval.authoring.lintunused import unused_definitions
from policy_eval.authoring.lintversions import replaced_rule_clauses, version_gaps
from policy_eval.authoring.schemapath import enum_of
from policy_eval.lang import ir
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy import Condition, PolicyVersion, Rule, inputs_of
from policy_eval.rulebook.policy.inherit import shown_beside

__all__ = ["run_checks"]


def _walk(node: ir.IR) -> Iterator[ir.IR]:
    """Every node once, not descending into let-bindings (they are walked where they are defined)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, ir.LetRef):
            stack += ir.children(n)


def _rule_conditions(rule: Rule) -> list[tuple[tuple[Any, ...], Condition]]:
    """(path under the rule, condition) for each condition of a rule, placeholders included."""
    out: list[tuple[tuple[Any, ...], Condition]] = [((rule.mode,), rule.condition)]
    if rule.when is not None:
        out.append((("when",), rule.when))
    out += [(("let", name), c) for name, c in rule.lets.items()]
    out += [(("message",), p) for p in rule.message.parts if isinstance(p, Condition)]
    for j, rem in enumerate(rule.remedies):
        out += [(("remedies", j, k), c) for k, c in (("amount", rem.amount), ("when", rem.when),
                                                      ("duration", rem.duration)) if c is not None]
    return out


def _rule_path(version: PolicyVersion, rule: Rule, data: LintInput) -> tuple[Any, ...]:
    """Where the version's file writes the rule: ``("rules", i)``, ``("amend", i)`` for a rule it amends, or
    ``()`` for a rule it inherits as it is (written in the file of a version it revises)."""
    found = data.written.get(version.file)
    if found is None:  # (each file's entries indexed once: a lookup per rule, not a scan)
        raw = data.sources.get(version.file, (None,))[0]
        found = {}
        for section in ("amend", "rules"):  # (a rule entry wins over an amendment of the same id)
            entries = raw.get(section) if isinstance(raw, dict) else None
            for i, r in reversed(list(enumerate(entries if isinstance(entries, list) else ()))):
                if isinstance(r, dict) and isinstance(r.get("id"), str):
                    found[r["id"]] = (section, i)
        data.written[version.file] = found
    return found.get(rule.id, ())


def _written(version: PolicyVersion, rule: Rule, data: LintInput, sub: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The path of a part of the rule (``("when",)``, ``("let", name)``) where the version's file writes it;
    None when the file does not (a rule it inherits, a key its amendment leaves as inherited): that part is
    reported with the version whose file writes it."""
    base = _rule_path(version, rule, data)
    if not base:
        return None
    if base[0] == "amend":
        entry = data.sources[version.file][0]["amend"][base[1]]
        if sub[0] not in entry or (sub[0] == "let" and len(sub) > 1 and sub[1] not in (entry.get("let") or {})):
            return None
    return base + sub


def _norm(text: str) -> str:
    return " ".join(text.split())


def _param_name(n: ir.IR) -> str | None:
    if isinstance(n, ir.DatedParam):
        return n.name
    if isinstance(n, ir.Const) and n.name is not None and "[" not in n.name:
        return n.name
    return None


def _is_static(node: ir.IR) -> bool:
    """Whether a condition reads nothing from the case, the clock or a function (its value is fixed)."""
    return not any(isinstance(n, (ir.Field, ir.Index, ir.Var, ir.DatedParam, ir.Call, ir.Quant)) for n in _walk(node)) \
        and not any(isinstance(n, ir.LetRef) and not _is_static(n.expr) for n in _walk(node))


def _impossible(node: ir.IR, schema: dict[str, Any]) -> str | None:
    """Why a comparison of an enum field with a literal can never (or always) hold, if it is one."""
    if not (isinstance(node, ir.Op) and node.symbol in ("==", "!=", "in", "not in") and len(node.args) == 2):
        return None
    field, other = node.args
    if isinstance(other, ir.Field) and node.symbol in ("==", "!="):
        field, other = other, field
    path = next(inputs_of(field), None) if isinstance(field, ir.Field) else None
    if path is None or not isinstance(other, (ir.Const, ir.ListIR)):
        return None
    values = [other.value] if isinstance(other, ir.Const) and node.symbol in ("==", "!=") else \
        (other.value if isinstance(other, ir.Const) and isinstance(other.value, list) else
         [i.value for i in other.items if isinstance(i, ir.Const)] if isinstance(other, ir.ListIR) else [])
    allowed = enum_of(schema, path)
    if allowed is None or not values or not all(isinstance(v, str) for v in values):
        return None
    if any(v in allowed for v in values):
        return None
    always = "false" if node.symbol in ("==", "in") else "true"
    close = next((m[0] for v in values if (m := difflib.get_close_matches(v, allowed, n=1))), None)
    return (f"'{node.text}' is always {always}: {path} is one of {', '.join(allowed)}, never "
            f"{', '.join(repr(v) for v in values)}" + (f"; did you mean {close!r}?" if close else ""))


def _conjuncts(node: ir.IR) -> Iterator[ir.IR]:
    if isinstance(node, ir.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    elif isinstance(node, ir.LetRef):
        yield from _conjuncts(node.expr)
    else:
        yield node


def constant_conditions(data: LintInput) -> Iterator[Finding]:
    for version in data.rulebook.versions():
        schema = data.rulebook.case_schemas.get(version.applies_to, {})
        for rule in version.rules:
            # why a conjunct of 'when' can never hold: the finding says it, with the enum value meant
            whys = [why for c in (_conjuncts(rule.when.node) if rule.when is not None else ())
                    if getattr(c, "symbol", None) in ("==", "in") and (why := _impossible(c, schema))]
            if not whys and rule.when is not None and (why := contradiction(_conjuncts(rule.when.node))):
                whys.append(why)
            never = rule.when is not None and (
                (_is_static(rule.when.node) and interpret(rule.when.node, {}) is False) or bool(whys))
            if never and (at := _written(version, rule, data, ("when",))) is not None:
                yield data.finding("rule-never-applies", f"rule '{rule.id}': its 'when' can never hold"
                                   + (f": {whys[0]}" if whys else ""), version.file, at)
            for sub, cond in _rule_conditions(rule):
                at = _written(version, rule, data, sub)
                if (sub == ("when",) and never) or at is None:
                    continue
                if sub[0] in (rule.mode, "when") and _is_static(cond.node):
                    value = interpret(cond.node, {})
                    if value is not UNKNOWN:
                        yield data.finding("constant-condition", f"rule '{rule.id}': {sub[0]} is always {str(value).lower()}",
                                           version.file, at)
                        continue
                if sub == (rule.mode,) and (why := contradiction(_conjuncts(cond.node))):
                    outcome = "complied with" if rule.mode == "require" else "violated"
                    yield data.finding("constant-condition", f"rule '{rule.id}': its {rule.mode} can never hold, so "
                                       f"the rule is never {outcome}: {why}", version.file, at)
                    continue
                for n in _walk(cond.node):
                    why = _impossible(n, schema)
                    if why:
                        yield data.finding("constant-condition", f"rule '{rule.id}': {why}", version.file, at)


def _uses(version: PolicyVersion) -> dict[str, set[str]]:
    """Parameter name → ids of the rules using it ('' for uses outside rules)."""
    used: dict[str, set[str]] = {}
    roots: list[tuple[str, ir.IR]] = [("", version.reference_time.node)]
    roots += [("", w.scope.node) for w in version.waivers]
    for rule in version.rules:
        roots += [(rule.id, c.node) for _, c in _rule_conditions(rule)]
    for owner, node in roots:
        for n in ir.walk(node):  # through the definitions and lets it reads: a use there is the rule's
            name = _param_name(n)
            if name is not None and name in version.params:
                used.setdefault(name, set()).add(owner)
    return used


def _meant(version: PolicyVersion, name: str, used: dict[str, set[str]]) -> str:
    """``; did you mean 'x' …`` when an unused parameter's name is close to one the rules use (a misspelt
    name in a revision adds a parameter, and the inherited one keeps its value)."""
    close = difflib.get_close_matches(name, [n for n in used if n != name], n=1, cutoff=0.8)
    if not close:
        return ""
    info = version.param_info.get(close[0])
    where = f", written in {shown_beside(info.file, version.file)}:{info.line}" if info is not None else ""
    return (f"; did you mean '{close[0]}' (which the rules use{where})? A new name adds a parameter: the one the "
            "rules read keeps its value")


def parameters(data: LintInput) -> Iterator[Finding]:
    for version in data.rulebook.versions():
        used = _uses(version)
        raw: Any = data.sources.get(version.file, ({},))[0]
        specs = raw.get("params") if isinstance(raw, dict) else None
        for name in version.params:
            path = ("params", name)
            declared_here = isinstance(specs, dict) and name in specs  # else inherited (revises)
            if name not in used and declared_here:
                yield data.finding("unused-parameter", f"parameter '{name}' is not used{_meant(version, name, used)}",
                                   version.file, path, key=True)
            elif name not in used:  # a revision cannot drop what it inherits: a note, at its revises
                info = version.param_info.get(name)
                where = f" (written in {shown_beside(info.file, version.file)}:{info.line})" if info is not None else ""
                yield data.finding("unused-inherited-parameter", f"parameter '{name}'{where} is inherited but no "
                                   f"rule of version '{version.version}' uses it any more", version.file,
                                   ("policy", "revises"))
            rules = sorted(r for r in used.get(name, ()) if r)
            if len(rules) > 1 and declared_here:
                yield data.finding("shared-parameter", f"parameter '{name}' is used by {len(rules)} rules: "
                                   f"{', '.join(rules)}", version.file, path, key=True)
            if not declared_here or not isinstance(specs, dict):
                continue  # inherited (revises): its clause is checked in the file that declares it
            spec = specs[name]
            if not (isinstance(spec, dict) and str(spec.get("clause") or "").strip()):
                yield data.finding("parameter-without-clause",
                                   f"parameter '{name}' has no clause: cite the clause that gives its number, or "
                                   "the one that leaves it to the platform (long form with 'clause:')",
                                   version.file, path, key=True)


def unused_lets(data: LintInput) -> Iterator[Finding]:
    for version in data.rulebook.versions():
        for rule in version.rules:
            referenced: set[str] = set()
            for _, cond in _rule_conditions(rule):
                for n in _walk(cond.node):
                    if isinstance(n, ir.LetRef):
                        referenced.add(n.name)
            for name in rule.lets:
                if name not in referenced and (at := _written(version, rule, data, ("let", name))) is not None:
                    yield data.finding("unused-let", f"rule '{rule.id}': let '{name}' is not used", version.file,
                                       at, key=True)


def _signature(version: PolicyVersion) -> Any:
    rules = tuple((r.id, r.mode, _norm(r.condition.text), _norm(r.when.text) if r.when else None,
                   tuple((k, _norm(c.text)) for k, c in r.lets.items()), r.clause, r.severity, r.title,
                   tuple(p if isinstance(p, str) else _norm(p.text) for p in r.message.parts),
                   tuple((m.kind, m.to, m.description, m.form, *(_norm(c.text) if c is not None else None
                                                               for c in (m.amount, m.when, m.duration)))
                         for m in r.remedies), tuple(sorted(r.depends_on.items())))
                  for r in version.rules)
    params = tuple(sorted((k, repr(getattr(v, "value", None)), repr(getattr(v, "values", None)))
                          for k, v in version.params.items()))
    return rules, params


def identical_versions(data: LintInput) -> Iterator[Finding]:
    for history in data.rulebook.policies.values():
        for prev, nxt in zip(history.versions, history.versions[1:], strict=False):
            if _signature(prev) == _signature(nxt):
                yield data.finding("identical-version", f"version '{nxt.version}' of '{nxt.id}' has the same rules "
                                   f"(conditions, messages, remedies) and parameters as version '{prev.version}' "
                                   f"({prev.file})", nxt.file,
                                   ("policy", "version"))


def message_paths(data: LintInput) -> Iterator[Finding]:
    for version in data.rulebook.versions():
        for rule in version.rules:
            base = _rule_path(version, rule, data)
            if not base or (base[0] == "amend" and not {"message", "when", "require", "forbid", "let"}
                            & set(data.sources[version.file][0]["amend"][base[1]])):
                continue  # inherited as written: reported with the version of the file that writes it
            read = set(rule.inputs)
            for _, c in rule.lets.items():
                read.update(inputs_of(c.node))
            shown: list[str] = []
            for part in rule.message.parts:
                if isinstance(part, Condition):
                    for p in inputs_of(part.node):
                        if p not in read and p not in shown and not _IDENTIFIER.search(p):
                            shown.append(p)
            if shown:
                yield data.finding("message-reads-unread-path",
                                   f"rule '{rule.id}': the message shows {', '.join(shown)}, which the rule does not "
                                   "read", version.file, base + ("message",))


_IDENTIFIER = re.compile(r"(^|[._])(id|no)$")


def conflicts(data: LintInput) -> Iterator[Finding]:
    for version in data.rulebook.versions():
        demands: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
        for rule in version.rules:
            text = _norm(rule.condition.text)
            if rule.mode == "forbid":
                text = f"not ({text})"
            key = (_norm(rule.clause), _norm(rule.when.text) if rule.when else "")
            demands.setdefault(key, []).append((rule, text))
        for group in demands.values():
            for i, (a, ta) in enumerate(group):
                for b, tb in group[i + 1:]:
                    if not (_rule_path(version, a, data) or _rule_path(version, b, data)):
                        continue  # both inherited as written: reported with the version that writes them
                    if ta == f"not ({tb})" or tb == f"not ({ta})" or ta == f"not {tb}" or tb == f"not {ta}":
                        yield data.finding("conflicting-rules", f"rules '{a.id}' and '{b.id}' cite the same clause, "
                                           "apply together, and demand opposite things: one is always violated",
                                           version.file, _rule_path(version, b, data) or _rule_path(version, a, data))


def untested(data: LintInput) -> Iterator[Finding]:
    if not data.test_files:  # (it would call every rule untested): said once, at the first policy file
        first = next(iter(data.rulebook.versions()), None)
        if first is not None:
            yield data.finding("no-tests-found", "no policy test found among the PATHS, inside the policy folders "
                               "or under --tests, so rule-untested was skipped: pass the folder of your tests "
                               "(--tests DIR, e.g. a copy of tests/golden)", first.file, ("policy",), key=True)
        return
    from policy_eval.run.testing import evaluator_for_tests, load_tests, run_test

    evaluator = evaluator_for_tests(data.rulebook)
    seen: set[tuple[str, str]] = set()
    for path in data.test_files:
        for test in load_tests(path):
            outcome = run_test(test, evaluator)
            if outcome.result is None:
                continue
            for r in outcome.result.results:
                if r.rule is not None and r.full_id in test.expect and r.version is not None:
                    seen.add((r.full_id, r.version))
    for version in data.rulebook.versions():
        for rule in version.rules:
            if (rule.full_id, version.version) not in seen:
                at = _rule_path(version, rule, data)
                inherited = "" if at else f" (inherited from {shown_beside(rule.file, version.file)}:{rule.line})"
                yield data.finding("rule-untested", f"rule '{rule.id}'{inherited} of version '{version.version}' has "
                                   "no test expecting an outcome of it", version.file, at or ("policy", "revises"))


_ALL: list[Callable[[LintInput], Iterator[Finding]]] = [
    constant_conditions, parameters, unused_lets, unused_definitions, identical_versions, stale_inherited_texts,
    message_paths, conflicts, untested, comments_continuing_conditions, version_gaps, replaced_rule_clauses,
    full_width_list_separators]


def run_checks(data: LintInput) -> Iterator[Finding]:
    for check in _ALL:
        yield from check(data)
