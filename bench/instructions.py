"""Benchmark: machine instructions per record of the whole CLI, counted, not timed (for A/B on a noisy machine).

    python bench/instructions.py --cases 3000
    python bench/instructions.py --cases 3000 --python /tmp/before/bin/python    # this install against another

On this project's shared machines the same run's CPU time moves by 30-50 % within an hour, which hides a change
worth 5 %. An instruction count does not move: each command runs under Valgrind's cachegrind (``--cache-sim=no``:
instructions only, about 30x slower) with ``PYTHONHASHSEED=0``, once on ``--cases`` generated after_sale records,
once on their first ``--warm`` records and once on none: the first run less the second, divided by the records
between them, is what one record costs, with start-up (imports, loading and compiling the rulebook: the third run,
shown apart) and whatever a run compiles on its first records (a rule's message on its first violation, say) taken
out. Measured from none instead, that one-time work counts as a per-record cost: on 2,000 records ~25,000
instructions a record (2026-12-07, bench/README, fiftieth session); the "first records" column shows it. Two runs
of one install agree within about 0.3 %; two installs differ by what their code does. It counts instructions, not
time: a change that trades instructions for cache misses or system calls is not seen, so confirm a gain it shows
with the CPU figures of bench/rulebook.py or bench/throughput.py.

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


def _count(python: str, files: tuple[Path, Path, Path], out: Path, detail: str, warm: int, cases: int
           ) -> tuple[int, float, float]:
    """(start-up, per record over the first ``warm`` records, per record after them) of one install."""
    empty, first, every = files
    base = instructions(python, empty, out.with_suffix(".none"), detail)
    early = instructions(python, first, out.with_suffix(".first"), detail)
    total = instructions(python, every, out, detail)
    return base, (early - base) / warm, (total - early) / (cases - warm)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--warm", type=int, default=500,
                    help="records counted apart at the start (less than --cases): see the module docstring")
    ap.add_argument("--detail", choices=["findings", "full"], default="findings")
    ap.add_argument("--python", action="append", default=[],
                    help="another interpreter (its own policy_eval install) to count too; may be repeated")
    ap.add_argument("--source", action="append", default=[],
                    help="a source tree to install and count, each in turn at one path (see above); may be repeated")
    ap.add_argument("--rounds", type=int, default=1, help="with --source: how many times to count each")
    args = ap.parse_args(argv)
    if not 0 < args.warm < args.cases:
        ap.error("--warm must be more than 0 and less than --cases")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): nothing counted", file=sys.stderr)
        return 2
    if args.source:
        return _sources(args)
    pythons = [sys.executable, *args.python]
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        folder = Path(tmp)
        files = _cases(folder, args.cases, args.warm)
        print(f"{args.cases:,} after_sale records, --detail {args.detail}; instructions counted by cachegrind "
              f"(first records: the first {args.warm:,}; per record: the others)")
        print(f"{'python':<48} {'start-up':>16} {'first records':>14} {'per record':>12}")
        outputs = []
        for i, python in enumerate(pythons):
            out = folder / f"out{i}.jsonl"
            base, early, late = _count(python, files, out, args.detail, args.warm, args.cases)
            outputs.append(out)
            print(f"{python[-48:]:<48} {base:>16,} {early:>14,.0f} {late:>12,.0f}")
        for python, out in zip(pythons[1:], outputs[1:], strict=True):
            if not filecmp.cmp(outputs[0], out, shallow=False):
                print(f"outputs differ: {pythons[0]} and {python}")
    return 0


def _cases(folder: Path, n: int, warm: int) -> tuple[Path, Path, Path]:
    """(no records, the first ``warm``, all ``n``): the same records, so that both runs compile the same on them."""
    empty, first, cases = folder / "none.jsonl", folder / "first.jsonl", folder / "cases.jsonl"
    lines = [line.rstrip(b"\n") + b"\n" for line in json_lines(n)]
    empty.write_bytes(b"")
    first.write_bytes(b"".join(lines[:warm]))
    cases.write_bytes(b"".join(lines))
    return empty, first, cases


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
        files = _cases(folder, args.cases, args.warm)
        venv = folder / "venv"
        _quiet([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        _quiet([python, "-m", "pip", "install", "-q", sources[0]])
        print(f"{args.cases:,} after_sale records, --detail {args.detail}; instructions counted by cachegrind, "
              f"each source installed in turn at {venv} (first records: the first {args.warm:,}; per record: the "
              "others)")
        print(f"{'source':<48} {'round':>5} {'start-up':>16} {'first records':>14} {'per record':>12}")
        first: dict[str, Path] = {}
        for round_ in range(1, args.rounds + 1):
            for i, source in enumerate(sources):
                _quiet([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", source])
                out = folder / f"out{i}-{round_}.jsonl"
                base, early, late = _count(python, files, out, args.detail, args.warm, args.cases)
                first.setdefault(source, out)
                print(f"{source[-48:]:<48} {round_:>5} {base:>16,} {early:>14,.0f} {late:>12,.0f}", flush=True)
        outputs = list(first.values())
        for source, out in list(first.items())[1:]:
            if not filecmp.cmp(outputs[0], out, shallow=False):
                print(f"outputs differ: {sources[0]} and {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
