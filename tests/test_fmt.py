"""fmt: canonical layout, comments kept, meaning kept, idempotent (a property), and the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_eval.authoring.fmt import FormatError, format_text
from policy_eval.authoring.spacing import respace, tokens
from policy_eval.rulebook.yamlload import load_yaml

ROOT = Path(__file__).resolve().parent.parent
PE = Path(sys.executable).parent / "policy-eval"
DATA = ROOT / "tests" / "data"
BUNDLED = sorted((ROOT / "policies").rglob("*.yaml")) + sorted((ROOT / "tests" / "golden").glob("*.yaml"))

MESSY = """\
# yaml-language-server: $schema=../../schemas/policy.schema.json
# a comment before everything
rules:
- title: late   # trailing comment
  id: r1
  severity: low
  clause: '2.1'
  require: request.submitted_at<=order.received_at+  window
  message: 'late'
  when: request.type=="refund_only"and not(exists( order.shipped_at ))
policy:
  title: t
  id: x
  version: '1'
  source: {document: d}
  effective_from: 2021-01-01
  applies_to: after_sale
  reference_time: request . submitted_at
params:
  window: {clause: c, value: 15d, type: duration}
"""

EXPECTED = """\
# yaml-language-server: $schema=../../schemas/policy.schema.json
# a comment before everything
policy:
  id: x
  title: t
  version: "1"
  source: {document: d}
  effective_from: 2021-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
params:
  window: {type: duration, value: 15d, clause: c}
rules:
  - id: r1
    title: late # trailing comment
    clause: "2.1"
    severity: low
    when: request.type == "refund_only" and not (exists(order.shipped_at))
    require: request.submitted_at <= order.received_at + window
    message: "late"
