"""What an explicit null costs: the bundled rulebook on after_sale cases with and without one.

A case with no null takes the findings fast path (run.kernel); a case with one takes the general path, where
each rule that reads a path at or under the null is judged by three-valued logic (run.compose.unknown, the
reference interpreter) before its conditions run as for any case. Prints CPU seconds and wall time per
variant, in process (no JSON parsing, no schema check, no writing):

    python bench/nulls.py --count 5000 --repeat 3
    python bench/nulls.py --count 5000 --repeat 3 --api     # through Rulebook.evaluate (the embedding API)

The cases go in as JSON gives them (Decimals, timestamps as text), so the timestamps are parsed as the rules
read them (a batch record's are parsed as it is read: bench/ingest.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402

from policy_eval.rulebook import load_rulebook  # noqa: E402
from policy_eval.run.evaluate import Evaluator  # noqa: E402


def _optional_paths(case: dict[str, Any]) -> list[tuple[str, ...]]:
    """The paths outside lists a null may stand at (every optional leaf or object under order and request)."""
    out: list[tuple[str, ...]] = []
    for top in ("order", "request"):
        stack: list[tuple[tuple[str, ...], Any]] = [((top,), case.get(top))]
        while stack:
            path, node = stack.pop()
            if type(node) is not dict:
                continue
            for k, v in node.items():
                if k not in ("id", "type", "submitted_at"):  # required: null is refused there
                    out.append(path + (k,))
                stack.append((path + (k,), v))
    return out


def _nulled(cases: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for case in cases:
        other = copy.deepcopy(case)
        paths = _optional_paths(other)
        if paths:
            path = rng.choice(paths)
            node = other
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = None
        out.append(other)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--detail", default="findings", choices=["findings", "full"])
    ap.add_argument("--api", action="store_true", help="through Rulebook.evaluate (schema check included)")
    args = ap.parse_args(argv)
    cases = [json.loads(json.dumps(c, ensure_ascii=False), parse_float=Decimal) for c in generate(args.count, "after_sale")]
    variants = {"no null": cases, "one null each": _nulled(cases, 1),
                "shipped_at null": [{**c, "order": {**c["order"], "shipped_at": None}} for c in cases]}
    if args.api:
        from policy_eval.api import Rulebook

        book = Rulebook.load()

        def evaluate(case: dict[str, Any]) -> Any:
            return book.evaluate(case, detail=args.detail)
    else:
        evaluate = Evaluator(load_rulebook(), detail=args.detail).evaluate
    way = "Rulebook.evaluate" if args.api else "Evaluator.evaluate"
    print(f"{args.count:,} after_sale cases, {way}, detail={args.detail}, best of {args.repeat}")
    print(f"{'variant':<18}{'CPU s':>8}{'wall s':>8}{'cases/s':>10}{'undetermined':>14}")
    for name, batch in variants.items():
        best: tuple[float, float] | None = None
        undetermined = 0
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            results = [evaluate(c) for c in batch]
            c1, w1 = time.process_time(), time.perf_counter()
            if best is None or c1 - c0 < best[0]:
                best = (c1 - c0, w1 - w0)
            undetermined = sum(1 for r in results for v in r.results if v.outcome.value == "undetermined")
        assert best is not None
        print(f"{name:<18}{best[0]:>8.2f}{best[1]:>8.2f}{args.count / best[1]:>10,.0f}{undetermined:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
