"""atheris harness: the embedding API's quick path against its general path, on mutated cases.

    python fuzz/fuzz_api.py -atheris_runs=20000
    FUZZ_KEEP_GOING=1 python fuzz/fuzz_api.py -max_total_time=600

An example case (examples/) with structural mutations (fuzz_common.mutate_case), evaluated by
``Rulebook.evaluate`` as loaded and by a rulebook whose every call goes the general path: the same result,
verdict by verdict and field by field, whatever field is read first; a fixed ``as_of`` and none; full and findings
detail; validation on and off; and the caller's dict unchanged. The property is tests/test_api_fuzz.py's.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

with atheris.instrument_imports(include=["policy_eval"]):
    import test_api_fuzz as api  # (the property, and the rulebooks it compares)

import fuzz_common as fc  # noqa: E402

from policy_eval.run.result import FIELDS  # noqa: E402


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    case = api.CASES[fdp.ConsumeIntInRange(0, len(api.CASES) - 1)]
    first = FIELDS[fdp.ConsumeIntInRange(0, len(FIELDS) - 1)]
    rng = random.Random(fdp.ConsumeBytes(8))
    mutated = fc.mutate_case(case, rng, fdp.ConsumeIntInRange(0, 6))
    if isinstance(mutated, dict):
        try:
            api.same_both_ways(mutated, first)
        except AssertionError as exc:
            raise fc.Unexpected(f"quick and general paths differ: {exc}") from None


if __name__ == "__main__":
    fc.Harness("api", one_input).run(sys.argv)
