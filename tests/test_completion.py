"""Shell completion (issue 18 item 10): the installed CLI answers argcomplete's protocol.

Drives the real ``policy-eval`` script as bash would on TAB: ``_ARGCOMPLETE=1`` with the command line
and the cursor position; the answer is read from the file argcomplete writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("policy-eval"))


def _complete(line: str, tmp_path: Path) -> list[str]:
    answer = tmp_path / "answer"
    env = dict(os.environ, _ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line)), _ARGCOMPLETE_IFS="\n",
               _ARGCOMPLETE_STDOUT_FILENAME=str(answer))
    proc = subprocess.run([CLI], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return answer.read_text(encoding="utf-8").split()


@pytest.mark.parametrize(("line", "expected"), [
    ("policy-eval ex", ["explain"]),
    ("policy-eval eval --sev", ["--severity"]),
    ("policy-eval eval --skip refund-only-h", ["refund-only-handling-limit"]),
    ("policy-eval explain case.json --rule after-sales/refund-only-h", ["after-sales/refund-only-handling-limit"]),
])
def test_tab_completes_commands_options_and_rule_ids(line: str, expected: list[str], tmp_path: Path) -> None:
    assert _complete(line, tmp_path) == expected


def test_rule_ids_come_from_the_policy_folder_given(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "p.yaml").write_text(
        "policy:\n  id: mine\n  title: Mine\n  version: '1'\n  source: {document: here}\n"
        "  effective_from: 2020-01-01\n  applies_to: chat\n  reference_time: messages[0].sent_at\n"
        "rules:\n  - id: only-rule\n    title: R\n    clause: C\n    severity: low\n    message: M\n"
        "    require: 'true'\n", encoding="utf-8")
    assert _complete(f"policy-eval eval -p {folder} --skip o", tmp_path) == ["only-rule"]


def test_completion_prints_the_shell_code() -> None:
    proc = subprocess.run([CLI, "completion", "bash"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "complete " in proc.stdout and "policy-eval" in proc.stdout
