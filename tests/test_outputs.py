"""``eval -o FILE`` onto whatever is at FILE (issue 13 items 9 and 14).

Before: ``-o`` always wrote a temp file and renamed it over FILE, so /dev/null became a regular file (as
root), a FIFO was replaced instead of fed, a symbolic link was replaced by a file, and ``-o cases.jsonl
cases.jsonl`` destroyed the input; ``kill -9`` left ``.FILE.xxxx.tmp`` behind for ever; SIGTERM replaced a
complete report with a partial one although ``--help`` says "complete or not at all"; a full disk was a
traceback.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from policy_eval import cli
from policy_eval.cli import common, output
from policy_eval.rulebook.shards import FINDINGS_SHARD_BYTES
from policy_eval.run.batch import CHUNK
from policy_eval.run.blocks import PART

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "examples" / "after_sales.jsonl"


pytestmark = pytest.mark.usefixtures("fast_load")  # every test here (tests/conftest.py)


def _eval(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = cli.run(["eval", "-q", "-f", "jsonl", *argv], io.StringIO(), err)
    return code, err.getvalue()


def _report(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --- devices, FIFOs, links -------------------------------------------------------------------------------------

def test_a_device_node_stays_a_device(tmp_path: Path) -> None:
    """A null device of our own where we may make one (root), else /dev/null itself (which a non-root run
    cannot replace, so the test cannot harm the machine either way)."""
    device = Path("/dev/null")
    if os.geteuid() == 0:
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    code, err = _eval("-o", str(device), str(CASES))
    assert code == common.EXIT_VIOLATED, err
    assert stat.S_ISCHR(device.stat().st_mode), "the device was replaced by a regular file"
    assert os.major(device.stat().st_rdev) == 1 and os.minor(device.stat().st_rdev) == 3
    assert [p.name for p in device.parent.iterdir() if p.name.startswith(f".{device.name}.")] == []


def test_a_fifo_is_fed_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, err = _eval("-o", str(fifo), str(CASES))
    reader.join(timeout=60)
    assert code == common.EXIT_VIOLATED, err
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced by a regular file"
    assert len(_report(received[0].decode())) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pipe"]


def test_a_symbolic_link_stays_a_link_and_its_target_gets_the_report(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "latest.jsonl"
    real.parent.mkdir()
    real.write_text("previous report\n")
    real.chmod(0o640)
    link = tmp_path / "report.jsonl"
    link.symlink_to(real)
    code, err = _eval("-o", str(link), str(CASES))
    assert code == common.EXIT_VIOLATED, err
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert len(_report(real.read_text())) == 20
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["latest.jsonl"]  # the temp file was beside the target


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "report.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    code, err = _eval("-o", str(link), str(CASES))
    assert code == common.EXIT_VIOLATED, err
    assert link.is_symlink() and len(_report((tmp_path / "made.jsonl").read_text())) == 20


# --- -o onto an input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["same path", "other spelling", "link to it", "hard link"])
def test_output_onto_an_input_is_a_usage_error_and_the_input_is_kept(tmp_path: Path, how: str) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(CASES.read_bytes())
    target = {"same path": cases, "other spelling": tmp_path / "." / "cases.jsonl",
              "link to it": tmp_path / "link.jsonl", "hard link": tmp_path / "hard.jsonl"}[how]
    if how == "link to it":
        target.symlink_to(cases)
    elif how == "hard link":
        os.link(cases, target)
    code, err = _eval("-o", str(target), str(cases))
    assert code == common.EXIT_USAGE
    assert err == (f"policy-eval eval: error: --output {target} is the input {cases}: the report would "
                   "overwrite it (write it elsewhere)\n")
    assert cases.read_bytes() == CASES.read_bytes()


def test_output_onto_the_params_file_is_refused(tmp_path: Path) -> None:
    params = tmp_path / "deployment.yaml"
    params.write_bytes((ROOT / "examples" / "deployment.yaml").read_bytes())
    code, err = _eval("--params", str(params), "-o", str(params), str(CASES))
    assert code == common.EXIT_USAGE and "is the input" in err
    assert params.read_bytes() == (ROOT / "examples" / "deployment.yaml").read_bytes()


def test_output_inside_an_input_folder_with_a_case_suffix_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(CASES.read_bytes())
    code, err = _eval("-o", str(folder / "report.jsonl"), str(folder))
    assert code == common.EXIT_USAGE and "inside the input folder" in err, err
    assert not (folder / "report.jsonl").exists()
    code, err = _eval("-o", str(folder / "report.txt"), str(folder))  # not read back: allowed
    assert code == common.EXIT_VIOLATED, err


def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        code, err = _eval("-o", str(path), str(CASES))
    assert code == common.EXIT_USAGE and "not a regular file, device or FIFO" in err


# --- temp files left by kill -9 ---------------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_a_dead_run_are_removed_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "report.jsonl"
    dead, alive = _dead_pid(), os.getppid()
    stale = tmp_path / f".report.jsonl.{dead}.k3j_9x2a.tmp"
    running = tmp_path / f".report.jsonl.{alive}.abcdefgh.tmp"  # a run still writing
    foreign = [tmp_path / ".report.jsonl.abcdefgh.tmp",  # no pid: not of our naming (or an old version's)
               tmp_path / f".other.jsonl.{dead}.abcdefgh.tmp",  # another report's
               tmp_path / f".report.jsonl.{dead}.abcdefgh.tmp.keep"]
    for path in [stale, running, *foreign]:
        path.write_text("partial")
    code, err = _eval("-o", str(target), str(CASES))
    assert code == common.EXIT_VIOLATED, err
    assert not stale.exists()
    assert running.exists() and all(p.exists() for p in foreign)
    assert len(_report(target.read_text())) == 20


def test_kill_9_leaves_a_temp_file_that_the_next_run_removes(tmp_path: Path) -> None:
    """The real sequence, through the command: a run killed while it writes; the next run cleans up."""
    lines = CASES.read_text(encoding="utf-8").splitlines()
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines * 500) + "\n", encoding="utf-8")
    target = tmp_path / "report.jsonl"
    target.write_text("previous report\n")
    cli_path = str(Path(sys.executable).with_name("policy-eval"))
    proc = subprocess.Popen([cli_path, "eval", "-q", "-f", "jsonl", "-o", str(target), str(big)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".report.jsonl.*.tmp")):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    left = list(tmp_path.glob(".report.jsonl.*.tmp"))
    assert [p.name.split(".")[3] for p in left] == [str(proc.pid)], left
    assert target.read_text() == "previous report\n"
    code, err = _eval("-o", str(target), str(CASES))
    assert code == common.EXIT_VIOLATED, err
    assert list(tmp_path.glob(".report.jsonl.*")) == []


# --- disk full on -o -------------------------------------------------------------------------------------------

class _Full:
    """Stands in for the temp file's stream, and for the bytes under it (records from a file are written there
    a chunk at a time, run.blocks): fails with ENOSPC once ``room`` characters or bytes were written to both."""

    def __init__(self, stream: Any, room: list[int]) -> None:
        self.stream, self.room = stream, room

    def write(self, text: str | bytes) -> int:
        self.room[0] -= len(text)
        if self.room[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self.stream.write(text))

    @property
    def buffer(self) -> _Full:
        return _Full(self.stream.buffer, self.room)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_disk_full_on_output_is_one_line_exit_5_and_the_old_file_kept(tmp_path: Path, where: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.jsonl"
    target.write_text("previous report\n")
    real_init = output.AtomicOutput.__init__
    if where == "write":
        def init(self: output.AtomicOutput, path: str) -> None:
            real_init(self, path)
            self.stream.stream = _Full(self.stream.stream, [5000])  # type: ignore[assignment]

        monkeypatch.setattr(output.AtomicOutput, "__init__", init)
    else:
        def fsync(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(output.os, "fsync", fsync)
    code, err = _eval("-o", str(target), str(CASES))
    assert code == common.EXIT_OUTPUT
    assert err == (f"policy-eval eval: error: cannot write the report to {target}: No space left on device; "
                   f"{target} was left as it was\n")
    assert target.read_text() == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.jsonl"]


# --- an interrupted run never replaces a complete report -----------------------------------------------------

def _interrupt_at(monkeypatch: pytest.MonkeyPatch, at_call: int) -> None:
    """A real SIGINT delivered inside the ``at_call``-th evaluation (as tests/test_signals.py does)."""
    from policy_eval.run.evaluate import Evaluator

    real = Evaluator.evaluate
    calls = 0

    def evaluate(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == at_call:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", evaluate)


def _many_cases(tmp_path: Path) -> Path:
    """More records than one chunk (a file's records are written a chunk at a time: run.batch.CHUNK)."""
    many = tmp_path / "cases" / "many.jsonl"
    many.parent.mkdir()
    many.write_bytes(CASES.read_bytes() * 30)
    return many


def test_an_interrupted_run_keeps_the_complete_old_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.jsonl"
    target.write_text("previous complete report\n")
    many = _many_cases(tmp_path)
    _interrupt_at(monkeypatch, CHUNK + 5)  # in the second chunk: the first is reported
    code, err = _eval("-o", str(target), str(many))
    assert code == common.EXIT_INTERRUPTED, err
    assert target.read_text() == "previous complete report\n"
    aside = tmp_path / "report.jsonl.interrupted"
    partial = _report(aside.read_text())
    assert partial[-1]["status"] == "interrupted" and partial[-1]["written"] == len(partial) - 1 == CHUNK
    assert f"{CHUNK} record(s) reported in {aside}" in err and "is kept as it was" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases", "report.jsonl", "report.jsonl.interrupted"]


def test_an_interrupted_run_onto_a_new_path_leaves_its_partial_report_there(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing complete to keep: the valid prefix with its trailer is the report (as before)."""
    target = tmp_path / "report.jsonl"
    many = _many_cases(tmp_path)
    _interrupt_at(monkeypatch, CHUNK + 5)
    code, err = _eval("-o", str(target), str(many))
    assert code == common.EXIT_INTERRUPTED, err
    assert _report(target.read_text())[-1] == {"format": "findings/1", "status": "interrupted", "written": CHUNK}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases", "report.jsonl"]


def test_help_says_what_o_does() -> None:
    out = io.StringIO()
    assert cli.run(["eval", "--help"], out, io.StringIO()) == 0
    text = " ".join(out.getvalue().split())
    assert "never replaced by an incomplete one" in text and "FILE.interrupted" in text
    assert "devices and FIFOs are written straight through" in text


# --- --jobs 2 writes blocks (policy_eval.run.blocks): the same bytes as --jobs 1 --------------------------------

@pytest.fixture(scope="module")
def mixed_cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated cases of every kind, the golden corpus's cases, a broken line and a schema error."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate
    from goldencorpus import golden_tests

    golden = [t.case for t in golden_tests()]
    lines = [json.dumps(c, ensure_ascii=False, default=str) for c in [*generate(800, seed=7), *golden]]
    lines.insert(1234, '{"case_id": "broken",')
    lines.insert(40, json.dumps({"case_id": "no-kind"}))
    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
@pytest.mark.parametrize("detail", ["findings", "full"])
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_jobs_2_blocks_are_byte_identical_to_jobs_1(mixed_cases: Path, tmp_path: Path, fmt: str,
                                                    detail: str) -> None:
    """To a file (bytes written under the text stream) and to a text stream (stdout here), the summary too."""
    runs = {}
    for jobs in ("1", "2"):
        for target in ("stdout", "file"):
            out, err = io.StringIO(), io.StringIO()
            dest = tmp_path / f"{jobs}-{target}.out"
            argv = ["eval", "-q", "-f", fmt, "--detail", detail, "--jobs", jobs, str(mixed_cases)]
            code = cli.run([*argv, "-o", str(dest)] if target == "file" else argv, out, err)
            text = dest.read_text(encoding="utf-8") if target == "file" else out.getvalue()
            runs[jobs, target] = (code, text, err.getvalue().replace(f" -> {dest}", ""))
    first = runs["1", "stdout"]
    assert all(run == first for run in runs.values())
    assert first[0] == 1 and "rejected" in first[2]
    read = int(first[2].split(" records read")[0])
    assert read == len(mixed_cases.read_text(encoding="utf-8").splitlines()) > 2900  # (256 a block)
    # (findings detail: local workers read ranges of FINDINGS_SHARD_BYTES, each written a part at a time: two here)
    assert mixed_cases.stat().st_size > FINDINGS_SHARD_BYTES and read > 4 * PART
    if fmt == "jsonl":
        assert [json.loads(line)["record"] for line in first[1].splitlines()] == list(range(1, read + 1))
    else:
        assert len(json.loads(first[1])["cases"]) == read