"""


def test_messy_file_gets_the_canonical_layout() -> None:
    assert format_text(MESSY) == EXPECTED


def test_canonical_file_is_unchanged() -> None:
    assert format_text(EXPECTED) == EXPECTED


@pytest.mark.parametrize(("text", "spaced"), [
    ("a==1", "a == 1"),
    ("f( x ,y )", "f(x, y)"),
    ("- x*-2", "-x * -2"),
    ("a [ 0 ] . b", "a[0].b"),
    ("any m in xs:m.n>1", "any m in xs: m.n > 1"),
    ("x in[1,2]", "x in [1, 2]"),
    ("a - -b", "a - -b"),
    ("a  # note", "a  # note"),
    ("1 d", "1 d"),  # two tokens stay two tokens (1d would be a duration)
    ('"a  b" == s', '"a  b" == s'),  # text inside strings is never touched
])
def test_condition_spacing(text: str, spaced: str) -> None:
    assert respace(text) == spaced
    assert [str(t) for t in tokens(text) or []] == [str(t) for t in tokens(spaced) or []]


def test_long_condition_is_folded_before_and_or() -> None:
    cond = " and ".join(f"exists(request.field_number_{i})" for i in range(6))
    out = format_text(EXPECTED.replace('request.submitted_at <= order.received_at + window', cond))
    assert "    require: >-\n      exists(request.field_number_0)\n      and exists(request.field_number_1)\n" in out
    data, _ = load_yaml(out)
    assert data["rules"][0]["require"] == cond
    assert format_text(out) == out


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_bundled_files_are_canonical(path: Path) -> None:
    """CI's format check: fmt leaves every bundled policy and golden test file as it is (and so keeps its
    comments, its editor line and what it says). Run `policy-eval fmt policies tests/golden` after editing."""
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text, f"not canonical: run `policy-eval fmt {path.relative_to(ROOT)}`"


def _conditions() -> list[str]:
    out = []
    for path in sorted((ROOT / "policies").rglob("*.yaml")):
        data, _ = load_yaml(path.read_bytes())
        for rule in data.get("rules") or []:
            out += [rule[k] for k in ("when", "require", "forbid") if isinstance(rule.get(k), str)]
    return [c for c in out if "#" not in c]


CONDITIONS = _conditions()


def _respaced_randomly(text: str, rnd: random.Random) -> str:
    toks = tokens(text) or []
    out = []
    for i, t in enumerate(toks):
        if i:
            gap = text[toks[i - 1].end_pos:t.start_pos]
            out.append(gap if "\n" in gap else  # an author's line break is kept by fmt: keep it here too
                       " " * rnd.randint(1, 3) if gap else
                       (" " * rnd.randint(0, 2) if t.type in ("RPAR", "RSQB", "COMMA", "DOT", "LPAR", "LSQB")
                        or toks[i - 1].type in ("LPAR", "LSQB", "DOT") else ""))
        out.append(str(t))
    return "".join(out)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, len(CONDITIONS) - 1), st.randoms(use_true_random=False))
def test_property_spacing_does_not_matter_and_fmt_is_idempotent(i: int, rnd: random.Random) -> None:
    cond = CONDITIONS[i]
    messy = _respaced_randomly(cond, rnd)

    def doc(c: str) -> str:
        return EXPECTED.replace("request.submitted_at <= order.received_at + window", json.dumps(c, ensure_ascii=False))

    a, b = format_text(doc(messy)), format_text(doc(cond))
    assert a == b
    assert format_text(a) == a


def test_invalid_yaml_is_a_located_error() -> None:
    with pytest.raises(FormatError) as info:
        format_text("policy:\n  id x\n  title: y\n", "p.yaml")
    assert (info.value.line, info.value.column) == (2, 3)


def _pe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PE), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_cli_check_diff_and_write(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(MESSY, encoding="utf-8")
    (tmp_path / "ok.yaml").write_text(EXPECTED, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("just: data\n", encoding="utf-8")
    check = _pe("fmt", "--check", str(tmp_path))
    assert check.returncode == 1
    assert f"would reformat {tmp_path / 'p.yaml'}" in check.stdout
    assert "ok.yaml" not in check.stdout.replace("unchanged", "")
    diff = _pe("fmt", "--diff", str(tmp_path / "p.yaml"))
    assert diff.returncode == 0 and "+  - id: r1" in diff.stdout
    assert (tmp_path / "p.yaml").read_text(encoding="utf-8") == MESSY  # --diff changes nothing
    write = _pe("fmt", str(tmp_path))
    assert write.returncode == 0
    assert (tmp_path / "p.yaml").read_text(encoding="utf-8") == EXPECTED
    assert (tmp_path / "other.yaml").read_text(encoding="utf-8") == "just: data\n"
    assert _pe("fmt", "--check", str(tmp_path)).returncode == 0


def test_a_reformatted_file_keeps_its_permissions_and_a_link_stays_a_link(tmp_path: Path) -> None:
    """fmt replaces a file through a temp file (0600 when made): the file keeps its mode, so that a shared
    policy folder stays readable to the group, and a symbolic link keeps pointing at the file, reformatted."""
    import os
    import stat

    shared = tmp_path / "shared.yaml"
    shared.write_text(MESSY, encoding="utf-8")
    os.chmod(shared, 0o664)
    real = tmp_path / "real" / "p.yaml"
    real.parent.mkdir()
    real.write_text(MESSY, encoding="utf-8")
    os.chmod(real, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    assert _pe("fmt", str(shared), str(link)).returncode == 0
    assert shared.read_text(encoding="utf-8") == EXPECTED
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text(encoding="utf-8") == EXPECTED
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_a_comment_keeps_level_with_the_line_it_was_level_with() -> None:
    """A new user: fmt re-indented a list but left the comment above its first item at the old column
    (`    # the only rule` above `  - id: no-fee`). A comment level with the line below it follows that line; one
    level with the line above it (a note at the end of a block) stays with that line; idempotent."""
    text = ("policy:\n    id: mini\n    title: Mini\n    version: \"1\"\n    source: {document: x}\n"
            "    effective_from: 2020-01-01\n    applies_to: warranty_claim\n    reference_time: claim.submitted_at\n"
            "params:\n    limit:\n        type: duration\n        value: 1h\n        clause: x\n"
            "        # a note on limit, at the end of its block\n"
            "rules:\n    # the only rule\n    - id: no-fee\n      title: no fee\n      clause: x 1\n"
            "      severity: high\n      require: amount(claim.extra_fee_charged) <= 0\n      message: fee\n")
    out = format_text(text)
    lines = out.splitlines()
    assert lines[lines.index("  # the only rule") + 1] == "  - id: no-fee"
    assert lines[lines.index("    # a note on limit, at the end of its block") - 1] == "    clause: x"
    assert format_text(out) == out


def test_cli_invalid_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("policy:\n\tid: x\n", encoding="utf-8")
    proc = _pe("fmt", "--check", str(tmp_path))
    assert proc.returncode == 2
    assert "p.yaml:2:1" in proc.stderr and "hint:" in proc.stderr


def test_a_date_that_does_not_exist_is_a_located_error_and_the_other_files_are_formatted(tmp_path: Path) -> None:
    """ruamel.yaml builds dates; 2020-02-30 made it raise ValueError, and fmt stopped with an internal error
    (exit 4) before the other files. The project reads the value as text (``check`` names it)."""
    bad = (DATA / "policies" / "bad" / "bad_date.yaml").read_text(encoding="utf-8")
    with pytest.raises(FormatError) as info:
        format_text(bad, "bad_date.yaml")
    assert (info.value.line, info.value.column) == (8, 19)
    assert "2020-02-30" in info.value.message and "day is out of range" in info.value.message
    (tmp_path / "a_bad.yaml").write_text(bad, encoding="utf-8")
    (tmp_path / "b_messy.yaml").write_text(MESSY, encoding="utf-8")
    proc = _pe("fmt", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert f"{tmp_path / 'a_bad.yaml'}:8:19: cannot format: not a valid date or time: '2020-02-30'" in proc.stderr
    assert (tmp_path / "b_messy.yaml").read_text(encoding="utf-8") == EXPECTED  # the rest still formatted
    assert (tmp_path / "a_bad.yaml").read_text(encoding="utf-8") == bad


def test_a_folder_without_yaml_files_is_not_success(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("policy: no\n", encoding="utf-8")
    proc = _pe("fmt", "--check", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr == f"policy-eval fmt: no YAML files (.yaml, .yml) found in {tmp_path}\n"


def test_check_of_a_canonical_folder_is_success() -> None:
    """`fmt --check` walks a folder and counts its canonical files (each bundled file is checked in process
    above)."""
    proc = _pe("fmt", "--check", str(ROOT / "policies"))
    count = len(list((ROOT / "policies").rglob("*.yaml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"0 files would be reformatted, {count} unchanged" in proc.stdout + proc.stderr


def test_a_null_stays_null() -> None:
    """ruamel's round trip wrote a null inside a flow mapping as `!!null ""` (a golden case's explicit unknown); an
    empty block value becomes an explicit `null`, which means the same."""
    from policy_eval.authoring.fmt import format_text

    text = ("tests:\n  - name: n\n    case: {kind: after_sale, a: null, b: {c: null}}\n    expect: {}\n"
            "  - name: m\n    case:\n      kind: after_sale\n      a:\n    expect: {}\n")
    out = format_text(text)
    assert "case: {kind: after_sale, a: null, b: {c: null}}" in out
    assert "      a: null\n" in out and "!!null" not in out
    assert format_text(out) == out


DROPPED = """\
policy:
  id: mini
  title: mini
  version: "1"
  source: {document: d}
  effective_from: 2020-01-01
  applies_to: after_sale
