"""The expression scalars of a policy file, found in its YAML nodes (with their positions and styles).

Input: a composed YAML node (``yaml.compose``). Output: the scalar nodes that hold an expression of the
condition language: the values of ``when``, ``require``, ``forbid``, remedies' ``amount`` / ``duration``,
waivers' ``scope``, ``reference_time``, and each entry of a ``let`` or ``definitions`` mapping (docs/policies.md);
the ``params`` block is data and is skipped. Used by the rulebook's mutation testing (bench/mutate_policies.py),
which need where and how an expression is written, not its value; fmt reads :data:`EXPRESSION_KEYS` too.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

__all__ = ["expression_scalars", "EXPRESSION_KEYS", "EXPRESSION_MAPS"]

EXPRESSION_KEYS = frozenset({"when", "require", "forbid", "amount", "duration", "scope", "reference_time"})
EXPRESSION_MAPS = frozenset({"let", "definitions"})


def expression_scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """The expression scalars under ``node``, in document order."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name == "params":
                continue
            if name in EXPRESSION_KEYS and isinstance(value, yaml.ScalarNode):
                yield value
            elif name in EXPRESSION_MAPS and isinstance(value, yaml.MappingNode):
                yield from (v for _, v in value.value if isinstance(v, yaml.ScalarNode))
            else:
                yield from expression_scalars(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from expression_scalars(item)
