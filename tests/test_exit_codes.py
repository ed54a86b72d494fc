"""Exit codes that tell a finished run from one that was cut short or crashed (issue 13 items 8, 9, 11).

- A reader that goes away (``policy-eval eval ... | head -1``) is exit 141, silently: before, 0.
- A full disk on stdout is exit 5 with one line naming stdout: before, an OSError traceback.
- A bug is exit 4 with one line (traceback with POLICY_EVAL_TRACEBACK=1): before, a traceback and 1, the
  code that also means "violated"; a record rejected with an internal error also makes the run exit 4.
- The table in README.md and in ``policy-eval --help`` lists every code common.py defines, once.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policy_eval import cli
from policy_eval.cli import common

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("policy-eval"))
CASES = ROOT / "examples" / "after_sales.jsonl"




class _Failing(io.StringIO):
    """stdout that fails with ``error`` once more than ``after`` characters were written to it."""

    def __init__(self, error: OSError, after: int = 0) -> None:
        super().__init__()
        self.error, self.after = error, after

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.after:
            raise self.error
        return super().write(text)


def _many(tmp_path: Path, copies: int) -> Path:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    big = tmp_path / "many.jsonl"
    big.write_text("\n".join(lines * copies) + "\n", encoding="utf-8")
    return big


# --- item 8: broken pipe ----------------------------------------------------------------------------------

def test_a_reader_that_goes_away_is_exit_141_without_a_traceback(tmp_path: Path) -> None:
    """``policy-eval eval ... | head -1``: the report is far larger than a pipe holds, so the run must meet the
    closed pipe; it used to exit 0 as though it had finished."""
    big = _many(tmp_path, 50)  # 1,000 records, several MB of --detail full
    proc = subprocess.Popen([CLI, "eval", "-q", "-f", "jsonl", "--detail", "full", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    stderr = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    assert json.loads(first)["status"] == "evaluated"
    assert code == common.EXIT_PIPE == 141, (code, stderr[-800:])
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_broken_pipe_in_process_is_its_own_exit_code(fmt: str) -> None:
    out, err = _Failing(BrokenPipeError(errno.EPIPE, "Broken pipe"), after=200), io.StringIO()
    assert cli.run(["eval", "-f", fmt, str(CASES)], out, err) == common.EXIT_PIPE
    assert "Traceback" not in err.getvalue()


# --- item 9: disk full on stdout ----------------------------------------------------------------------------

@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("after", [0, 3000])
def test_disk_full_on_stdout_is_one_line_and_exit_5(after: int) -> None:
    out, err = _Failing(OSError(errno.ENOSPC, "No space left on device"), after=after), io.StringIO()
    assert cli.run(["eval", "-f", "jsonl", str(CASES)], out, err) == common.EXIT_OUTPUT == 5
    assert err.getvalue() == ("policy-eval eval: error: cannot write the report to stdout: "
                              "No space left on device\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_stdout_on_dev_full_is_one_line_and_exit_5() -> None:
    """The real thing: the bytes reach the device at the final flush, after run() has returned its code."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([CLI, "eval", "-f", "jsonl", str(CASES)], stdout=full, stderr=subprocess.PIPE,
                              timeout=300)
    stderr = proc.stderr.decode()
    assert proc.returncode == common.EXIT_OUTPUT, (proc.returncode, stderr[-800:])
    assert "Traceback" not in stderr
    assert "cannot write the report to stdout: No space left on device" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


# --- item 11: internal errors -------------------------------------------------------------------------------

@pytest.mark.usefixtures("fast_load")
def test_a_bug_is_exit_4_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_eval.plugins import reporters

    def boom(self: Any, summary: Any) -> None:
        raise KeyError("a bug\nwith a second line")

    # (a file's records are written in blocks, not through ``case``: the bug comes at the report's end)
    monkeypatch.setattr(reporters.JsonlReporter, "finish", boom)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["eval", "-f", "jsonl", str(CASES)], out, err)
    assert code == common.EXIT_INTERNAL == 4
    assert err.getvalue().count("\n") == 1, err.getvalue()
    assert err.getvalue().startswith("policy-eval eval: internal error: KeyError: 'a bug\\nwith a second line'")
    assert "POLICY_EVAL_TRACEBACK=1" in err.getvalue()

    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    err = io.StringIO()
    assert cli.run(["eval", "-f", "jsonl", str(CASES)], io.StringIO(), err) == common.EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err.getvalue() and "in boom" in err.getvalue()


