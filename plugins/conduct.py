"""Conduct-text detectors for customer-service chat, as typed functions.

Each detector returns its *evidence* — a list of ``match`` records
(``kind``, ``text``, ``start``, ``end``) — not just true/false, so a verdict
shows exactly what was posted. Word lists and allowed domains come from the
policy YAML as arguments; nothing platform-specific is hard-coded here
except the shapes of identifiers (URLs, card numbers, phone numbers).
All patterns are RE2 (linear time) because they run on untrusted text.
"""

from __future__ import annotations

import re2

from policy_eval.lang.functions import Function
from policy_eval.lang.patterns import found as _any_match
from policy_eval.lang.types import ANY, BOOL, DATETIME, DURATION, INT, MATCH, STRING, list_of
from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.plugins.patternsets import any_pattern, check_patterns, check_words
from policy_eval.plugins.timing import longest_burst, unanswered
from policy_eval.plugins.wording import (
    Match,
    _check_pattern,
    _check_patterns_unless,
    _check_unless,
    _m,
    any_pattern_unless,
    find_pattern,
    find_pattern_unless,
    find_words,
    find_words_unless,
)

__all__ = ["policy_eval_functions", "find_urls", "find_bank_cards", "find_phones", "find_emails",
           "find_accounts", "find_words", "find_pattern", "find_words_unless", "find_pattern_unless", "luhn_valid",
           "longest_burst", "unanswered"]


# Full-width forms (ｗｗｗ．ｅｖｉｌ．ｃｎ, １３８…, ＠) and the ideographic space fold to ASCII one character
# for one, so every offset found in the folded text is an offset in the original: evidence spans stay exact.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_URL_CHARS = r"[a-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_TLDS = ("com|cn|net|org|top|xyz|cc|vip|shop|store|info|io|me|co|tk|club|site|online|link|ltd|wang|ren|ink|"
         "pub|live|tv|app|hk|tw|biz|mobi|asia|fun|icu")
