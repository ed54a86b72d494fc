"""Generate realistic case records of every kind as JSON Lines, for benchmarks.

Templates are the bundled examples (examples/*.json, examples/*.jsonl); each
generated record is a template with every timestamp shifted by one random
offset (so intervals, and hence outcomes, stay realistic) and fresh ids.

    python bench/generate.py --count 1000000 --kind after_sale > cases.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)?$")


def templates(kind: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        out.append(json.loads(path.read_text(encoding="utf-8")))
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return [t for t in out if kind is None or t.get("kind") == kind]


def _shift(value: Any, delta: dt.timedelta) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    if isinstance(value, str) and _TS.match(value):
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (t + delta).isoformat()
    return value


def generate(count: int, kind: str | None = None, seed: int = 1) -> Any:
    rng = random.Random(seed)
    pool = templates(kind)
    for i in range(count):
        case = _shift(rng.choice(pool), dt.timedelta(seconds=rng.randrange(0, 400 * 86400)))
        case["case_id"] = f"GEN-{i:08d}"
        yield case



def json_lines(count: int, kind: str = "after_sale", seed: int = 5) -> list[bytes]:
    """``count`` generated records as JSON Lines records (UTF-8, one per item), as the benchmarks feed them."""
    return [json.dumps(c, ensure_ascii=False).encode() for c in generate(count, kind, seed=seed)]

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--kind", help="only this case kind (default: every kind)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = sys.stdout
    for case in generate(args.count, args.kind, args.seed):
        out.write(json.dumps(case, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
