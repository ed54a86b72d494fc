"""The SARIF 2.1.0 reporter (registered by :mod:`policy_eval.plugins.reporters`), and where a record is, in
words and as a line, for every built-in reporter.

A record number is the line the record starts on (JSON Lines; the values of a JSON document that is not an
array), or, for an item of a JSON array, the item's number: then it is a
:class:`policy_eval.rulebook.cases.ArrayItem`, an ``int`` that also carries ``line``, the line the item
starts on. Reports say which: ``file:LINE`` for a line, ``file:LINE [item N]`` for an array item; SARIF
regions always hold the real line (``startLine``), and an array item's number goes in the result's
``properties.item`` (the ``record`` of the JSON outputs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from policy_eval import __version__
from policy_eval.errors import record_item, record_line, record_place
from policy_eval.run.result import CaseResult, Outcome, RuleResult

__all__ = ["SarifReporter"]


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=False, default=str)


def _uri(source: str) -> str:
    """A SARIF artifact URI: relative paths stay relative (percent-encoded), absolute ones become file: URIs."""
    if os.path.isabs(source):
        return Path(source).as_uri()
    return quote(str(PurePosixPath(source.replace(os.sep, "/"))))


class SarifReporter:
    """SARIF 2.1.0: one result per violated (error/warning/note by severity) or undetermined (note) verdict,
    and one per rejected record (rule ``policy-eval/rejected-record``). Results are written as they come
    (memory stays flat); the summary follows them in the run's properties.

    Each version of a rule has its own descriptor (title, clause, severity as that version words them), and a
    result points at the descriptor of the version that judged it (``ruleId``, ``ruleIndex``). SARIF wants
    ``ruleId`` to be the id of the descriptor ``ruleIndex`` points at, and gives each descriptor an id of its
    own (reportingDescriptor.id: a stable identifier of that descriptor): versions cannot share one id and
    still each be described as they are. So the newest version of a rule has the rule's own id
    (``after-sales/refund-only-handling-limit``), as a tool's rule keeps its id while its description is
    revised from one release to the next: code-scanning dashboards keep grouping the alerts of cases judged
    under the rule in force under that one rule. An older version gets ``RULE@VERSION``
    (``after-sales/refund-only-handling-limit@1``; ``@`` is never part of a rule id): results judged under
    a text no longer in force are a group of their own, described by that text, not by today's. (When a
    newer version is added, the results of the version it supersedes move to ``RULE@VERSION`` with it.)
    Every descriptor's properties name the rule (``rule``) and the version (``version``).

    ``runs[0].invocations[0].executionSuccessful`` says whether the run ended well; when it did not
    (interrupted, a record met an internal error, a worker died), ``toolExecutionNotifications`` says why,
    each pointing at one of the driver's ``notifications`` (:attr:`NOTIFICATIONS`)."""

    LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    REJECTED = "policy-eval/rejected-record"
    # Why a run was not successful (runs[0].invocations[0].toolExecutionNotifications point at these)
    NOTIFICATIONS = [
        {"id": "policy-eval/interrupted", "name": "interrupted",
         "shortDescription": {"text": "The run was interrupted (SIGINT/SIGTERM): the input was not read to the end"}},
        {"id": "policy-eval/internal-error", "name": "internal_error",
         "shortDescription": {"text": "Records were rejected with an internal error (a bug in policy-eval or a "
                                      "plugin)"}},
        {"id": "policy-eval/worker-failure", "name": "worker_failure",
         "shortDescription": {"text": "A worker process died; its records were evaluated again"}},
    ]

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.rules: list[dict[str, Any]] = []
        self.index: dict[tuple[str, str | None], int] = {}  # (rule id, version) -> its descriptor
        self.started = False  # the head is written before the first result (results stream)
        self.first = True

    def _rule(self, key: tuple[str, str | None], descriptor: dict[str, Any]) -> None:
        if key not in self.index:
            self.index[key] = len(self.rules)
            self.rules.append(descriptor)

    def start(self, meta: dict[str, Any]) -> None:
        """``meta["rules"]``: each version's rules, oldest version first (as ``Rulebook.versions`` lists them),
        each with ``id``, ``title``, ``clause``, ``severity`` and ``version`` (None or left out: unversioned)."""
        rules = meta.get("rules", [])
        newest: dict[str, str | None] = {}
        versions: dict[str, int] = {}
        for rule in rules:  # the last one listed is the newest
            newest[rule["id"]] = rule.get("version")
            versions[rule["id"]] = versions.get(rule["id"], 0) + 1
        for rule in rules:
            rule_id, version, clause, title = rule["id"], rule.get("version"), rule.get("clause"), rule["title"]
            full = f"{clause}: {title}" if clause else title
            if versions[rule_id] > 1 and version is not None:
                full += f" (version {version})"
            properties: dict[str, Any] = {"clause": clause, "severity": rule["severity"]}
            if version is not None:
                properties.update(rule=rule_id, version=version)
            self._rule((rule_id, version), {
                "id": rule_id if version == newest[rule_id] else f"{rule_id}@{version}",
                "name": rule_id.replace("/", "_"),
                "shortDescription": {"text": title},
                "fullDescription": {"text": full},
                "defaultConfiguration": {"level": self.LEVEL.get(rule["severity"], "warning")},
                "properties": properties,
            })
        self._rule((self.REJECTED, None), {
            "id": self.REJECTED, "name": "rejected_record",
            "shortDescription": {"text": "A case record could not be evaluated"},
            "fullDescription": {"text": "The record is not valid JSON, not an object, or does not match its "
                                        "case kind's JSON Schema; the message names the JSON path."},
            "defaultConfiguration": {"level": "error"},
        })

    def _descriptor(self, r: RuleResult) -> int | None:
        """The descriptor of the version that judged ``r`` (of the rule, when the rules came unversioned)."""
        found = self.index.get((r.full_id, r.version))
        return found if found is not None else self.index.get((r.full_id, None))

    def _location(self, result: CaseResult) -> list[dict[str, Any]]:
        if not result.source or result.source.startswith("<"):
            return []
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(result.source)}}}
        line = record_line(result.record)
        if line:  # a real line (an array item's own, not its number); none for a whole input
            loc["physicalLocation"]["region"] = {"startLine": line}
        return [loc]

    def _result(self, entry: dict[str, Any]) -> None:
        self.out.write(("\n" if self.first else ",\n") + "        " + _dumps(entry))
        self.first = False

    def case(self, result: CaseResult) -> None:
        if not self.started:
            self._open()
        item = record_item(result.record)
        if result.error is not None:
            entry: dict[str, Any] = {
                "ruleId": self.REJECTED, "ruleIndex": self.index[(self.REJECTED, None)], "level": "error",
                "message": {"text": f"{result.error.get('json_path', '$')}: {result.error['message']}"},
                "locations": self._location(result)}
            if item is not None:
                entry["properties"] = {"item": item}
            self._result(entry)
            return
        for r in result.results:
            if r.outcome not in (Outcome.VIOLATED, Outcome.UNDETERMINED) or r.rule is None:
                continue
            level = self.LEVEL.get(r.severity, "warning") if r.outcome is Outcome.VIOLATED else "note"
            index = self._descriptor(r)
            properties: dict[str, Any] = {"outcome": r.outcome.value, "case_id": result.case_id,
                                          "version": r.version, "clause": r.clause, "remedies": list(r.remedies)}
            if item is not None:
                properties["item"] = item
            entry = {
                "ruleId": self.rules[index]["id"] if index is not None else r.full_id, "level": level,
                "message": {"text": f"[{r.outcome.value}] case "
                                    f"{result.case_id or record_place(result.source, result.record)}: "
                                    f"{r.message or r.reason}"},
                "locations": self._location(result),
                "properties": properties,
            }
            if index is not None:
                entry["ruleIndex"] = index
            self._result(entry)

    def _open(self) -> None:
        """Everything before the results: written once the rules are known, then results stream."""
        self.started = True
        head = {
            "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "policy-eval", "version": __version__,
                                          "informationUri": "https://example.invalid/policy-eval",
                                          "rules": self.rules,
                                          "notifications": self.NOTIFICATIONS}}}],
        }
        text = _dumps(head, indent=2)
        cut = text.rindex("}\n  ]\n}")  # after the run's "tool": the results follow
        self.out.write(text[:cut].rstrip() + ',\n      "results": [')

    def finish(self, summary: dict[str, Any]) -> None:
        if not self.started:
            self._open()
        self.out.write(("\n      ]" if not self.first else "]") + ',\n      "invocations": ['
                       + _dumps(self.invocation(summary)) + '],\n      "columnKind": "unicodeCodePoints",\n'
                       '      "properties": {"summary": ' + _dumps(summary) + "}\n    }\n  ]\n}\n")

    def _notification(self, index: int) -> dict[str, Any]:
        return {"id": self.NOTIFICATIONS[index]["id"], "index": index}

    def invocation(self, summary: dict[str, Any]) -> dict[str, Any]:
        """``runs[0].invocations[0]``: ``executionSuccessful`` is false when the run did not end well (the
        exit codes 130, 4 and 3): interrupted (the input was not read to the end), records rejected with an
        internal error (a bug), or a worker lost (its records were evaluated again: the report is complete);
        a ``toolExecutionNotifications`` entry (level error) says why, one a cause. Violations and rejected
        records are results, not a failed execution."""
        notes: list[dict[str, Any]] = []
        if summary.get("interrupted"):
            notes.append({"level": "error", "descriptor": self._notification(0),
                          "message": {"text": f"the run was interrupted after {summary.get('read', 0)} record(s): "
                                              "this report is incomplete (the input was not read to the end)"}})
        if summary.get("internal"):  # (start() declared the rejected-record descriptor)
            notes.append({"level": "error", "descriptor": self._notification(1),
                          "associatedRule": {"id": self.REJECTED, "index": self.index[(self.REJECTED, None)]},
                          "message": {"text": f"{summary['internal']} record(s) rejected with an internal error "
                                              "(a bug in policy-eval, or in a plugin the result names): see the "
                                              f"{self.REJECTED} results"}})
        if summary.get("worker_deaths"):
            notes.append({"level": "error", "descriptor": self._notification(2),
                          "message": {"text": f"{summary['worker_deaths']} worker failure(s): their records were "
                                              "evaluated again in a fresh worker (a record that killed its worker "
                                              "twice is rejected); the report is complete, but the run was not "
                                              "healthy"}})
        invocation: dict[str, Any] = {"executionSuccessful": not notes}
        if notes:
            invocation["toolExecutionNotifications"] = notes
        return invocation
