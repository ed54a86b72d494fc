"""The safe YAML loader: core-schema values, positions inside scalars, and refusal of anything unsafe."""

from __future__ import annotations

import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import policy_eval.plugins
from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook import yamlload
from policy_eval.rulebook.yamlload import MAX_DEPTH, load_yaml

ENGINE = Path(yamlload.__file__).parents[1]  # the policy_eval package
PLUGINS = Path(policy_eval.plugins.__file__).parent
BAD = Path(__file__).parent / "data" / "policies" / "bad"


def _error(text: str | bytes) -> PolicyLoadError:
    with pytest.raises(PolicyLoadError) as info:
        load_yaml(text, "t.yaml")
    return info.value


# --- values ------------------------------------------------------------------------------------------------
def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    data, _ = load_yaml(
        "a: true\nb: False\nc: null\nd: ~\ne:\nf: 48\ng: -3\nh: 0o17\ni: 0x1F\nj: 100.00\nk: 0.1\nl: 1e3\n"
        "m: yes\nn: no\no: on\np: off\nq: 2024-05-01\nr: 2024-05-01T10:00:00+08:00\ns: 48h\nt: 010\nu: 1:30\n"
        "v: '48'\nw: \"true\"\nx: !!str 12\ny: ! 12\nz: 1_000\n")
    assert data == {
        "a": True, "b": False, "c": None, "d": None, "e": None, "f": 48, "g": -3, "h": 15, "i": 31,
        "j": Decimal("100.00"), "k": Decimal("0.1"), "l": Decimal("1e3"),
        "m": "yes", "n": "no", "o": "on", "p": "off",  # YAML 1.1 booleans are text
        "q": "2024-05-01", "r": "2024-05-01T10:00:00+08:00", "s": "48h",  # dates stay text
        "t": 10, "u": "1:30", "v": "48", "w": "true", "x": "12", "y": "12", "z": "1_000",
    }
    assert str(data["j"]) == "100.00"  # exact, never a float


def test_explicit_core_tags_are_checked() -> None:
    data, _ = load_yaml("a: !!int '12'\nb: !!float '0.5'\nc: !!bool 'false'\nd: !!null ''\n")
    assert data == {"a": 12, "b": Decimal("0.5"), "c": False, "d": None}
    assert "is not a valid int" in _error("a: !!int twelve\n").message
    assert "not a finite decimal number" in _error("a: .inf\n").message


def test_aliases_of_small_anchors_are_fine() -> None:
    data, _ = load_yaml("a: &x [1, 2]\nb: *x\nc: &s text\nd: *s\n")
    assert data == {"a": [1, 2], "b": [1, 2], "c": "text", "d": "text"}


def test_empty_document_is_none() -> None:
    assert load_yaml("# nothing\n")[0] is None


# --- refused ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("a: 1\na: 2\n", 2, 1, "duplicate key 'a' (first defined at line 1)"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", 3, 3, "merge keys ('<<') are not allowed"),
    ("a: 1\n---\nb: 2\n", 2, 1, "a policy file holds a single YAML document"),
    ("a: *nowhere\n", 1, 4, "alias *nowhere refers to no anchor defined before it"),
    ("a: &x [1, *x]\n", 1, 11, "alias *x refers to a node that contains it"),
    ("a: !!python/object/apply:os.system [echo hi]\n", 1, 4, "YAML tag !!python/object/apply:os.system"),
    ("a: !!python/object/new:os.system [echo hi]\n", 1, 4, "YAML tag !!python/object/new:os.system"),
    ("a: !!python/name:os.system\n", 1, 4, "YAML tag !!python/name:os.system"),
    ("a: !!python/module:os\n", 1, 4, "YAML tag !!python/module:os"),
    ("a: !!python/object:os.PathLike {x: 1}\n", 1, 4, "YAML tag !!python/object:os.PathLike"),
    ("a: !!binary aGk=\n", 1, 4, "YAML tag !!binary"),
    ("a: !!timestamp 2024-01-01\n", 1, 4, "YAML tag !!timestamp"),
    ("a: !!set {x: null}\n", 1, 4, "YAML tag !!set"),
    ("a: !custom x\n", 1, 4, "YAML tag !custom"),
    ("a:\n  b: \x07\n", 2, 6, "control character 0x07 is not allowed"),
    ("a: [1, 2\n", 2, 1, "expected ',' or ']'"),
    ("{[1]: 2}\n", 1, 2, "mapping keys must be scalars"),
])
def test_refused_documents_are_located(text: str, line: int, column: int, message: str) -> None:
    err = _error(text)
    assert (err.line, err.column) == (line, column), err
    assert message in err.message


