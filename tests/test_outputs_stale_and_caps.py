"""The tail of issue 13 items 14 and 16: temp files of the OLD naming, fmt's temp files, and the whole-document
cap on ``.json`` inputs.

Before: until commit 9808f6e, ``-o FILE`` (and still ``fmt``) wrote ``.FILE.xxxxxxxx.tmp`` (tempfile's 8
random characters, no pid); a run killed then left one that no later run recognised. Now ``clean_stale``
also removes those, once nobody has written to them for ``OLD_STALE_SECONDS`` (whether their writer is alive
cannot be told from the name), and ``fmt`` writes and cleans the pid naming as ``-o`` does. The 256 MB cap on
a JSON document read whole (``MAX_DOCUMENT_BYTES``) had no test: here it is lowered and enforced.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from policy_eval import cli
from policy_eval.cli import output
from policy_eval.rulebook import cases as case_reader

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "examples" / "after_sales.jsonl"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_naming_temp_files_are_removed_once_idle_long_enough(tmp_path: Path) -> None:
    target = tmp_path / "report.jsonl"
    idle = tmp_path / ".report.jsonl.k3j_9x2a.tmp"        # mkstemp's 8 characters, no pid
    recent = tmp_path / ".report.jsonl.abcdefgh.tmp"      # an old version may still be writing it
    other = tmp_path / ".other.jsonl.q1w2e3r4.tmp"         # another report's
    longer = tmp_path / ".report.jsonl.abcdefghi.tmp"     # 9 characters: not mkstemp's
    for path in (idle, recent, other, longer):
        path.write_text("partial")
    for path in (idle, other, longer):
        _age(path, output.OLD_STALE_SECONDS + 60)
    _age(recent, output.OLD_STALE_SECONDS - 600)
    removed = output.clean_stale(target)
    assert removed == [idle]
    assert not idle.exists() and recent.exists() and other.exists() and longer.exists()


def test_old_naming_link_is_not_followed_or_removed(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("keep")
    link = tmp_path / ".report.jsonl.abcdefgh.tmp"
    link.symlink_to(victim)
    os.utime(link, (0, 0), follow_symlinks=False)
    assert output.clean_stale(tmp_path / "report.jsonl") == []
    assert link.is_symlink() and victim.read_text() == "keep"


def test_eval_o_removes_an_idle_old_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.jsonl"
    stale = tmp_path / ".report.jsonl.zz9_ab12.tmp"
    stale.write_text("partial")
    _age(stale, output.OLD_STALE_SECONDS + 1)
    err = io.StringIO()
    code = cli.run(["eval", "-q", "-f", "jsonl", "-o", str(target), str(CASES)], io.StringIO(), err)
    assert code == 1, err.getvalue()  # the examples hold violations
    assert not stale.exists()
    assert len(target.read_text(encoding="utf-8").splitlines()) == len(CASES.read_text().splitlines())


def test_fmt_writes_our_naming_and_cleans_what_a_killed_fmt_left(tmp_path: Path) -> None:
    from policy_eval.cli.commands import fmt

    policy = tmp_path / "p.yaml"
    policy.write_text("x: 1\n")
    dead = tmp_path / ".p.yaml.999999999.abcdefgh.tmp"  # pid 999999999 is above any pid_max: gone
    old = tmp_path / ".p.yaml.abcdefgh.tmp"
    for path in (dead, old):
        path.write_text("partial")
    _age(old, output.OLD_STALE_SECONDS + 1)
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(src).name)
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", spy)
        fmt.rewrite(policy, "x: 2\n")  # (cli.output.rewrite: check --fix writes through it too)
    assert policy.read_text() == "x: 2\n"
    assert not dead.exists() and not old.exists()
    assert len(seen) == 1 and seen[0].startswith(f".p.yaml.{os.getpid()}.") and seen[0].endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


# --- the whole-document cap ------------------------------------------------------------------------------------


def test_a_json_document_over_the_cap_is_one_located_rejection_and_the_rest_is_evaluated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    big = tmp_path / "a_big.json"
    big.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    small = tmp_path / "b_small.json"
    small.write_text(json.dumps(records[0], ensure_ascii=False, indent=2), encoding="utf-8")
    lines = tmp_path / "c_lines.jsonl"  # JSON Lines are read line by line: the document cap is not theirs
    lines.write_text(CASES.read_text(encoding="utf-8"), encoding="utf-8")
    cap = small.stat().st_size + 10
    assert big.stat().st_size > cap and lines.stat().st_size > cap
    monkeypatch.setattr(case_reader, "MAX_DOCUMENT_BYTES", cap)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["eval", "-q", "-f", "jsonl", str(big), str(small), str(lines)], out, err)
    assert code == 1, err.getvalue()
    report = [json.loads(line) for line in out.getvalue().splitlines()]
    rejected = [r for r in report if r.get("status") == "rejected"]
    assert len(rejected) == 1
    assert rejected[0]["source"] == str(big) and rejected[0]["record"] == 1
    assert f"larger than {cap} bytes: nothing of it is evaluated" in rejected[0]["error"]["message"]
    evaluated = [r for r in report if r.get("status") != "rejected"]
    assert [r["source"] for r in evaluated] == [str(small)] + [str(lines)] * len(records)


def test_the_cap_applies_to_a_json_document_on_stdin_too(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    data = json.dumps(records).encode()
    monkeypatch.setattr(case_reader, "MAX_DOCUMENT_BYTES", len(data) - 1)
    got = list(case_reader.read_stream(io.BytesIO(data), "<stdin>"))
    assert len(got) == 1 and got[0][:2] == ("<stdin>", 1) and "larger than" in got[0][2].message
    monkeypatch.setattr(case_reader, "MAX_DOCUMENT_BYTES", len(data))
    assert len(list(case_reader.read_stream(io.BytesIO(data), "<stdin>"))) == len(records)
