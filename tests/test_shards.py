"""Workers read their own input (issue 14 item 4): JSON Lines files cut into byte ranges.

The ranges a file is cut into must give back exactly the records the one-process reader gives — the same
lines, the same line numbers, blank lines skipped but counted, a byte order mark dropped from line 1, a
line over the record cap cut — whatever the range size and wherever a boundary falls. Through the batch
runner, ``--jobs 2`` on ranges must write what ``--jobs 1`` on the stream writes, a bad record at a
boundary included, and a record that kills its worker mid-range costs only that record.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_eval.errors import CaseError
from policy_eval.rulebook.cases import read_cases, read_stream
from policy_eval.rulebook.jsonrecord import MAX_RECORD_BYTES
from policy_eval.rulebook.shards import FINDINGS_SHARD_BYTES, SHARD_BYTES, Shard, plan_shards, shard_records
from policy_eval.run.batch import BatchOptions, Processor, run_batch, task_items, work_on
from policy_eval.run.blocks import TOTALS, Block, count
from policy_eval.run.workers import ends

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SIZES = (1, 2, 7, 64, 333, 4096, SHARD_BYTES)


def _stream(path: Path) -> list[Any]:
    with open(path, "rb") as fh:
        return list(read_stream(fh, str(path), "jsonl", raw=True))


def _ranged(path: Path, size: int) -> tuple[list[Shard], list[Any]]:
    with open(path, "rb") as fh:
        shards = list(plan_shards(fh, str(path), size))
    return shards, [item for shard in shards for item in shard_records(shard)]


def _check_same(path: Path, sizes: tuple[int, ...] = SIZES) -> list[Any]:
    expected = _stream(path)
    for size in sizes:
        shards, got = _ranged(path, size)
        assert got == expected, size
        # the ranges tile the file, and each names the lines that start in it
        assert [s.start for s in shards] == [0, *[s.end for s in shards[:-1]]][:len(shards)]
        assert (shards[-1].end if shards else 0) == path.stat().st_size
        assert all(s.first <= s.last for s in shards)
        assert [s.first for s in shards[1:]] == [s.last + 1 for s in shards[:-1]]
    return expected


def _write(tmp_path: Path, data: bytes, name: str = "cases.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_line_numbers_are_exact_across_every_boundary(tmp_path: Path) -> None:
    lines = [json.dumps({"case_id": f"C-{i}", "pad": "x" * (i % 50)}).encode() for i in range(300)]
    data = b"\n".join(lines) + b"\n"
    records = _check_same(_write(tmp_path, data))
    assert [r[1] for r in records] == list(range(1, 301))
    assert all(r[2] == line + b"\n" for r, line in zip(records, lines, strict=True))


def test_blank_lines_crlf_bom_and_a_last_line_without_newline(tmp_path: Path) -> None:
    data = (b"\xef\xbb\xbf" + b'{"a": 1}\r\n' + b"\r\n" + b"   \n" + b'{"a": 2}\r\n' + b"\n\n" + b'{"a": 3}')
    records = _check_same(_write(tmp_path, data))
    assert [(r[1], r[2]) for r in records] == [(1, b'{"a": 1}\r\n'), (4, b'{"a": 2}\r\n'), (7, b'{"a": 3}')]


def test_an_empty_file_and_a_file_of_blank_lines(tmp_path: Path) -> None:
    assert _check_same(_write(tmp_path, b"", "empty.jsonl")) == []
    with open(tmp_path / "empty.jsonl", "rb") as fh:
        assert list(plan_shards(fh, "empty.jsonl")) == []
    assert _check_same(_write(tmp_path, b"\n \n\r\n", "blank.jsonl")) == []
    assert _check_same(_write(tmp_path, b"\x0b\x0c\t\n \t", "spaces.jsonl")) == []  # (every blank strip() drops)
    assert _check_same(_write(tmp_path, b"\xef\xbb\xbf", "bom.jsonl")) == []  # (a byte order mark alone)
    assert _check_same(_write(tmp_path, b"\xef\xbb\xbf\n\n", "bom.jsonl")) == []


def test_a_file_of_one_line_longer_than_a_range(tmp_path: Path) -> None:
    line = json.dumps({"case_id": "big", "pad": "y" * 100_000}).encode()
    for data in (line, line + b"\n", b"\n" + line + b"\n" + b'{"a": 1}\n'):
        path = _write(tmp_path, data)
        _check_same(path, sizes=(1, 4096, 65536))
        with open(path, "rb") as fh:
            shards = list(plan_shards(fh, str(path), 4096))
        assert len(shards) <= 3  # the long line is one range, not cut


def test_a_line_over_the_record_cap_is_cut_and_rejected_as_today(tmp_path: Path) -> None:
    big = b'{"pad": "' + b"z" * (MAX_RECORD_BYTES + 10) + b'"}\n'
    path = _write(tmp_path, b'{"a": 1}\n' + big + b'{"a": 2}\n')
    records = _check_same(path, sizes=(SHARD_BYTES,))
    assert [r[1] for r in records] == [1, 2, 3]
    assert len(records[1][2]) == MAX_RECORD_BYTES + 1  # held up to the cap, the rest read past


_LINES = st.sampled_from([b'{"a": 1}\n', b'{"b": [1, 2]}\r\n', b"\n", b"  \r\n", b"{broken\n", b'"text"\n',
                          b'{"c": "' + b"w" * 300 + b'"}\n', b"\xef\xbb\xbf{}\n", b"\xff\xfe\n"])


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_LINES, max_size=40), last=st.sampled_from([b"", b'{"end": 1}', b"  "]),
       size=st.integers(min_value=1, max_value=600))
def test_any_lines_any_range_size_give_the_stream_readers_records(tmp_path_factory: pytest.TempPathFactory,
                                                                  lines: list[bytes], last: bytes,
                                                                  size: int) -> None:
    path = tmp_path_factory.mktemp("prop") / "cases.jsonl"
    path.write_bytes(b"".join(lines) + last)
    expected = list(read_cases([str(path)], raw=True))
    got = [one for item in read_cases([str(path)], raw=True, shards=size)
           for one in (task_items(item) if isinstance(item, Shard) else [item])]
    assert [(s, n, str(p)) for s, n, p in got] == [(s, n, str(p)) for s, n, p in expected]


def test_a_file_changed_since_planning_is_read_line_by_line_as_it_now_is(tmp_path: Path) -> None:
    # a range's last line that now runs past the range's end is read to its newline, and a file now shorter
    # gives what it still holds
    path = _write(tmp_path, b'{"a": 1}\n{"b": 2}\n{"c": 3}\n')
    with open(path, "rb") as fh:
        first, second = plan_shards(fh, str(path), 20)
    assert (first.end, first.last, second.first) == (18, 2, 3)
    path.write_bytes(b'{"a": 1}\n{"b": 22222}\n{"c": 3}\n')
    assert [r[1:] for r in shard_records(first)] == [(1, b'{"a": 1}\n'), (2, b'{"b": 22222}\n')]
    path.write_bytes(b'{"a": 1}\n{"b"')
    assert [r[1:] for r in shard_records(first)] == [(1, b'{"a": 1}\n'), (2, b'{"b"')]
    path.write_bytes(b'{"a": 1}\n')
    assert [r[1:] for r in shard_records(first)] == [(1, b'{"a": 1}\n')]
    assert list(shard_records(second)) == []


def test_read_cases_hands_plain_jsonl_files_over_as_ranges_and_reads_the_rest(tmp_path: Path) -> None:
    import gzip

    plain = _write(tmp_path, b'{"a": 1}\n{"a": 2}\n', "plain.jsonl")
    (tmp_path / "zipped.jsonl.gz").write_bytes(gzip.compress(b'{"a": 3}\n'))
    (tmp_path / "doc.json").write_bytes(b'[{"a": 4}]')
    (tmp_path / "utf16.jsonl").write_bytes('{"a": 5}\n'.encode("utf-16"))
    items = list(read_cases([str(tmp_path)], raw=True, shards=SHARD_BYTES))
    shards = [i for i in items if isinstance(i, Shard)]
    assert [(s.source, s.path, s.first, s.last) for s in shards] == [(str(plain), str(plain), 1, 2)]
    assert [(i[0].rsplit("/", 1)[1], i[1]) for i in items if not isinstance(i, Shard)] == [
        ("doc.json", 1), ("utf16.jsonl", None), ("zipped.jsonl.gz", 1)]
    # without shards, or with parsed records wanted, nothing changes
    assert not any(isinstance(i, Shard) for i in read_cases([str(tmp_path)], raw=True))
    assert not any(isinstance(i, Shard) for i in read_cases([str(tmp_path)], shards=SHARD_BYTES))


@pytest.mark.parametrize(("argv", "size"), [
    (["--jobs", "2", "-f", "jsonl"], FINDINGS_SHARD_BYTES),  # findings blocks: the parent's cost is per range
    (["--jobs", "2", "-f", "json"], FINDINGS_SHARD_BYTES),
    (["--jobs", "2", "--detail", "full"], SHARD_BYTES),  # (~16 MB of report a 1 MiB range: more than a slot)
    (["--jobs", "2", "-f", "sarif"], SHARD_BYTES),  # (every result of a range in one list: no larger ranges)
    (["--jobs", "2", "-f", "text"], SHARD_BYTES),
    (["--engine", "dask"], SHARD_BYTES),
    (["--jobs", "1"], None),  # one process reads the file itself
])
def test_eval_plans_ranges_by_where_and_how_records_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  argv: list[str], size: int | None) -> None:
    from policy_eval import cli
    from policy_eval.cli import inputs

    line = b'{"kind": "after_sale", "case_id": "C-1", "pad": "' + b"x" * 900 + b'"}\n'
    path = _write(tmp_path, line * 3000, "big.jsonl")  # ~2.8 MB
    planned: list[Any] = []

    def planning(*args: Any) -> Any:  # (what eval planned, then no record: the run itself is not the point here)
        planned.extend(inputs.eval_records(*args))
        return iter(())

    monkeypatch.setattr("policy_eval.cli.commands.eval.eval_records", planning)
    cli.run(["eval", "-q", "--allow-empty", "-o", str(tmp_path / "out"), *argv, str(path)], io.StringIO(), io.StringIO())
    items = planned
    if size is None:
        assert not any(isinstance(i, Shard) for i in items) and len(items) == 3000
        return
    assert all(isinstance(i, Shard) for i in items) and sum(i.last - i.first + 1 for i in items) == 3000
    assert [i.end - i.start for i in items[:-1]] == [size // len(line) * len(line)] * (len(items) - 1)


def test_a_range_is_opened_at_an_absolute_path_but_keeps_the_name_given(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, b'{"a": 1}\n')
    monkeypatch.chdir(tmp_path)
    [shard] = read_cases(["cases.jsonl"], raw=True, shards=SHARD_BYTES)
    assert shard.source == "cases.jsonl" and shard.path == str(tmp_path / "cases.jsonl")
    monkeypatch.chdir(ROOT)
    assert [r[:2] for r in shard_records(shard)] == [("cases.jsonl", 1)]
    assert ends(shard) == ("cases.jsonl:1", "cases.jsonl:1")


def test_a_read_failure_while_planning_ends_that_input_with_an_error() -> None:
    from policy_eval.rulebook.cases import _shards

    class Failing(io.BytesIO):
        name = "broken.jsonl"

        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 20:
                raise OSError(5, "Input/output error")
            return super().read(min(size or 20, 20))

        def readinto(self, into: Any) -> int:  # (how the planner reads its blocks)
            data = self.read(len(into))
            into[:len(data)] = data
            return len(data)

    items = list(_shards(Failing(b'{"a": 1}\n' * 10), "broken.jsonl", 10))
    assert all(isinstance(i, Shard) for i in items[:-1])
    source, record, error = items[-1]
    assert (source, record) == ("broken.jsonl", None) and isinstance(error, CaseError)
    assert items[-2].last == 3  # lines 1-3 were read before the failure
    assert "read failed: Input/output error, after line 3; the rest of this input" in error.message


def test_a_range_whose_file_is_gone_is_an_error_in_its_place(tmp_path: Path) -> None:
    shard = Shard("gone.jsonl", str(tmp_path / "gone.jsonl"), 0, 100, 3, 9)
    with pytest.raises(OSError):
        work_on(Processor(BatchOptions(detail="findings")), shard)
    [(source, record, error)] = task_items(shard)
    assert (source, record) == ("gone.jsonl", None)
    assert "cannot read this file" in error.message and "lines 3 to 9 are not evaluated" in error.message


def _tricky(tmp_path: Path) -> Path:
    """Generated cases with a bad record at a range boundary, a schema error, blank and CRLF lines,
    and a last line without a newline."""
    templates = [json.loads(x) for x in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()]
    out = bytearray()
    for i in range(1500):
        case = dict(templates[i % len(templates)], case_id=f"C-{i}")
        if i == 700:
            case.pop("kind")  # a schema error
        line = json.dumps(case, ensure_ascii=False).encode()
        if i % 97 == 0:
            out += b"\r\n"  # a blank CRLF line
        out += line + (b"\r\n" if i % 5 == 0 else b"\n")
    # a broken record starting exactly where a 4096-byte range would end
    at = out.rfind(b"\n", 0, 4096 * 50) + 1
    out[at:at] = b'{"case_id": "broken",\n'
    out += b'{"case_id": "last", "kind": "after_sale"}'  # no newline at the end
    return _write(tmp_path, bytes(out))


def test_jobs_2_on_ranges_writes_what_jobs_1_writes_on_the_stream(tmp_path: Path) -> None:
    path = _tricky(tmp_path)
    options = BatchOptions(detail="findings", explain="missing", transport="json")
    one = [r.to_json() for r in run_batch(read_cases([str(path)], raw=True), options, jobs=1)]
    ranged = list(read_cases([str(path)], raw=True, shards=4096))
    assert sum(isinstance(i, Shard) for i in ranged) > 100
    two = [r.to_json() for r in run_batch(iter(ranged), options, jobs=2)]
    assert two == one
    rejected = [json.loads(t) for t in one if '"rejected"' in t]
    assert len(rejected) == 3  # the broken line, the schema error, the short last record
    assert any("invalid JSON" in r["error"]["message"] for r in rejected)
    numbers = [json.loads(t)["record"] for t in one]
    assert numbers == sorted(numbers) and len(numbers) == 1502
    # and the same in one process given ranges
    assert [r.to_json() for r in run_batch(iter(ranged), options, jobs=1)] == one


def _summed(blocks: list[Any]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*(b.totals for b in blocks), strict=True))


def _counted(results: list[Any]) -> tuple[int, ...]:
    totals = [0] * len(TOTALS)
    for r in results:
        count(totals, r)
    return tuple(totals)


def test_jobs_2_blocks_hold_what_jobs_1_writes_with_its_totals(tmp_path: Path) -> None:
    """One block per range: its records once each, in order, framed as the report frames them, and the
    totals of exactly those records (a bad record inside a block included)."""
    path = _tricky(tmp_path)
    options = BatchOptions(detail="findings", explain="missing", transport="blocks", frame=("", "\n"))
    objects = BatchOptions(detail="findings", explain="missing")
    one = list(run_batch(read_cases([str(path)], raw=True), objects, jobs=1))  # one process: objects
    ranged = list(read_cases([str(path)], raw=True, shards=4096))
    blocks = list(run_batch(iter(ranged), options, jobs=2))
    assert all(isinstance(b, Block) and b.records > 0 for b in blocks) and len(blocks) == len(ranged)
    assert b"".join(b.data for b in blocks) == "".join(r.to_json() + "\n" for r in one).encode()
    assert _summed(blocks) == _counted(one)
    assert dict(zip(TOTALS, _summed(blocks), strict=True))["rejected"] == 3
    # each block holds its range's records; some block has a rejected record between two evaluated ones
    for block, shard in zip(blocks, ranged, strict=True):
        numbers = [json.loads(line)["record"] for line in block.data.splitlines()]
        assert len(numbers) == block.records and all(shard.first <= n <= shard.last for n in numbers)
    inside = [b for b in blocks if b'"rejected"' in b"\n".join(b.data.splitlines()[1:-1])]
    assert inside, "no block with a rejected record in its middle"


POISON_PLUGIN = '''
import os, signal
from policy_eval.plugins.hookspecs import hookimpl

def _poison(case):
    if str(case.get("case_id", "")).startswith("POISON") and os.getpid() != int(os.environ["POISON_PARENT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return case

@hookimpl
def policy_eval_enrichers():
    return [_poison]
'''


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_a_record_that_kills_its_worker_mid_range_costs_only_that_record(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shard_poison.py").write_text(POISON_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("POISON_PARENT", str(os.getpid()))
    templates = [json.loads(x) for x in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = []
    for i in range(60):
        case = dict(templates[i % len(templates)], case_id="POISON" if i == 33 else f"C-{i}")
        lines.append(json.dumps(case, ensure_ascii=False))
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    options = BatchOptions(detail="findings", explain="missing", transport="json", plugins=["shard_poison"])
    ranged = list(read_cases([str(path)], raw=True, shards=8192))
    poisoned = next(s for s in ranged if s.first <= 34 <= s.last)
    assert poisoned.first < 34 < poisoned.last  # the poison record is inside a range, not at its edge
    deaths: list[str] = []
    out = [json.loads(r.to_json()) for r in run_batch(iter(ranged), options, jobs=2, on_worker_death=deaths.append)]
    assert [r["record"] for r in out] == list(range(1, 61))
    assert [r["record"] for r in out if r["status"] == "rejected"] == [34]
    assert "worker process evaluating this record died" in out[33]["error"]["message"]
    assert any(f"{path}:{poisoned.first} to " in d for d in deaths)
    assert any(f"record {path}:34 killed its worker twice" in d for d in deaths)
    del sys.modules["shard_poison"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_a_range_retried_record_by_record_comes_back_as_blocks_of_one(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A range whose worker dies is run again, then record by record: each record a block of its own, the
    poison one a rejected record; nothing lost, repeated or counted twice."""
    (tmp_path / "shard_poison.py").write_text(POISON_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("POISON_PARENT", str(os.getpid()))
    templates = [json.loads(x) for x in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = [json.dumps(dict(templates[i % len(templates)], case_id="POISON" if i == 33 else f"C-{i}"),
                        ensure_ascii=False) for i in range(60)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    options = BatchOptions(detail="findings", explain="missing", transport="blocks", frame=("", "\n"),
                           plugins=["shard_poison"])
    ranged = list(read_cases([str(path)], raw=True, shards=8192))
    poisoned = next(s for s in ranged if s.first <= 34 <= s.last)
    deaths: list[str] = []
    blocks = list(run_batch(iter(ranged), options, jobs=2, on_worker_death=deaths.append))
    assert all(isinstance(b, Block) for b in blocks)
    out = [json.loads(line) for b in blocks for line in b.data.splitlines()]
    assert [r["record"] for r in out] == list(range(1, 61))
    assert [r["record"] for r in out if r["status"] == "rejected"] == [34]
    ones = [b for b in blocks if b.records == 1]
    assert len(ones) == poisoned.last - poisoned.first + 1  # the poisoned range, record by record
    assert len(blocks) == len(ranged) - 1 + len(ones)
    totals = dict(zip(TOTALS, _summed(blocks), strict=True))
    assert (totals["read"], totals["evaluated"], totals["rejected"]) == (60, 59, 1)
    expected = _counted(list(run_batch(iter([r for s in ranged for r in task_items(s) if r[1] != 34]),
                                       BatchOptions(detail="findings", explain="missing"), jobs=1)))
    assert totals["complied"] == dict(zip(TOTALS, expected, strict=True))["complied"]
    assert any("killed its worker twice" in d for d in deaths)
    del sys.modules["shard_poison"]
