"""The layout holds: packages import downward only (no two of them import each other, directly
or round a loop), and the pure modules import neither Flask nor the database, not even through
another module of the portal. Read from the source with ast; nothing is imported."""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"
PURE_MODULES = ["portal.booking.availability", "portal.booking.eligibility", "portal.booking.picker",
                "portal.triage.rules", "portal.triage.questions", "portal.triage.vocabulary", "portal.auth.passwords",
                "portal.auth.names", "portal.audit.wording", "portal.letters.compose", "portal.letters.content",
                "portal.letters.fhir"]
# The strictest of them import nothing beyond these, directly: the standard library parts they
# need and the pure vocabulary they decide in.
ONLY_IMPORTS = {
    "portal.booking.eligibility": {"__future__", "dataclasses", "datetime", "enum", "portal.triage.vocabulary"},
    "portal.triage.rules": {"__future__", "collections.abc", "dataclasses", "typing", "portal.triage.questions",
                            "portal.triage.vocabulary"},
}
FRAMEWORKS = ("flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "flask_migrate", "sqlalchemy", "wtforms")


def module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, TYPE_CHECKING imports included (`from portal import audit`
    counts as portal.audit)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "portal":
                found |= {f"portal.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): imports_of(path) for path in PORTAL.rglob("*.py")}


def package_of(module: str) -> str | None:
    """portal.booking.service -> portal.booking; the root package (the app factory) is no room."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[0] == "portal" else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in MODULES.items():
        source = package_of(module)
        for target in filter(None, map(package_of, imported)):
            if source and target != source:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan's algorithm)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_portal():
    assert {"portal.booking.service", "portal.triage.rules", "portal.audit"} <= set(MODULES)
    assert "portal.triage" in package_graph()["portal.booking"]


def test_no_two_packages_import_each_other():
    assert cycles(package_graph()) == []


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("pure", PURE_MODULES)
def test_pure_modules_import_no_framework_even_indirectly(pure):
    seen, todo = set(), [pure]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        imported = MODULES[module]
        frameworks = {name for name in imported if name.split(".")[0] in FRAMEWORKS}
        assert not frameworks, f"{pure} reaches {sorted(frameworks)} through {module}"
        todo.extend(name for name in imported if name in MODULES)


@pytest.mark.parametrize("module", ONLY_IMPORTS)
def test_the_strictest_pure_modules_import_only_what_they_list(module):
    assert MODULES[module] <= ONLY_IMPORTS[module], MODULES[module] - ONLY_IMPORTS[module]
