"""Stage 4, authoring tools: what a policy author runs besides ``check``.

Input: policy and policy-test files (and, for lint, the rulebook they load into). Output: canonical text
(``fmt``), located findings with named checks (``lint``), and facts about a position in a policy for an
editor (``outline``: symbols, the case field, parameter or function at a place, completion candidates;
``folder``: an edited file checked with the other versions of its policy).
Imports from the rulebook and run stages; the faces (CLI, language server) sit on top.
"""

__all__: list[str] = []
