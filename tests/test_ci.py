"""README = CI: .ci/run runs the README's first two shell commands as written, and installs nothing else.

The README's commands are extracted here independently (the same rule as shared/tools/readme-check.sh:
first fenced bash/sh/shell/console blocks, ``$ `` dropped, comments skipped) and compared with what
``.ci/run --dry-run`` says it will run.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CI = REPO / ".ci" / "run"


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    cmds: list[str] = []
    for block in re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                cmds.append(line)
        if len(cmds) >= 2:
            break
    return cmds[:2]


def _ci_commands() -> list[str]:
    proc = subprocess.run(["bash", str(CI), "--dry-run"], capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.splitlines()


def test_ci_runs_the_readme_commands_first_and_as_written() -> None:
    readme = _readme_commands()
    assert len(readme) == 2, readme
    assert _ci_commands()[:2] == readme


def test_ci_then_lints_and_type_checks() -> None:
    rest = _ci_commands()[2:]
    assert any(c.endswith("ruff check engine plugins tests bench fuzz") for c in rest), rest
    assert any(c.endswith("mypy engine plugins") for c in rest), rest


def test_ci_installs_no_python_package_of_its_own() -> None:
    """Whatever the tests need comes from the README's set-up command (or the tests install it themselves)."""
    script = CI.read_text(encoding="utf-8")
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"pip3? install|-m pip|-m venv|virtualenv", line)], \
        ".ci/run must not set up Python beyond the README's commands"


def test_readme_setup_uses_the_venv_that_the_test_command_runs() -> None:
    setup, tests = _readme_commands()
    assert "python3 -m venv .venv" in setup and tests.startswith(".venv/bin/python -m pytest")
