"""atheris harness: condition texts through the language front end, and whatever compiles through both evaluators.

    python fuzz/fuzz_condition.py -atheris_runs=100000
    FUZZ_KEEP_GOING=1 python fuzz/fuzz_condition.py -max_total_time=300

Inputs are decoded three ways (chosen by the first byte): raw Unicode text; a
condition of a bundled policy mutated by fuzz_common.mutate_condition (seeded
from the input); or a soup of grammar tokens. Properties:

* ``compile_expression`` raises nothing but ``PolicyError`` (with line/column >= 1);
* a compiled expression, evaluated on the example cases of its kind and on ``{}``,
  raises nothing but ``EvalFailure``; the compiled closures and the reference
  interpreter give the same value.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["policy_eval"]):
    from policy_eval.errors import PolicyError
    from policy_eval.expression import compile_expression, default_functions
    from policy_eval.lang.ops import EvalFailure
    from policy_eval.lang.values import UNKNOWN, parse_datetime, render

import fuzz_common as fc  # noqa: E402

FUNCTIONS = default_functions()
SEEDS = fc.policy_conditions()
KINDS = sorted({kind for kind, _, _ in SEEDS})
CASES = {kind: [{}] + [c for c in fc.example_cases() if c.get("kind") == kind] for kind in KINDS}
REF_TIME = parse_datetime("2024-02-29T23:59:59+08:00")


def text_of(data: bytes) -> tuple[str, str | None, dict[str, str] | None]:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        kind = fdp.PickValueInList(KINDS + [None])
        return fdp.ConsumeUnicode(fdp.remaining_bytes()), kind, None
    kind, text, params = SEEDS[fdp.ConsumeIntInRange(0, len(SEEDS) - 1)]
    tokens = fc.condition_tokens(kind, params)
    if mode == 1:
        steps = fdp.ConsumeIntInRange(0, 8)
        return fc.mutate_condition(text, tokens, random.Random(fdp.ConsumeBytes(8)), steps), kind, params
    picks = fdp.ConsumeIntListInRange(min(fdp.remaining_bytes(), 40), 0, len(tokens) - 1)
    return " ".join(tokens[i] for i in picks), kind, params


def one_input(data: bytes) -> None:
    text, kind, params = text_of(data)
    try:
        compiled = compile_expression(text, case_schema=fc.case_schema(kind) if kind else None, params=params,
                                      functions=FUNCTIONS)
    except PolicyError as exc:
        if (exc.line is not None and exc.line < 1) or (exc.column is not None and exc.column < 1):
            raise fc.Unexpected(f"error position {exc.line}:{exc.column} for {text!r}") from None
        str(exc)
        return
    for case in CASES.get(kind or "", [{}]):
        results = []
        for run in (compiled.evaluate, compiled.interpret):
            try:
                results.append(run(case, ref_time=REF_TIME))
            except EvalFailure:
                results.append(EvalFailure)
        fast, slow = results
        if EvalFailure not in (fast, slow):
            same = fast is slow if UNKNOWN in (fast, slow) else render(fast) == render(slow)
            if not same:
                raise fc.Unexpected(f"closures and interpreter disagree on {text!r}: {render(fast)} vs {render(slow)}")


if __name__ == "__main__":
    fc.Harness("condition", one_input).run(sys.argv)
