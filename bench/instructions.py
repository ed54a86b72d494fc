"""Benchmark: machine instructions per record of the whole CLI, counted, not timed (for A/B on a noisy machine).

    python bench/instructions.py --cases 3000
    python bench/instructions.py --cases 3000 --python /tmp/before/bin/python    # this install against another

On this project's shared machines the same run's CPU time moves by 30-50 % within an hour, which hides a change
worth 5 %. An instruction count does not move: each command runs under Valgrind's cachegrind (``--cache-sim=no``:
instructions only, about 30x slower) with ``PYTHONHASHSEED=0``, once on ``--cases`` generated after_sale records and
once on none, and the difference divided by the records is what one record costs, start-up (imports, loading and
compiling the rulebook) taken out. Two runs of one install agree within about 0.3 %; two installs differ by what their
code does. It counts instructions, not time: a change that trades instructions for cache misses or system calls is
not seen, so confirm a gain it shows with the CPU figures of bench/rulebook.py or bench/throughput.py.

The command is ``policy-eval eval --quiet --format jsonl -o FILE CASES`` (``--detail`` as given), run through
``PYTHON -c 'from policy_eval.cli import main; main()'`` so that each interpreter runs its own install; the outputs of
two installs are compared, byte for byte, and a difference is reported.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import json_lines  # noqa: E402

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
_CLI = "from policy_eval.cli import main; main()"  # (its arguments: sys.argv[1:])


def instructions(python: str, cases: Path, out: Path, detail: str) -> int:
    """The instructions one CLI run executes, as cachegrind counts them (every process of the run)."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           "--trace-children=yes", python, "-c", _CLI, "eval", "--quiet", "--format", "jsonl", "--detail", detail,
           "-o", str(out), str(cases)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
                          check=False)
    counts = [int(m.replace(",", "")) for m in _REFS.findall(done.stderr)]
    if not counts:
        raise SystemExit(f"no instruction count from {' '.join(cmd[:6])} ... (exit {done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    return sum(counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--detail", choices=["findings", "full"], default="findings")
    ap.add_argument("--python", action="append", default=[],
                    help="another interpreter (its own policy_eval install) to count too; may be repeated")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): nothing counted", file=sys.stderr)
        return 2
    pythons = [sys.executable, *args.python]
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        folder = Path(tmp)
        cases, empty = folder / "cases.jsonl", folder / "none.jsonl"
        cases.write_bytes(b"".join(line.rstrip(b"\n") + b"\n" for line in json_lines(args.cases)))
        empty.write_bytes(b"")
        print(f"{args.cases:,} after_sale records, --detail {args.detail}; instructions counted by cachegrind")
        print(f"{'python':<48} {'start-up':>16} {'per record':>12}")
        outputs = []
        for i, python in enumerate(pythons):
            out = folder / f"out{i}.jsonl"
            base = instructions(python, empty, folder / "none.out", args.detail)
            total = instructions(python, cases, out, args.detail)
            outputs.append(out)
            print(f"{python[-48:]:<48} {base:>16,} {(total - base) / args.cases:>12,.0f}")
        for python, out in zip(pythons[1:], outputs[1:], strict=True):
            if not filecmp.cmp(outputs[0], out, shallow=False):
                print(f"outputs differ: {pythons[0]} and {python}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