def test_a_bug_in_a_subprocess_is_exit_4_not_1(tmp_path: Path) -> None:
    """Through the installed command, as CI sees it: a plugin function that raises where the engine does not
    expect it (a reporter's start) used to end in a traceback and exit 1, the code of "violated"."""
    plugin = tmp_path / "crashing_reporter.py"
    plugin.write_text(
        "from policy_eval.plugins.hookspecs import hookimpl\n\n"
        "class Crash:\n"
        "    def __init__(self, stream, options):\n"
        "        pass\n\n"
        "    def start(self, meta):\n"
        "        raise ZeroDivisionError('reporter bug')\n\n"
        "@hookimpl\n"
        "def policy_eval_reporters():\n"
        "    return {'crash': Crash}\n", encoding="utf-8")
    proc = subprocess.run([CLI, "eval", "--plugin", str(plugin), "-f", "crash", str(CASES)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "POLICY_EVAL_TRACEBACK": ""})
    assert proc.returncode == common.EXIT_INTERNAL, (proc.returncode, proc.stderr[-800:])
    assert proc.stderr == ("policy-eval eval: internal error: ZeroDivisionError: reporter bug (a bug in "
                           "policy-eval; POLICY_EVAL_TRACEBACK=1 shows where)\n")


@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: the record comes back inside a worker's block
def test_a_record_rejected_by_a_bug_makes_the_run_exit_4(monkeypatch: pytest.MonkeyPatch, jobs: str) -> None:
    """The per-record safety net keeps the batch going, but the run must not pass for a clean (or merely
    violating) one: the report is complete and the exit code says a bug was met."""
    from policy_eval.run.evaluate import Evaluator

    real = Evaluator.evaluate

    def flaky(self: Evaluator, case: Any, **kwargs: Any) -> Any:
        if case.get("case_id") == "JL-002":
            raise AssertionError("engine bug")
        return real(self, case, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", flaky)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["eval", "-f", "jsonl", "--fail-on", "never", "--jobs", jobs, str(CASES)], out, err)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == common.EXIT_INTERNAL, err.getvalue()
    assert len(records) == 20 and sum(r["status"] == "rejected" for r in records) == 1
    assert "1 record(s) rejected with an internal error" in err.getvalue()


# --- --jobs 2: the totals come in blocks (policy_eval.run.blocks) -------------------------------------------

@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@pytest.mark.parametrize(("fail_on", "cases", "code"), [
    ("violated", "after_sales.jsonl", 1),
    ("never", "after_sales.jsonl", 0),
    ("violated", "clean", 0),
    ("violated", "rejected", 1),  # a rejected record fails the run, nothing violated
    ("violated", "undetermined", 0),
    ("undetermined", "undetermined", 1),
])
def test_jobs_2_exits_and_sums_up_as_jobs_1(tmp_path: Path, fmt: str, fail_on: str, cases: str, code: int) -> None:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    results = [json.loads(line) for line in _eval_lines(lines)]
    clean = [line for line, r in zip(lines, results, strict=True) if not r["findings"]]
    undetermined = [line for line, r in zip(lines, results, strict=True)
                    if r["summary"]["undetermined"] and not r["summary"]["violated"]]
    picked = {"after_sales.jsonl": lines, "clean": clean, "undetermined": undetermined,
              "rejected": [*clean[:2], "{broken", *clean[2:]]}[cases]
    assert picked
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(picked * 20) + "\n", encoding="utf-8")
    seen = []
    for jobs in ("1", "2"):
        out, err = io.StringIO(), io.StringIO()
        got = cli.run(["eval", "-q", "-f", fmt, "--fail-on", fail_on, "--jobs", jobs, str(source)], out, err)
        seen.append((got, out.getvalue(), err.getvalue()))
    assert seen[0] == seen[1]
    assert seen[0][0] == code, seen[0][2]


def _eval_lines(lines: list[str]) -> list[str]:
    out = io.StringIO()
    cli.run(["eval", "-q", "-f", "jsonl", str(CASES)], out, io.StringIO())
    assert len(out.getvalue().splitlines()) == len(lines)
    return out.getvalue().splitlines()


# --- the table ------------------------------------------------------------------------------------------------

def _codes() -> dict[str, int]:
    return {name: getattr(common, name) for name in dir(common) if name.startswith("EXIT_")}


def test_every_exit_code_is_distinct_and_documented_in_help_and_readme() -> None:
    codes = _codes()
    assert len(set(codes.values())) == len(codes), codes
    out = io.StringIO()
    assert cli.run(["--help"], out, io.StringIO()) == 0
    table = out.getvalue().split("exit codes:", 1)[1].split("\n\n", 1)[0]
    helped = [int(m) for m in re.findall(r"^\s+(\d+)\s", table, re.M)]
    assert sorted(helped) == sorted(codes.values()), table
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    documented = [int(m) for m in re.findall(r"^\| \*\*(\d+)\*\* \|", section, re.M)]
    assert sorted(documented) == sorted(codes.values()), section
