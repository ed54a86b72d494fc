"""Seeds, tokens, hostile values and mutators shared by the fuzz harnesses and tests/test_fuzz.py.

Everything here is derived from the repository itself: condition texts and
parameters from the bundled ``policies/``, case records from ``examples/``,
tokens from ``engine/lang/grammar.lark`` and docs/language.md. Mutators are driven
by a ``random.Random`` so that a harness can seed one from fuzzer bytes and a
test from a Hypothesis-drawn integer; the same input always gives the same text.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"
EXAMPLE_DIR = ROOT / "examples"

# --- conditions ---------------------------------------------------------------------------------------

KEYWORDS = ["and", "or", "not", "in", "not in", "if", "then", "else", "true", "false", "null",
            "any", "all", "count", "sum", "filter", "collect"]
PUNCTUATION = ["(", ")", "[", "]", ",", ":", ".", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/",
               "#", '"', "'", "\\", "¥", "\u3000", "\n", "\t"]
LITERALS = [
    "0", "1", "-1", "48", "9" * 40, "9" * 41, "0.1", "3.50", "1.005", "0.0000000000000000000000000001",
    '"水果"', "'qr_code'", '""', '"\\u6c34"', '"\\uD800"', '"\\x41"', '"\\', '"a\\"b"', '"\\n"',
    "¥100", "¥0.50", "100.00 CNY", "1 XYZ", "99999999999999999999999999999999999999.99 CNY",
    "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "2024-13-01",
    "2024-02-29T23:59:59", "2024-03-01T00:00:00+08:00", "2024-03-01T00:00:00Z", "9999-12-31T23:59:59",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2024-01-01T24:00:00", "2024-01-01T00:00:00+99:00",
    "48h", "7d", "15d", "30m", "90s", "1d12h", "0s", "999999999d", "9999999999d", "99999999999999999999d",
    "[]", "[1, 2, 3]", '["水果", "生鲜"]', "[48h, 30m]", "[[]]", "[null]",
]
FUNCTIONS = ["exists", "default", "max", "min", "abs", "len", "contains", "contains_any", "matches",
             "starts_with", "ends_with", "lower", "upper", "days", "hours", "minutes", "seconds", "date_of",
             "start_of_day", "round", "money", "find_urls", "find_bank_cards", "find_phones", "find_emails",
             "find_accounts", "find_words", "find_pattern", "add_workdays", "workdays_between"]
PATTERNS = ['"(a+)+$"', '"("', '"[z-a]"', '"\\\\"', '"(?P<x>a)(?P<x>b)"', '"a{1001}"', '"(a{999}){999}"',
            '"\\\\p{Han}"', '"(?=a)"', '"\\\\1"', '"' + "(" * 300 + ")" * 300 + '"']


def _policy_data() -> list[tuple[Path, Any]]:
    from policy_eval.rulebook.yamlload import load_yaml

    out = []
    for path in sorted(POLICY_DIR.rglob("*.yaml")):
        data, _ = load_yaml(path.read_bytes(), str(path))
        if isinstance(data, dict) and isinstance(data.get("policy"), dict):
            out.append((path, data))
    return out


def _param_text(spec: Any) -> str | None:
    """A parameter as a constant expression of the language (what ``compile_expression(params=...)`` takes)."""
    if isinstance(spec, dict):
        if "value" in spec:
            value = spec["value"]
        elif isinstance(spec.get("values"), dict) and spec["values"]:
            value = list(spec["values"].values())[-1]
        else:
            return None
        if spec.get("type") == "money" and isinstance(value, (int, Decimal)):
            return f"{value} CNY"
        spec = value
    if isinstance(spec, bool):
        return "true" if spec else "false"
    if isinstance(spec, (int, Decimal)):
        return str(spec)
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list) and all(isinstance(x, str) for x in spec):
        return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in spec) + "]"
    return None


def _inline_lets(text: str, lets: dict[str, str]) -> str:
    """Replace let-bound names by their (parenthesized) definitions, latest first."""
    for name, body in reversed(list(lets.items())):
        text = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w(])", lambda _m, b=body: f"({b})", text)
    return text


@lru_cache(maxsize=1)
def policy_conditions() -> list[tuple[str, str, dict[str, str]]]:
    """``(case kind, condition text, params)`` for every condition of every bundled policy.

    Let-bound names are inlined so that most seeds compile on their own; ``params`` holds the policy's
    parameters as constant expressions, for ``compile_expression(params=...)``.
    """
    seeds: list[tuple[str, str, dict[str, str]]] = []
    for _path, data in _policy_data():
        kind = str(data["policy"].get("applies_to"))
        params = {str(k): t for k, v in (data.get("params") or {}).items() if (t := _param_text(v)) is not None}
        seeds.append((kind, str(data["policy"].get("reference_time")), params))
        for rule in data.get("rules") or []:
            lets: dict[str, str] = {}
            for name, body in (rule.get("let") or {}).items():
                lets[str(name)] = _inline_lets(str(body), lets)
            for key in ("when", "require", "forbid"):
                if isinstance(rule.get(key), str):
                    seeds.append((kind, _inline_lets(rule[key], lets), params))
            for body in lets.values():
                seeds.append((kind, body, params))
            for remedy in rule.get("remedies") or []:
                for key in ("when", "amount"):
                    if isinstance(remedy, dict) and isinstance(remedy.get(key), str):
                        seeds.append((kind, _inline_lets(remedy[key], lets), params))
        for waiver in data.get("waivers") or []:
            if isinstance(waiver, dict) and isinstance(waiver.get("scope"), str):
                seeds.append((kind, waiver["scope"], params))
    return seeds


@cache
def case_schema(kind: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "schemas" / "cases" / f"{kind}.schema.json").read_text(encoding="utf-8")))


@cache
def field_names(kind: str) -> list[str]:
    """Dotted paths of the case schema (``order.received_at``), for name tokens."""
    names: list[str] = []

    def walk(schema: Any, prefix: str) -> None:
        if not isinstance(schema, dict) or len(names) > 400:
            return
        for key, sub in (schema.get("properties") or {}).items():
            path = f"{prefix}{key}"
            names.append(path)
            walk(sub, path + ".")
            if isinstance(sub, dict) and isinstance(sub.get("items"), dict):
                walk(sub["items"], path + "[0].")

    walk(case_schema(kind), "")
    return names


def condition_tokens(kind: str, params: dict[str, str]) -> list[str]:
    return (KEYWORDS + PUNCTUATION + LITERALS + PATTERNS + [f + "(" for f in FUNCTIONS] + field_names(kind)
            + list(params) + ["m", "m.text", "m.sent_at", "x", "p"])


_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|\d[\w.:+-]*|[\w.]+|\S')


def mutate_condition(text: str, tokens: list[str], rng: random.Random, steps: int = 3) -> str:
    """Apply ``steps`` token- or character-level edits to a condition text."""
    for _ in range(steps):
        parts = _TOKEN_RE.findall(text) or [text]
        op = rng.randrange(10)
        i = rng.randrange(len(parts))
        if op == 0:  # delete a token
            del parts[i]
        elif op == 1:  # insert a token
            parts.insert(i, rng.choice(tokens))
        elif op == 2:  # replace a token
            parts[i] = rng.choice(tokens)
        elif op == 3:  # duplicate a slice
            j = rng.randrange(i, len(parts) + 1)
            parts[i:i] = parts[i:j]
        elif op == 4:  # swap two tokens
            j = rng.randrange(len(parts))
            parts[i], parts[j] = parts[j], parts[i]
        elif op == 5:  # wrap in brackets, many times
            n = rng.choice([1, 2, 50, 99, 100, 101, 150])
            parts[i] = "(" * n + parts[i] + ")" * n
        elif op == 6:  # truncate
            parts = parts[:i]
        elif op == 7:  # character-level: delete / insert / replace one character
            pos = rng.randrange(len(text) + 1)
            ch = rng.choice(["", "(", ")", '"', "'", "\\", ".", ":", "[", "]", "\x00", "\u3000", "\ud800",
                             "é", "水", "\n", "#", "0", "9", "d"])
            text = text[:pos] + ch + text[pos + rng.randrange(2):]
            continue
        elif op == 8:  # numbers to extremes
            parts = [rng.choice(["9" * rng.choice([2, 20, 39, 40, 41]), "0"]) if p.isdigit() else p for p in parts]
        else:  # combine with another expression
            parts = ["("] + parts + [")", rng.choice(["and", "or", "+", "-", "*", "/", "==", "<", "in"]),
                     rng.choice(tokens)]
        text = " ".join(parts)
    return text


# --- case records -------------------------------------------------------------------------------------

def _loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


@lru_cache(maxsize=1)
def example_cases() -> list[dict[str, Any]]:
    cases = [_loads(line) for line in (EXAMPLE_DIR / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    cases += [_loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLE_DIR.glob("*.json"))]
    return cases


TIMESTAMPS = [
    "2024-02-29T23:59:59+08:00", "2024-02-29T23:59:59", "2024-02-29 23:59:59", "2024-02-29T23:59:59Z",
    "2024-02-29T23:59:59.123456789+08:00", "2024-02-29T23:59:60+08:00", "2024-02-30T00:00:00+08:00",
    "2024-02-29T24:00:00+08:00", "2024-02-29T23:59:59+25:00", "2024-02-29T23:59:59+08", "2024-02-29T23:59:59+0800",
    "20240229T235959+0800", "2024-W09-4T23:59:59", "2024-060T23:59:59", "2024/02/29 23:59", "29.02.2024",
    "2024-02-29", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+08:00",
    "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29t23:59:59z", "",
    "now", "2024-02-29T23:59:59+08:00\n", " 2024-02-29T23:59:59+08:00", "P15D", "PT48H",
]
MONEY = ["59.90", "59.90 CNY", "¥59.9", "-0.00", "0", "1e5", "59,90", "59.90 cny", "59.90 XXX", "9" * 60,
         "9" * 60 + ".999", "0." + "0" * 60 + "1", " 59.90 ", "¥ 59.90 USD", "NaN", "Infinity"]
NUMBERS: list[Any] = [0, -1, 1, 2 ** 63, -(2 ** 63), 10 ** 400, -(10 ** 400), 10 ** 4299, Decimal("0.1"),
                      Decimal("-0"), Decimal("1E+400"), Decimal("1E-400"), Decimal("1E+999999"),
                      Decimal("1E+1000000"), Decimal("1E-999999999"), Decimal("1E+999999999"), Decimal("0E+999999999"),
                      Decimal("123456789012345678901234567890.123456789"), Decimal("NaN"), Decimal("Infinity"),
                      Decimal("-Infinity"), float("nan"), float("inf"), 1.5, True, False]
STRINGS = ["", " ", "x", "\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "水果", "a" * 10_000,
           "after_sale", "refund_only", "return_refund", "merchant", "buyer", "platform", "agree", "reject",
           "https://evil.example/x", "微信: abc12345", "6222020200112233445", "13800138000", "(a+)+$"]


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(10)
    if pick == 0:
        return None
    if pick in (1, 2):
        return rng.choice(NUMBERS)
    if pick == 3:
        return rng.choice(TIMESTAMPS)
    if pick == 4:
        return rng.choice(MONEY)
    if pick == 5:
        return rng.choice(STRINGS)
    if pick == 6 and depth < 3:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 7 and depth < 3:
        return {rng.choice(["kind", "text", "at", "amount", "x", ""]): hostile_value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    if pick == 8:
        return rng.choice([[], {}, [[[[]]]], {"amount": "1", "currency": 5}, {"amount": Decimal("1E+400")}])
    return rng.randrange(-10, 10 ** rng.randrange(1, 30))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, prefix + (i,))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def mutate_case(case: Any, rng: random.Random, steps: int = 3) -> Any:
    """Structural edits: replace a value (wrong type, extreme number, odd timestamp), delete, duplicate, add."""
    case = json.loads(to_json_bytes(case), parse_float=Decimal, parse_constant=Decimal)  # a deep copy
    for _ in range(steps):
        where = rng.choice(paths(case))
        op = rng.randrange(6)
        if not where:
            if op == 0:
                return hostile_value(rng)
            if isinstance(case, dict):
                case[rng.choice(["extra", "kind", "case_id", ""])] = hostile_value(rng)
            continue
        parent, key = _get(case, where[:-1]), where[-1]
        if op in (0, 1, 2):
            parent[key] = hostile_value(rng)
        elif op == 3:
            del parent[key]
        elif op == 4 and isinstance(parent, list):
            parent.insert(key, json.loads(to_json_bytes(parent[key]), parse_float=Decimal, parse_constant=Decimal))
        elif op == 4:
            parent[str(key) + "_"] = parent[key]
        else:
            value = parent[key]
            parent[key] = ([value] if not isinstance(value, list) else
                           (value[0] if value else {}) if rng.random() < 0.5 else {str(i): v for i, v in enumerate(value)})
    return case


def to_json_bytes(value: Any) -> bytes:
    """JSON text for a case holding Decimals (written exactly, NaN/Infinity raw) and odd strings."""
    def enc(v: Any) -> str:
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, (int, Decimal)):
            return str(v) if not (isinstance(v, Decimal) and v.is_nan()) else "NaN"
        if isinstance(v, float):
            return json.dumps(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=True)  # lone surrogates become \udXXX escapes
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ",".join(json.dumps(str(k), ensure_ascii=True) + ":" + enc(x) for k, x in v.items()) + "}"
        raise TypeError(type(v))

    return enc(value).encode("ascii")


BYTE_TOKENS = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1e999999999", b"1" + b"0" * 5000, b"\\ud800",
               b"\\u0000", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"[" * 2000, b"{\"a\":" * 2000, b"\"", b"\\", b"}",
               b"]", b",", b":", b"null", b"\n", b"\r", b"\t", b"-0", b"0.0e-0"]


def mutate_bytes(data: bytes, rng: random.Random, steps: int = 3) -> bytes:
    for _ in range(steps):
        pos = rng.randrange(len(data) + 1)
        op = rng.randrange(4)
        if op == 0:
            data = data[:pos] + rng.choice(BYTE_TOKENS) + data[pos:]
        elif op == 1:
            data = data[:pos] + data[pos + rng.randrange(1, 20):]
        elif op == 2:
            data = data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1:]
        else:
            m = list(re.finditer(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\"(?:[^\"\\]|\\.)*\"", data))
            if m:
                hit = rng.choice(m)
                data = data[:hit.start()] + rng.choice(BYTE_TOKENS + [b'"' + t.encode() + b'"' for t in TIMESTAMPS[:8]]) \
                    + data[hit.end():]
    return data


# --- policies -----------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def policy_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(POLICY_DIR.rglob("*.yaml"))]


@lru_cache(maxsize=1)
def small_policies() -> list[Any]:
    """Each bundled policy cut down to one rule at a time, with the params and waivers it uses (fast to load)."""
    out = []
    for _path, data in _policy_data():
        for rule in data.get("rules") or []:
            text = json.dumps(rule, ensure_ascii=False, default=str)
            small = {**data, "rules": [rule]}
            params = {k: v for k, v in (data.get("params") or {}).items() if re.search(rf"\b{re.escape(str(k))}\b", text)}
            if params:
                small["params"] = params
            else:
                small.pop("params", None)
            waivers = [w for w in data.get("waivers") or [] if rule.get("id") in (w.get("rules") or [rule.get("id")])]
            if waivers:
                small["waivers"] = waivers
            else:
                small.pop("waivers", None)
            out.append(small)
    return out


@lru_cache(maxsize=1)
def small_policy_texts() -> list[str]:
    import yaml

    return [yaml.safe_dump(json.loads(json.dumps(d, default=str)), allow_unicode=True, sort_keys=False, width=200)
            for d in small_policies()]


YAML_TOKENS = [": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!!binary ", "!custom ", "!!python/name:os.system",
               "|", ">", "'", '"', "#", "\t", "\x00", "\ufeff", "%YAML 1.1\n", "---\n", "...\n", "? ", "<<: ",
               "~", "null", "yes", "on", "0x1F", "0o17", "1e400", ".nan", ".inf", "9" * 5000, "2024-02-30",
               "9999-12-31T23:59:59-14:00", "\\u", "\n", "\n  ", "\r\n", "\u2028", "\x85"]


def mutate_policy_text(text: str, rng: random.Random, steps: int = 3) -> str:
    """Line- and character-level edits of a policy's YAML text, conditions included."""
    for _ in range(steps):
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        op = rng.randrange(9)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:  # re-indent
            lines[i] = " " * rng.choice([0, 1, 2, 3, 4, 6, 8]) + lines[i].lstrip(" ")
        elif op == 4:  # insert a YAML token
            pos = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:pos] + rng.choice(YAML_TOKENS) + lines[i][pos:]
        elif op == 5:  # mutate a condition-looking value
            m = re.match(r"(\s*(?:-\s+)?(?:when|require|forbid|scope|amount|reference_time|[a-z_]+):\s+)(.*)$", lines[i])
            if m and m.group(2):
                lines[i] = m.group(1) + mutate_condition(m.group(2), LITERALS + KEYWORDS + PUNCTUATION, rng, 1)
        elif op == 6:  # truncate the file
            lines = lines[:i]
        elif op == 7:  # scalar to extreme
            lines[i] = re.sub(r"\b\d+\b", lambda _m: rng.choice(["9" * 50, "0", "-1", "99999999999"]), lines[i])
        else:  # delete a character range
            pos = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:pos] + lines[i][pos + rng.randrange(1, 10):]
        text = "\n".join(lines)
    return text