params:
  special_goods:
    type: list
    value: [水果, 生鲜,  # fresh
            汽车]
  handling_limit: {
    type: duration,   # the type
    value: 48h}
rules:
  - id: handled
    title: handled
    clause: "2.2"
    severity: low
    require:
      # before a value on the next line
      request.merchant_response.at <= request.submitted_at + handling_limit
    message: "late  # not a comment: inside the scalar"
"""


@pytest.mark.parametrize("comment", ["# fresh", "# the type", "# before a value on the next line"])
def test_a_comment_the_round_trip_would_drop_stops_the_format(comment: str) -> None:
    """An author's audit: fmt deleted comments inside [...] and {...} and between a key and its value, silently
    (the module promises comments kept). Each now stops fmt with the comment's position; the file is left."""
    text = DROPPED
    for other in ("# fresh", "# the type", "# before a value on the next line"):
        if other != comment:
            text = text.replace("  " + other, "").replace(other, "")
    with pytest.raises(FormatError) as info:
        format_text(text, "p.yaml")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if comment in x)
    assert info.value.line == line and comment in info.value.message
    assert info.value.column == text.splitlines()[line - 1].index("#") + 1


def test_comments_kept_and_hashes_inside_scalars_are_no_comments() -> None:
    from policy_eval.authoring.comments import comments, lost

    text = "a: 1  # one\n# two\nb: '# no'\nc: >-\n  x # no\n  y\nd: [1, 2]  # three\n"
    assert [c for _, c in comments(text)] == ["# one", "# two", "# three"]
    assert lost(text, text.replace("  # one", "")) == (1, "# one")
    assert lost(text, "# three\n" + text.replace("  # three", "")) is None  # moved, not lost


