"""Benchmark: the commands a policy author runs, each a whole process, its wall time and CPU seconds.

    python bench/authoring.py                      # five runs of each command, the median and the range
    python bench/authoring.py --repeat 9 --only test,diff
    python bench/authoring.py --python /other/venv/bin/python   # another install of policy-eval, same commands
    python bench/authoring.py --path /tmp/install_A               # an install made with pip install --target

The commands, from the project's folder: ``policy-eval test tests/golden`` (every golden test), ``lint policies
tests/golden``, ``check``, ``diff`` of the bundled policies against a revision of after-sales v2 (two numbers and a
message changed, in a temporary folder) over 5,000 generated after-sale records, ``diff`` of the bundled policies
against themselves, and ``eval`` of three records (the start-up), then, in one process, a second
``Rulebook.load`` (what the language server and the workbench pay after an edit). Each command runs once to warm
the disk cache first; its output is discarded. CPU is the child's user + system time (``os.wait4``), so a machine
shared with other work shows in the wall time more than in the CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import json_lines  # noqa: E402

# A second load in one process, printed as seconds of CPU by the child
RELOAD = ("import time\nfrom policy_eval.api import Rulebook\nRulebook.load(entry_points=False)\n"
          "t = time.process_time(); Rulebook.load(entry_points=False); print(time.process_time() - t)\n")


ENV = dict(os.environ)


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``cmd`` in the project's folder, its output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # (reaped here)
    if code not in (0, 1):  # (1: violations found, a diff that changes something)
        raise SystemExit(f"{' '.join(cmd[3:])}: exit {code}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def revision(folder: Path) -> Path:
    """The bundled policies with after-sales v2's handling limit 48h -> 36h, its follow-up limit 7d -> 5d and one
    message reworded."""
    new = folder / "revised"
    shutil.copytree(ROOT / "policies", new)
    v2 = new / "after_sales" / "v2.yaml"
    text = v2.read_text(encoding="utf-8")
    for old, changed in (("    value: 48h\n", "    value: 36h\n"), ("    value: 7d\n", "    value: 5d\n"),
                         ("was not shipped when refund-only request", "was still unshipped when refund-only request")):
        assert old in text, old
        text = text.replace(old, changed, 1)
    v2.write_text(text, encoding="utf-8")
    return new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="counted runs of each command (default 5)")
    ap.add_argument("--python", default=sys.executable, help="the interpreter of the install to time")
    ap.add_argument("--path", help="a folder put first on the children's PYTHONPATH (an install to time)")
    ap.add_argument("--only", help="comma-separated: test, lint, check, diff, diff-same, eval, reload")
    args = ap.parse_args(argv)
    if args.path:
        ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [args.path, ENV.get("PYTHONPATH")]))
    pe = [args.python, "-c", "import sys; from policy_eval.cli import main; sys.argv[0] = 'policy-eval'; main()"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = folder / "after_sale_5k.jsonl"
        lines = [line + b"\n" for line in json_lines(5000, kind="after_sale", seed=56)]
        cases.write_bytes(b"".join(lines))
        three = folder / "after_sale_3.jsonl"
        three.write_bytes(b"".join(lines[:3]))
        commands = {
            "test": [*pe, "test", "tests/golden"],
            "lint": [*pe, "lint", "policies", "tests/golden"],
            "check": [*pe, "check"],
            "diff": [*pe, "diff", "policies", str(revision(folder)), str(cases)],
            "diff-same": [*pe, "diff", "policies", "policies", str(cases)],
            "eval": [*pe, "eval", "-q", "-f", "jsonl", "--fail-on", "never", "-o", os.devnull, str(three)],
        }
        wanted = args.only.split(",") if args.only else [*commands, "reload"]
        print(f"{args.python}{' with ' + args.path if args.path else ''}: {args.repeat} runs each after one to warm "
              "up; median (min-max)")
        for name in wanted:
            if name == "reload":
                out = [subprocess.run([args.python, "-c", RELOAD], cwd=ROOT, capture_output=True, text=True,
                                      check=True, env=ENV).stdout for _ in range(args.repeat + 1)][1:]
                cpu = [float(o) for o in out]
                print(f"{'reload':10} a second Rulebook.load in one process: CPU {statistics.median(cpu):.3f} s "
                      f"({min(cpu):.3f}-{max(cpu):.3f})")
                continue
            run(commands[name])
            walls, cpus = zip(*(run(commands[name]) for _ in range(args.repeat)), strict=True)
            print(f"{name:10} wall {statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f})  "
                  f"CPU {statistics.median(cpus):.2f} s ({min(cpus):.2f}-{max(cpus):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