def mutate_policy_data(data: Any, rng: random.Random, steps: int = 2) -> Any:
    """Structural edits of loaded policy data (replace/delete/duplicate/add), for a re-dump as YAML."""
    data = json.loads(json.dumps(data, default=str))
    for _ in range(steps):
        where = rng.choice(paths(data))
        if not where:
            continue
        parent, key = _get(data, where[:-1]), where[-1]
        op = rng.randrange(5)
        if op == 0:
            parent[key] = rng.choice([None, True, 0, -1, 10 ** 50, "", "x", [], {}, "9999-12-31", "(((", "a" * 5000,
                                      "48h", "¥1", "2020-01-01", "list<string>", "money", [None], {"type": "money"},
                                      rng.choice(LITERALS), rng.choice(KEYWORDS)])
        elif op == 1:
            del parent[key]
        elif op == 2 and isinstance(parent, list):
            parent.append(parent[key])
        elif op == 2:
            parent[str(key) + "x"] = parent[key]
        elif op == 3 and isinstance(parent[key], str):
            parent[key] = mutate_condition(parent[key], LITERALS + KEYWORDS + PUNCTUATION + FUNCTIONS, rng, 2)
        else:
            parent[key] = [parent[key]] if not isinstance(parent[key], list) else {"v": parent[key]}
    return data


