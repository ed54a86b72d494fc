"""Blocks (issue 14 item 4): a worker's records written out and totalled at once; the parent writes and adds.

A block must hold each of its records once, in order, framed as the reporter frames one record, and its
totals must be what adding its records one by one gives — a rejected record in the middle, a record
rejected by a bug, a record holding a lone surrogate included. The parent's writer must then put exactly
the bytes the reporter would have written, straight under the text stream or through it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli.output import BlockWriter, block_frame, stdout_binary
from policy_eval.cli.signals import Signals, Tally
from policy_eval.cli.streams import Guarded
from policy_eval.errors import CaseError
from policy_eval.plugins.reporters import JsonlReporter, JsonReporter, TextReporter
from policy_eval.run.batch import BatchOptions, Processor, Rendered, shaped
from policy_eval.run.blocks import INTERNAL_ERROR, PART, TOTALS, Block, block_in_parts, block_of, count
from policy_eval.run.result import CaseResult

ROOT = Path(__file__).resolve().parent.parent
LINES = (ROOT / "examples" / "after_sales.jsonl").read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def proc() -> Processor:
    return Processor(BatchOptions(detail="findings", explain="missing"))


def _results(proc: Processor) -> list[Any]:
    """Six evaluated records around a broken line, a schema error and a record a bug rejected."""
    items: list[tuple[str, int, Any]] = [("c.jsonl", n, LINES[n - 1]) for n in range(1, 4)]
    items.append(("c.jsonl", 4, b'{"case_id": "broken",\n'))
    items.append(("c.jsonl", 5, b'{"case_id": "no-kind"}\n'))
    items += [("c.jsonl", n, LINES[n - 1]) for n in range(6, 9)]
    results = [proc.process(item) for item in items]
    bug = proc.rejected(CaseError(
        f"{INTERNAL_ERROR}: AssertionError", source="c.jsonl", record=9))
    return [*results[:5], bug, *results[5:]]


def _by_hand(texts: list[str]) -> dict[str, int]:
    """The totals read back from the records' own JSON (another path than ``count``)."""
    out = dict.fromkeys(TOTALS, 0)
    for text in texts:
        record = json.loads(text)
        out["read"] += 1
        if record["status"] == "rejected":
            out["rejected"] += 1
            out["internal"] += record["error"]["message"].startswith(INTERNAL_ERROR)
            continue
        out["evaluated"] += 1
        summary = record["summary"]
        for outcome in ("complied", "violated", "not_applicable", "undetermined"):
            out[outcome] += summary[outcome]
        key = ("cases_violating" if summary["violated"] else
               "cases_undetermined" if summary["undetermined"] else "cases_clean")
        out[key] += 1
    return out


def test_a_block_holds_each_record_once_in_order_and_totals_them(proc: Processor) -> None:
    results = _results(proc)
    texts = [r.to_json() for r in results]
    assert [json.loads(t)["status"] for t in texts][2:7] == ["evaluated", *["rejected"] * 3, "evaluated"]  # in the middle, not at an edge
    for frame, joined in ((("", "\n"), "".join(t + "\n" for t in texts)),
                          ((",\n", ""), "".join(",\n" + t for t in texts))):
        block = block_of(results, frame)
        assert isinstance(block.data, bytes) and block.data.decode("utf-8") == joined
        assert dict(zip(TOTALS, block.totals, strict=True)) == _by_hand(texts)
        assert block.records == len(results) == 9
        assert block.rulebook == proc.rulebook.digest
    totals = _by_hand(texts)
    assert (totals["rejected"], totals["internal"], totals["evaluated"]) == (3, 1, 6)
    assert totals["cases_violating"] + totals["cases_undetermined"] + totals["cases_clean"] == 6


