"""A policy test file edited in the workbench: the check ``policy-eval test`` runs on a test file.

Input: a file of the served folder and the text it is edited to. Output: the located errors ``policy-eval test``
reports for that text (:func:`policy_eval.run.testing.load_tests`: an unknown key at the key with the key it
probably means, "each test needs 'case' and 'expect'", an unknown outcome, a case file or params overlay that
does not exist, ...), or "no tests found" for a file with no test, which ``test`` fails as well. The text is
read as if it were the file at its place, so the case files and the params overlay it names are found where
``policy-eval test`` finds them (beside the file), and nothing is written anywhere to check it.

A file is a test file as ``policy-eval test`` tells one (:func:`policy_eval.run.testing.discover`: a line that
starts with ``tests:``), in the edited text or in the file as saved: a test file edited into something else
is checked as a test file, and refused.

Also here, :func:`kind_kept`: a policy file (or a metric-definitions file) edited into another YAML document
(``foo: 1``) still lets the rulebook load -- the loader leaves documents without a ``policy:`` key alone -- and
saving it would drop the policy version without a word; it is refused, located at its first key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.rulebook.policyfiles import misspelt_policy
from policy_eval.rulebook.yamlload import load_yaml
from policy_eval.run.testing import discover, load_tests

__all__ = ["is_test_file", "check", "kind_kept"]

_KINDS = {"policy": "a policy file (a top-level 'policy:' header with id, version, applies_to, ...)",
          "metrics": "a metric-definitions file (a top-level 'metrics:' list, docs/metrics.md)"}


def _kind(data: Any) -> str | None:
    return next((k for k in _KINDS if k in data), None) if isinstance(data, dict) else None


def kind_kept(path: Path, text: str, shown: str) -> PolicyError | None:
    """An error when ``path``, a policy or metric-definitions file as saved, holds another kind of document
    once edited to ``text`` (``shown``: its name for the user); None when it keeps its kind, or is neither."""
    try:
        before = _kind(load_yaml(path.read_bytes(), shown)[0])
        data, positions = load_yaml(text, str(path))
    except (PolicyError, OSError):  # (a file that does not read now is checked as any other edit is)
        return None
    if before is None or _kind(data) == before:
        return None
    if before == "policy" and (misspelt := misspelt_policy(data, positions)) is not None:
        return misspelt  # ('polciy:': the loader's error, which names the key meant)
    first = next(iter(data), None) if isinstance(data, dict) else None
    return positions.error(f"this is {_KINDS[before]}; the edited text has no top-level '{before}:' key, so the "
                           f"rulebook would no longer read it (its {'rules' if before == 'policy' else 'metrics'} "
                           f"would be gone without a word): keep the '{before}:' key",
                           (first,) if first is not None else (), key=True)


class _Edited(type(Path())):  # type: ignore[misc]  # (the concrete Path class of this platform)
    """The path of the test file, whose bytes are the edited text (every other use of it is the real path's)."""

    data: bytes | None = None

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else super().read_bytes()


def _looks_like_tests(text: str) -> bool:
    return any(line.startswith("tests:") for line in text.removeprefix("\ufeff").splitlines())


def is_test_file(path: Path, text: str) -> bool:
    """Whether ``path`` (a file of the served folder) edited to ``text`` is checked as a policy test file."""
    return _looks_like_tests(text) or bool(discover([path]))


def check(path: Path, text: str, shown: str) -> tuple[PolicyError | None, str | None]:
    """The errors ``policy-eval test`` reports for the test file ``path`` holding ``text`` (``shown``: its name
    for the user), or None; and the params overlay the file names (``test`` loads the rulebook with it)."""
    edited = _Edited(path)
    edited.data = text.encode("utf-8")
    try:
        tests = load_tests(edited)
    except PolicyError as exc:
        return exc, None
    if not tests:
        return PolicyLoadError(f"no tests found in {shown} (a policy test file is YAML with a top-level 'tests:' "
                               "list of tests, each with 'case' and 'expect'; see docs/policies.md)",
                               file=str(path), line=1, column=1), None
    return None, tests[0].params
