"""The module paths documented before the stage packages (issue 11) still import, with a DeprecationWarning.

docs/plugins.md and docs/rules.md before commit 68e7f6a told plugin authors to import
``policy_eval.functions.Function``, ``policy_eval.ltypes``, ``policy_eval.values.Money`` and
``policy_eval.result.CaseResult``, and to run ``python -m policy_eval.ruletable``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

MOVED = [
    ("policy_eval.functions", "policy_eval.lang.functions", "Function"),
    ("policy_eval.ltypes", "policy_eval.lang.types", "STRING"),
    ("policy_eval.values", "policy_eval.lang.values", "Money"),
    ("policy_eval.result", "policy_eval.run.result", "CaseResult"),
    ("policy_eval.ruletable", "policy_eval.rulebook.ruletable", "markdown"),
]


@pytest.mark.parametrize(("old", "new", "name"), MOVED, ids=[m[0] for m in MOVED])
def test_old_path_imports_the_same_objects_and_warns(old: str, new: str, name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, old, raising=False)  # the warning comes on first import
    with pytest.warns(DeprecationWarning, match=rf"^{old} is deprecated .* import from {new} instead$") as caught:
        __import__(old)  # as an `import` statement does (importlib.import_module would be the warning's line)
    alias = sys.modules[old]
    # the warning names the importing line, not importlib or the alias
    assert {Path(w.filename).name for w in caught if w.category is DeprecationWarning} == {Path(__file__).name}
    home = importlib.import_module(new)
    assert getattr(alias, name) is getattr(home, name)
    assert alias.__all__ == home.__all__
    assert all(getattr(alias, n) is getattr(home, n) for n in home.__all__)


def test_the_plugin_example_of_the_old_docs_still_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example of docs/plugins.md as it was: its function is the engine's Function, typed STRING."""
    for old in ("policy_eval.functions", "policy_eval.ltypes"):
        monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning):
        from policy_eval.functions import Function
        from policy_eval.ltypes import STRING
    from policy_eval.lang.functions import Function as NewFunction
    from policy_eval.lang.types import STRING as NEW_STRING

    fn = Function("category_class", (STRING,), STRING, lambda c: c.upper())
    assert isinstance(fn, NewFunction) and fn.result is NEW_STRING


def test_python_m_old_ruletable_writes_the_rule_table(tmp_path: Path) -> None:
    # the bundled policies; run from an empty folder, so without docs/clauses.yaml
    old = subprocess.run([sys.executable, "-m", "policy_eval.ruletable"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    new = subprocess.run([sys.executable, "-m", "policy_eval.rulebook.ruletable"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert new.returncode == 0, new.stderr
    assert (old.returncode, old.stdout) == (0, new.stdout)
    assert old.stdout.startswith("# Rules")
    # shown by default (run as __main__), on stderr, so the table on stdout stays clean
    assert "DeprecationWarning: policy_eval.ruletable is deprecated" in old.stderr
    assert "import from policy_eval.rulebook.ruletable instead" in old.stderr
