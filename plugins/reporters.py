"""Built-in reporters: text, json, jsonl, junit, sarif — registered as plugins.

A reporter factory is called as ``factory(stream, options)`` and returns an
object with ``start(meta)``, ``case(case_result)`` and ``finish(summary)``.
``meta`` has ``rulebook`` (digest) and ``rules`` (list of rule descriptions);
``summary`` has the totals (read, evaluated, rejected, outcomes, ...).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from policy_eval import __version__
from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.result import CaseResult, Outcome, RuleResult

__all__ = ["policy_eval_reporters", "TextReporter", "JsonReporter", "JsonlReporter", "JunitReporter",
           "SarifReporter"]


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=False, default=str)


class TextReporter:
    """Human-readable: violations first, with clause, message and remedy; then a totals line."""

    _COLORS = {"violated": "31", "undetermined": "33", "complied": "32", "not_applicable": "90"}

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.verbose = bool(options.get("verbose"))
        color = options.get("color")
        if color is None:
            color = hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")
        self.color = bool(color)

    def _c(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        where = f"{result.source}:{result.record}" if result.source else f"#{result.record}"
        name = result.case_id or where
        if result.error is not None:
            err = result.error
            self.out.write(self._c("31;1", "REJECTED ") + f"{where}: {err.get('json_path', '$')}: {err['message']}\n")
            return
        counts = result.counts()
        status = "VIOLATED" if counts["violated"] else ("UNDETERMINED" if counts["undetermined"] else "OK")
        code = {"VIOLATED": "31;1", "UNDETERMINED": "33;1", "OK": "32;1"}[status]
        self.out.write(f"{self._c(code, status)} {name} ({result.kind}, {where})\n")
        order = {Outcome.VIOLATED: 0, Outcome.UNDETERMINED: 1, Outcome.COMPLIED: 2, Outcome.NOT_APPLICABLE: 3}
        for r in sorted(result.results, key=lambda r: order[r.outcome]):
            if not self.verbose and r.outcome in (Outcome.COMPLIED, Outcome.NOT_APPLICABLE) and r.waiver is None:
                continue
            self._rule(r)
        if not self.verbose:
            rest = [f"{counts[k]} {k.replace('_', ' ')}" for k in ("complied", "not_applicable") if counts[k]]
            if rest:
                self.out.write(self._c("90", f"    ({', '.join(rest)})") + "\n")

    def _rule(self, r: RuleResult) -> None:
        label = r.outcome.value.upper().replace("_", " ")
        version = f" v{r.version}" if r.version else ""
        clause = f" [{r.clause}]" if r.clause else ""
        self.out.write(f"  {self._c(self._COLORS[r.outcome.value], label)} {r.full_id}{version}{clause} "
                       f"({r.severity})\n")
        self.out.write(f"      {r.message or r.reason}\n")
        for rem in r.remedies:
            amount = f" {rem['amount_text']}" if "amount_text" in rem else ""
            to = f" to {rem['to']}" if rem.get("to") else ""
            form = f" as {rem['form']}" if rem.get("form") else ""
            self.out.write(f"      remedy: {rem['kind']}{amount}{to}{form}\n")
        if r.missing:
            self.out.write(f"      missing: {', '.join(r.missing)}\n")
        if r.waiver:
            self.out.write(f"      waiver: {r.waiver['id']} until {r.waiver['until']}\n")

    def finish(self, summary: dict[str, Any]) -> None:
        o = summary["outcomes"]
        line = (f"{summary['read']} read: {summary['evaluated']} evaluated, {summary['rejected']} rejected; "
                f"{o['violated']} violated, {o['undetermined']} undetermined, {o['complied']} complied, "
                f"{o['not_applicable']} not applicable ({summary['cases_violating']} case(s) with violations)")
        self.out.write(self._c("1", line) + "\n")


class JsonlReporter:
    """One JSON object per case (schemas/result.schema.json), in input order."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        self.out.write(_dumps(result.to_dict()) + "\n")

    def finish(self, summary: dict[str, Any]) -> None:
        pass


