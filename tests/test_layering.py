"""The package's import layering (DESIGN §2), read from the source with :mod:`ast`.

Every ``import`` and ``from ... import`` statement counts, wherever it stands: at module
level, inside functions, under ``if TYPE_CHECKING:``. A lazy import inside a function still
ties the two modules together, so it must follow the same rules.

(a) Imports only point down ``hop_envs`` <- ``agents`` <- ``baselines`` <- ``evaluation``.
(b) No two modules of the package import each other, directly or around a longer loop
    (the strongly connected components of the module graph are single modules).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The layers, lowest first: a package may import only the ones before it.
LAYERS = ("hop_envs", "agents", "baselines", "evaluation")

#: Cycles known and not yet removed, each as the sorted modules of one strongly connected
#: component. Keep this empty: an entry is a debt with an owner, to be removed.
KNOWN_CYCLES: list[list[str]] = []


@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package ``__init__``) for every module of the layers."""
    found = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def resolve(name: str) -> str | None:
    """The module of the package that ``name`` (a module, or a name in a module) is in."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


def imported_names(module: str) -> Iterator[tuple[str, int]]:
    """``(imported name, line)`` of every import statement of ``module``, relative imports
    made absolute; ``from m import x`` gives ``m.x`` (``x`` may be a submodule)."""
    path, is_package = modules()[module]
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}", node.lineno


@cache
def graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module of the package: first line importing it}."""
    edges: dict[str, dict[str, int]] = {}
    for module in modules():
        targets: dict[str, int] = {}
        for name, line in imported_names(module):
            target = resolve(name)
            if target is not None and target != module:
                targets.setdefault(target, line)
        edges[module] = targets
    return edges


def strongly_connected_components(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def test_the_walk_sees_imports_inside_functions():
    # evaluation.cli imports the evaluation loop only when `evaluate` runs
    assert "evaluation.evaluate" in graph()["evaluation.cli"]
    assert "hop_envs.coplayers" in graph()["evaluation.scenario_types"]


def test_imports_only_point_down_the_layers():
    upward = [
        f"{module} (line {line}) imports {target}"
        for module, targets in graph().items()
        for target, line in targets.items()
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(module.split(".")[0])
    ]
    assert upward == [], "imports must point down " + " <- ".join(LAYERS)


def test_no_import_cycles_between_modules():
    cycles = strongly_connected_components(graph())
    unexpected = [c for c in cycles if c not in KNOWN_CYCLES]
    details = [
        f"{component}: "
        + "; ".join(
            f"{a} -> {b} (line {graph()[a][b]})"
            for a in component
            for b in component
            if b in graph()[a]
        )
        for component in unexpected
    ]
    assert unexpected == [], "import cycles:\n" + "\n".join(details)
    stale = [c for c in KNOWN_CYCLES if c not in cycles]
    assert stale == [], f"remove these fixed cycles from KNOWN_CYCLES: {stale}"


def test_cycle_finder_on_a_hand_made_graph():
    edges = {
        "a": {"b": 1},
        "b": {"c": 1},
        "c": {"a": 1, "d": 1},
        "d": {},
        "e": {"f": 1},
        "f": {"e": 1},
        "g": {"g": 1},
    }
    assert strongly_connected_components(edges) == [["a", "b", "c"], ["e", "f"]]
