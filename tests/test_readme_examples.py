"""README = reality: every console example of README.md (and docs/lint.md) is run as written and its output compared,
byte for byte.

The README shows real output pasted from real runs; a policy edit, a message reworded, a line number moved (the
misspelt-field example pointed at line 101 of a v2.yaml that had grown to 146 lines before this test) or a
changed summary line makes the README wrong without anyone noticing. Here each ``$ command`` of a ```` ```console ````
block runs in bash from the repository (the installed ``policy-eval`` first on PATH), the commands of one block in
one shell, so that ``echo $?`` reads the command before it. What the README shows is what a terminal shows: stdout
and stderr together, except for a pipeline, whose stderr (the run's summary line) is left out, as the README does.

The examples that use files the README only describes are run on those files, made here as described: "a copy of
the bundled after-sales policy with a misspelt field and a number added to a datetime" (``my-policies``) and a
policy with a key missing its colon (``my-policies/p.yaml``). The one example the README says it reflowed and
shortened (``jq '.results |= .[:2]'``) is compared by its values instead. docs/lint.md's examples (plain fences
starting with ``$``, real output on the lint fixtures) are compared the same way; the one it introduces as the
"first lines" of the output is compared with as many lines of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # (the environment the tests run in: its policy-eval)
REFLOWED = "jq '.results |= .[:2]'"  # (README: "jq output reflowed and shortened with … to fit here")

# the misspelt field and the number added to a datetime, in a copy of the bundled after-sales policy
MISTAKES = [("  receipt_end: start_of_day(date_of(order.received_at + receipt_window)) + 1d",
             "  receipt_end: order.recieved_at + receipt_window"),
            ("  promised_end: start_of_day(date_of(order.received_at + days(order.promised_after_sale_days))) + 1d",
             "  promised_end: order.received_at + order.promised_after_sale_days")]
BAD_YAML = 'policy:\n  id: after-sales\n  title 拼多多售后规则\n  version: "1"\n'


def _examples(name: str, fence: str) -> list[tuple[str, bool, list[tuple[str, str]]]]:
    """Each example block's (place, whether it shows the first lines only, [(command, output shown)]): the
    blocks fenced ``fence`` whose first line is a command."""
    text = (REPO / name).read_text(encoding="utf-8")
    found = []
    for match in re.finditer(rf"^```{fence}\n(\$ .*?)^```", text, re.S | re.M):
        parts = re.split(r"^\$ (.*)\n", match.group(1), flags=re.M)
        before = text[text.rfind("\n\n", 0, match.start() - 2):match.start()]  # (the paragraph introducing it)
        found.append((f"{name}:{text.count(chr(10), 0, match.start()) + 1}", "first lines" in before,
                      list(zip(parts[1::2], parts[2::2], strict=True))))
    return found


# the README's console examples, and docs/lint.md's (real output on the lint fixtures of the test suite)
EXAMPLES = _examples("README.md", "console") + _examples("docs/lint.md", "")


def _setting(commands: list[tuple[str, str]], tmp_path: Path) -> Path:
    """The folder a block runs in: the repository, or one holding the files it names but the README only describes."""
    text = " ".join(cmd for cmd, _ in commands)
    if "my-policies/p.yaml" in text:
        (tmp_path / "my-policies").mkdir()
        (tmp_path / "my-policies" / "p.yaml").write_text(BAD_YAML, encoding="utf-8")
        return tmp_path
    if "my-policies" in text:
        copy = tmp_path / "my-policies"
        shutil.copytree(REPO / "policies", copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        v2 = copy / "after_sales" / "v2.yaml"
        policy = v2.read_text(encoding="utf-8")
        for before, after in MISTAKES:
            assert policy.count(before) == 1, f"policies/after_sales/v2.yaml no longer holds {before.strip()!r}"
            policy = policy.replace(before, after)
        v2.write_text(policy, encoding="utf-8")
        return tmp_path
    return REPO


def _run(commands: list[tuple[str, str]], where: Path, tmp_path: Path) -> list[str]:
    """Each command's output, the block's commands run one after the other in one bash."""
    out = tmp_path / "out"
    out.mkdir()
    script = []
    for i, (cmd, _) in enumerate(commands):
        stderr = "2>/dev/null" if "|" in cmd else "2>&1"  # (a pipeline: its stdout alone, as shown)
        script.append(f'{{ {cmd}\n}} >"{out}/{i}" {stderr}')
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "LC_ALL": "C.UTF-8"}
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "POLICY_EVAL_PARAMS"):
        env.pop(name, None)
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=where, env=env, check=False, timeout=300)
    return [(out / str(i)).read_text(encoding="utf-8") for i in range(len(commands))]


@pytest.mark.parametrize(("place", "first", "commands"), EXAMPLES, ids=[place for place, _, _ in EXAMPLES])
def test_a_console_example_shows_what_the_command_prints(place: str, first: bool, commands: list[tuple[str, str]],
                                                         tmp_path: Path) -> None:
    if any("jq " in cmd for cmd, _ in commands) and shutil.which("jq") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jq is not installed (the README's examples pipe into it)")
        pytest.skip("jq is not installed (the README's examples pipe into it)")
    got = _run(commands, _setting(commands, tmp_path), tmp_path)
    for (cmd, shown), printed in zip(commands, got, strict=True):
        if REFLOWED in cmd:
            _same_values(shown, printed)
            continue
        if first:  # ("first lines": what is shown begins what is printed)
            printed = "".join(printed.splitlines(keepends=True)[:len(shown.splitlines())])
        assert printed == shown, f"{place}: `$ {cmd}` prints\n{printed}\nnot what is shown there:\n{shown}"


def _same_values(shown: str, printed: str) -> None:
    """The reflowed example: the record holds two verdicts and every ``"key": value`` the README shows (a text
    shortened with ``…`` inside holds what it shows, in order)."""
    record = json.loads(printed)
    assert len(record["results"]) == 2
    pairs = re.findall(r'"([a-z_.]+)": ("(?:[^"\\]|\\.)*"|\d+)', shown)
    assert len(pairs) > 30  # (the example's values were found at all)
    flat: dict[str, set[str]] = {}

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (str, int)) and not isinstance(item, bool):
                    flat.setdefault(key, set()).add(json.dumps(item, ensure_ascii=False))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(record)
    def held(key: str, value: str) -> bool:  # (a text shortened with … inside: its pieces, in order)
        pattern = ".*".join(re.escape(piece) for piece in value.split("…"))
        return any(re.fullmatch(pattern, text, re.S) for text in flat.get(key, set()))
    missing = [f"{key}: {value}" for key, value in pairs if not held(key, value)]
    assert not missing, f"values the README shows but the record does not hold: {missing}"
