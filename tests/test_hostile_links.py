"""Issue 13, item 12: policy files linked from outside the policy folder, and what an error may echo.

A policy folder holding ``x.yaml -> /proc/self/environ`` made ``check`` print the process environment
into the CI log: the file was followed, failed as YAML, and the offending line (all of it) was quoted.
Now such links are refused unless opted in, and an error quotes at most a short window of its line with
control characters escaped.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from policy_eval.cli import run
from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError, snippet
from policy_eval.rulebook import load_rulebook

EXAMPLE = sorted((Path(__file__).parent.parent / "policies" / "warranty").glob("*.yaml"))


def _valid_policy() -> str:
    return EXAMPLE[0].read_text(encoding="utf-8")


def _errors(exc: PolicyError) -> list[PolicyError]:
    return list(exc.errors) if isinstance(exc, ErrorList) else [exc]


def _check(folder: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", str(folder), *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    inside, outside = tmp_path / "policies", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    return inside, outside


def test_a_link_to_a_file_outside_the_folder_is_refused_unless_opted_in(folders: tuple[Path, Path]) -> None:
    inside, outside = folders
    (outside / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    os.symlink(outside / "w.yaml", inside / "w.yaml")
    with pytest.raises(PolicyError) as info:
        load_rulebook(inside)
    (err,) = _errors(info.value)
    assert isinstance(err, PolicyLoadError)
    assert (err.line, err.column) == (1, 1) and err.file is not None and err.file.endswith("w.yaml")
    assert "symbolic link to a file outside the policy folder" in err.message
    assert load_rulebook(inside, follow_links=True).policies  # the opt-in reads it
    code, out, err_text = _check(inside)
    assert code == 2 and "symbolic link" in err_text
    assert _check(inside, "--follow-links")[0] == 0


def test_a_linked_sub_folder_outside_is_refused_and_a_link_inside_is_read(folders: tuple[Path, Path]) -> None:
    inside, outside = folders
    (outside / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    os.symlink(outside, inside / "sub", target_is_directory=True)
    code, _, err_text = _check(inside)
    assert code == 2 and "symbolic link" in err_text, err_text
    # a linked sub-folder that stays inside the folder is not reported (and, as before, not walked)
    os.unlink(inside / "sub")
    (inside / "real").mkdir()
    (inside / "real" / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    os.symlink(inside / "real", inside / "alias", target_is_directory=True)
    assert load_rulebook(inside).policies


def test_an_environment_like_file_is_never_echoed_beyond_a_short_snippet(folders: tuple[Path, Path]) -> None:
    inside, outside = folders
    secret = "\x00".join(f"SECRET_{i}=hunter{i}" for i in range(2_000))  # one 40 KB line with NULs
    (outside / "environ").write_text(secret, encoding="utf-8")
    os.symlink(outside / "environ", inside / "x.yaml")
    code, out, err_text = _check(inside)
    assert code == 2 and "SECRET_0" not in err_text  # refused before being read
    code, out, err_text = _check(inside, "--follow-links")  # opted in: read, but quoted only around the error
    assert code == 2
    assert len(err_text) < 1_000, len(err_text)
    assert "SECRET_1999" not in err_text and "\x00" not in err_text


def test_snippet_escapes_control_characters_and_keeps_the_caret_column() -> None:
    line = "a: \x1b[31mred\x00" + "x" * 500
    shown, column = snippet(line, 12)  # the NUL after 'red'
    assert "\x1b" not in shown and "\x00" not in shown
    assert shown.startswith("a: \\x1b[31mred\\x00") and shown.endswith("…")
    assert shown[column - 1:column + 3] == "\\x00"
    assert len(shown) < 200
    long = "y" * 10_000 + "!" + "z" * 10_000
    shown, column = snippet(long, 10_001)
    assert shown[column - 1] == "!" and shown.startswith("…") and shown.endswith("…") and len(shown) <= 162


# --- the --params overlay: the same rule as policy files (issue 13, item 12) ---------------------------------

def _secret_environ(path: Path) -> None:
    """An environ-like file: NUL-separated NAME=value pairs, one of them a secret that must never be shown."""
    path.write_bytes(b"SHELL=/bin/bash\x00SECRET_TOKEN=hunter2-do-not-print\x00HOME=/root\x00")


def test_a_params_file_linked_from_outside_its_folder_is_refused_unless_opted_in(
        folders: tuple[Path, Path]) -> None:
    # Before: `check --params envlink.yaml` with envlink.yaml -> /proc/self/environ quoted the environment
    inside, outside = folders
    (inside / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    (outside / "secret").mkdir()
    (outside / "deploy").mkdir()
    _secret_environ(outside / "secret" / "environ")
    link = outside / "deploy" / "envlink.yaml"
    os.symlink(outside / "secret" / "environ", link)
    code, out, err = _check(inside, "--params", str(link))
    assert code == 2
    assert f"{link}:1:1: a symbolic link to a file outside its folder; refused" in err
    assert "hunter2" not in out + err and "SHELL" not in out + err
    with pytest.raises(PolicyLoadError, match="outside its folder"):
        load_rulebook(inside, params=link)
    # opted in, the file is read, but it is not YAML text: refused whole, none of it quoted
    code, out, err = _check(inside, "--params", str(link), "--follow-links")
    assert code == 2 and f"{link}:1:1: not a YAML text file: it holds NUL bytes" in err
    assert "hunter2" not in out + err and "SHELL" not in out + err


def test_a_params_file_with_nul_bytes_is_never_quoted(folders: tuple[Path, Path]) -> None:
    inside, outside = folders
    (inside / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    _secret_environ(outside / "deploy.yaml")
    code, out, err = _check(inside, "--params", str(outside / "deploy.yaml"))
    assert code == 2 and f"{outside / 'deploy.yaml'}:1:1: not a YAML text file" in err
    assert "hunter2" not in out + err


def test_a_params_file_linked_within_its_folder_is_read(folders: tuple[Path, Path]) -> None:
    inside, outside = folders
    (inside / "w.yaml").write_text(_valid_policy(), encoding="utf-8")
    (outside / "deploy").mkdir()
    (outside / "deploy" / "prod.yaml").write_text("params: {}\n", encoding="utf-8")
    os.symlink("prod.yaml", outside / "deploy" / "current.yaml")  # as a config map's ..data links are
    code, _, err = _check(inside, "--params", str(outside / "deploy" / "current.yaml"))
    assert code == 0, err
