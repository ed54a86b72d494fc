"""The package map: each stage imports only from stages below it, and nothing imports in a cycle.

Walks every ``import`` statement (module level and inside functions) of the installed
``policy_eval`` package with :mod:`ast`, so a lazy import that climbs a layer fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import policy_eval
import policy_eval.plugins

ROOT = Path(policy_eval.__file__).parent
# In an editable install plugins/ is a folder of its own; installed, it sits inside the package.
PACKAGES = {"policy_eval": ROOT, "policy_eval.plugins": Path(policy_eval.plugins.__file__).parent}

COMPAT = ("policy_eval.functions", "policy_eval.ltypes", "policy_eval.values", "policy_eval.result",
          "policy_eval.ruletable")

# Lowest first. A module may import from its own layer or any layer listed before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("policy_eval", "policy_eval.errors", "policy_eval.resources")),
    ("lang", ("policy_eval.lang",)),
    ("host", ("policy_eval.plugin_manager", "policy_eval.expression", "policy_eval.plugins.hookspecs")),
    ("rulebook", ("policy_eval.rulebook",)),
    ("run", ("policy_eval.run",)),
    # Plugins hook in at the edges: they may use the language and the verdict types, never a face.
    ("plugins", ("policy_eval.plugins",)),
    # Authoring tools (fmt, lint, editor facts) read the rulebook and may run tests; faces sit on them.
    ("authoring", ("policy_eval.authoring",)),
    ("faces", ("policy_eval.cli", "policy_eval.api", "policy_eval.arguments", "policy_eval.pytest_plugin", "policy_eval.web",
               "policy_eval.lsp")),
    # Deprecated aliases of the paths from before the stage packages (docs/plugins.md of that time); on top,
    # so nothing in the package may import them. Removed in the next release.
    ("compat", COMPAT),
]


def _layer(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


def _modules() -> dict[str, Path]:
    out = {}
    for name, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([name, *parts])] = path
    return out


def _imports(module: str, path: Path, known: set[str] | frozenset[str] = frozenset()) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("policy_eval"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("policy_eval"):
                continue
            # `from policy_eval.lang import ir` imports the module policy_eval.lang.ir, not the package's names
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.add(sub if sub in known else target)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {i for i in _imports(m, p, set(mods)) if i in mods and i != m} for m, p in mods.items()}


def test_every_module_has_a_layer() -> None:
    assert [m for m in _modules() if _layer(m) < 0] == []


def test_no_stage_imports_from_a_stage_above_it() -> None:
    bad = []
    for module, targets in _graph().items():
        for t in targets:
            if _layer(t) > _layer(module):
                bad.append(f"{module} ({LAYERS[_layer(module)][0]}) imports {t} ({LAYERS[_layer(t)][0]})")
    assert bad == []


def test_no_import_cycles() -> None:
    graph = _graph()
    # Package __init__ files re-export their own submodules; that edge is the package's interface, not a cycle.
    for m in graph:
        graph[m] = {t for t in graph[m] if not m.startswith(t + ".") and not t.startswith(m + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_the_walker_sees_a_lazy_upward_import(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from policy_eval.cli import main\n", encoding="utf-8")
    assert "policy_eval.cli" in _imports("policy_eval.lang.m", src)



def test_no_module_over_400_lines() -> None:
    """Small modules with one job (issue 11): a module that grows past 400 lines is split by job."""
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_nothing_imports_the_deprecated_aliases() -> None:
    users = {m: sorted(t for t in targets if _layer(t) == len(LAYERS) - 1)
             for m, targets in _graph().items() if _layer(m) != len(LAYERS) - 1}
    assert {m: t for m, t in users.items() if t} == {}
    assert all(m in _modules() for m in COMPAT)
