"""One result read from several threads at once (an embedding developer's audit): the lazy verdicts of one case
shared the case's environment, where conditions bind quantifier variables and memoise lets, so two threads
filling them at once read each other's ("0 merchant message(s)" where the text has 1). Each fill now works in its
own copy. Separate calls in separate threads were always fine (each evaluation has its own environment)."""

from __future__ import annotations

import decimal
import json
import sys
import threading
from pathlib import Path

from policy_eval.api import Rulebook

CASE = Path(__file__).resolve().parent.parent / "examples" / "chat_offplatform_diversion.json"


def test_threads_reading_one_results_lazy_fields_agree_with_one_thread() -> None:
    case = json.loads(CASE.read_text(encoding="utf-8"), parse_float=decimal.Decimal)
    book = Rulebook.load()
    expected = {v.full_id: (v.message, v.remedies, v.reason) for v in book.evaluate(case).results}
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # (switch threads as often as possible: the race showed in 1 result of 10)
    wrong = []
    try:
        for _ in range(60):
            result = book.evaluate(case)
            gate = threading.Barrier(4)

            def read(result=result, gate=gate) -> None:  # type: ignore[no-untyped-def]
                gate.wait()
                for v in result.results:
                    v.message  # noqa: B018 - the read fills the verdict

            threads = [threading.Thread(target=read) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wrong += [v.full_id for v in result.results if (v.message, v.remedies, v.reason) != expected[v.full_id]]
    finally:
        sys.setswitchinterval(switch)
    assert wrong == []
