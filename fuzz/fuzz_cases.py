"""atheris harness: case records through the batch processor -- never an exception, never an internal error.

    python fuzz/fuzz_cases.py -atheris_runs=100000
    FUZZ_KEEP_GOING=1 python fuzz/fuzz_cases.py -max_total_time=300

Inputs are decoded three ways (chosen by the first byte): the raw bytes as one JSON
Lines record; an example case (examples/) with structural mutations
(fuzz_common.mutate_case: wrong types at any path, deleted keys, huge/NaN/10^400
numbers, odd timestamps), given both as a decoded object and as JSON bytes; or the
example's JSON with byte-level mutations (fuzz_common.mutate_bytes). Properties of
``Processor(BatchOptions()).process(("x", 1, payload))``:

* it returns a CaseResult for source "x", record 1 -- evaluated or rejected;
* a rejection is never the "internal error" safety net, and names a JSON path;
* the result serialises the way the jsonl reporter writes it (JSON).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["policy_eval"]):
    from policy_eval.run.batch import BatchOptions, Processor
    from policy_eval.run.result import CaseResult

import fuzz_common as fc  # noqa: E402

PROCESSOR = Processor(BatchOptions())
CASES = fc.example_cases()


def payloads_of(data: bytes) -> list[object]:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 4)
    if mode == 0:
        return [fdp.ConsumeBytes(fdp.remaining_bytes())]
    case = CASES[fdp.ConsumeIntInRange(0, len(CASES) - 1)]
    rng = random.Random(fdp.ConsumeBytes(8))
    steps = fdp.ConsumeIntInRange(1, 6)
    if mode <= 2:
        mutated = fc.mutate_case(case, rng, steps)
        return ([mutated] if isinstance(mutated, dict) else []) + [fc.to_json_bytes(mutated)]
    return [fc.mutate_bytes(fc.to_json_bytes(case), rng, steps)]


def one_input(data: bytes) -> None:
    for payload in payloads_of(data):
        result = PROCESSOR.process(("x", 1, payload))
        if not isinstance(result, CaseResult) or result.source != "x" or result.record != 1:
            raise fc.Unexpected(f"not a CaseResult for record 1: {result!r:.200}")
        if result.error is not None:
            if "internal error" in result.error["message"]:
                raise fc.Unexpected(result.error["message"])
            if not str(result.error.get("json_path", "")).startswith("$"):
                raise fc.Unexpected(f"rejection without a JSON path: {result.error}")
        # What the jsonl reporter writes (lone surrogates read from "\\ud800" escapes are the CLI's business:
        # its output streams write them back as escapes).
        json.dumps(result.to_dict(), ensure_ascii=False, default=str)


if __name__ == "__main__":
    fc.Harness("cases", one_input).run(sys.argv)
