"""Which files of a policy folder are policies, and which look like mistyped ones.

Input: a policy folder, and each YAML document read from it. Output: errors for files that would
otherwise be skipped without a word: a ``.YAML`` / ``.Yml`` suffix (policy files end in lower-case
``.yaml`` or ``.yml``), a ``.yaml`` that is not a regular file (a FIFO, which reading would block on, a
socket or a device: never opened), and a document whose top-level keys look like a policy's with its ``policy:``
key misspelt (``polciy:``, ``Policy:``) or missing beside ``rules:``. Other YAML documents (golden tests,
deployment overlays, metric definitions) are still left alone, and so is a policy test file that is not
valid YAML (:func:`is_test_file`): ``policy-eval test`` reports its errors, as the test file's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES
from policy_eval.rulebook.yamlpos import Positions

__all__ = ["misnamed_files", "not_regular_files", "unread_files", "is_test_file", "misspelt_policy"]


def unread_files(root: Path, shown: Any) -> list[PolicyError]:
    """:func:`misnamed_files` and :func:`not_regular_files`: the YAML files under ``root`` not read, each an error."""
    return misnamed_files(root, shown) + not_regular_files(root, shown)


def not_regular_files(root: Path, shown: Any) -> list[PolicyError]:
    """A located error for each ``.yaml``/``.yml`` under ``root`` (or ``root`` itself) that exists but is neither a
    regular file nor a folder: a FIFO would block the reader, a device would be read without end. Only
    ``stat`` is asked, nothing is opened."""
    if root.is_dir():
        found = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.exists()
                       and not p.is_file() and not p.is_dir())
    else:
        found = [root] if root.exists() and not root.is_file() else []
    return [PolicyLoadError("not a regular file (a FIFO, a socket or a device); not read: a policy file is a "
                            "regular file", file=shown(p), line=1, column=1) for p in found]


def is_test_file(path: Path) -> bool:
    """The file reads as a policy test file (a line starting with ``tests:``, as ``policy-eval test`` finds
    them) and not as a policy (no line starting with ``policy:``): used when it is not valid YAML."""
    try:
        with path.open("rb") as f:
            head = f.read(MAX_FILE_BYTES).decode("utf-8-sig", errors="replace").splitlines()
    except OSError:
        return False
    return any(line.startswith("tests:") for line in head) and not any(line.startswith("policy:") for line in head)


def misnamed_files(root: Path, shown: Any) -> list[PolicyError]:
    """A located error for each file under ``root`` whose suffix is .yaml/.yml in other letter case."""
    if not root.is_dir():
        return []
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".yaml", ".yml")
                   and p.suffix not in (".yaml", ".yml") and p.is_file())
    return [PolicyLoadError(f"policy files end in lower-case .yaml or .yml; this one ends in {p.suffix!r} and is "
                            f"not read: rename it to {p.stem}{p.suffix.lower()}", file=shown(p), line=1, column=1)
            for p in found]


def _near(key: str, word: str = "policy") -> bool:
    """``key`` is ``word`` mistyped: other letter case, or one or two letters off (swapped, missing, extra,
    wrong). Policy ids (``after-sales``) and the other documents' keys (``tests``, ``params``) are not."""
    k = key.strip().lower()
    if k == word:
        return True
    if not k.isalpha() or abs(len(k) - len(word)) > 2:
        return False
    return _distance(k, word) <= 2


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (edits, with a swap of neighbours as one edit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def misspelt_policy(data: Any, positions: Positions) -> PolicyError | None:
    """For a document without a ``policy:`` key: an error if it is a policy file with that key mistyped
    or missing, located at the key (or at the ``rules:`` key that shows it is a policy)."""
    if not isinstance(data, dict) or "policy" in data:
        return None
    for key in data:
        if isinstance(key, str) and _near(key):
            return positions.error(f"top-level key {key!r} is not known; did you mean 'policy'? (without a "
                                   "'policy:' key this file is not read as a policy)", (key,), key=True)
    if "rules" in data:
        return positions.error("this file has 'rules:' but no top-level 'policy:' key, so it is not a policy: "
                               "add the 'policy:' header (id, version, applies_to, ...)", ("rules",), key=True)
    return None
