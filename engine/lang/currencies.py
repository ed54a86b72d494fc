"""ISO 4217 alphabetic currency codes: the ones a money literal may name.

A money literal is an amount and a three-letter code (``59.90 CNY``). A code that is no currency (``RMB``,
``XYZ``) would compare with no case's money (every case undetermined, "currency mismatch: CNY vs RMB"), so
the parser refuses it where it is written, suggesting the code meant (:func:`unknown_currency`).

The table is ISO 4217 list one (current codes, funds and the X codes for metals, SDR and testing), plus
the codes withdrawn since 2023 that records of earlier years may still carry (HRK, SLL, ZWL, ...). Python's
standard library has no such table, and the project takes no dependency for it.
"""

from __future__ import annotations

__all__ = ["ISO_4217", "unknown_currency", "currency_alias"]

ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG
ZWL
""".split())

# What people write for a currency instead of its code (the code meant by each).
_ALIASES = {
    "RMB": "CNY", "元": "CNY", "¥": "CNY", "￥": "CNY", "人民币": "CNY", "块": "CNY", "CNH": "CNY",
    "US$": "USD", "$": "USD", "美元": "USD", "€": "EUR", "欧元": "EUR", "£": "GBP", "英镑": "GBP",
    "NTD": "TWD", "NT$": "TWD", "HK$": "HKD", "港币": "HKD", "港元": "HKD", "日元": "JPY", "円": "JPY",
    "YEN": "JPY",
}
# The currencies a slip is most likely a slip of (mainland China first, then its neighbours and trade partners).
_COMMON = ("CNY", "HKD", "MOP", "TWD", "USD", "EUR", "JPY", "KRW", "GBP", "SGD", "AUD", "CAD", "CHF", "RUB", "THB")


def unknown_currency(code: str) -> str | None:
    """None for an ISO 4217 code; else why ``code`` is refused, with the code meant where one is likely:
    "'RMB' is not an ISO 4217 currency code; did you mean CNY?"."""
    if code in ISO_4217:
        return None
    meant = _ALIASES.get(code) or _ALIASES.get(code.upper())
    if meant is None and code.upper() in ISO_4217:
        meant = code.upper()
    if meant is None:  # a slip: two letters swapped (CYN), or one wrong in a currency cases often carry (USS)
        upper = code.upper()
        meant = next((c for c in _COMMON if sorted(c) == sorted(upper)), None) or next(
            (c for c in _COMMON if len(upper) == 3 and sum(a != b for a, b in zip(c, upper, strict=True)) == 1), None)
    hint = f"; did you mean {meant}?" if meant else " (write the three-letter code, e.g. CNY)"
    return f"'{code}' is not an ISO 4217 currency code{hint}"


def currency_alias(word: str) -> str | None:
    """The ISO code for a currency written as a symbol or word (``元`` -> CNY), or None."""
    return _ALIASES.get(word) or _ALIASES.get(word.upper())
