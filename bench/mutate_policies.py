"""Mutation testing of the rulebook's DATA: does the golden corpus notice when a number in a policy moves?

Mutation tools (cosmic-ray, mutmut) mutate Python; the rules live in YAML. For every scalar parameter value
of every bundled policy (numbers, durations, money, dates) this script writes a copy of the policy folder
with that one value nudged (a number or duration by one unit up and down; money by one cent), runs
`policy-eval test` on the golden corpus against the copy, and counts the mutant killed when a golden test
fails. Each list-valued parameter also gets one mutant per entry with that entry deleted.

With ``--conditions`` the mutants are in the conditions instead: in every expression of a policy (``when``,
``require``, ``forbid``, ``let``, definitions, remedies' ``amount`` / ``duration`` / ``when``, waivers'
``scope``, ``reference_time``), found through the YAML's node positions, each comparison is moved across its
boundary (``<`` / ``<=``, ``>`` / ``>=``), each ``==`` / ``!=`` swapped, each ``and`` / ``or`` swapped, each
``not`` dropped, and each number with a unit nudged by one (``48h`` -> ``47h``, ``49h``); text inside string
literals is left alone. A mutant the checker refuses (``policy-eval test`` exit 2: a type error) is counted
apart: it is caught, but by the type checker rather than by a golden case.

    python bench/mutate_policies.py [--policies DIR] [--golden DIR] [--only after_sales] [--jobs N] [--lists]
    python bench/mutate_policies.py --conditions [--only after_sales/v2] [--jobs N]

Prints one line per survivor and the score. Costs about one `policy-eval test` run per mutant; run it
niced on a shared machine. A survivor is either a gap in the golden corpus (add a case on the boundary
the number sets) or a value no rule reads on the golden cases (say so in bench/mutation.md).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from policy_eval.authoring.yamlexpr import expression_scalars

ROOT = Path(__file__).resolve().parent.parent
PE = Path(sys.executable).parent / "policy-eval"

# `name: value` or `value: X` lines inside params blocks; kept textual so that comments and layout survive.
SCALAR = re.compile(r"^(?P<head>\s*(?:value|[a-z_]+):\s*)(?P<value>-?\d+(?:\.\d+)?(?:[dhms]|\s?CNY)?|¥\d+(?:\.\d+)?)\s*(?P<tail>#.*)?$")
LIST = re.compile(r"^(?P<head>\s*(?:value|[a-z_]+):\s*)\[(?P<items>[^\]]+)\]\s*$")


@dataclass(frozen=True)
class Mutant:
    file: Path
    line: int
    before: str
    after: str

    def label(self, root: Path) -> str:
        return f"{self.file.relative_to(root)}:{self.line}: {self.before.strip()}  ->  {self.after.strip()}"


def _nudge(value: str) -> Iterator[str]:
    m = re.fullmatch(r"(¥?)(-?\d+)(?:\.(\d+))?(.*)", value)
    if not m:
        return
    sign, whole, frac, unit = m.groups()
    if frac is not None:  # money or a decimal: one unit of the last place
        scale = len(frac)
        n = int(whole + frac)
        for d in (-1, 1):
            s = str(abs(n + d)).rjust(scale + 1, "0")
            yield f"{sign}{'-' if n + d < 0 else ''}{s[:-scale]}.{s[-scale:]}{unit}"
    else:
        n = int(whole)
        for d in (-1, 1):
            if n + d >= 0:
                yield f"{sign}{n + d}{unit}"


def _in_params(lines: list[str]) -> set[int]:
    """Line numbers (0-based) inside the top-level `params:` block."""
    inside, out = False, set()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z_]+:", line):
            inside = line.startswith("params:")
            continue
        if inside:
            out.add(i)
    return out


def mutants(policies: Path, lists: bool = True) -> Iterator[Mutant]:
    for file in sorted(policies.rglob("*.yaml")):
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        for i in sorted(_in_params(lines)):
            line = lines[i].rstrip("\n")
            if (m := SCALAR.match(line)) and not m["head"].strip().startswith(("type:", "clause:")):
                for new in _nudge(m["value"]):
                    yield Mutant(file, i + 1, line, m["head"] + new + (f"  {m['tail']}" if m["tail"] else ""))
            elif lists and (m := LIST.match(line)):
                items = [s.strip() for s in m["items"].split(",")]
                for k in range(len(items)):
                    rest = items[:k] + items[k + 1:]
                    yield Mutant(file, i + 1, line, m["head"] + "[" + ", ".join(rest) + "]")


# In an expression's text: a string literal or a comment (skipped), an operator, a keyword, a number with a unit.
_TOKEN = re.compile(r"""(?P<skip>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|#[^\n]*)"""
                    r"|(?P<op><=|>=|==|!=|<|>)|(?<!\w)(?P<word>and|or|not)(?!\w)"
                    r"|(?<![\w.:-])(?P<num>\d+(?:[dhms]|(?:\.\d+)?[ ]?CNY))(?![\w.:-])")
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "and": "or", "or": "and"}


