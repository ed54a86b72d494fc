"""``policy-eval check --fix``: the fixes the checker is sure of written into the policy files, round after round
(a fix may reveal the next mistake of a condition), each said on stderr; what has no sure fix is left and
reported; ``--format json`` gives each error's fix; the bundled rulebook is never edited."""

from __future__ import annotations

import io
import json
from pathlib import Path

from test_references import POLICY

from policy_eval import cli

MISTAKES = [("exists(order.group_success_at) and exists", "exsts(order.group_success_at) AND exists"),
            ("order.shipped_at <= deadline", "order.shiped_at ＜= dedline")]


def pe(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.run(list(argv), out, err), out.getvalue(), err.getvalue()


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "ships"
    folder.mkdir()
    (folder / "v1.yaml").write_text(text, encoding="utf-8")
    return folder


def _typed(mistakes: list[tuple[str, str]]) -> str:
    text = POLICY
    for old, new in mistakes:
        assert text.count(old) == 1
        text = text.replace(old, new)
    return text


def test_fix_writes_every_sure_fix_round_after_round(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _typed(MISTAKES))
    assert pe("check", "-p", str(folder))[0] == 2
    code, out, err = pe("check", "--fix", "-p", str(folder))
    assert code == 0 and out.startswith("ok: 1 policies")
    assert (folder / "v1.yaml").read_text(encoding="utf-8") == POLICY
    file = folder / "v1.yaml"
    assert err.splitlines() == [  # round 1: the syntax (the parser stops there); round 2: the names
        f"fixed {file}:22:41: 'AND' -> 'and'", f"fixed {file}:27:23: '＜' -> '<'",
        f"fixed {file}:22:11: 'exsts' -> 'exists'", f"fixed {file}:27:13: 'shiped_at' -> 'shipped_at'",
        f"fixed {file}:27:27: 'dedline' -> 'deadline'"]


def test_what_has_no_sure_fix_is_left_and_reported(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _typed([MISTAKES[0], ("deadline + grace\n", "deadline =< grace\n")]))
    code, _, err = pe("check", "--fix", "-p", str(folder))
    assert code == 2
    assert "'AND' -> 'and'" in err and "'exsts' -> 'exists'" in err  # ('when': fixed in two rounds)
    assert "unexpected '='" in err and "1 error: the policies were not loaded" in err  # ('require': '<=' or '=='?)
    assert (folder / "v1.yaml").read_text(encoding="utf-8") == _typed([("deadline + grace\n", "deadline =< grace\n")])


def test_json_gives_each_errors_fix(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _typed(MISTAKES))
    code, out, _ = pe("check", "--format", "json", "-p", str(folder))
    errors = json.loads(out)["errors"]
    assert code == 2 and [e.get("fix") for e in errors] == [{"replace": "AND", "with": "and"},
                                                            {"replace": "＜", "with": "<"}]
    assert (folder / "v1.yaml").read_text(encoding="utf-8") == _typed(MISTAKES)  # (without --fix: not written)


def test_fix_needs_a_policy_folder() -> None:
    code, _, err = pe("check", "--fix")
    assert code == 2 and "check --fix needs -p DIR" in err


def test_fix_follows_a_linked_policy_file_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text(_typed(MISTAKES[:1]), encoding="utf-8")
    folder = tmp_path / "ships"
    folder.mkdir()
    (folder / "v1.yaml").symlink_to(target)
    code, _, _ = pe("check", "--fix", "--follow-links", "-p", str(folder))
    assert code == 0 and (folder / "v1.yaml").is_symlink()
    assert target.read_text(encoding="utf-8") == POLICY
