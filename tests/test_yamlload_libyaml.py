"""Policy YAML read with libyaml's parser where it agrees with PyYAML's own (rulebook.yamlload).

libyaml gives the same parse events about ten times faster. It is used only on texts without what the two
read differently (tabs, a byte order mark, characters the Python reader refuses), and only when it yields a
document; anything refused is parsed again by the Python parser, which words the error. Whatever path is
taken, the data, every node's position and every error must be what the Python parser alone gives: here on
every YAML file of the project and on mutated bundled policies (fuzz_common's line and character edits).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook import yamlload

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fuzz"))
import fuzz_common as fc  # noqa: E402

pytestmark = pytest.mark.skipif(yamlload._CParser is None, reason="PyYAML was built without libyaml")


def _mark(m: Any) -> tuple[Any, ...]:
    return m.name, m.index, m.line, m.column, m.buffer, m.pointer


def _node(n: Any) -> tuple[Any, ...]:
    return (type(n).__name__, n.tag, _mark(n.start_mark), _mark(n.end_mark), getattr(n, "style", None),
            getattr(n, "flow_style", None), n.value if isinstance(n.value, str) else None)


def _load(text: str, libyaml: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as m:
        if not libyaml:
            m.setattr(yamlload, "_CParser", None)
        try:
            data, pos = yamlload.load_yaml(text.encode("utf-8", "surrogatepass"), "p.yaml")
        except PolicyLoadError as exc:
            return ("error", str(exc), exc.line, exc.column)
    return ("ok", data, {k: _node(v) for k, v in pos.nodes.items()}, {k: _node(v) for k, v in pos.key_nodes.items()})


FILES = sorted(p for p in ROOT.rglob("*.yaml") if ".venv" not in p.parts and "node_modules" not in p.parts)


def test_every_yaml_file_of_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = 0
    assert len(FILES) > 50
    for path in FILES:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        assert _load(text, True, monkeypatch) == _load(text, False, monkeypatch), path
        taken += yamlload._NOT_FOR_LIBYAML.search(text) is None
    assert taken > 40  # most files do go through libyaml


@pytest.mark.parametrize("seed", range(4))
def test_mutated_policies(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    bases = fc.policy_texts() + fc.small_policy_texts()
    outcomes = set()
    for _ in range(100):
        text = fc.mutate_policy_text(rng.choice(bases), rng, steps=rng.randint(1, 6))
        a = _load(text, True, monkeypatch)
        assert a == _load(text, False, monkeypatch), text
        outcomes.add(a[0])
    assert outcomes == {"ok", "error"}


@pytest.mark.parametrize(("text", "why"), [
    ("a:\t1\nb: 2\n", "a tab libyaml takes as a separator: PyYAML refuses it"),
    ("\ufeffa: 1\nb: [x]\n", "a byte order mark: libyaml's positions would be one character off"),
    ("a: 1\nb: 'x\x07'\n", "a control character the Python reader refuses"),
    ("a: b: c\n", "refused by both, worded by PyYAML"),
    ("a: *nowhere\n", "refused by the composer"),
])
def test_what_libyaml_leaves_to_the_python_parser(text: str, why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(text, True, monkeypatch) == _load(text, False, monkeypatch), why
    assert yamlload._with_libyaml(text, yamlload.Positions.of("p.yaml", text)) is yamlload._MISSED, why


@pytest.mark.parametrize("text", ["# a comment\n---\n# only comments\n", "a:\nb:\n  c:\n", "a: [b, ]\nc: {d: }\n",
                                  "a: 'x'\r\nb:\r\n", "- \n- x\n-\n"])
def test_empty_scalars_are_left_to_the_python_parser(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml places an empty scalar elsewhere than PyYAML (after a flow mapping's colon; the next line when
    it ends a document of comments): a document holding one is parsed by the Python parser."""
    assert yamlload._with_libyaml(text, yamlload.Positions.of("p.yaml", text)) is yamlload._MISSED
    assert _load(text, True, monkeypatch) == _load(text, False, monkeypatch)


def test_marks_are_the_python_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name, index, line, column, buffer and pointer of every node's marks, across CRLF and non-ASCII lines."""
    text = "a: 'x'\r\nb: 中文 😀\r\nc:\r\n  - [1, 2]\r\n  - {d: e}\r\n"
    assert yamlload._with_libyaml(text, yamlload.Positions.of("p.yaml", text)) is not yamlload._MISSED
    assert _load(text, True, monkeypatch) == _load(text, False, monkeypatch)


def test_a_bundled_policy_goes_through_libyaml() -> None:
    text = (ROOT / "policies" / "after_sales" / "v2.yaml").read_text(encoding="utf-8")
    root = yamlload._with_libyaml(text, yamlload.Positions.of("v2.yaml", text))
    assert root is not yamlload._MISSED and root is not None