def test_count_one_by_one_equals_the_block(proc: Processor) -> None:
    results = _results(proc)
    totals = [0] * len(TOTALS)
    for r in results:
        count(totals, r)
    assert tuple(totals) == block_of(results, ("", "\n")).totals
    # and blocks of any cut add up to the same
    cut = [block_of(results[:4], ("", "\n")), block_of(results[4:5], ("", "\n")), block_of(results[5:], ("", "\n"))]
    assert tuple(map(sum, zip(*(b.totals for b in cut), strict=True))) == tuple(totals)
    assert b"".join(b.data for b in cut) == block_of(results, ("", "\n")).data  # type: ignore[misc]


def test_rendered_results_count_as_their_results(proc: Processor) -> None:
    """transport="json" sends each result as its JSON text with its totals (run.batch.Rendered): counted, they
    add up to what the results themselves add up to."""
    results = _results(proc)
    totals, rendered = [0] * len(TOTALS), [0] * len(TOTALS)
    for r in results:
        count(totals, r)
        count(rendered, Rendered.of(r))
    assert rendered == totals and sum(totals[7:]) > 0


def test_a_lone_surrogate_keeps_the_block_as_text(proc: Processor) -> None:
    case = json.loads(LINES[0])
    case["case_id"] = "JL-\ud800"
    result = proc.process(("c.jsonl", 1, case))
    block = block_of([result], ("", "\n"))
    assert isinstance(block.data, str) and "\ud800" in block.data
    assert block.data == result.to_json() + "\n"


def test_a_record_orjson_refuses_is_written_as_its_text_says(proc: Processor) -> None:
    """A block's records are orjson's bytes, not decoded and encoded again; a record orjson refuses (an
    integer beyond 64 bits) comes as the standard library's text, and the block is still those texts in UTF-8."""
    normal = proc.process(("c.jsonl", 1, json.loads(LINES[0])))
    huge = CaseResult(case_id="B-1", kind=None, source="c.jsonl", record=2, error={"message": "x", "n": 2 ** 70})
    assert type(normal.to_json_bytes()) is bytes and normal.to_json_bytes().decode("utf-8") == normal.to_json()
    assert huge.to_json_bytes() == huge.to_json() and str(2 ** 70) in huge.to_json()
    for results in ([normal, huge], [huge, normal], [normal]):
        block = block_of(results, (",\n", ""))
        assert block.data == "".join(",\n" + r.to_json() for r in results).encode("utf-8")


def test_shaped_sends_one_block_per_task_and_none_for_a_task_without_records(proc: Processor) -> None:
    results = _results(proc)
    options = BatchOptions(detail="findings", explain="missing", transport="blocks", frame=(",\n", ""))
    [block] = shaped(results, options)
    assert isinstance(block, Block) and block.records == 9 and block.data.startswith(b",\n{")  # type: ignore[union-attr]
    assert shaped([], options) == []
    assert shaped(results, BatchOptions()) == results


@pytest.mark.parametrize("n", [0, 1, PART - 1, PART, PART + 1, 2 * PART + 3])
def test_a_block_made_in_parts_is_the_block_of_all_its_results(proc: Processor, n: int) -> None:
    """run.blocks.block_in_parts (a worker's task, a part of the records at a time) gives what block_of gives of
    every result at once: the same bytes, totals and rulebook, at every count around a part's edge; a rejected
    record and a lone surrogate (the block then text) inside a later part included."""
    case = json.loads(LINES[0])
    case["case_id"] = "JL-\ud800"
    items: list[tuple[str, int, Any]] = [("c.jsonl", i + 1, LINES[i % len(LINES)]) for i in range(n)]
    if n > PART:
        items[PART] = ("c.jsonl", PART + 1, b'{"case_id": "broken",\n')
    for with_text in (False, True) if n else (False,):
        made = [*items[:-1], ("c.jsonl", n, case)] if with_text else items
        for frame in (("", "\n"), (",\n", "")):
            parts = block_in_parts(proc.process, made, frame)
            if not n:
                assert parts == []
                continue
            [block] = parts
            whole = block_of([proc.process(item) for item in made], frame)
            assert (block.data, block.totals, block.rulebook) == (whole.data, whole.totals, whole.rulebook)
            assert isinstance(block.data, str) is with_text and block.records == n