def test_no_yaml_constructor_ever_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nodes are composed from parse events and converted here: PyYAML's constructors are never called."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a PyYAML constructor ran")

    for cls in (yaml.constructor.BaseConstructor, yaml.constructor.SafeConstructor):
        for name in ("construct_document", "construct_object", "construct_scalar", "construct_yaml_int"):
            if hasattr(cls, name):
                monkeypatch.setattr(cls, name, refuse)
    data, _ = load_yaml("a: 1\nb: [true, null, 0.5, x]\nc: {d: &e 2, f: *e}\n")
    assert data == {"a": 1, "b": [True, None, Decimal("0.5"), "x"], "c": {"d": 2, "f": 2}}
    # the PyYAML object in use has no composer, resolver or constructor at all
    for name in ("compose_node", "resolve", "construct_object", "construct_document", "get_single_data"):
        assert not hasattr(yamlload._Parser, name)


def test_a_command_tag_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def system(command: str) -> int:
        calls.append(command)
        return 0

    monkeypatch.setattr(os, "system", system)
    with pytest.raises(PolicyLoadError):
        load_yaml((BAD / "python_tag.yaml").read_bytes())
    assert calls == []


def test_engine_and_plugins_use_only_safe_yaml_loading() -> None:
    unsafe = re.compile(r"\byaml\.(load|load_all|full_load|full_load_all|unsafe_load|unsafe_load_all|Loader|"
                        r"FullLoader|UnsafeLoader|CLoader|CFullLoader|CUnsafeLoader|UnsafeConstructor|"
                        r"FullConstructor|add_constructor|add_multi_constructor)\b")
    sources = sorted(set(ENGINE.rglob("*.py")) | set(PLUGINS.rglob("*.py")))
    assert len(sources) > 10
    offenders = [f"{p}:{n}" for p in sources
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if unsafe.search(line.split("#")[0])]
    assert offenders == []


