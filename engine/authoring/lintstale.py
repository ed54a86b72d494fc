"""The ``stale-inherited-text`` lint check: a revision changes a number its inherited texts still quote.

Input: a :class:`~policy_eval.authoring.findings.LintInput`. Output: a finding for each rule of a revision
that uses a parameter the revision gives another value (``handling_limit`` 48h in version 2, 24h in version
3) while the title, reading or message it inherits as written quotes the old value (``...48小时内处理``):
``rules``, the workbench and every report would go on showing the old number beside verdicts judged by the
new one. The finding stands at the revision's parameter and names the rule, the texts and the file they
are written in; writing them anew (an ``amend:`` entry with ``title:``, say) settles it.

The old value is looked for as a number in the text: a duration as a number with a unit word (``48h``,
``48 hours``, ``48-hour``, ``48小时``, ``2天`` for 48h), any other number (int, decimal, money) as that
number (``100`` or ``100.00`` for 100.00 CNY). Values with dates (``dated``) and unset ones are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.authoring.lintversions import revisions
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.rulebook.policy.inherit import shown_beside

__all__ = ["stale_inherited_texts"]

_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNITS = {"d": ("天", "日", "days", "day", "d"), "h": ("个小时", "小时", "hours", "hour", "hrs", "hr", "h"),
          "m": ("分钟", "minutes", "minute", "mins", "min", "m"), "s": ("秒", "seconds", "second", "secs", "sec", "s")}
_UNIT_OF = {w: u for u, words in _UNITS.items() for w in words}
_NUMBER = r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d])(?!\.\d)"
_DURATION_TEXT = re.compile(_NUMBER + r"\s*-?\s*(" + "|".join(sorted(_UNIT_OF, key=len, reverse=True))
                            + r")(?![A-Za-z])", re.IGNORECASE)
_NUMBER_TEXT = re.compile(_NUMBER)
_RENDERED_DURATION = re.compile(r"(?:\d+[dhms])+")


def _seconds(rendered: str) -> int | None:
    """A duration as the language writes it (``48h``, ``1h30m``) in seconds, else None."""
    if not _RENDERED_DURATION.fullmatch(rendered.strip()):
        return None
    return sum(int(n) * _SECONDS[u] for n, u in re.findall(r"(\d+)([dhms])", rendered))


def _amount(rendered: str) -> Decimal | None:
    m = _NUMBER_TEXT.search(rendered)
    try:
        return Decimal(m.group(1)) if m is not None else None
    except InvalidOperation:
        return None


def _quotes(text: str, kind: str, old: str) -> str | None:
    """The first place ``text`` writes the value ``old`` (of type ``kind``), as it is written there, else None."""
    if kind == "duration":
        seconds = _seconds(old)
        for m in _DURATION_TEXT.finditer(text) if seconds else ():
            if Decimal(m.group(1)) * _SECONDS[_UNIT_OF[m.group(2).lower()]] == seconds:
                return m.group(0)
        return None
    amount = _amount(old)
    if kind not in ("int", "decimal", "money") or amount is None:
        return None
    return next((m.group(0) for m in _NUMBER_TEXT.finditer(text) if Decimal(m.group(1)) == amount), None)


def _inherited_keys(version: PolicyVersion, rule: Rule, data: LintInput) -> list[str]:
    """The keys among title, reading and message that the version's file does not write for ``rule``."""
    raw = data.sources.get(version.file, (None,))[0]
    raw = raw if isinstance(raw, dict) else {}
    for entry in raw.get("rules") or []:
        if isinstance(entry, dict) and entry.get("id") == rule.id:
            return []
    written: set[Any] = set()
    for entry in raw.get("amend") or []:
        if isinstance(entry, dict) and entry.get("id") == rule.id:
            written = set(entry)
    return [k for k in ("title", "reading", "message") if k not in written]


def _text(rule: Rule, key: str) -> str:
    if key == "message":
        return "".join(p for p in rule.message.parts if isinstance(p, str))
    return str(getattr(rule, key) or "")


def stale_inherited_texts(data: LintInput) -> Iterator[Finding]:
    for version, base in revisions(data):
        for name, info in version.param_info.items():
            old = base.param_info.get(name)
            if old is None or info.file != version.file or old.value is None or info.value is None \
                    or old.value == info.value or info.dated or old.dated:
                continue
            for rule in version.rules:
                if name not in rule.params:
                    continue
                quoted = [(k, q) for k in _inherited_keys(version, rule, data)
                          if (q := _quotes(_text(rule, k), info.type, old.value)) is not None]
                if not quoted:
                    continue
                keys = " and ".join(dict.fromkeys(k for k, _ in quoted))
                written = f" ({shown_beside(rule.file, version.file)}:{rule.line})" \
                    if rule.file and rule.file != version.file else ""
                yield data.finding(
                    "stale-inherited-text",
                    f"parameter '{name}' is {info.value} here but {old.value} in version '{base.version}'; rule "
                    f"'{rule.id}' inherits its {keys} from version '{base.version}'{written}, which still "
                    f"{'says' if len(quoted) == 1 else 'say'} {', '.join(repr(q) for _, q in quoted)}: write "
                    f"the {keys} anew in this version (an 'amend:' entry for '{rule.id}' with '{quoted[0][0]}:')",
                    version.file, ("params", name), key=True)
