"""lint on revisions that amend rules (an outside author's audit): a finding about a key an amendment writes is
located at that key in the revision (it was at 1:1, where no suppression comment could reach it); a key the
amendment leaves as inherited is reported with the version that writes it, not again; an inherited parameter no
rule uses any more is a note at the revision's revises:, since a revision cannot drop it; a revision that only
changes remedies or messages is not an "identical version". Expected lines are computed from the texts."""

from __future__ import annotations

from pathlib import Path

import policytext as pt

from policy_eval.authoring.lint import lint_paths

V1 = """\
policy:
  id: demo
  title: demo
  version: "1"
  source: {document: d, reference: r}
  effective_from: 2021-01-01
  effective_until: 2026-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
params:
  limit:
    type: duration
    value: 48h
    clause: c1
  grace:
    type: duration
    value: 7d
    clause: c2
rules:
  - id: r
    title: t
    clause: c
    severity: low
    when: request.submitted_at + limit > request.submitted_at
    let:
      deadline: request.submitted_at + grace
    require: request.merchant_response.at <= deadline
    message: late {deadline}
"""

HEAD = 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n  effective_from: 2026-01-01\n'


def _lint(folder: Path, amend: str) -> list[tuple[str, str, int, int]]:
    pt.write(folder / "v1.yaml", V1)
    pt.write(folder / "v2.yaml", HEAD + amend)
    return [(f.check, Path(f.file).name, f.line, f.column) for f in lint_paths([folder])]


def _line(folder: Path, name: str, text: str) -> int:
    return next(i for i, x in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), 1) if text in x)


def test_findings_on_amended_keys_are_located_at_those_keys(tmp_path: Path) -> None:
    got = _lint(tmp_path, 'amend:\n  - id: r\n    when: request.type == "refund-only"\n'
                          "    message: late {deadline} for {order.goods_title}\n")
    when, message = _line(tmp_path, "v2.yaml", "when:"), _line(tmp_path, "v2.yaml", "message:")
    assert ("rule-never-applies", "v2.yaml", when, 11) in got
    assert ("message-reads-unread-path", "v2.yaml", message, 14) in got
    # limit was read only by the when the amendment replaced: a note at revises:, not a warning at 1:1
    assert ("unused-inherited-parameter", "v2.yaml", _line(tmp_path, "v2.yaml", "revises:"), 12) in got
    assert not [f for f in got if f[1] == "v2.yaml" and f[2:] == (1, 1)]


def test_a_suppression_on_the_amended_line_applies(tmp_path: Path) -> None:
    got = _lint(tmp_path, "amend:\n  - id: r\n    # lint: ignore[rule-never-applies] kept for the 2026 pilot\n"
                          '    when: request.type == "refund-only"\n')
    assert "rule-never-applies" not in [f[0] for f in got]


def test_an_inherited_key_is_not_reported_again_at_the_amendment(tmp_path: Path) -> None:
    # the amendment adds a let no condition reads: reported at it, once (the inherited deadline is read)
    got = _lint(tmp_path, "amend:\n  - id: r\n    let:\n      spare: 1d\n")
    assert [f for f in got if f[0] == "unused-let"] == [("unused-let", "v2.yaml", _line(tmp_path, "v2.yaml", "spare:"), 7)]


def test_a_revision_that_changes_only_remedies_is_not_identical(tmp_path: Path) -> None:
    got = _lint(tmp_path, "amend:\n  - id: r\n    remedies:\n      - kind: compensation\n        to: buyer\n"
                          "        amount: 5.00 CNY\n")
    assert "identical-version" not in [f[0] for f in got]
    got = _lint(tmp_path, "amend:\n  - id: r\n    severity: low\n")  # the same as version 1's: a copy
    assert "identical-version" in [f[0] for f in got]