def test_billion_laughs_is_refused_fast_and_small() -> None:
    levels = "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
                     for i in range(12))
    started = time.process_time()
    err = _error("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + levels)
    assert time.process_time() - started < 1.0
    assert "alias/anchor bomb" in err.message
    assert err.line == 6  # f's first alias (of e: 111,111 nodes) takes the total past 200,000


def test_too_many_plain_nodes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_NODES", 1000)
    load_yaml("a: [" + "1, " * 996 + "1]\n")  # root, key, list and 997 items: 1000 nodes
    err = _error("a: [" + "1, " * 997 + "1]\n")
    assert "more than 1000 nodes" in err.message
    assert (err.line, err.column) == (1, 5 + 3 * 997)  # the 998th item


def test_aliases_may_not_repeat_much_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """One long condition aliased into many places would be parsed and compiled once per alias."""
    monkeypatch.setattr(yamlload, "MAX_ALIAS_CHARS", 1000)
    text = "a: &c '" + "x" * 100 + "'\n" + "".join(f"b{i}: *c\n" for i in range(10))
    data, _ = load_yaml(text)  # 10 aliases of 100 characters: 1000, the most allowed
    assert data["b9"] == "x" * 100
    err = _error(text + "b10: *c\n")
    assert (err.line, err.column) == (12, 6)
    assert "aliases repeat more than 1000 characters of text" in err.message


@pytest.mark.parametrize("number", ["9" * 101, "0x" + "f" * 5000, "-9" + "9" * 5000, "1." + "0" * 200])
def test_absurdly_long_numbers_are_refused_at_their_place(number: str) -> None:
    err = _error(f"policy:\n  version: {number}\n")
    assert (err.line, err.column) == (2, 12)
    assert err.message.startswith("policy.version: number too long")
    assert len(err.message) < 100


def test_nesting_is_bounded_also_through_aliases() -> None:
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    load_yaml(f"a: {deep}\n")  # the root mapping and 63 lists: 64 levels, the most allowed
    err = _error(f"x: &x {deep}\nb: [*x]\n")
    assert (err.line, err.column) == (2, 5)
    assert "nested too deeply through alias *x" in err.message


def test_not_utf8_is_located_in_characters_and_shown() -> None:
    err = _error("a: 价格\nb: caf\xe9 x\n".encode().replace(b"\xc3\xa9", b"\xe9"))
    assert (err.line, err.column) == (2, 7)
    assert err.source_line == "b: caf\ufffd x"
    err = _error("名称: caf\xe9\n".encode().replace(b"\xc3\xa9", b"\xe9"))
    assert (err.line, err.column) == (1, 8)  # characters, not bytes


def test_size_limit() -> None:
    err = _error(b"a: " + b"x" * yamlload.MAX_FILE_BYTES)
    assert "file too large" in err.message


# --- positions ----------------------------------------------------------------------------------------------
def _position(text: str, path: tuple[object, ...], needle: str, occurrence: int = 0) -> tuple[int, int]:
    """Where ``needle`` stands in the value at ``path``, mapped to the file by the loader."""
    data, pos = load_yaml(text)
    value: object = data
    for p in path:
        value = value[p]  # type: ignore[index]
    assert isinstance(value, str)
    offset = -1
    for _ in range(occurrence + 1):
        offset = value.index(needle, offset + 1)
    line = value.count("\n", 0, offset) + 1
    column = offset - (value.rfind("\n", 0, offset) + 1) + 1
    return pos.expression_position(path, line, column)


@pytest.mark.parametrize(("text", "expected"), [
    ("k: a + limt\n", (1, 8)),
    ("k: 'it''s ''x'' + limt'\n", (1, 19)),
    ('k: "\\"x\\" + \\u00e9 + limt"\n', (1, 22)),
    ("k: exists(a) and\n  b + limt\n", (2, 7)),
    ('k: "exists(a) and\n  b + limt"\n', (2, 7)),
    ('k: "exists(a) and \\\n  b + limt"\n', (2, 7)),
    ("k: |\n  exists(a) and\n    b + limt\n", (3, 9)),
    ("k: |\n\n  exists(a) and\n    b + limt\n", (4, 9)),
    ("k: >\n  exists(a) and\n  b + limt\n", (3, 7)),
    ("k: |-\n  first\n  second limt\n", (3, 10)),
    ("x:\n  - k: 价格 + limt\n", (2, 13)),
])
def test_a_position_inside_a_scalar_maps_to_the_file(text: str, expected: tuple[int, int]) -> None:
    path: tuple[object, ...] = ("x", 0, "k") if text.startswith("x:") else ("k",)
    assert _position(text, path, "limt") == expected
    line, column = expected
    assert text.splitlines()[line - 1][column - 1:].startswith("limt")


def test_a_position_just_past_the_end_of_a_scalar() -> None:
    data, pos = load_yaml('k: "a +"\n')
    assert pos.expression_position(("k",), 1, 4) == (1, 8)  # where "end of expression" errors point


def test_where_falls_back_to_the_nearest_parent() -> None:
    _, pos = load_yaml("a:\n  b: [1, 2]\n")
    assert pos.where(("a", "b", 1)) == (2, 10)
    assert pos.where(("a", "b", 7)) == (2, 6)
    assert pos.where(("a", "b"), key=True) == (2, 3)
    assert pos.where(("zz",)) == (1, 1)
