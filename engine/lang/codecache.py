"""Generated Python compiled once a process: a code object by its source text and name.

Input: the source a generator wrote (the fused functions, a rule's compiled condition, its trace, null reading,
message, remedies, the case schemas' checks, the record walks) and the name its tracebacks show. Output:
``compile(source, name, "exec")``'s code object, the same object again for the same text and name.

Why: a process that loads rulebooks again (a policy test file with its own parameters, the language server and
the workbench checking again on every edit, ``--watch``, a test suite) generated the same source for every rule a
revision did not touch, and compiled it again: ``policy-eval test`` on the bundled rulebook made 1,369 calls of
``compile`` for 639 distinct sources, 0.86 s of its 4.3 (bench/README, fifty-sixth session). A code object is
immutable, and each load runs it in a namespace of its own, where its constants are bound by name: sharing one
between loads changes nothing a rule sees.

Bounded by the characters of source held: cleared whole when full, like the other memories of a process.
"""

from __future__ import annotations

from types import CodeType

__all__ = ["code_for", "MAX_CHARS"]

# Characters of source held: ~2 times the distinct source of every function the bundled rulebook generates (1.9 M:
# what policy-eval test compiles), so an editing session keeps its unchanged rules' code many edits long.
MAX_CHARS = 4_000_000
_KEPT: dict[tuple[str, str], CodeType] = {}
_held = [0]


def code_for(source: str, name: str) -> CodeType:
    """``compile(source, name, "exec")``, once for each text and name (see the module)."""
    key = (source, name)
    code = _KEPT.get(key)
    if code is None:
        code = compile(source, name, "exec")
        if _held[0] + len(source) > MAX_CHARS:
            _KEPT.clear()
            _held[0] = 0
        _KEPT[key] = code
        _held[0] += len(source)
    return code