def test_a_block_made_in_parts_holds_no_more_than_a_part_of_results_at_once() -> None:
    """The point of making it in parts: a task of ~1,250 records (a 1 MiB range) held every result before the first
    was written, and its records cost ~1.2 µs more each. Results still alive are counted as they are made."""
    alive = peak = 0

    class Result:
        rulebook = "sha256:x"
        error = None

        def __init__(self, n: int) -> None:
            nonlocal alive, peak
            alive += 1
            peak = max(peak, alive)
            self.n = n

        def __del__(self) -> None:
            nonlocal alive
            alive -= 1

        def json_pieces(self) -> list[bytes]:
            return [b'{"n":%d}' % self.n]

        def tally(self) -> tuple[int, int, int, int]:
            return (1, 0, 0, 0)

    [block] = block_in_parts(Result, range(5 * PART + 7), ("", "\n"))
    assert block.records == 5 * PART + 7 and block.data.count(b"\n") == 5 * PART + 7  # type: ignore[union-attr]
    assert peak <= PART and alive == 0


def test_only_the_built_in_json_reporters_take_blocks() -> None:
    assert block_frame(JsonlReporter) == ("", "\n", "")
    assert block_frame(JsonReporter) == (",\n", "", "\n")

    class Mine(JsonlReporter):  # a plugin's reporter, even one built on the built-in, gets every result
        pass

    assert block_frame(Mine) is None and block_frame(TextReporter) is None


def _reported(factory: Any, results: list[Any], blocks: list[list[Any]] | None, binary: bool,
              view: bool = False) -> bytes:
    """What a run writes: the reporter's start, each result (or each block), its finish; ``view``: each block's
    bytes as a memoryview, as a block borrowed from the memory --jobs workers share arrives (run.slots)."""
    raw = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", newline="\n")
    signals = Signals()
    tally = Tally(Guarded(raw, "OUT"), signals)  # type: ignore[arg-type]
    reporter = factory(tally, {})
    reporter.start({"rulebook": "sha256:x", "rules": [{"id": "a/b", "version": "1"}], "detail": "findings"})
    if blocks is None:
        for r in results:
            reporter.case(r)
    else:
        frame = block_frame(factory)
        assert frame is not None
        writer = BlockWriter(tally, frame, raw.buffer if binary else None, "OUT")
        for part in blocks:
            before = tally.written
            block = block_of(part, frame[:2])  # type: ignore[arg-type]
            if view:
                block = Block(memoryview(block.data), block.totals, block.rulebook)  # type: ignore[arg-type]
            writer.write(block)
            assert tally.written > before and signals.depth == 0
    reporter.finish({"read": len(results)})
    raw.flush()
    return raw.buffer.getvalue()  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("view", [False, True], ids=["own", "view"])
@pytest.mark.parametrize("binary", [True, False], ids=["bytes", "text"])
@pytest.mark.parametrize("factory", [JsonlReporter, JsonReporter], ids=["jsonl", "json"])
def test_blocks_write_what_the_reporter_writes_record_by_record(proc: Processor, factory: Any,
                                                                binary: bool, view: bool) -> None:
    results = _results(proc)
    expected = _reported(factory, results, None, binary)
    blocks = [results[:2], results[2:3], results[3:]]
    assert _reported(factory, results, blocks, binary, view) == expected
    assert _reported(factory, results, [results], binary, view) == expected
    if factory is JsonReporter:
        json.loads(expected)  # one valid document


def test_a_write_that_fails_under_the_text_stream_is_an_output_failure() -> None:
    from policy_eval.cli.streams import OutputFailed

    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

    raw = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    writer = BlockWriter(Tally(Guarded(raw, "OUT"), Signals()), ("", "\n", ""), Full(), "OUT")  # type: ignore[arg-type]
    with pytest.raises(OutputFailed) as caught:
        writer.write(Block(b"{}\n", (1,) + (0,) * (len(TOTALS) - 1)))
    assert caught.value.target == "OUT"


