"""The impact page's comparison: the command line's own (``policy-eval diff``, :mod:`policy_eval.run.diff`).

Input: the two rulebooks of an impact (before, after), the cases of a corpus, an as-of date. Output: the plain
dicts the impact page renders (every value escaped there):

* ``transitions``: a row per case and rule whose outcome changes, with both sides' explained verdicts and the
  case (for the "open case" buttons), and ``per_rule``: their count per rule and outcome pair. What counts as
  a change is diff's rule: absent and not applicable are the same for a case (a rule added where it does not
  apply changes nothing; ``violated -> absent`` is a change).
* ``same_outcome_changes``: per rule, the verdicts that keep their outcome but change remedies, severity or
  message (:mod:`policy_eval.run.verdict_changes`), as ``diff --format json`` writes them (plus
  ``remedies_more``: what the page leaves out after the first :data:`LIMIT` remedy lines, as the text report
  does), and ``same_outcome_changed_cases``: the cases no outcome of which changes but that get something else.
* ``rejected``: the cases either side's schema refuses (their number in the corpus, from 1, and the JSON
  path), not compared.
* ``changed_cases``: how many cases change outcome (diff's "N of M case(s) change outcome"), and ``notes``: what
  diff's report notes below its counts, in its words: each new or changed version that judged none of the cases
  (``unjudged_versions``, as ``diff --format json`` names them: their reference times fall outside its period,
  e.g. a revision with a future ``effective_from``; an as-of date in its period judges them by it), and that
  nothing was compared (both rulebooks identical, or every case judged by the same versions on both sides).

The cases are evaluated through the embedding API (the plugins' enrichers apply, as on the case page) and
compared by :func:`~policy_eval.run.diff.diff_rulebooks`; only the cases that change outcome are evaluated
again, with explanations, for their rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from policy_eval.api import Rulebook
from policy_eval.errors import CaseError
from policy_eval.run.diff import ABSENT, DiffReport, diff_rulebooks
from policy_eval.run.diff import notes as diff_notes
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult
from policy_eval.web.inputs import case_text
from policy_eval.web.limit import CaseStopped, watched

__all__ = ["compare", "notes", "LIMIT", "SOURCE"]

SOURCE = "corpus"  # a case without an id is named corpus:N (N: its number in the corpus, from 1)
LIMIT = 8  # remedy lines per rule, and case ids per line, as the text report of diff shows them

# (case, as_of, rulebook) -> the explained verdicts of the case page (Workbench.evaluate without what lies ahead)
Verdicts = Callable[[dict[str, Any], str | None, Rulebook], dict[str, Any]]


class _Side:
    """One side as :func:`diff_rulebooks` uses an evaluator (its ``rulebook`` and ``evaluate``), evaluating
    through the API and keeping each case's outcome per rule, by its number in the corpus."""

    def __init__(self, book: Rulebook) -> None:
        self.book = book
        self.rulebook = book.book
        self.outcomes: dict[int, dict[str, str]] = {}

    def evaluate(self, case: Mapping[str, Any], as_of: Any = None, source: str | None = None,
                 record: int | None = None) -> CaseResult:
        try:  # (served: a case past serve --record-limit stops the impact, naming the case: web.limit)
            result = watched(self.book.evaluate, case, as_of=as_of, source=source, record=record)
        except CaseStopped as exc:
            raise CaseStopped(f"case {record} of the corpus: {exc}") from None
        if record is not None:
            self.outcomes[record] = {r.full_id: r.outcome.value for r in result.results}
        return result


def _refusal(case: Any, *books: Rulebook) -> CaseError | None:
    """The schema error of the first side that refuses ``case`` (a case either side refuses is not compared)."""
    for book in books:
        error = book.validate(case)
        if error is not None:
            return error
    return None


def compare(old: Rulebook, new: Rulebook, cases: list[dict[str, Any]], as_of: str | None,
            verdicts: Verdicts) -> dict[str, Any]:
    """What changes for ``cases`` from ``old`` to ``new`` (see the module docstring)."""
    before, after = _Side(old), _Side(new)
    rejected: list[dict[str, Any]] = []

    def records() -> Iterator[tuple[str, int, Any]]:
        for number, case in enumerate(cases, 1):
            error = _refusal(case, old, new)
            if error is not None:  # diff counts it as rejected and compares it no further
                rejected.append({"line": number, "error": error.at_path()})
                yield SOURCE, number, error
            else:
                yield SOURCE, number, case

    # _Side is what diff_rulebooks reads of an Evaluator (rulebook, evaluate), with the API's evaluation
    report = diff_rulebooks(cast(Evaluator, before), cast(Evaluator, after), records(), as_of=as_of)
    transitions = []
    for number, case in enumerate(cases, 1):
        x, y = before.outcomes.get(number), after.outcomes.get(number)
        if x is None or y is None:
            continue
        moved = [(rid, x.get(rid, ABSENT), y.get(rid, ABSENT)) for rid in sorted(set(x) | set(y))]
        moved = [key for key in moved if key in report.transitions]  # (diff's: those of every case so moved)
        if not moved:
            continue
        a, b = verdicts(case, as_of, old), verdicts(case, as_of, new)
        olds, news = {v["id"]: v for v in a["verdicts"]}, {v["id"]: v for v in b["verdicts"]}
        text = case_text(case)
        transitions += [{"case_id": a.get("case_id"), "rule": rid, "before": ox, "after": oy,
                         "old": olds.get(rid), "new": news.get(rid), "case": text} for rid, ox, oy in moved]
    kept = []
    for rule in sorted(report.same_outcome):
        group = report.same_outcome[rule].to_dict()
        rest = group["remedies"][LIMIT:]
        group["remedies_more"] = ({"groups": len(rest), "cases": len({c for g in rest for c in g["cases"]})}
                                  if rest else None)
        kept.append(group)
    return {"errors": [], "transitions": transitions, "cases": len(cases), "rejected": rejected,
            "changed_cases": report.changed_cases, "unjudged_versions": report.unjudged, "notes": notes(report),
            "case_texts": _texts(cases, kept),
            "per_rule": [{"rule": t.rule, "before": t.before, "after": t.after, "count": len(t.cases)}
                         for t in sorted(report.transitions.values(), key=lambda t: (t.rule, t.before, t.after))],
            "same_outcome_changes": kept, "same_outcome_changed_cases": report.same_outcome_cases}


def notes(report: DiffReport) -> list[str]:
    """The notes of diff's text report (:func:`policy_eval.run.diff.notes`), worded for the page: the as-of date
    is the one beside the editor (``diff --as-of``); the page has no ``--latest``."""
    return diff_notes(report, "the as-of date beside the editor, as policy-eval diff --as-of", latest=False)


def _texts(cases: list[dict[str, Any]], groups: list[dict[str, Any]]) -> dict[str, str]:
    """The JSON text of each case the same-outcome groups list (the first :data:`LIMIT` of each list, as the
    page shows them), by the name diff gives a case (its case_id, else corpus:N), for their "open case"
    buttons; the first case of a name that two cases share."""
    shown: set[str] = set()
    for g in groups:
        lists = [r["cases"] for r in g["remedies"][:LIMIT]] + [s["cases"] for s in g["severity"]]
        if g.get("message"):
            lists.append(g["message"]["cases"])
        shown.update(c for listed in lists for c in listed[:LIMIT])
    out: dict[str, str] = {}
    for number, case in enumerate(cases, 1):
        cid = case.get("case_id")
        name = str(cid) if cid is not None and str(cid) else f"{SOURCE}:{number}"
        if name in shown and name not in out:
            out[name] = case_text(case)
    return out
