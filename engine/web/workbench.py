"""The workbench's core, free of HTTP: what each page shows, computed through the embedding API.

Input: a policy folder (and optional deployment parameters and example cases). Output: plain dicts and
lists that the templates render (every value escaped there). An edited policy file is checked and
evaluated from a temporary copy of the folder; nothing is written to the served folder except by
:meth:`Workbench.save`, which checks first.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.api import Rulebook
from policy_eval.errors import CaseError, ErrorList, PolicyError
from policy_eval.resources import bundled_policies
from policy_eval.web import batch, corpus, editing, explain, inputs, testfiles
from policy_eval.web.impact import compare as compare_sides
from policy_eval.web.inputs import MAX_CASES, MAX_UPLOAD, TooLarge, WorkbenchError, too_large
from policy_eval.web.limit import stopped_result

__all__ = ["Workbench", "WorkbenchError", "TooLarge", "MAX_UPLOAD", "MAX_CASES", "CORPORA"]

CORPORA = ("examples", "golden")  # the corpora an impact may name (corpus_name), besides an uploaded one

def _errors(exc: PolicyError, *roots: Path) -> list[dict[str, Any]]:
    """The located errors of ``exc``; with ``roots`` (a temporary copy of the folder, the served folder), each
    file named relative to the first that holds it, as the user knows the file, never by the temporary path."""
    found = exc.errors if isinstance(exc, ErrorList) else [exc]
    out = []
    for e in found:
        file = e.file
        if file and roots:
            within = [r for r in roots if r.resolve() in Path(file).resolve().parents]
            file = str(Path(file).resolve().relative_to(within[0].resolve())) if within else Path(file).name
        where = ":".join(str(x) for x in (file, e.line, e.column) if x is not None)
        out.append({"file": file, "line": e.line, "column": e.column, "message": e.message,
                    "text": f"{where}: {e.message}" if where else e.message})
    return out


@dataclass
class Workbench:
    policies: Path
    params: Path | None = None
    examples: Path | None = None
    against: Path | None = None  # a second policy folder: the impact's "before" side (serve --against)
    _book: Rulebook | None = field(default=None, init=False, repr=False)
    _against_book: Rulebook | None = field(default=None, init=False, repr=False)

    @classmethod
    def open(cls, policies: str | Path | None = None, *, params: str | Path | None = None,
             examples: str | Path | None = None, against: str | Path | None = None) -> Workbench:
        root = Path(policies) if policies else bundled_policies()
        if not root.exists():
            raise WorkbenchError(f"no such policy folder: {root}")
        if against is not None and not Path(against).is_dir():
            raise WorkbenchError(f"no such policy folder to compare against: {against}")
        bench = cls(root.resolve(), Path(params) if params else None, Path(examples) if examples else None,
                    Path(against).resolve() if against is not None else None)
        bench.book()  # fail early on a broken rulebook
        bench.before()
        return bench

    # --- loading -----------------------------------------------------------------------------------------
    def _load(self, folder: Path, params: Path | None = None) -> Rulebook:
        """The rulebook of ``folder``, with the served ``--params`` file (or ``params``, which holds it)."""
        kwargs: dict[str, Any] = {}
        if params or self.params is not None:
            kwargs["params"] = params or self.params
        schemas = self._schemas(folder)
        return Rulebook.load(folder, **kwargs) if schemas is None else Rulebook.load(folder, schemas=schemas, **kwargs)

    def _schemas(self, folder: Path) -> Path | None:
        """The case schemas a copy of the served folder is loaded with: beside the served folder, unless the copy
        holds its own; None: the loader's default (its own, else the bundled ones)."""
        schemas = self.policies.parent / "schemas"
        return None if (folder / "schemas" / "cases").is_dir() or not (schemas / "cases").is_dir() else schemas

    def book(self) -> Rulebook:
        if self._book is None:
            self._book = self._load(self.policies)
        return self._book

    def before(self) -> Rulebook:
        """The rulebook an impact compares against: the ``against`` folder when given, else the served one."""
        if self.against is None:
            return self.book()
        if self._against_book is None:
            self._against_book = self._load(self.against)
        return self._against_book

    @contextmanager
    def side(self, which: str, relpath: str = "", text: str = "",
             params: Mapping[tuple[str, str], str] | None = None) -> Iterator[Rulebook]:
        """The rulebook of one side of an impact: ``before`` (the ``against`` folder, else the served one) or
        ``after`` (the served one, with ``relpath`` replaced by ``text`` when given). An edit that does not
        load raises a WorkbenchError with the file named relative to the folder. ``params``: deployment
        parameters set for this run (``(policy, name)`` -> the value's text), over the served ``--params``
        file, as a ``--params`` file sets them (:func:`policy_eval.web.inputs.overlay`); a value that does
        not fit its declaration is a WorkbenchError naming the parameter."""
        if which not in ("before", "after", ""):
            raise WorkbenchError(f"no such side: {which} (before or after)")
        if which == "after" and relpath:
            with self._edited(relpath, text) as folder:
                try:
                    book = self._with_params(folder, params)
                except PolicyError as exc:
                    raise WorkbenchError("the edited rulebook does not load: " +
                                         "; ".join(e["text"] for e in _errors(exc, folder))) from None
                yield book
        elif params:
            yield self._with_params(self.against if which == "before" and self.against else self.policies, params)
        else:
            yield self.before() if which == "before" else self.book()

    def _with_params(self, folder: Path, params: Mapping[tuple[str, str], str] | None) -> Rulebook:
        if not params:
            return self._load(folder)
        with tempfile.TemporaryDirectory(prefix="policy-eval-web-params-") as tmp:
            file, where = inputs.overlay(self.params, params, Path(tmp))
            try:
                return self._load(folder, file)
            except PolicyError as exc:
                if not any(getattr(e, "file", None) == str(file)
                           for e in (exc.errors if isinstance(exc, ErrorList) else [exc])):
                    raise
                raise inputs.ParamError(inputs.overlay_errors(exc, where, params)) from None

    def _resolve(self, relpath: str) -> Path:
        path = (self.policies / relpath).resolve()
        if self.policies not in path.parents or path.suffix not in (".yaml", ".yml") or not path.is_file():
            raise WorkbenchError(f"not a policy file of the served folder: {relpath}")
        return path

    @contextmanager
    def _edited(self, relpath: str, text: str) -> Iterator[Path]:
        """A temporary copy of the policy folder with one file replaced by ``text``."""
        if len(text.encode("utf-8")) > MAX_UPLOAD:
            raise too_large("the edited file")
        self._resolve(relpath)
        with tempfile.TemporaryDirectory(prefix="policy-eval-web-") as tmp:
            copy = Path(tmp) / "policies"
            shutil.copytree(self.policies, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
            (copy / relpath).write_text(text, encoding="utf-8")
            yield copy

    # --- the rulebook page -------------------------------------------------------------------------------
    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.policies)) for p in self.policies.rglob("*.y*ml") if p.is_file())

    def rulebook(self, query: str = "") -> list[dict[str, Any]]:
        """Policies, versions and rules; with ``query``, only rules whose id, clause, title, reading or
        message contains it (a clause number, a rule id or a Chinese keyword)."""
        q = query.strip().lower()
        out = []
        book = self.book()
        for v in book.book.versions():
            rules = []
            for r in v.rules:
                text = " ".join(str(x or "") for x in (r.full_id, r.clause, r.title, r.reading,
                                                      getattr(r.message, "text", ""))).lower()
                if q and q not in text:
                    continue
                rules.append({"id": r.full_id, "clause": r.clause, "title": r.title, "severity": r.severity,
                              "reading": r.reading, "inputs": list(r.inputs), "line": r.line})
            if rules or not q:
                out.append({"policy": v.id, "title": v.title, "version": v.version,
                            "source": v.source.get("document", ""), "applies_to": v.applies_to,
                            "from": v.effective_from.isoformat() if v.start_stated else None,
                            "until": v.effective_until.isoformat() if v.effective_until else None,
                            "file": self._relative(v.file), "params": self._params(v), "rules": rules})
        return out

    def _relative(self, file: str) -> str:
        try:
            return str(Path(file).resolve().relative_to(self.policies))
        except ValueError:
            matches = [f for f in self.files() if f.endswith(Path(file).name) and file.endswith(f)]
            return matches[0] if matches else Path(file).name

    @staticmethod
    def _params(version: Any) -> list[dict[str, Any]]:
        """Each parameter: its value (every dated value with the date it takes effect; "unset" when the text
        leaves it to the platform and no deployment sets it), where it comes from, its clause, its users."""
        used: dict[str, list[str]] = {}
        for r in version.rules:
            for name in getattr(r, "params", ()):
                used.setdefault(name, []).append(r.id)
        out = []
        for name in version.params:
            info = version.param_info.get(name)
            value = info.value if info is not None else None
            out.append({"name": name, "value": "unset" if value is None else value.replace("; ", "\n"),
                        "source": info.source if info is not None else "text",
                        "clause": info.clause if info is not None else None, "rules": used.get(name, [])})
        return out

    # --- cases -------------------------------------------------------------------------------------------
    def example_names(self) -> list[str]:
        if self.examples is None or not self.examples.is_dir():
            return []
        return sorted(p.name for p in self.examples.glob("*.json"))

    def example(self, name: str) -> str:
        if name not in self.example_names():
            raise WorkbenchError(f"no such example: {name}")
        assert self.examples is not None
        return (self.examples / name).read_text(encoding="utf-8")

    @staticmethod
    def parse_case(text: str | bytes) -> dict[str, Any]:
        """The case in ``text``, read as ``eval`` reads it (:func:`policy_eval.web.inputs.parse_case`)."""
        return inputs.parse_case(text)

    def fill(self, case: dict[str, Any], path: str, raw: str, params: dict[tuple[str, str], str] | None = None,
             book: Rulebook | None = None) -> None:
        """Fill in ``path`` (a missing value named by an undetermined verdict) with ``raw``: a case field is
        set in ``case``; a deployment parameter (``params.<policy>.<name>``) is no case field: its text goes
        into ``params``, the parameters set for the run (see :meth:`side`), never into the case."""
        found = inputs.param_of(book or self.book(), path)
        if found is None:
            inputs.fill_case(case, path, raw)
        elif params is None:
            raise WorkbenchError(f"{path} is a deployment parameter, not a case field: set it with --params")
        else:
            params[found] = raw.strip()

    @stopped_result  # (served: a case past serve --record-limit is an error result, web.limit)
    def evaluate(self, case: dict[str, Any], as_of: str | None = None, book: Rulebook | None = None, *,
                 ahead: bool = True) -> dict[str, Any]:
        """The verdicts on one case; ``ahead``: also the timeline and what would decide each verdict otherwise
        (the case page; an impact over a corpus leaves them out)."""
        book = book or self.book()
        error = book.validate(case)
        if isinstance(error, CaseError):  # the page shows the JSON path, not the API's "<api>:0" record name
            return {"error": error.at_path(), "path": error.json_path, "verdicts": []}
        result = book.evaluate(case, as_of=as_of or None, explain=True)
        verdicts = []
        for r in result.results:
            d = r.to_dict()
            fills = [{"path": p, "type": inputs.param_type(book, p)} for p in d.get("missing", [])]
            verdicts.append({
                "id": d["id"], "version": d.get("version"), "clause": d.get("clause"), "title": d.get("title"),
                "outcome": d["outcome"], "severity": d.get("severity"), "message": d.get("message"),
                "reason": d.get("reason"), "remedies": d.get("remedies", []), "missing": d.get("missing", []),
                "explanation": d.get("explanation", []), "reference_time": d.get("reference_time"),
                "error": d.get("error"), "fills": fills,
            })
        order = {"violated": 0, "undetermined": 1, "complied": 2, "not_applicable": 3}
        verdicts.sort(key=lambda v: (order.get(v["outcome"], 9), v["id"]))
        if ahead:
            explain.ahead(book, case, result, as_of, verdicts)
        return {"error": None, "case_id": result.case_id, "kind": result.kind, "verdicts": verdicts,
                "counts": dict(Counter(v["outcome"] for v in verdicts)),
                "versions": explain.versions(book, result, as_of) if ahead else [],
                "timeline": explain.timeline(book, case, result, as_of) if ahead else []}

    # --- editing -----------------------------------------------------------------------------------------
    def source(self, relpath: str) -> str:
        return self._resolve(relpath).read_text(encoding="utf-8")

    def check(self, relpath: str, text: str, case: dict[str, Any] | None = None,
              as_of: str | None = None) -> dict[str, Any]:
        """The checker's errors for an edited file, and the verdicts on ``case`` when it loads."""
        with self._edited(relpath, text) as folder:
            lost = testfiles.kind_kept(self._resolve(relpath), text, relpath)  # a policy edited into another document
            if lost is not None:  # (first: the rest of the folder may load without it, or fail saying less)
                return {"errors": _errors(lost, self.policies), "result": None}
            try:
                book = self._load(folder)
            except PolicyError as exc:  # files named as the user knows them, not by the temporary copy
                errors = _errors(exc, folder)  # (each with its quick fix, where the checker is sure of one)
                for e, fix in zip(errors, editing.fixes(exc, relpath, text, [e["file"] for e in errors]), strict=True):
                    e["fix"] = fix
                return {"errors": errors, "warnings": [], "result": None}
            tested = self._test_file_errors(relpath, text, folder)
            if tested:
                return {"errors": tested, "warnings": [], "result": None}
            result = self.evaluate(case, as_of, book, ahead=False) if case is not None else None
            return {"errors": [], "warnings": editing.warnings(folder, relpath, self._schemas(folder)), "result": result}

    def _test_file_errors(self, relpath: str, text: str, folder: Path) -> list[dict[str, Any]]:
        """For a policy test file (:mod:`policy_eval.web.testfiles`), the errors ``policy-eval test`` reports on
        it: its own, else those of the rulebook loaded with the params overlay it names (``folder``: the edited
        copy of the served folder)."""
        path = self._resolve(relpath)
        if not testfiles.is_test_file(path, text):
            return []
        error, overlay = testfiles.check(path, text, relpath)
        if error is not None:
            return _errors(error, self.policies)
        if overlay is not None:
            try:
                self._load(folder, Path(overlay))
            except PolicyError as exc:
                return _errors(exc, folder, self.policies)
        return []

    def save(self, relpath: str, text: str) -> dict[str, Any]:
        """Write the edited file only if the whole rulebook still loads with it, and a policy test file only if
        ``policy-eval test`` would read it without errors (:meth:`check` says what is wrong)."""
        checked = self.check(relpath, text)
        if checked["errors"]:
            return {"saved": False, "errors": checked["errors"]}
        target = self._resolve(relpath)
        tmp = target.with_name(f".{target.name}.web.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        self._book = None
        return {"saved": True, "errors": []}

    # --- impact and batch --------------------------------------------------------------------------------
    def golden(self) -> list[dict[str, Any]]:
        """The cases of the policy tests (:func:`policy_eval.web.corpus.golden`)."""
        return corpus.golden(self.policies)[0]

    def corpus(self, which: str = "examples") -> list[dict[str, Any]]:
        """The cases an impact runs over: ``examples`` (the example folder, read as ``eval`` reads a folder:
        :mod:`policy_eval.web.corpus`) or ``golden`` (the policy tests)."""
        return self.corpus_refused(which)[0]

    def corpus_refused(self, which: str = "examples") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """:meth:`corpus`, and what of it is refused (``where``: the file, and the record's line): what ``eval``
        refuses of the examples, the test files ``policy-eval test`` refuses; a corpus name other than those of
        :data:`CORPORA` is a WorkbenchError naming them."""
        if which not in CORPORA:
            raise WorkbenchError(f"no such corpus: {which!r} (corpus_name is one of {', '.join(CORPORA)}; "
                                 "or upload a JSON Lines file as corpus)")
        if which == "golden":  # (a test file policy-eval test refuses is listed, its cases not compared)
            return corpus.golden(self.policies)
        return corpus.examples(self.examples)  # the folder as eval and diff read it (every case file)

    @staticmethod
    def parse_corpus(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The cases of an uploaded JSON Lines corpus, and the records refused (line and error)."""
        lines = Workbench._lines(data)
        cases, rejected = [], []
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    cases.append(Workbench.parse_case(line))
                except WorkbenchError as exc:
                    rejected.append({"line": number, "error": str(exc)})
        return cases, rejected

    def impact(self, relpath: str, text: str, cases: list[dict[str, Any]], as_of: str | None = None
               ) -> dict[str, Any]:
        """What changes between the ``before`` rulebook (the ``against`` folder, else the served one) and the
        served one with ``relpath`` replaced by ``text``, compared as ``policy-eval diff`` compares
        (:func:`policy_eval.web.impact.compare`): the verdicts that change outcome, and per rule those that keep
        it but change remedies, severity or message. Cases either side refuses are listed in ``rejected``
        (their number in the corpus, from 1, and the JSON path), not dropped silently."""
        with self._edited(relpath, text) as folder:
            try:
                new = self._load(folder)
            except PolicyError as exc:
                return {"errors": _errors(exc, folder), "transitions": [], "per_rule": [], "rejected": [],
                        "cases": len(cases), "same_outcome_changes": [], "same_outcome_changed_cases": 0,
                        "changed_cases": 0, "unjudged_versions": [], "notes": []}
            return compare_sides(self.before(), new, cases, as_of,
                                 lambda case, at, book: self.evaluate(case, at, book, ahead=False))

    @staticmethod
    def _lines(data: bytes) -> list[bytes]:
        """The lines of an uploaded JSON Lines file, undecoded: each is read as eval reads a record (a line
        that is not UTF-8 is refused, not read with replacement characters)."""
        if len(data) > MAX_UPLOAD:
            raise too_large("the upload")
        lines = data.split(b"\n")
        if len(lines) - (lines[-1].strip() == b"") > MAX_CASES:
            raise WorkbenchError(f"the upload has more than {MAX_CASES} records")
        return lines

    def batch(self, data: bytes, as_of: str | None = None) -> dict[str, Any]:
        """The batch page's summary of an uploaded JSON Lines file (:func:`policy_eval.web.batch.summary`)."""
        return batch.summary(self.book(), self._lines(data), as_of)
