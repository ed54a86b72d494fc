"""--rule, --skip and --severity choose the policies judged too (an operator's trial): a policy none of whose rules
is selected gives no verdict of its own ("no version of intervene in force", "reference time ... is missing"),
so it is neither reported, counted, in `versions`, nor able to set the exit status."""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

from policy_eval.cli import run
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

ROOT = Path(__file__).resolve().parent.parent
CASE = json.loads((ROOT / "examples" / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))


def _case(**request: Any) -> dict[str, Any]:
    case = copy.deepcopy(CASE)
    case["request"].update(request)
    return case


def _ids(result: Any) -> list[str]:
    return [r.full_id if r.rule else r.policy for r in result.results]


def test_a_policy_not_selected_gives_no_policy_level_verdict(tmp_path: Path) -> None:
    policies = tmp_path / "policies"  # (the bundled intervene policy's start is unstated: a copy dates it)
    shutil.copytree(ROOT / "policies", policies)
    intervene = policies / "intervention" / "v1.yaml"
    text = intervene.read_text(encoding="utf-8")
    assert text.count("  effective_from: unstated\n") == 1
    intervene.write_text(text.replace("  effective_from: unstated\n", "  effective_from: 2022-12-06\n"), encoding="utf-8")
    rb = load_rulebook(policies)
    early = _case()  # the intervention rules start 2022-12-06: a 2021 request has no version of them in force
    for key in ("submitted_at",):
        early["request"][key] = "2021-03-24T11:50:28+08:00"
    everything = Evaluator(rb).evaluate(early)
    assert "intervene" in _ids(everything)  # (the policy-level verdict, without a selection)
    for options in ({"skip": ["intervene"]}, {"only": ["after-sales/refund-only-window"]},
                    {"only": ["after-sales"]}, {"min_severity": "critical"}):
        result = Evaluator(rb, **options).evaluate(early)  # type: ignore[arg-type]
        assert "intervene" not in _ids(result) and "intervene" not in dict(result.versions), options
        assert all(r.rule is not None for r in result.results), options
    kept = Evaluator(rb, only=["intervene"]).evaluate(early)  # asked for, and not judgeable: said so
    assert _ids(kept) == ["intervene"] and kept.results[0].reason.startswith("no version of intervene in force")


def test_an_unselected_policy_cannot_set_the_exit_status(tmp_path: Path) -> None:
    noref = copy.deepcopy(CASE)
    del noref["request"]["submitted_at"]  # no reference time for after-sales and intervene
    path = tmp_path / "noref.jsonl"
    path.write_text(json.dumps(noref, ensure_ascii=False) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["eval", "-q", "--no-validate", "--rule", "cs-conduct", "--fail-on", "undetermined", "-f", "jsonl",
                str(path)], out, err, None)
    record = json.loads(out.getvalue())
    assert code == 0, (out.getvalue(), err.getvalue())
    assert record["summary"] == {"complied": 0, "violated": 0, "not_applicable": 0, "undetermined": 0}
    assert record["versions"] == {} and record["findings"] == []
    out = io.StringIO()
    assert run(["eval", "-q", "--no-validate", "--rule", "after-sales", "--fail-on", "undetermined", "-f", "jsonl",
                str(path)], out, io.StringIO(), None) == 1
    assert list(json.loads(out.getvalue())["versions"]) == ["after-sales"]
