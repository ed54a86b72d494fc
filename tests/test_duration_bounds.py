"""A number too large for any duration is refused before it is made an integer (a red team's trial: sixteen
lets squaring 9999999999999999999999999999.0 reach 1E+917519; ``days()`` of it ran ``int()`` on it, one C call
of about 30 s, twice a record, past the CPU watchdog: 77 s a record from a 1 KB policy). Now ``days``,
``hours``, ``minutes``, ``seconds`` and a duration times or divided by a decimal refuse a value beyond
timedelta's 999,999,999 days at once: the rule is undetermined, "duration out of range"."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from pathlib import Path

import pytest

from policy_eval.lang.functions import _dur
from policy_eval.lang.ops import MAX_DURATION_US, _td
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

HUGE = Decimal("1E+917519")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("unit", ["days", "hours", "minutes", "seconds"])
def test_a_huge_number_is_no_duration(unit: str) -> None:
    with pytest.raises(OverflowError, match="duration out of range"):
        _dur(unit)(HUGE)
    with pytest.raises(OverflowError, match="duration out of range"):
        _dur(unit)(-HUGE)
    assert _dur(unit)(Decimal("1.5")) == _dt.timedelta(**{unit: 1.5})


def test_the_largest_duration_still_converts() -> None:
    assert _td(Decimal(999_999_999 * 86400 * 10**6)) == _dt.timedelta(days=999_999_999)
    with pytest.raises(OverflowError):
        _td(MAX_DURATION_US * 10)
    with pytest.raises(OverflowError, match="duration out of range"):
        _td(HUGE)


def test_the_trial_policy_is_undetermined_saying_why(tmp_path: Path) -> None:
    lets = "\n".join(f'      l{i}: "l{i - 1} * l{i - 1}"' for i in range(1, 16))
    (tmp_path / "p.yaml").write_text(f"""policy:
  id: hostile
  title: Hostile input
  version: "1"
  source: {{document: x}}
  effective_from: 2020-01-01
  applies_to: chat
  reference_time: messages[0].sent_at
rules:
  - id: r1
    title: R
    clause: C
    severity: low
    message: M
    let:
      l0: "9999999999999999999999999999.0"
{lets}
    require: "days(l15) > 1d and 1d * l15 > 1d"
""", encoding="utf-8")
    book = load_rulebook(tmp_path, schema_dir=ROOT / "schemas")
    case = {"kind": "chat", "case_id": "c", "store_id": "S",
            "messages": [{"id": "m1", "sender": "buyer", "sent_at": "2024-05-01T10:00:00+08:00", "attachments": []}]}
    (verdict,) = Evaluator(book).evaluate(case).results
    assert verdict.outcome is Outcome.UNDETERMINED
    # (the squares are exact or refused since red team trial E, D9: l1 * l1 needs 112 digits, refused before days())
    assert "l1 * l1: the exact result needs more than 100 significant digits" in (verdict.error or "")
