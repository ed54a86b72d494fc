"""Conduct-text detectors for customer-service chat, as typed functions.

Each detector returns its *evidence* — a list of ``match`` records
(``kind``, ``text``, ``start``, ``end``) — not just true/false, so a verdict
shows exactly what was posted. Word lists and allowed domains come from the
policy YAML as arguments; nothing platform-specific is hard-coded here
except the shapes of identifiers (URLs, card numbers, phone numbers).
All patterns are RE2 (linear time) because they run on untrusted text.
"""

from __future__ import annotations

from typing import Any

import re2

from policy_eval.functions import Function, compile_pattern
from policy_eval.ltypes import MATCH, STRING, list_of
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_functions", "find_urls", "find_bank_cards", "find_phones", "find_emails",
           "find_accounts", "find_words", "find_pattern", "luhn_valid"]

Match = dict[str, Any]

_URL = re2.compile(
    r"(?i)(?:https?://|www\.)[^\s<>\"'，。；！？、）)]+"
    r"|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|cn|net|org|top|xyz|cc|vip|shop|info|io|me|co|tk|club)"
    r"(?::\d+)?(?:/[^\s<>\"'，。；！？、）)]*)?"
)
_HOST = re2.compile(r"(?i)^(?:https?://)?([^/:?#\s]+)")
_DIGIT_RUN = re2.compile(r"(?:\d[ -]?){15,22}\d")
_PHONE = re2.compile(r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}")
_EMAIL = re2.compile(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
_ACCOUNT = re2.compile(
    r"(?i)(微信号?|威信|薇信|vx|v信|wx|wechat|weixin|加v|扣扣|qq号?|支付宝|alipay|zfb)\s*[:：号是为]?\s*"
    r"([a-z0-9_\-@.]{5,30})"
)
_ORDER_CONTEXT = ("订单", "单号", "运单", "快递", "物流", "order", "tracking")


def _m(kind: str, text: str, start: int, end: int) -> Match:
    return {"kind": kind, "text": text[start:end], "start": start, "end": end}


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    for domain in allowed:
        d = domain.lower().lstrip(".")
        if host == d or host.endswith("." + d):
            return True
    return False


def find_urls(text: str, allowed_domains: list[str]) -> list[Match]:
    """Links or bare domains whose host is not an allowed (platform) domain or a subdomain of one."""
    out = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?")
        host_m = _HOST.search(url)
        host = host_m.group(1) if host_m else url
        if not _host_allowed(host, allowed_domains):
            out.append(_m("url", text, m.start(), m.start() + len(url)))
    return out


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find_bank_cards(text: str) -> list[Match]:
    """Luhn-valid runs of 16–19 digits (spaces/dashes allowed) not introduced as an order or tracking number."""
    out = []
    for m in _DIGIT_RUN.finditer(text):
        raw = m.group(0)
        digits = raw.replace(" ", "").replace("-", "")
        if not 16 <= len(digits) <= 19 or not luhn_valid(digits):
            continue
        before = text[max(0, m.start() - 8): m.start()].lower()
        if any(word in before for word in _ORDER_CONTEXT):
            continue
        out.append(_m("bank_card", text, m.start(), m.end()))
    return out


def find_phones(text: str) -> list[Match]:
    """Mainland mobile numbers: 1[3-9] and 9 more digits, not part of a longer digit run."""
    out = []
    for m in _PHONE.finditer(text):
        before = text[m.start() - 1] if m.start() > 0 else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if before.isdigit() or after.isdigit():
            continue
        out.append(_m("phone", text, m.start(), m.end()))
    return out


def find_emails(text: str) -> list[Match]:
    return [_m("email", text, m.start(), m.end()) for m in _EMAIL.finditer(text)]


def find_accounts(text: str) -> list[Match]:
    """WeChat / QQ / Alipay account mentions such as ``微信: abc123``, ``vx abc_88``, ``QQ 12345678``."""
    return [_m("account", text, m.start(), m.end()) for m in _ACCOUNT.finditer(text)]


def find_words(text: str, words: list[str]) -> list[Match]:
    """Every occurrence of any of the words (case-insensitive for Latin letters)."""
    out = []
    lowered = text.lower()
    for word in words:
        if not word:
            continue
        w = word.lower()
        start = lowered.find(w)
        while start >= 0:
            out.append(_m("word", text, start, start + len(w)))
            start = lowered.find(w, start + len(w))
    out.sort(key=lambda m: m["start"])
    return out


def find_pattern(text: str, pattern: str) -> list[Match]:
    """Matches of an RE2 pattern (validated when the policy loads)."""
    return [_m("pattern", text, m.start(), m.end()) for m in compile_pattern(pattern).finditer(text)]


def _check_pattern(position: int, value: Any) -> None:
    if position == 1 and isinstance(value, str):
        compile_pattern(value)


@hookimpl
def policy_eval_functions() -> list[Function]:
    evidence = list_of(MATCH)
    S = STRING
    return [
        Function("find_urls", (S, list_of(S)), evidence, find_urls, plugin="conduct",
                 doc="non-platform links and domains"),
        Function("find_bank_cards", (S,), evidence, find_bank_cards, plugin="conduct",
                 doc="Luhn-valid 16-19 digit runs, not order numbers"),
        Function("find_phones", (S,), evidence, find_phones, plugin="conduct", doc="mainland mobile numbers"),
        Function("find_emails", (S,), evidence, find_emails, plugin="conduct", doc="e-mail addresses"),
        Function("find_accounts", (S,), evidence, find_accounts, plugin="conduct",
                 doc="WeChat/QQ/Alipay account mentions"),
        Function("find_words", (S, list_of(S)), evidence, find_words, plugin="conduct",
                 doc="occurrences of listed words"),
        Function("find_pattern", (S, S), evidence, find_pattern, check_constant=_check_pattern, plugin="conduct",
                 doc="RE2 pattern matches"),
    ]