def condition_mutants(policies: Path) -> Iterator[Mutant]:
    """One mutant per operator, keyword or number with a unit in the policies' expressions (the module)."""
    for file in sorted(policies.rglob("*.yaml")):
        text = file.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            continue
        for node in expression_scalars(root):
            if node.tag != "tag:yaml.org,2002:str" or node.style in ('"', "'"):
                continue  # a YAML boolean, or a quoted scalar whose escapes this scan does not read
            start, end = node.start_mark.index, node.end_mark.index
            if node.style in ("|", ">"):
                start = text.index("\n", start) + 1  # after the block indicator's line
            for m in _TOKEN.finditer(text, start, end):
                if m["skip"]:
                    continue
                token = m.group(0)
                if m["num"]:
                    news = list(_nudge(token))
                elif token == "not":
                    news = [""]
                else:
                    news = [_SWAP[token]]
                line_start = text.rfind("\n", 0, m.start()) + 1
                line_end = text.find("\n", m.end())
                line = text[line_start:line_end]
                at = m.start() - line_start
                for new in news:
                    cut = len(token) + (1 if token == "not" and line[at + 3:at + 4] == " " else 0)
                    yield Mutant(file, text.count("\n", 0, line_start) + 1, line, line[:at] + new + line[at + cut:])


def _killed(mutant: Mutant, policies: Path, golden: Path) -> bool | None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "policies"
        shutil.copytree(policies, copy)
        target = copy / mutant.file.relative_to(policies)
        lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[mutant.line - 1] = mutant.after + "\n"
        target.write_text("".join(lines), encoding="utf-8")
        schemas = policies.parent / "schemas"
        proc = subprocess.run([str(PE), "test", "-p", str(copy), "--schemas", str(schemas), str(golden)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode == 2:
            return None  # invalid policies: refused by the checker
        return proc.returncode != 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", type=Path, default=ROOT / "policies")
    ap.add_argument("--golden", type=Path, default=ROOT / "tests" / "golden")
    ap.add_argument("--only", help="policy path part, e.g. after_sales or after_sales/v2")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--lists", action="store_true",
                    help="also delete each entry of list parameters (word lists are pinned by tests/test_conduct_lists.py)")
    ap.add_argument("--conditions", action="store_true",
                    help="mutate the expressions (operators, and/or, not, numbers with units) instead of the parameters")
    args = ap.parse_args()
    made = condition_mutants(args.policies) if args.conditions else mutants(args.policies, args.lists)
    found = [m for m in made if not args.only or args.only in str(m.file)]
    survivors: list[Mutant] = []
    refused = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for mutant, killed in zip(found, pool.map(lambda m: _killed(m, args.policies, args.golden), found), strict=True):
            if killed is None:
                refused += 1
            elif not killed:
                survivors.append(mutant)
                print("SURVIVED", mutant.label(args.policies), flush=True)
    n = len(found)
    print(f"{n} mutants: {n - len(survivors) - refused} killed by a golden case, {refused} refused by the checker, "
          f"{len(survivors)} survived: score {100 * (n - len(survivors)) / max(n, 1):.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
