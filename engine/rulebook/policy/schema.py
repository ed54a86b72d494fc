"""Policy files against ``schemas/policy.schema.json``: every violation as a readable, located error."""

from __future__ import annotations

import difflib
import functools
from decimal import Decimal
from typing import Any, NamedTuple

import jsonschema

from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.resources import policy_schema
from policy_eval.rulebook.yamlload import Positions

Path_ = tuple[Any, ...]  # a JSON path into the policy document


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    # minLength counts what is not white space: a clause or title of spaces only is as empty as "" (an
    # expression of spaces only is refused so too, before the parser would call it an empty condition)
    checker = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"minLength": _min_length})
    return checker(policy_schema())


def _min_length(validator: Any, limit: Any, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and len(instance.strip()) < limit:
        yield jsonschema.ValidationError(f"{instance!r} is too short")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return {str: "text", list: "a list", dict: "a mapping", type(None): "nothing (null)"}.get(type(value), "?")


def suggest(word: str, choices: list[str]) -> str:
    close = _closest(word, choices)
    return f"; did you mean '{close}'?" if close is not None else ""


def _closest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


class _Found(NamedTuple):
    """One readable schema error: the path of the broken part, the message, whether it points at the key
    rather than the value; for a key that is missing, the mapping that lacks it and the key(s) it wants (any
    one of them would do); for an unknown key, the known key it is a misspelling of."""

    path: Path_
    message: str
    key: bool
    lacking: Path_ | None = None
    wants: tuple[str, ...] = ()
    means: str | None = None


def schema_errors(data: Any, positions: Positions) -> list[tuple[Path_, PolicyError]]:
    """Every schema violation as (path of the broken part, located error).

    A missing key that an unknown key of the same mapping misspells (``severty:`` for ``severity``) is not
    reported: the unknown key's error, at that key and naming the key meant, says it all. A missing key is
    located at the key of the mapping that lacks it (``policy:``), or where the mapping starts when it has no
    key (a list item's ``- id:``, the document)."""
    found: list[_Found] = []
    for err in _validator().iter_errors(data):
        found.extend(_describe(err, data))
    misspelt = {(f.path[:-1], f.means) for f in found if f.means is not None}
    out: list[tuple[Path_, PolicyError]] = []
    seen: set[tuple[Path_, str]] = set()
    for f in found:
        if (f.path, f.message) in seen or any((f.lacking, name) in misspelt for name in f.wants):
            continue
        seen.add((f.path, f.message))
        line, column = positions.where(f.lacking, key=True) if f.lacking is not None else \
            positions.where(f.path, key=f.key)
        out.append((f.path, PolicyLoadError(f.message, file=positions.file, line=line, column=column,
                                            source_line=positions.line_text(line))))
    return out


def _where(path: Path_, data: Any = None) -> str:
    """A path as an author reads it: list entries counted from 1 (``rules #2.severity``), a rule, amendment or
    waiver named by its id where it has one and the error is not in the id itself (``rules #2 (id
    refund-window).severity``; ``rules #2, id refund-window`` where the path ends at the rule)."""
    out = ""
    for i, p in enumerate(path):
        out += f" #{p + 1}" if isinstance(p, int) else f".{p}" if out else str(p)
        if i == 1 and isinstance(p, int) and path[0] in ("rules", "amend", "waivers") and path[2:3] != ("id",):
            entry = _item(data, path[0], p)
            ident = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(ident, str) and ident.strip() and len(ident) <= 80:
                out += f", id {ident}" if len(path) == 2 else f" (id {ident})"
    return out or "the file"


def _bare_number(path: Path_, value: Any) -> str | None:
    """What to write for a number given as a remedy's ``amount`` (money) or ``duration``, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or path[-1:] not in (("amount",),
                                                                                                   ("duration",)):
        return None
    number = Decimal(str(value))
    shown_back = number.is_finite() and -6 <= number.adjusted() <= 18  # (else neither quantized nor shown: 10**60, 1e-30)
    if path[-1] == "amount":
        if not shown_back:
            return "an amount of money is text with its currency, e.g. 39.90 CNY (or another ISO 4217 code)"
        shown = f"{number:.2f}" if number == number.quantize(Decimal("0.01")) else str(number)
        return f"an amount of money has its currency: write {shown} CNY (or another ISO 4217 code)"
    if not shown_back:
        return "a duration is text with its unit, e.g. 7d or 36h"
    n = str(number.normalize()) if number == number.to_integral_value() else None
    return (f"a duration has its unit: write {n}d (or {n}h, {n}m, {n}s)" if n is not None else
            "a duration has its unit, in whole numbers: write 36h, not 1.5d")


def _item(data: Any, section: str, index: int) -> Any:
    items = data.get(section) if isinstance(data, dict) else None
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def _describe(err: jsonschema.ValidationError, data: Any = None) -> list[_Found]:
    """Readable messages for one schema error (``data``: the document, for the ids that name its rules)."""
    return [f if isinstance(f, _Found) else _Found(*f) for f in _messages(err, data)]


def _messages(err: jsonschema.ValidationError, data: Any = None) -> list[_Found | tuple[Path_, str, bool]]:
    """Readable messages for one schema error: :class:`_Found`, or (path, message, point at the key rather
    than the value)."""
    path: Path_ = tuple(err.absolute_path)
    where = _where(path, data)
    schema = err.schema if isinstance(err.schema, dict) else {}
    value: Any = err.instance
    expected: Any = err.validator_value
    if err.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties") or {})
        return [_Found(path + (extra,), f"unknown key '{extra}'" + (suggest(str(extra), allowed)
                                                                    or f" (allowed: {', '.join(allowed)})"),
                       True, means=_closest(str(extra), allowed))
                for extra in value if extra not in allowed]
    if err.validator == "not" and path == () and isinstance(value, dict) and ("withdraw" in value or "amend" in value):
        return [((key,), f"'{key}' belongs to a revision: name the version this file revises in policy.revises",
                 True) for key in ("withdraw", "amend") if key in value]
    if err.validator == "not" and path[:1] == ("amend",) and isinstance(value, dict):
        return [(path + ("forbid",), "an amendment has both 'require' and 'forbid'; keep one", True)]
    if err.validator == "minProperties" and path[:1] == ("amend",):
        return [(path, "this amendment changes nothing: give the keys it changes below its id (severity, "
                 "message, when, a let binding...)", False)]
    if err.validator == "required" and isinstance(value, dict):
        return [_Found(path + (name,), f"'{name}' is required (in {where})", False, path, (name,))
                for name in expected if name not in value]
    if err.validator == "oneOf" and path[:1] == ("rules",) and isinstance(value, dict):
        if "require" in value and "forbid" in value:
            return [(path + ("forbid",), "a rule has both 'require' and 'forbid'; keep one", True)]
        return [_Found(path, "a rule needs 'require' (what must hold) or 'forbid' (what must not)", False, path,
                       ("require", "forbid"))]
    if err.validator == "oneOf" and path[:1] == ("params",) and isinstance(value, dict):
        if "value" in value and "values" in value:
            return [(path + ("values",), "a parameter has either 'value' or dated 'values', not both", True)]
        return [_Found(path, "a parameter in long form needs 'value' (or dated 'values'); one the source text "
                       "leaves to the platform has no value and names that 'clause' (a deployment parameter)", False,
                       path, ("value", "values", "clause"))]
    if err.validator == "anyOf" and err.context:
        # Report the branch meant for this kind of value (the one without a type mismatch at this level).
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        for subs in branches.values():
            if not any(s.validator == "type" and tuple(s.absolute_path) == path for s in subs):
                return [d for s in subs for d in _describe(s, data)]
    if "propertyNames" in err.schema_path:
        return [(path + (value,), f"{where}: name {_short(value)} is not allowed "
                 f"(letters, digits and _; not starting with a digit)", True)]
    if err.validator == "enum":
        choices = [str(c) for c in expected]
        return [(path, f"{where}: {_short(value)} is not one of {', '.join(choices)}"
                 f"{suggest(str(value), choices)}", False)]
    if err.validator == "type":
        types = expected if isinstance(expected, list) else [expected]
        bare = _bare_number(path, value) if types == ["string", "boolean"] else None
        if bare is not None:  # a remedy's amount or duration written as a number: YAML read it as one
            return [(path, f"{where}: {bare}", False)]
        hint = "; write it in quotes" if types == ["string"] and _json_type(value) in ("a number", "a boolean") \
            else ""
        if types == ["array"] and len(path) == 1 and path[0] in ("rules", "amend", "withdraw", "waivers"):
            hint = "; each entry starts with '- ' on a line of its own" if path[0] != "withdraw" else \
                "; write the rule ids as a list: [rule-a, rule-b]"
        return [(path, f"{where}: expected {' or '.join(types)}, got {_json_type(value)}{hint}", False)]
    if err.validator == "pattern" and schema.get("pattern") == policy_schema()["$defs"]["instant"]["pattern"]:
        return [(path, f"{where}: {_short(value)} is not a date (2021-01-01) or datetime "
                 f"(2021-01-01T08:00:00+08:00)", False)]
    if err.validator == "maxLength":
        return [(path, f"{where}: too long ({len(value)} characters; at most {expected})", False)]
    if err.validator == "minLength":
        spaces = " (it holds only white space)" if isinstance(value, str) and value else ""
        return [(path, f"{where}: must not be empty{spaces}", False)]
    if err.validator == "minItems":
        return [(path, f"{where}: needs at least {expected} item(s)", False)]
    if err.validator == "pattern" and path[:1] == ("params",) and path[-1] == "type":
        return [(path, f"{where}: unknown type {_short(value)} (use bool, int, decimal, string, money, date, "
                 "datetime, duration or list<...> of one of them)", False)]
    if err.validator == "pattern" and path[-1:] == ("id",) and isinstance(value, str) and "/" in value:
        rule = value.rpartition("/")[2]
        return [(path, f"{where}: a rule's id is written without its policy: {_short(rule)}", False)]
    if err.validator == "pattern":
        return [(path, f"{where}: {_short(value)} does not match {expected}", False)]
    message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
    return [(path, f"{where}: {message}" if path else message, False)]


