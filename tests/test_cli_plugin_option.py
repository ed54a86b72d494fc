"""Issue 18 items 7 and 10 through the installed command: ``--plugin`` finds a module in the current folder,
loads ``./file.py``, and its errors name the plugin; small wording fixes (1 record, JSON true)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from policy_eval.cli.progress import Progress

CLI = str(Path(sys.executable).with_name("policy-eval"))

PLUGIN = '''
from policy_eval.lang.functions import Function
from policy_eval.lang.types import STRING
from policy_eval.plugins.hookspecs import hookimpl


def shout(text: str) -> str:
    return text.upper()


@hookimpl
def policy_eval_functions():
    return [Function("shout_{n}", [STRING], STRING, shout)]
'''


def _pe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_plugin_module_in_the_current_folder_and_plugin_file(tmp_path: Path) -> None:
    (tmp_path / "here_plugin.py").write_text(PLUGIN.replace("{n}", "here"), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file_plugin.py").write_text(PLUGIN.replace("{n}", "file"), encoding="utf-8")
    by_name = _pe(tmp_path, "plugins", "--plugin", "here_plugin")
    assert by_name.returncode == 0, by_name.stderr
    assert "shout_here" in by_name.stdout and "here_plugin" in by_name.stdout
    by_file = _pe(tmp_path, "plugins", "--plugin", "./sub/file_plugin.py")
    assert by_file.returncode == 0, by_file.stderr
    assert "shout_file" in by_file.stdout and "file_plugin" in by_file.stdout


def test_plugin_errors_name_the_plugin_not_the_policies(tmp_path: Path) -> None:
    (tmp_path / "bad_plugin.py").write_text("raise RuntimeError('needs a licence key')\n", encoding="utf-8")
    missing = _pe(tmp_path, "plugins", "--plugin", "no_such_plugin_here")
    assert missing.returncode == 2
    assert missing.stderr.startswith("policy-eval plugins: error: cannot import plugin 'no_such_plugin_here'")
    assert "policies were not loaded" not in missing.stderr and "<input>" not in missing.stderr
    broken = _pe(tmp_path, "eval", "--plugin", "./bad_plugin.py", "-")
    assert broken.returncode == 2
    assert "--plugin ./bad_plugin.py: importing it failed: RuntimeError: needs a licence key" in broken.stderr
    gone = _pe(tmp_path, "check", "--plugin", "./nope.py")
    assert gone.returncode == 2 and "--plugin ./nope.py: no such file" in gone.stderr


def test_a_hook_failing_while_policies_are_checked_names_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "hook_plugin.py").write_text(
        "from policy_eval.plugins.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef policy_eval_functions():\n    raise RuntimeError('no licence')\n", encoding="utf-8")
    for command in ("check", "test"):
        proc = _pe(tmp_path, command, "--plugin", "hook_plugin")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == (f"policy-eval {command}: error: plugin 'hook_plugin': policy_eval_functions() failed: "
                               "RuntimeError: no licence\n")


def test_progress_line_says_1_record() -> None:
    out = io.StringIO()
    progress = Progress(out, None, enabled=True)
    progress.last = -1.0
    progress.update(1)
    assert "1 record " in out.getvalue() and "records" not in out.getvalue()
    progress.last = -1.0
    progress.update(2)
    assert "2 records" in out.getvalue()


def test_case_errors_say_true_as_json_does(tmp_path: Path) -> None:
    case = ('{"kind": "after_sale", "case_id": "x", "order": {"id": true}, "request": {"id": "r", '
            '"type": "refund_only", "submitted_at": "2023-01-01T00:00:00+08:00"}}\n')
    proc = subprocess.run([CLI, "eval", "-"], input=case, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert proc.returncode == 1
    assert "$.order.id: true is not of type 'string'" in proc.stdout, proc.stdout
