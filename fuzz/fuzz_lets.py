"""Hypothesis harness: policies of let chains and nested quantifiers must load and evaluate in bounded cost.

    nice -n 19 python fuzz/fuzz_lets.py --minutes 30

Each example is a one-rule chat policy whose ``let:`` chain (up to 40 bindings) builds ints, bools and
lists from the previous bindings with ``count``/``sum``/``any``/``all``/``filter``/``collect`` (nested up
to three deep), ``+``, ``*``, ``in`` and ``len``. Loading may only raise a located ``PolicyError``;
evaluating the example chat may only give verdicts or per-rule errors (budget exceeded, out of range);
each example must finish within CPU_SECONDS of CPU time and PEAK_BYTES of traced memory. Issue 13's
let doubling (exponential load and memory) is what this looks for.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from policy_eval.errors import PolicyError
from policy_eval.expression import default_functions
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import policytext as pt  # noqa: E402

CPU_SECONDS = 10.0
PEAK_BYTES = 300 * 1024 * 1024
FUNCTIONS = default_functions()
CASE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "chat_clean_presale.json").read_text(
    encoding="utf-8"))
FOLDER = Path(tempfile.mkdtemp(prefix="policy-eval-fuzz-lets-")) / "policies"
FOLDER.mkdir()
STATS = {"examples": 0, "loaded": 0, "refused": 0, "budget": 0, "other_errors": 0, "max_cpu": 0.0, "max_peak": 0}


class CpuLimit(Exception):
    pass


class _Gen:
    """Random well-typed expressions over the lets defined so far (``draw`` is Hypothesis' choice)."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.lets: dict[str, list[str]] = {"int": [], "bool": [], "list": []}

    def pick(self, options: list[Any]) -> Any:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def int_(self, depth: int, vars_: list[str]) -> str:
        leaves = [str(self.draw(st.integers(-3, 9))), "len(messages)", *self.lets["int"], *vars_]
        if depth <= 0:
            return self.pick(leaves)
        kind = self.draw(st.integers(0, 7))
        if kind == 0:
            return self.pick(leaves)
        if kind == 1:
            return f"({self.int_(depth - 1, vars_)} + {self.int_(depth - 1, vars_)})"
        if kind == 2:
            return f"({self.int_(depth - 1, vars_)} * {self.int_(depth - 1, vars_)})"
        if kind == 3:
            return f"len({self.list_(depth - 1, vars_)})"
        v = f"x{len(vars_)}"
        coll = self.list_(depth - 1, vars_)
        if kind in (4, 5):
            return f"(count {v} in {coll}: {self.bool_(depth - 1, vars_ + [v])})"
        return f"(sum {v} in {coll}: {self.int_(depth - 1, vars_ + [v])})"

    def bool_(self, depth: int, vars_: list[str]) -> str:
        if depth <= 0:
            return self.pick(["true", "false", *self.lets["bool"]]) if self.lets["bool"] else "true"
        kind = self.draw(st.integers(0, 6))
        if kind == 0:
            return f"{self.int_(depth - 1, vars_)} > {self.int_(depth - 1, vars_)}"
        if kind == 1:
            return f"({self.bool_(depth - 1, vars_)} and {self.bool_(depth - 1, vars_)})"
        if kind == 2:
            return f"not ({self.bool_(depth - 1, vars_)})"
        if kind == 3:
            return f"{self.int_(depth - 1, vars_)} in {self.list_(depth - 1, vars_)}"
        if kind == 4 and self.lets["bool"]:
            return self.pick(self.lets["bool"])
        v = f"x{len(vars_)}"
        q = "any" if kind % 2 else "all"
        return f"({q} {v} in {self.list_(depth - 1, vars_)}: {self.bool_(depth - 1, vars_ + [v])})"

    def list_(self, depth: int, vars_: list[str]) -> str:
        leaves = ["[1, 2, 3]", "[]", "(collect m in messages: [len(m.id)])", *self.lets["list"]]
        if depth <= 0:
            return self.pick(leaves)
        kind = self.draw(st.integers(0, 4))
        v = f"x{len(vars_)}"
        if kind == 0:
            return self.pick(leaves)
        if kind == 1:
            return f"[{self.int_(depth - 1, vars_)}, {self.int_(depth - 1, vars_)}]"
        if kind == 2:
            return f"(filter {v} in {self.list_(depth - 1, vars_)}: {self.bool_(depth - 1, vars_ + [v])})"
        inner = self.list_(depth - 1, vars_ + [v]) if kind == 3 else f"[{v}, {v}]"
        return f"(collect {v} in {self.list_(depth - 1, vars_)}: {inner})"


@st.composite
def policies(draw: Any) -> str:
    gen = _Gen(draw)
    lets = []
    for i in range(draw(st.integers(1, 40))):
        kind = gen.pick(["int", "bool", "list", "list"])
        depth = draw(st.integers(0, 3))
        expr = {"int": gen.int_, "bool": gen.bool_, "list": gen.list_}[kind](depth, [])
        name = f"v{i}"
        lets.append((name, expr))
        gen.lets[kind].append(name)
    require = gen.bool_(2, [])
    return pt.policy(pt.rules_text(pt.rule("r1", require, let=lets)), **pt.CHAT, id="fuzz", title="Fuzz",
                     document="fuzz/fuzz_lets.py")


def _expired(signum: int, frame: object) -> None:
    raise CpuLimit(f"more than {CPU_SECONDS} s of CPU time")


def check_one(text: str) -> None:
    (FOLDER / "p.yaml").write_text(text, encoding="utf-8")
    STATS["examples"] += 1
    start = time.process_time()
    tracemalloc.start()
    signal.signal(signal.SIGPROF, _expired)
    signal.setitimer(signal.ITIMER_PROF, CPU_SECONDS)
    try:
        try:
            book = load_rulebook(FOLDER, schema_dir=bundled_schemas(), functions=FUNCTIONS)
        except PolicyError as exc:
            assert str(exc).startswith(str(FOLDER / "p.yaml")) or ":" in str(exc), str(exc)
            STATS["refused"] += 1
            return
        STATS["loaded"] += 1
        result = Evaluator(book).evaluate(dict(CASE))
        for r in result.results:
            if r.error is not None:
                STATS["budget" if "budget exceeded" in r.error else "other_errors"] += 1
                assert "internal error" not in r.error, r.error
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        cpu = time.process_time() - start
        STATS["max_cpu"] = max(float(STATS["max_cpu"]), cpu)
        STATS["max_peak"] = max(int(STATS["max_peak"]), peak)
    assert peak < PEAK_BYTES, (peak, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1

        @settings(max_examples=25, deadline=None, database=None, derandomize=False, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(policies())
        def run(text: str) -> None:
            try:
                check_one(text)
            except Exception as exc:  # noqa: BLE001 - a finding: logged with its policy, the run goes on
                STATS["failures"] = int(STATS.get("failures", 0)) + 1
                print(f"FAILURE {type(exc).__name__}: {str(exc)[:300]}\n{text}", flush=True)
        run()
        print(f"round {rounds}: {json.dumps(STATS)}", flush=True)
    print(f"done: {json.dumps(STATS)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
