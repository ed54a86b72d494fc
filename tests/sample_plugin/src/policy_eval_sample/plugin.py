"""The sample plugin: one implementation of each policy-eval hook.

Registered through the ``policy_eval`` entry point ``sample`` (see
pyproject.toml). It only imports policy-eval's public plugin API:
``policy_eval.lang.functions.Function``, ``policy_eval.lang.types`` and
``policy_eval.plugins.hookspecs.hookimpl``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.lang.functions import Function
from policy_eval.lang.types import STRING
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["category_class", "load_tsv", "MarkdownReporter", "mark_remote_area", "REMOTE_PROVINCES"]

# --- function ---------------------------------------------------------------------------------------------

CATEGORY_CLASSES = {
    "水果": "fresh", "生鲜": "fresh", "蔬菜": "fresh", "肉禽蛋": "fresh", "水产": "fresh", "鲜花": "fresh",
    "手机": "electronics", "数码": "electronics", "电脑": "electronics", "家电": "electronics",
}


def category_class(category: str) -> str:
    """The handling class of a goods category: fresh, electronics or general."""
    return CATEGORY_CLASSES.get(category.strip(), "general")


# --- case loader --------------------------------------------------------------------------------------------

def _cell(value: str, typ: str) -> Any:
    if typ == "int":
        return int(value)
    if typ == "decimal":
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    if typ == "bool":
        if value.lower() in ("true", "1", "yes", "是"):
            return True
        if value.lower() in ("false", "0", "no", "否"):
            return False
        raise ValueError(f"{value!r} is not a yes/no value")
    return value


def load_tsv(stream: IO[bytes], source: str = "<input>",
             options: Mapping[str, Any] | None = None) -> Iterator[tuple[int, dict[str, Any] | CaseError]]:
    """Tab-separated rows → cases, lazily. Header cells: ``order.id``, ``order.items:int``, ``order.paid:decimal``."""
    opts = options or {}
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text, delimiter="\t")
        header: list[tuple[list[str], str]] | None = None
        for row in reader:
            line = reader.line_num
            if header is None:
                header = []
                for cell in row:
                    path, _, typ = cell.strip().partition(":")
                    header.append((path.split("."), typ or "str"))
                continue
            if not any(c.strip() for c in row):
                continue
            case: dict[str, Any] = {"kind": opts["kind"]} if opts.get("kind") else {}
            try:
                for (path, typ), value in zip(header, row, strict=False):
                    if value.strip() == "":
                        continue
                    node = case
                    for part in path[:-1]:
                        node = node.setdefault(part, {})
                    node[path[-1]] = _cell(value.strip(), typ)
            except ValueError as exc:
                yield line, CaseError(f"column {'.'.join(path)}: {exc}", source=source, record=line,
                                      json_path="$." + ".".join(path))
                continue
            yield line, case
    finally:
        text.detach()  # the caller owns the stream


# --- reporter --------------------------------------------------------------------------------------------

def _md(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


class MarkdownReporter:
    """A Markdown report: one table row per violated or undetermined verdict, then the totals."""

    def __init__(self, stream: IO[str], options: dict[str, Any]) -> None:
        self.out = stream
        self.rows = 0

    def start(self, meta: dict[str, Any]) -> None:
        self.out.write("# policy-eval report\n\n")
        self.out.write(f"Rulebook `{meta.get('rulebook', '')}`\n\n")
        self.out.write("| case | rule | outcome | clause | details |\n|---|---|---|---|---|\n")

    def case(self, result: Any) -> None:
        name = _md(result.case_id or f"{result.source}:{result.record}")
        if result.error is not None:
            self.out.write(f"| {name} | — | **rejected** | — | {_md(result.error.get('message'))} |\n")
            self.rows += 1
            return
        for r in result.results:
            if r.outcome.value not in ("violated", "undetermined"):
                continue
            self.out.write(f"| {name} | `{r.full_id}` | **{r.outcome.value}** | {_md(r.clause)} | "
                           f"{_md(r.message or r.reason)} |\n")
            self.rows += 1

    def finish(self, summary: dict[str, Any]) -> None:
        if not self.rows:
            self.out.write("| — | — | no findings | — | — |\n")
        o = summary["outcomes"]
        self.out.write(f"\n**{summary['read']} case(s)**: {summary['evaluated']} evaluated, {summary['rejected']} "
                       f"rejected; {o['violated']} violated, {o['undetermined']} undetermined, {o['complied']} "
                       f"complied, {o['not_applicable']} not applicable.\n")


# --- enricher --------------------------------------------------------------------------------------------

#: 偏远地区: provinces where free-shipping promises usually exclude delivery.
REMOTE_PROVINCES = frozenset({"新疆", "西藏", "青海", "内蒙古", "甘肃", "宁夏"})


def mark_remote_area(case: dict[str, Any]) -> dict[str, Any]:
    """``order.remote_area`` for parcel cases that do not state it, from ``order.province``."""
    order = case.get("order")
    if case.get("kind") != "parcel" or not isinstance(order, dict) or "remote_area" in order:
        return case
    province = order.get("province")
    if not isinstance(province, str):
        return case
    remote = any(province.startswith(p) for p in REMOTE_PROVINCES)
    return {**case, "order": {**order, "remote_area": remote}}


# --- hooks ------------------------------------------------------------------------------------------------

@hookimpl
def policy_eval_functions() -> list[Function]:
    return [Function("category_class", (STRING,), STRING, category_class,
                     doc="fresh / electronics / general handling class of a goods category")]


@hookimpl
def policy_eval_case_loaders() -> dict[str, Any]:
    return {"tsv": load_tsv}


@hookimpl
def policy_eval_reporters() -> dict[str, Any]:
    return {"markdown": MarkdownReporter}


@hookimpl
def policy_eval_enrichers() -> list[Any]:
    return [mark_remote_area]
