"""atheris harness: policy files through ``load_rulebook`` -- only ``PolicyError`` may come out.

    python fuzz/fuzz_policy.py -atheris_runs=100000
    FUZZ_KEEP_GOING=1 python fuzz/fuzz_policy.py -max_total_time=300

Inputs are decoded four ways (chosen by the first byte): the raw bytes as a policy
file; a one-rule cut-down of a bundled policy with line/character mutations
(fuzz_common.mutate_policy_text); the same with structural mutations re-dumped as
YAML (fuzz_common.mutate_policy_data); or a whole bundled policy file with a few
mutations (slow: 100-200 ms a load). Every error must be located in the file
(``p.yaml:line:column``).
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["policy_eval"]):
    from policy_eval.errors import ErrorList, PolicyError
    from policy_eval.expression import default_functions
    from policy_eval.resources import bundled_schemas
    from policy_eval.rulebook import load_rulebook

import fuzz_common as fc  # noqa: E402
import yaml  # noqa: E402

FUNCTIONS = default_functions()
SCHEMAS = bundled_schemas()
SMALL_TEXTS = fc.small_policy_texts()
SMALL = fc.small_policies()
WHOLE = fc.policy_texts()
FOLDER = Path(tempfile.mkdtemp(prefix="policy-eval-fuzz-policy-")) / "policies"
FOLDER.mkdir()


def document_of(data: bytes) -> bytes:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 9)
    if mode <= 1:
        return fdp.ConsumeBytes(fdp.remaining_bytes())
    rng = random.Random(fdp.ConsumeBytes(8))
    steps = fdp.ConsumeIntInRange(1, 6)
    if mode <= 5:
        text = fc.mutate_policy_text(SMALL_TEXTS[fdp.ConsumeIntInRange(0, len(SMALL_TEXTS) - 1)], rng, steps)
    elif mode <= 8:
        mutated = fc.mutate_policy_data(SMALL[fdp.ConsumeIntInRange(0, len(SMALL) - 1)], rng, steps)
        text = yaml.safe_dump(mutated, allow_unicode=True, sort_keys=False)
    else:
        text = fc.mutate_policy_text(WHOLE[fdp.ConsumeIntInRange(0, len(WHOLE) - 1)], rng, steps)
    return text.encode("utf-8", errors="surrogatepass")


def one_input(data: bytes) -> None:
    (FOLDER / "p.yaml").write_bytes(document_of(data))
    try:
        load_rulebook(FOLDER, schema_dir=SCHEMAS, functions=FUNCTIONS)
    except PolicyError as exc:
        for err in exc.errors if isinstance(exc, ErrorList) else [exc]:
            if not (err.file or "").endswith("p.yaml") or (err.line is not None and err.line < 1):
                raise fc.Unexpected(f"error not located in the file: {err!s:.200}") from None
            str(err)


if __name__ == "__main__":
    fc.Harness("policy", one_input).run(sys.argv)