# --- atheris driver -----------------------------------------------------------------------------------

class Harness:
    """Runs one atheris target with bookkeeping shared by the three harnesses.

    * ``-atheris_runs=N`` and every other libFuzzer flag are passed through (``-max_total_time=300``, a
      corpus folder, ``-seed=1``, ...).
    * By default the first unexpected exception is a crash, as usual with atheris (libFuzzer writes the
      input to ``crash-<sha1>``; replay it with ``python fuzz/fuzz_X.py crash-<sha1>``).
    * With ``FUZZ_KEEP_GOING=1`` an unexpected exception is recorded instead -- one line per distinct
      signature (exception type and message pattern, innermost policy_eval frame) with a reproducer in
      ``$FUZZ_OUT`` (default: ``$TMPDIR/policy-eval-fuzz/<name>/``) -- and fuzzing goes on, so one known
      bug does not hide the next.
    * Every 1,000 inputs, ``stats.json`` in that folder says how many inputs were tried and how many
      findings were recorded.
    """

    def __init__(self, name: str, target: Any) -> None:
        import os
        import tempfile

        self.name = name
        self.target = target
        self.keep_going = os.environ.get("FUZZ_KEEP_GOING") == "1"
        self.out = Path(os.environ.get("FUZZ_OUT") or Path(tempfile.gettempdir()) / "policy-eval-fuzz" / name)
        self.out.mkdir(parents=True, exist_ok=True)
        self.inputs = 0
        self.findings: dict[str, int] = {}

    @staticmethod
    def signature(exc: BaseException) -> str:
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/engine/" in f.filename
                  or "/plugins/" in f.filename or "policy_eval" in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        message = re.sub(r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\d+", "N", str(exc))[:120]
        return f"{type(exc).__name__}: {message} @ {where}"

    def __call__(self, data: bytes) -> None:
        self.inputs += 1
        if self.inputs % 1000 == 0:
            self.save_stats()
        if not self.keep_going:
            self.target(data)
            return
        try:
            self.target(data)
        except Exception as exc:  # noqa: BLE001 - recorded, see the class docstring
            import hashlib
            import traceback

            sig = self.signature(exc)
            if sig not in self.findings:
                digest = hashlib.sha1(data).hexdigest()[:16]
                (self.out / f"finding-{digest}.bin").write_bytes(data)
                with open(self.out / "findings.txt", "a", encoding="utf-8") as fh:
                    fh.write(f"{sig}\n    input: finding-{digest}.bin (after {self.inputs} inputs)\n")
                    fh.write("    " + "".join(traceback.format_exception(exc)[-3:]).replace("\n", "\n    ")
                             + "\n")
                print(f"\n[{self.name}] NEW FINDING after {self.inputs} inputs: {sig}", flush=True)
            self.findings[sig] = self.findings.get(sig, 0) + 1
            self.save_stats()

    def save_stats(self) -> None:
        stats = {"harness": self.name, "inputs": self.inputs, "findings": self.findings}
        (self.out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")

    def run(self, argv: list[str]) -> None:
        import atexit

        import atheris

        atexit.register(self.save_stats)
        print(f"[{self.name}] findings and stats in {self.out}", flush=True)
        atheris.Setup(argv, self)
        atheris.Fuzz()


class Unexpected(AssertionError):
    """A property of the harness does not hold (raised to make atheris report the input)."""