class JsonReporter:
    """One JSON document: ``{format, tool, rulebook, cases: [...], summary}``, written as it streams."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.first = True

    def start(self, meta: dict[str, Any]) -> None:
        self.out.write('{"format": "1", "tool": ' + _dumps({"name": "policy-eval", "version": __version__})
                       + ', "rulebook": ' + _dumps(meta.get("rulebook")) + ', "cases": [')

    def case(self, result: CaseResult) -> None:
        self.out.write(("\n" if self.first else ",\n") + _dumps(result.to_dict()))
        self.first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write('\n], "summary": ' + _dumps(summary) + "}\n")


class JunitReporter:
    """JUnit XML: a test suite per rule; a violated case is a failure, an undetermined one an error."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.suites: dict[str, list[str]] = {}
        self.counts: dict[str, list[int]] = {}

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        name = result.case_id or f"{result.source}:{result.record}"
        if result.error is not None:
            suite = "rejected-records"
            body = f'<error message={quoteattr(result.error["message"])}/>'
            self._add(suite, name, body, error=True)
            return
        for r in result.results:
            if r.outcome is Outcome.NOT_APPLICABLE:
                continue
            body = ""
            failure = error = False
            if r.outcome is Outcome.VIOLATED:
                text = "\n".join([r.message or r.reason] + [f"remedy: {m['kind']} {m.get('amount_text', '')}".strip()
                                                             for m in r.remedies])
                body = f'<failure message={quoteattr(r.message or r.reason)} type="violated">{escape(text)}</failure>'
                failure = True
            elif r.outcome is Outcome.UNDETERMINED:
                body = f'<error message={quoteattr(r.reason)} type="undetermined"/>'
                error = True
            self._add(r.full_id, name, body, failure=failure, error=error, clause=r.clause)

    def _add(self, suite: str, name: str, body: str, *, failure: bool = False, error: bool = False,
             clause: str | None = None) -> None:
        props = f"<properties><property name=\"clause\" value={quoteattr(clause)}/></properties>" if clause else ""
        self.suites.setdefault(suite, []).append(
            f'    <testcase classname={quoteattr(suite)} name={quoteattr(name)}>{props}{body}</testcase>')
        c = self.counts.setdefault(suite, [0, 0, 0])
        c[0] += 1
        c[1] += failure
        c[2] += error

    def finish(self, summary: dict[str, Any]) -> None:
        total = [sum(c[i] for c in self.counts.values()) for i in range(3)]
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(f'<testsuites name="policy-eval" tests="{total[0]}" failures="{total[1]}" errors="{total[2]}">\n')
        for suite, cases in self.suites.items():
            c = self.counts[suite]
            self.out.write(f'  <testsuite name={quoteattr(suite)} tests="{c[0]}" failures="{c[1]}" errors="{c[2]}">\n')
            self.out.write("\n".join(cases) + "\n  </testsuite>\n")
        self.out.write("</testsuites>\n")


class SarifReporter:
    """SARIF 2.1.0: one result per violated (error/warning/note by severity) or undetermined rule."""

    LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.results: list[dict[str, Any]] = []
        self.rules: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def start(self, meta: dict[str, Any]) -> None:
        for rule in meta.get("rules", []):
            if rule["id"] in self.index:
                continue
            self.index[rule["id"]] = len(self.rules)
            self.rules.append({
                "id": rule["id"], "name": rule["id"].replace("/", "_"),
                "shortDescription": {"text": rule["title"]},
                "fullDescription": {"text": f"{rule['clause']}: {rule['title']}"},
                "defaultConfiguration": {"level": self.LEVEL.get(rule["severity"], "warning")},
                "properties": {"clause": rule["clause"], "severity": rule["severity"]},
            })

    def _location(self, result: CaseResult) -> list[dict[str, Any]]:
        if not result.source or result.source.startswith("<"):
            return []
        region = {"startLine": result.record} if result.record else {}
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": result.source}}}
        if region:
            loc["physicalLocation"]["region"] = region
        return [loc]

    def case(self, result: CaseResult) -> None:
        if result.error is not None:
            self.results.append({"ruleId": "policy-eval/rejected-record", "level": "error",
                                 "message": {"text": f"{result.error.get('json_path')}: {result.error['message']}"},
                                 "locations": self._location(result)})
            return
        for r in result.results:
            if r.outcome not in (Outcome.VIOLATED, Outcome.UNDETERMINED) or r.rule is None:
                continue
            level = self.LEVEL.get(r.severity, "warning") if r.outcome is Outcome.VIOLATED else "note"
            entry: dict[str, Any] = {
                "ruleId": r.full_id, "level": level,
                "message": {"text": f"[{r.outcome.value}] case {result.case_id}: {r.message or r.reason}"},
                "locations": self._location(result),
                "properties": {"outcome": r.outcome.value, "case_id": result.case_id, "version": r.version,
                               "remedies": list(r.remedies)},
            }
            if r.full_id in self.index:
                entry["ruleIndex"] = self.index[r.full_id]
            self.results.append(entry)

    def finish(self, summary: dict[str, Any]) -> None:
        doc = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "policy-eval", "version": __version__,
                                    "informationUri": "https://example.invalid/policy-eval", "rules": self.rules}},
                "results": self.results,
                "properties": {"summary": summary},
            }],
        }
        self.out.write(_dumps(doc, indent=2) + "\n")


@hookimpl
def policy_eval_reporters() -> dict[str, Any]:
    return {"text": TextReporter, "json": JsonReporter, "jsonl": JsonlReporter, "junit": JunitReporter,
            "sarif": SarifReporter}