REORDERED = """\
# yaml-language-server: $schema=../../schemas/policy.schema.json
policy:
  id: demo
  title: demo
  version: "1"
  effective_from: 2020-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
rules:
  - id: r1
    # about the clause
    clause: demo 1
    # about the severity
    severity: low
    title: a rule   # on the title
    # about the condition
    require: "true"
    let:
      x: "1"   # on x
    # about the message
    message: m  # on the message
    # about r2
  - id: r2
    title: t
    clause: c
    severity: low
    require: "true"
    message: m
"""


def test_reordering_keys_keeps_each_comment_above_its_key() -> None:
    """An author's audit: fmt put keys in order but left the comment lines above a key where the key used to
    follow (ruamel keeps them with the value before), so '# about the condition' ended up above clause."""
    out = format_text(REORDERED, "t.yaml").splitlines()

    def above(key: str) -> str:
        i = next(i for i, line in enumerate(out) if line.strip().startswith(key))
        return out[i - 1].strip()

    assert above("clause:") == "# about the clause"
    assert above("severity:") == "# about the severity"
    assert above("require:") == "# about the condition"
    assert above("message:") == "# about the message"
    assert above("- id: r2") == "# about r2"
    assert next(x for x in out if x.strip().startswith("title: a rule")).endswith("# on the title")
    assert next(x for x in out if x.strip().startswith("x:")).endswith("# on x")
    assert format_text("\n".join(out) + "\n", "t.yaml") == "\n".join(out) + "\n"  # idempotent


def test_reordering_sections_keeps_the_blank_lines_between_them() -> None:
    """An outside author's audit: moving waivers after rules dropped the blank line after a folded 'notes: >'
    (a block scalar ends its own line: the lines kept after it are all blank or comment lines)."""
    text = (Path(__file__).parent / "data" / "fmt" / "sections_out_of_order.yaml").read_text(encoding="utf-8")
    out = format_text(text, "v1.yaml")
    assert "    some notes.\n\nparams:\n  limit: 48h\n\nrules:\n" in out
    assert "    message: m\n\nwaivers:\n  - id: W1\n" in out
    assert format_text(out, "v1.yaml") == out


def test_a_remedy_duration_is_spaced_like_its_amount() -> None:
    """A remedy's duration is an expression like its amount and ``when``: fmt spaces all three alike (it once left
    the duration as written)."""
    text = ("policy:\n  id: mini\n  title: Mini\n  version: \"1\"\n  source: {document: x}\n"
            "  effective_from: 2020-01-01\n  applies_to: warranty_claim\n  reference_time: claim.submitted_at\n"
            "rules:\n  - id: no-fee\n    title: no fee\n    clause: x 1\n    severity: high\n"
            "    message: fee\n    require: amount(claim.extra_fee_charged) <= 0\n    remedies:\n"
            "      - kind: ban_promotions\n        to: merchant\n        amount: 1+2\n        duration: 7d+1d\n")
    out = format_text(text)
    assert "amount: 1 + 2\n" in out and "duration: 7d + 1d\n" in out
    assert format_text(out) == out
