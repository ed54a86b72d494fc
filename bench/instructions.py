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

Compare two versions of the code with ``--source``, not ``--python``. The count depends on where the package is
installed, not only on its code: two installs of one commit in two virtual environments (``/tmp/headvenv`` and
``/tmp/headvenv2``) counted 58,100 and 65,700 instructions a record for the JSON reader alone (bench/stages.py),
while two installs at one path agreed within 1 % (the path's strings move every later object, and with them
dictionary probes and the allocator's work). ``--source A --source B`` makes one virtual environment, installs A,
counts, installs B over it (``pip install --force-reinstall --no-deps``), counts, and does it ``--rounds`` times,
so that both are counted at one path and the spread of each shows::

    git archive BASE | tar -x -C /tmp/basesrc
    python bench/instructions.py --cases 3000 --source /tmp/basesrc --source . --rounds 2
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
    ap.add_argument("--source", action="append", default=[],
                    help="a source tree to install and count, each in turn at one path (see above); may be repeated")
    ap.add_argument("--rounds", type=int, default=1, help="with --source: how many times to count each")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): nothing counted", file=sys.stderr)
        return 2
    if args.source:
        return _sources(args)
    pythons = [sys.executable, *args.python]
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        folder = Path(tmp)
        cases, empty = _cases(folder, args.cases)
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


def _cases(folder: Path, n: int) -> tuple[Path, Path]:
    cases, empty = folder / "cases.jsonl", folder / "none.jsonl"
    cases.write_bytes(b"".join(line.rstrip(b"\n") + b"\n" for line in json_lines(n)))
    empty.write_bytes(b"")
    return cases, empty


def _quiet(cmd: list[str]) -> None:
    """Run a set-up command; its output is shown only if it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _sources(args: argparse.Namespace) -> int:
    """``--source``: each tree installed in turn into one virtual environment, counted ``--rounds`` times."""
    sources = [str(Path(s).resolve()) for s in args.source]
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        folder = Path(tmp)
        cases, empty = _cases(folder, args.cases)
        venv = folder / "venv"
        _quiet([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        _quiet([python, "-m", "pip", "install", "-q", sources[0]])
        print(f"{args.cases:,} after_sale records, --detail {args.detail}; instructions counted by cachegrind, "
              f"each source installed in turn at {venv}")
        print(f"{'source':<48} {'round':>5} {'start-up':>16} {'per record':>12}")
        first: dict[str, Path] = {}
        for round_ in range(1, args.rounds + 1):
            for i, source in enumerate(sources):
                _quiet([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", source])
                out = folder / f"out{i}-{round_}.jsonl"
                base = instructions(python, empty, folder / "none.out", args.detail)
                total = instructions(python, cases, out, args.detail)
                first.setdefault(source, out)
                print(f"{source[-48:]:<48} {round_:>5} {base:>16,} {(total - base) / args.cases:>12,.0f}", flush=True)
        outputs = list(first.values())
        for source, out in list(first.items())[1:]:
            if not filecmp.cmp(outputs[0], out, shallow=False):
                print(f"outputs differ: {sources[0]} and {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