def test_stdout_bytes_only_under_pythons_own_utf8_stdout() -> None:
    assert stdout_binary(io.StringIO()) is None
    assert stdout_binary(Guarded(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), "stdout")) is None


def _verdict(outcome: Any, waived: bool = False) -> Any:
    from policy_eval.run.result import RuleResult

    return RuleResult(policy="p", version="1", rule=f"r-{outcome.value}", title="t", clause=None, outcome=outcome,
                      severity="info", reason="why", waiver={"id": "w"} if waived else None)


@pytest.mark.parametrize("quiet", [None, (0, 0), (3, 5)])
@pytest.mark.parametrize("mix", [(), ("violated",), ("undetermined", "violated", "violated"),
                                 ("complied", "not_applicable", "undetermined"), ("not_applicable",)])
def test_tally_is_counts_and_count_takes_it(quiet: Any, mix: tuple[str, ...]) -> None:
    """CaseResult.tally (what run.blocks.count adds up) says what counts() says, in TOTALS order; and count
    gives the same totals from a result that has only counts() (a plugin's stand-in)."""
    from types import SimpleNamespace

    from policy_eval.run.result import CaseResult, Outcome

    result = CaseResult("c", "k", "s", 1, tuple(_verdict(Outcome(o)) for o in mix), quiet=quiet)
    counts = result.counts()
    assert result.tally() == (counts["complied"], counts["violated"], counts["not_applicable"],
                              counts["undetermined"])
    assert counts == {o.value: mix.count(o.value) + (quiet[0] if quiet and o is Outcome.COMPLIED else 0)
                      + (quiet[1] if quiet and o is Outcome.NOT_APPLICABLE else 0) for o in Outcome}
    by_tally, by_counts = [0] * len(TOTALS), [0] * len(TOTALS)
    count(by_tally, result)
    count(by_counts, SimpleNamespace(error=None, counts=result.counts))
    assert by_tally == by_counts
    assert by_tally[TOTALS.index("violated")] == counts["violated"]
    assert by_tally[TOTALS.index("cases_violating")] == (1 if "violated" in mix else 0)
    assert by_tally[TOTALS.index("cases_undetermined")] == (1 if "undetermined" in mix and "violated" not in mix
                                                             else 0)


def test_tally_refuses_what_is_not_an_outcome() -> None:
    """tally counts outcomes by identity: a verdict whose outcome is the plain text of one (equal to the
    member, as a StrEnum is) is not counted as it, it is refused, naming the value."""
    from policy_eval.run.result import CaseResult, Outcome

    odd = _verdict(Outcome.COMPLIED)
    odd.outcome = "complied"
    result = CaseResult("c", "k", "s", 1, (_verdict(Outcome.VIOLATED), odd))
    with pytest.raises(ValueError, match="not an outcome: 'complied'"):
        result.tally()


def test_findings_list_violated_undetermined_and_waived_verdicts() -> None:
    from policy_eval.run.result import CaseResult, Outcome

    verdicts = (_verdict(Outcome.COMPLIED), _verdict(Outcome.VIOLATED), _verdict(Outcome.NOT_APPLICABLE, True),
                _verdict(Outcome.NOT_APPLICABLE), _verdict(Outcome.UNDETERMINED))
    findings = CaseResult("c", "k", "s", 1, verdicts, quiet=(0, 0)).to_findings()["findings"]
    assert [(f["rule"], f["outcome"]) for f in findings] == [
        ("p/r-violated", "violated"), ("p/r-not_applicable", "not_applicable"), ("p/r-undetermined", "undetermined")]
    assert [type(f["outcome"]) for f in findings] == [str, str, str]  # plain text, not the enum
    assert findings[1]["waiver"] == {"id": "w"} and findings[0]["message"] == "why"
