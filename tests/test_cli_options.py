"""Issue 18 items 4-6 through the CLI: one spelling per option across commands (old ones hidden but
accepted), empty input is not success, and a diff says when it rejected or compared nothing."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from policy_eval import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLEAN = EXAMPLES / "after_sale_clothing_return_ok.json"  # submitted 2023: after-sales v2 judges it


def pe(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# --- item 5: consistent options ----------------------------------------------------------------------------
def test_check_takes_the_policy_folder_as_p_like_every_command() -> None:
    code, out, _ = pe("check", "-p", str(ROOT / "policies"))
    assert code == 0 and out.startswith("ok: ")
    assert pe("check", str(ROOT / "policies"))[1] == out  # the old positional spelling still works
    code, _, err = pe("check", "-p", str(ROOT / "policies"), str(ROOT / "tests"))
    assert code == 2 and "two policy folders given" in err


def test_new_spellings_are_shown_and_old_ones_hidden() -> None:
    helps = {name: pe(name, "--help")[1] for name in ("check", "eval", "explain", "rules", "diff")}
    assert "--policies" in helps["check"] and "POLICIES" not in helps["check"].split("options:")[0]
    for name in ("eval", "explain"):
        assert "--rule RULE" in helps[name] and "--only" not in helps[name]
    for name in ("eval", "explain", "rules", "diff"):
        assert "--as-of WHEN" in helps[name] and "--at " not in helps[name]


def test_old_option_spellings_still_select_the_same() -> None:
    new = pe("rules", "--as-of", "2020-06-01", "--policy", "after-sales")
    old = pe("rules", "--at", "2020-06-01", "--policy", "after-sales")
    assert new == old and new[0] == 0 and "v1" in new[1] and " v2 " not in new[1]
    a = pe("eval", "-f", "jsonl", "--detail", "full", "--rule", "refund-only-window", str(CLEAN))
    b = pe("eval", "-f", "jsonl", "--detail", "full", "--only", "refund-only-window", str(CLEAN))
    assert a[:2] == b[:2] and a[1].count('"refund-only-window"') >= 1
    code, _, err = pe("explain", str(CLEAN), "--only", "refund-only-windw")
    assert code == 2 and "--rule 'refund-only-windw' is not a rule" in err


# --- item 6: empty input ----------------------------------------------------------------------------------
def test_a_folder_without_case_files_is_an_error_naming_what_it_holds(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml", "notes.md"):
        (tmp_path / name).write_text("x: 1\n", encoding="utf-8")
    code, _, err = pe("eval", "-q", str(tmp_path))
    assert code == 1
    assert "no case record found" in err and "3 other file(s) (2 .yaml, 1 .md)" in err
    assert "--allow-empty" in err
    assert pe("eval", "-q", "--allow-empty", str(tmp_path))[0] == 0


@pytest.mark.parametrize("command", [["check", "-p"], ["eval", "-q", str(CLEAN), "-p"], ["lint"],
                                     ["rules", "-p"], ["explain", str(CLEAN), "-p"]])
def test_a_policy_folder_without_policies_is_an_error_not_a_clean_run(tmp_path: Path, command: list[str]) -> None:
    """Found by trying it: ``eval -p WRONG-FOLDER`` judged every case "clean" against no rules, exit 0."""
    code, _, err = pe(*command, str(tmp_path))
    assert code == 2, err
    assert f"{tmp_path}: no policy files in {tmp_path} (a policy file is YAML with a top-level 'policy:'" in err
    (tmp_path / "notes.yaml").write_text("x: 1\n", encoding="utf-8")  # located at the YAML that is not a policy
    code, _, err = pe(*command, str(tmp_path))
    assert code == 2, err
    assert (f"{tmp_path / 'notes.yaml'}:1:1: no policy files in {tmp_path}: 1 YAML file here, none with a "
            "top-level 'policy:' mapping") in err


def test_a_yaml_file_given_as_cases_is_one_error_pointing_to_test_and_explain() -> None:
    """It gave one "invalid JSON" rejection per line of the policy-test file (453 for appeals.yaml)."""
    golden = str(ROOT / "tests" / "golden" / "appeals.yaml")
    code, out, _ = pe("eval", "-q", "-f", "jsonl", golden)
    assert code == 1
    assert out.count("\n") == 1 and '"status":"rejected"' in out
    assert f"a policy-test file runs with `policy-eval test {golden}`" in out


def test_an_empty_case_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_bytes(b"")
    code, _, err = pe("eval", str(tmp_path / "cases.jsonl"))
    assert code == 1 and "cases.jsonl: an empty file" in err


# --- item 4: diff ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three copies of the bundled policies: as they are, with after-sales v1 edited, with v2 edited."""
    base = tmp_path_factory.mktemp("revisions")
    out = {}
    for name, edited in (("same", None), ("v1", "v1.yaml"), ("v2", "v2.yaml")):
        folder = base / name
        shutil.copytree(ROOT / "policies", folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        if edited:
            with open(folder / "after_sales" / edited, "a", encoding="utf-8") as fh:
                fh.write("# revised\n")
        out[name] = folder
    return out


def test_diff_says_when_no_case_met_a_revised_version(revised: dict[str, Path]) -> None:
    code, out, _ = pe("diff", str(revised["same"]), str(revised["v1"]), str(CLEAN))
    assert code == 0
    assert "nothing compared" in out and "--latest" in out and "--as-of" in out
    code, out, _ = pe("diff", str(revised["same"]), str(revised["v2"]), str(CLEAN))
    assert code == 0 and "0 of 1 case(s) change outcome" in out and "nothing compared" not in out


def test_diff_of_two_identical_rulebooks_says_so(revised: dict[str, Path]) -> None:
    """It said "all predate the new version; use --latest" although there was no new version."""
    code, out, _ = pe("diff", str(ROOT / "policies"), str(revised["same"]), str(CLEAN))
    assert code == 0
    assert "nothing compared: the two rulebooks are identical (the same content hash" in out
    assert "--latest" not in out
    code, out, _ = pe("diff", "--format", "json", str(ROOT / "policies"), str(revised["same"]), str(CLEAN))
    assert '"identical": true' in out
    code, out, _ = pe("diff", "--format", "json", str(revised["same"]), str(revised["v1"]), str(CLEAN))
    assert '"identical": false' in out


def test_diff_rejections_make_the_exit_non_zero(revised: dict[str, Path]) -> None:
    code, out, _ = pe("diff", str(revised["same"]), str(revised["v2"]),
                      str(ROOT / "tests" / "golden" / "after_sales_v2.yaml"))
    assert code == 1 and "REJECTED" in out and "rejected and not compared" in out


def test_diff_of_no_records_is_an_error(revised: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("tests: []\n", encoding="utf-8")
    code, _, err = pe("diff", str(revised["same"]), str(revised["v2"]), str(tmp_path))
    assert code == 1 and "no case record found" in err and "1 .yaml" in err


# --- --jobs auto: one worker per CPU this process may use ----------------------------------------------------
def test_jobs_auto_is_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import os

    from policy_eval.cli import options

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert options.jobs("auto") == options.jobs(" AUTO ") == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # (macOS, Windows)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert options.jobs("auto") == 1
    assert options.jobs("4") == 4
    for bad in ("0", "-1", "many", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            options.jobs(bad)


def test_eval_jobs_auto_gives_the_output_of_jobs_1(tmp_path: Path) -> None:
    cases = EXAMPLES / "after_sales.jsonl"
    one, auto = tmp_path / "one.jsonl", tmp_path / "auto.jsonl"
    assert pe("eval", "-q", "-f", "jsonl", "--fail-on", "never", "-o", str(one), str(cases))[0] == 0
    code, _, err = pe("eval", "-q", "-f", "jsonl", "--fail-on", "never", "--jobs", "auto", "-o", str(auto), str(cases))
    assert code == 0, err
    assert auto.read_bytes() == one.read_bytes()
    code, _, err = pe("eval", "--jobs", "several", str(cases))
    assert code == 2 and "not a whole number or 'auto': 'several'" in err