_URL = re2.compile(
    rf"(?i)(?:https?://|www\.){_URL_CHARS}+"
    rf"|(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})(?::\d{{1,5}})?(?:/{_URL_CHARS}*)?"
)
# Contiguous 16-19 digits, or groups of four with a short last group; the group in front keeps a long digit
# run from being tried at every offset (it is one candidate, rejected once).
_CARD = re2.compile(r"(?:^|[^0-9A-Za-z_])(\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,4})?)")
_PHONE = re2.compile(r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}")
_EMAIL = re2.compile(r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_ACCOUNT = re2.compile(
    r"(?i)(微信号?|威信|薇信|维信|徽信|vx|v信|wx|wechat|weixin|加v|扣扣|qq号?|企鹅号?|支付宝|alipay|zfb)"
    r"(?:\s|[:：=]|号码?|账号|帐号|是|为|id|群号?){0,4}"
    r"([a-z0-9][a-z0-9_\-@.]{4,29})"
)
# Labels that introduce the number right after them. The nearest label before a digit run decides.
_ORDER_LABELS = ("订单号", "订单编号", "订单", "单号", "运单", "快递", "物流", "售后单", "退货单", "编号",
                 "order", "tracking", "no.")
_CARD_LABELS = ("卡号", "银行卡", "储蓄卡", "信用卡", "借记卡", "账号", "帐号", "账户", "帐户", "转账", "转到",
                "打款", "打到", "汇款", "汇到", "收款", "card")
_LABEL_WINDOW = 10


_WIDE = re2.compile("[\uff01-\uff5e\u3000]")


# Texts folded lately, by value: each finder folds the text it searches (an RE2 search, ~1 µs, even where nothing is
# full-width), five times a message of a chat case. Bounded as lang.functions' normalised texts are.
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 256
_FOLDED_KEPT = 2048  # characters


def _fold(text: str) -> str:
    kept = type(text) is str and len(text) <= _FOLDED_KEPT
    if kept and (done := _FOLDED.get(text)) is not None:
        return done
    done = text.translate(_FOLD) if _any_match(_WIDE, text) else text
    if kept:
        if len(_FOLDED) >= _FOLDED_MAX:
            _FOLDED.clear()
        _FOLDED[text] = done
    return done


def _alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _glued(folded: str, start: int, end: int, *, letters: bool) -> bool:
    """True when [start, end) is part of a longer identifier (digits, or letters too, or '-'/'_' + more)."""
    def joins(ch: str) -> bool:
        return _alnum(ch) if letters else ch.isdigit()

    before = folded[start - 1] if start > 0 else " "
    after = folded[end] if end < len(folded) else " "
    if joins(before) or joins(after):
        return True
    if before in "-_" and start > 1 and _alnum(folded[start - 2]):
        return True
    return after in "-_" and end + 1 < len(folded) and _alnum(folded[end + 1])


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    for domain in allowed:
        d = domain.lower().strip().lstrip(".")
        if d.startswith("www."):
            d = d[4:]
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority = rest[:cut].rsplit("@", 1)[-1]  # https://yangkeduo.com@evil.cn/ goes to evil.cn
    return authority.split(":", 1)[0]


def _trim_url(url: str) -> str:
    """Drop trailing sentence punctuation and unbalanced closing brackets (in one pass from the end, the bracket
    counts kept as it goes: a link of n closing brackets costs n steps, not n squared)."""
    end = len(url)
    opened, closed = url.count("("), url.count(")")
    opened_sq, closed_sq = url.count("["), url.count("]")
    while end:
        last = url[end - 1]
        if last in ".,;:!?'\"":
            end -= 1
        elif last == ")" and opened < closed:
            end -= 1
            closed -= 1
        elif last == "]" and opened_sq < closed_sq:
            end -= 1
            closed_sq -= 1
        else:
            break
    return url[:end]


def find_urls(text: str, allowed_domains: list[str]) -> list[Match]:
    """Links or bare domains whose host is not an allowed (platform) domain or a subdomain of one.

    The host is the one the link really opens (``https://yangkeduo.com@evil.cn`` opens evil.cn);
    the domain of an e-mail address is not a link; full-width characters count as their ASCII forms.
    """
    folded = _fold(text)
    out: list[Match] = []
    if not _any_match(_URL, folded):  # (most texts: no match made)
        return out
    for m in _URL.finditer(folded):
        start = m.start()
        url = _trim_url(m.group(0))
        end = start + len(url)
        scheme = url.lower().startswith(("http://", "https://", "www."))
        if not scheme:
            before = folded[start - 1] if start > 0 else " "
            after = folded[end] if end < len(folded) else " "
            if before in "@.-_" or _alnum(before) or _alnum(after) or after in "-_@":
                continue  # an e-mail domain, or part of a longer token (evil.community)
        if not _host_allowed(_host_of(url), allowed_domains):
            out.append(_m("url", text, start, end))
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


def _nearest_label(before: str) -> str | None:
    """'order' or 'card': the kind of the label nearest to the end of ``before`` (None if neither)."""
    best: tuple[int, str] | None = None
    for kind, labels in (("order", _ORDER_LABELS), ("card", _CARD_LABELS)):
        for label in labels:
            pos = before.rfind(label)
            if pos >= 0:
                end = pos + len(label)
                if best is None or end > best[0] or (end == best[0] and kind == "card"):
                    best = (end, kind)
    return best[1] if best else None


def find_bank_cards(text: str) -> list[Match]:
    """Luhn-valid numbers of 16–19 digits (contiguous or in groups of four) that stand alone.

    A number whose nearest preceding label is an order/tracking label (订单号, 运单号, 快递单号, order no.)
    is an order number, not a card; a nearer card label (卡号, 银行卡, 转账到 ...) wins over an earlier
    order label. Digits that continue a longer number or identifier (SF1234…, 240101-…) are not a card.
    """
    folded = _fold(text)
    out: list[Match] = []
    if not _any_match(_CARD, folded):
        return out
    for m in _CARD.finditer(folded):
        start, raw = m.start(1), m.group(1)
        candidates = [raw]
        last_sep = max(raw.rfind(" "), raw.rfind("-"))
        if last_sep > 0:  # "4111 1111 1111 1111 200元": the last group may be another number
            candidates.append(raw[:last_sep])
        for candidate in candidates:
            end = start + len(candidate)
            digits = candidate.replace(" ", "").replace("-", "")
            if not 16 <= len(digits) <= 19 or _glued(folded, start, end, letters=True) or not luhn_valid(digits):
                continue
            if _nearest_label(folded[max(0, start - _LABEL_WINDOW): start].lower()) != "order":
                out.append(_m("bank_card", text, start, end))
            break
    return out


def find_phones(text: str) -> list[Match]:
    """Mainland mobile numbers: 1[3-9] and 9 more digits (spaces or dashes allowed), not part of a longer number."""
    folded = _fold(text)
    out: list[Match] = []
    if not _any_match(_PHONE, folded):
        return out
    for m in _PHONE.finditer(folded):
        if _glued(folded, m.start(), m.end(), letters=False):
            continue
        out.append(_m("phone", text, m.start(), m.end()))
    return out


def find_emails(text: str) -> list[Match]:
    """E-mail addresses (full-width ＠ and letters included)."""
    folded = _fold(text)
    if not _any_match(_EMAIL, folded):
        return []
    return [_m("email", text, m.start(), m.end()) for m in _EMAIL.finditer(folded)]


def find_accounts(text: str) -> list[Match]:
    """WeChat / QQ / Alipay account mentions such as ``微信: abc123``, ``vx abc_88``, ``QQ 12345678``.

    The span runs from the keyword to the end of the account id. A keyword inside a longer Latin word
    (``twx``) does not count.
    """
    folded = _fold(text)
    out: list[Match] = []
    if not _any_match(_ACCOUNT, folded):
        return out
    for m in _ACCOUNT.finditer(folded):
        start = m.start()
        if start > 0 and _alnum(folded[start - 1]):
            continue
        if m.end(1) == m.start(2) and m.group(1)[-1:].isascii() and m.group(1)[-1:].isalpha():
            continue  # a Latin keyword running into the id is a word: 添加vitamin C is no 加v account
        ident = m.group(2).rstrip(".-_@")
        if len(ident) < 5:
            continue
        end = m.start(2) + len(ident)
        out.append(_m("account", text, start, end))
    return out


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
        Function("find_words", (S, list_of(S)), evidence, find_words, check_constant=check_words, plugin="conduct",
                 doc="occurrences of listed words", scans=(0, 1), scan_steps=4),
        Function("find_pattern", (S, S), evidence, find_pattern, check_constant=_check_pattern, plugin="conduct",
                 doc="RE2 pattern matches", scans=(0, 1)),
        Function("find_words_unless", (S, list_of(S), list_of(S)), evidence, find_words_unless,
                 check_constant=_check_unless, plugin="conduct", scans=(0, 1), scan_steps=4,
                 doc="occurrences of listed words, except inside a match of an unless pattern"),
        Function("find_pattern_unless", (S, S, list_of(S)), evidence, find_pattern_unless,
                 check_constant=_check_pattern, plugin="conduct",
                 doc="RE2 pattern matches, except inside a match of an unless pattern"),
        Function("any_pattern", (S, list_of(S)), BOOL, any_pattern, check_constant=check_patterns, plugin="conduct",
                 scans=(0, 1), doc="whether any of the RE2 patterns matches (one search for a list written in the policy)"),
        Function("any_pattern_unless", (S, list_of(S), list_of(S)), BOOL, any_pattern_unless,
                 check_constant=_check_patterns_unless, plugin="conduct", scans=(0, 1),
                 doc="whether any pattern has a match no unless pattern excuses (find_pattern_unless)"),
        Function("longest_burst", (list_of(ANY), S, S, DURATION), INT, longest_burst, plugin="conduct",
                 doc="most messages of a sender within a window while another sender was silent (n log n)"),
        Function("unanswered", (list_of(ANY), S, S, DURATION), list_of(DATETIME), unanswered, plugin="conduct",
                 doc="send times of one sender's messages no reply from another followed within a limit"),
    ]
