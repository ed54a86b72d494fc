"""Built-in reporters: text, json, jsonl, junit, sarif — registered as plugins.

A reporter factory is called as ``factory(stream, options)`` and returns an
object with ``start(meta)``, ``case(case_result)`` and ``finish(summary)``.
``meta`` has ``rulebook`` (digest) and ``rules`` (each version's rules, oldest version first: id, version,
title, clause, severity); ``summary`` has the totals (read, evaluated, rejected, outcomes, ...).
Where a record is reads ``file:LINE``, or ``file:LINE [item N]`` for an item of a JSON array
(:func:`policy_eval.errors.record_place`). SARIF: :mod:`policy_eval.plugins.sarif`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from policy_eval import __version__
from policy_eval.errors import printable, record_place
from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.plugins.sarif import SarifReporter
from policy_eval.run import result as _result
from policy_eval.run.result import CaseResult, Outcome, RuleResult

__all__ = ["policy_eval_reporters", "TextReporter", "JsonReporter", "JsonlReporter", "JunitReporter",
           "SarifReporter", "totals_line", "remedy_text", "use_color", "plural"]


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=False, default=str)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 case``, ``2 cases`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def totals_line(summary: dict[str, Any]) -> str:
    """One line that accounts for every record: read = evaluated + rejected, and each evaluated case is
    violating, undetermined (nothing violated) or clean; then the verdict counts over all rules."""
    o = summary["outcomes"]
    evaluated = summary["evaluated"]
    violating = summary.get("cases_violating", 0)
    clean = summary.get("cases_clean", evaluated - violating - summary.get("cases_undetermined", 0))
    undetermined = evaluated - violating - clean
    line = (f"{plural(summary['read'], 'record')} read: {evaluated} evaluated, {summary['rejected']} rejected"
            f" | cases: {violating} violating, {undetermined} undetermined, {clean} clean"
            f" | verdicts: {o['violated']} violated, {o['undetermined']} undetermined, {o['complied']} complied, "
            f"{o['not_applicable']} not applicable")
    if summary.get("interrupted"):
        line += " | INTERRUPTED: the input was not read to the end"
    return line


def use_color(stream: IO[str], option: Any) -> bool:
    """Colour only on a terminal and never with NO_COLOR set (https://no-color.org); an explicit option wins."""
    if option in (True, "always"):
        return True
    if option in (False, "never"):
        return False
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# XML 1.0 cannot carry these even escaped; JSON strings can, so case data may contain them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: Any) -> str:
    return _XML_INVALID.sub("\ufffd", str(text))


class TextReporter:
    """Human-readable: cases that need attention (violated, undetermined, rejected, waived), violations
    first with clause, message and remedy; clean cases only with ``verbose``; then a totals line."""

    _COLORS = {"violated": "31", "undetermined": "33", "complied": "32", "not_applicable": "90"}
    _ORDER = {Outcome.VIOLATED: 0, Outcome.UNDETERMINED: 1, Outcome.COMPLIED: 2, Outcome.NOT_APPLICABLE: 3}

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.verbose = bool(options.get("verbose"))
        self.color = use_color(stream, options.get("color"))

    def _c(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        # Everything from the case (its id, its file name, messages quoting its values) is escaped by
        # printable(): a case must not forge report lines or send terminal escapes.
        where = printable(record_place(result.source, result.record))  # file:LINE, file:LINE [item N], file
        if result.error is not None:
            err = result.error
            name = f" {printable(result.case_id)}" if result.case_id else ""
            self.out.write(self._c("31;1", "REJECTED") + f"{name} {where}: {printable(err.get('json_path', '$'))}: "
                           f"{printable(err['message'])}\n")
            for more in err.get("errors", [])[1:]:  # a record breaking several schema rules: the others too
                self.out.write(f"    {printable(more['json_path'])}: {printable(more['message'])}\n")
            if err.get("errors_omitted"):
                self.out.write(f"    ... and {plural(err['errors_omitted'], 'more error')}\n")
            return
        counts = result.counts()
        waived = [r for r in result.results if r.waiver is not None]
        status = "VIOLATED" if counts["violated"] else ("UNDETERMINED" if counts["undetermined"] else "OK")
        if status == "OK" and not waived and not self.verbose:
            return
        code = {"VIOLATED": "31;1", "UNDETERMINED": "33;1", "OK": "32;1"}[status]
        # named once: by its id and where it is, or (no case_id) by where it is
        shown = f"{printable(result.case_id)} ({printable(result.kind)}, {where})" if result.case_id \
            else f"{where} ({printable(result.kind)})"
        self.out.write(f"{self._c(code, status)} {shown}\n")
        for r in sorted(result.results, key=lambda r: self._ORDER[r.outcome]):
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
        self.out.write(f"  {self._c(self._COLORS[r.outcome.value], label)} {printable(r.full_id + version + clause)} "
                       f"({r.severity})\n")
        self.out.write(f"      {_one_line(r.message or r.reason)}\n")
        for rem in r.remedies:
            self.out.write(f"      remedy: {remedy_text(rem)}\n")
        if r.missing:
            self.out.write(f"      missing: {printable(', '.join(r.missing))}\n")
        if r.waiver:
            self.out.write(f"      waiver: {printable(r.waiver['id'])} until {printable(r.waiver['until'])}\n")

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write(self._c("1", totals_line(summary)) + "\n")


def remedy_text(rem: dict[str, Any]) -> str:
    """``auto_refund 59.90 CNY to buyer as <form>: <description>``; ``ban_new_listings for 7d to merchant: ...``."""
    amount = f" {rem['amount_text']}" if rem.get("amount_text") else ""
    amount += f" for {rem['duration']}" if rem.get("duration") else ""
    to = f" to {rem['to']}" if rem.get("to") else ""
    form = f" as {rem['form']}" if rem.get("form") else ""
    text = printable(f"{rem['kind']}{amount}{to}{form}")
    return f"{text}: {_one_line(rem['description'])}" if rem.get("description") else text


def _one_line(text: Any) -> str:
    """YAML block scalars leave newlines and indentation in messages; a report line wants none, and no
    control or format character from the case data it quotes (:func:`policy_eval.errors.printable`)."""
    return printable(" ".join(str(text).split()))


class JsonlReporter:
    """One JSON object per case, in input order: findings (schemas/result-findings.schema.json) or, with
    ``--detail full``, every verdict (schemas/result.schema.json) — the shape the results hold."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        self.out.write(result.to_json() + "\n")

    def finish(self, summary: dict[str, Any]) -> None:
        pass


class JsonReporter:
    """One JSON document, written as it streams: ``{format, tool, rulebook, cases: [...], summary}``; with
    findings (``meta["detail"] == "findings"``) also ``rules``: each rule's id, version, title, clause and
    severity, which the findings in ``cases`` do not repeat (a case's ``versions`` says which version)."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.first = True

    def start(self, meta: dict[str, Any]) -> None:
        findings = meta.get("detail") == "findings"
        fmt = _result.FINDINGS_FORMAT_VERSION if findings else _result.RESULT_FORMAT_VERSION
        self.out.write('{"format": ' + _dumps(fmt) + ', "tool": '
                       + _dumps({"name": "policy-eval", "version": __version__})
                       + ', "rulebook": ' + _dumps(meta.get("rulebook")))
        if findings:
            rules = [{k: r.get(k) for k in ("id", "version", "title", "clause", "severity")}
                     for r in meta.get("rules", [])]
            self.out.write(', "rules": ' + _result.dumps(rules))
        self.out.write(', "cases": [')

    def case(self, result: CaseResult) -> None:
        self.out.write(("\n" if self.first else ",\n") + result.to_json())
        self.first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write('\n], "summary": ' + _dumps(summary) + "}\n")


class JunitReporter:
    """JUnit XML: a test suite per rule, a test case per case the rule applied to; a violated verdict is a
    failure, an undetermined one an error; rejected records are errors of the suite ``rejected-records``.

    JUnit groups test cases by suite, so nothing can be written before the last case: each suite's test
    cases are spooled to a temporary file (in memory up to 64 KiB) and only the counts stay in memory.
    """

    SPOOL = 64 * 1024

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.suites: dict[str, IO[str]] = {}
        self.counts: dict[str, list[int]] = {}

    def start(self, meta: dict[str, Any]) -> None:
        pass

    def case(self, result: CaseResult) -> None:
        place = record_place(result.source, result.record)
        name = result.case_id or place
        if result.error is not None:
            where = f"{place}: {result.error.get('json_path', '$')}: "
            body = (f'<error message={quoteattr(_xml_text(result.error["message"]))} type="rejected">'
                    f'{escape(_xml_text(where + result.error["message"]))}</error>')
            self._add("rejected-records", name, body, error=True)
            return
        for r in result.results:
            if r.outcome is Outcome.NOT_APPLICABLE:
                continue
            body = ""
            failure = error = False
            if r.outcome is Outcome.VIOLATED:
                text = "\n".join([r.message or r.reason] + [f"remedy: {remedy_text(m)}" for m in r.remedies])
                body = (f'<failure message={quoteattr(_xml_text(r.message or r.reason))} type="violated">'
                        f'{escape(_xml_text(text))}</failure>')
                failure = True
            elif r.outcome is Outcome.UNDETERMINED:
                body = f'<error message={quoteattr(_xml_text(r.reason))} type="undetermined"/>'
                error = True
            self._add(r.full_id, name, body, failure=failure, error=error, clause=r.clause)

    def _add(self, suite: str, name: str, body: str, *, failure: bool = False, error: bool = False,
             clause: str | None = None) -> None:
        props = (f'<properties><property name="clause" value={quoteattr(_xml_text(clause))}/></properties>'
                 if clause else "")
        spool = self.suites.get(suite)
        if spool is None:
            spool = self.suites[suite] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in finish
                self.SPOOL, mode="w+", encoding="utf-8", errors="backslashreplace")
        spool.write(f"    <testcase classname={quoteattr(_xml_text(suite))} name={quoteattr(_xml_text(name))}>"
                    f"{props}{body}</testcase>\n")
        c = self.counts.setdefault(suite, [0, 0, 0])
        c[0] += 1
        c[1] += failure
        c[2] += error

    def finish(self, summary: dict[str, Any]) -> None:
        if summary.get("interrupted"):  # an error a CI system shows: the report is not the whole input's
            read = summary.get("read", 0)
            text = f"the run was interrupted after {read} record(s): this report is incomplete"
            self._add("interrupted", "interrupted", f'<error message={quoteattr(text)} type="interrupted"/>',
                      error=True)
        total = [sum(c[i] for c in self.counts.values()) for i in range(3)]
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(f'<testsuites name="policy-eval" tests="{total[0]}" failures="{total[1]}" '
                       f'errors="{total[2]}">\n')
        for suite, spool in self.suites.items():
            c = self.counts[suite]
            self.out.write(f'  <testsuite name={quoteattr(_xml_text(suite))} tests="{c[0]}" failures="{c[1]}" '
                           f'errors="{c[2]}" skipped="0">\n')
            spool.seek(0)
            shutil.copyfileobj(spool, self.out)
            spool.close()
            self.out.write("  </testsuite>\n")
        self.suites.clear()
        self.out.write("</testsuites>\n")


@hookimpl
def policy_eval_reporters() -> dict[str, Any]:
    return {"text": TextReporter, "json": JsonReporter, "jsonl": JsonlReporter, "junit": JunitReporter,
            "sarif": SarifReporter}
