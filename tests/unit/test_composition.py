"""The job's composition root (job.py): who depends on whom."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Final

from tests.conftest import REPO

PACKAGE = REPO / "src" / "assignment_reminders"


def imports(path: Path) -> set[str]:
    """Every module *path* imports, anywhere in it, as a dotted name inside the package."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    package = parts[:-1]  # the package a module (or an __init__) sits in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package[: len(package) - (node.level - 1)]
            module = [*base, *(node.module.split(".") if node.module else [])]
            found.add(".".join(module))
            found.update(".".join([*module, a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "assignment_reminders"
        ):
            found.add(str(node.module).removeprefix("assignment_reminders."))
    return found


def test_the_root_and_the_trigger_import_no_monitoring_api_or_cli() -> None:
    for name in ("job/compose.py", "job/trigger.py", "job/reminder_pass.py", "delivery/runner.py"):
        bad = {
            m for m in imports(PACKAGE / name) if m.split(".")[0] in {"monitoring", "api", "cli"}
        }
        assert bad == set(), (name, bad)


def test_monitoring_and_api_reach_the_job_through_the_root() -> None:
    for path in [*(PACKAGE / "monitoring").glob("*.py"), *(PACKAGE / "api").glob("*.py")]:
        found = imports(path)
        assert "job.trigger.run_once" not in found, path
    assert "job.compose.run_once" in imports(PACKAGE / "monitoring" / "run_monitor.py")
    assert "monitoring.run_monitor.monitored_run" in imports(PACKAGE / "api" / "app.py")


def test_progress_display_is_the_clis_not_deliverys() -> None:
    for path in (PACKAGE / "delivery").glob("*.py"):
        assert not any(m.startswith("cli.progress") for m in imports(path)), path
    assert "cli.progress.Progress" in imports(PACKAGE / "cli" / "job.py")


# --- The shape of the package: root module count, import depth, cycles (issue 21) ---------------
# The import graph between the package's own modules as Python runs it: every import anywhere in a
# module (function-level ones too; not those under ``if TYPE_CHECKING:``), and importing
# ``a.b.c`` imports the packages ``a`` and ``a.b`` first (their ``__init__`` modules are steps).
# Run ``python -m tests.unit.test_composition`` for the figures and the longest chain.

MAX_ROOT_MODULES = 12
MAX_IMPORT_DEPTH = 12


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.AST, package: list[str]) -> list[list[str]]:
    """The dotted names (inside the package) an import statement names."""
    if isinstance(node, ast.Import):
        names = [a.name.split(".") for a in node.names]
        return [n[1:] for n in names if n[0] == "assignment_reminders"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level > 0:
        module = package[: len(package) - (node.level - 1)]
    elif (node.module or "").split(".")[0] == "assignment_reminders":
        module = []
    else:
        return []
    module = [*module, *(node.module.split(".") if node.module else [])]
    if module[:1] == ["assignment_reminders"]:
        module = module[1:]
    return [module, *([*module, a.name] for a in node.names)]


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules *path* imports at run time (each with the packages above it)."""
    package = list(path.relative_to(PACKAGE).with_suffix("").parts)[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            children: list[ast.AST] = list(node.orelse)
        else:
            children = list(ast.iter_child_nodes(node))
        for target in _targets(node, package):
            prefixes = (".".join(target[:end]) for end in range(1, len(target) + 1))
            found.update(name for name in prefixes if name in modules)
        for child in children:
            visit(child)

    visit(ast.parse(path.read_text()))
    me = module_name(path)  # its own packages are imported before it: importing them is no step
    return {name for name in found if name != me and not me.startswith(name + ".")}


@functools.cache  # five tests read it; parsing every module once is enough
def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): runtime_imports(p, modules) for p in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest chain of imports (modules, first to last); an import back into the chain (a
    cycle) is not followed."""
    memo: dict[str, list[str]] = {}
    visiting: set[str] = set()

    def chain(v: str) -> list[str]:
        if v not in memo:
            visiting.add(v)
            ahead = [chain(w) for w in sorted(graph[v]) if w not in visiting]
            visiting.discard(v)
            memo[v] = [v, *max(ahead, key=len, default=[])]
        return memo[v]

    return max((chain(v) for v in sorted(graph)), key=len)


def root_modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


def test_at_most_twelve_modules_sit_in_the_package_root() -> None:
    assert len(root_modules()) <= MAX_ROOT_MODULES, root_modules()


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_longest_import_chain_is_at_most_twelve_modules() -> None:
    chain = longest_chain(import_graph())
    assert len(chain) <= MAX_IMPORT_DEPTH, " -> ".join(chain)


def test_the_counting_sees_package_inits_and_function_level_imports() -> None:
    graph = import_graph()
    assert "cli" in graph["__main__"]  # ``from .cli import main``: the package's __init__ is a step
    assert "api.app" in graph["cli.serve"]  # a function-level ``from ..api.app import``


def test_settings_reach_into_no_other_part() -> None:
    assert import_graph()["config"] <= {"exceptions"}


PARTS: Final = ("db", "locking", "auth", "job", "delivery", "dev", "monitoring", "api", "cli")
NEVER: Final = {  # the parts (packages) a part's modules may not import: imports point down
    "db": {"locking", "auth", "job", "delivery", "dev", "monitoring", "api", "cli"},
    "locking": {"auth", "job", "delivery", "dev", "monitoring", "api", "cli"},
    "auth": {"db", "locking", "job", "delivery", "dev", "monitoring", "api", "cli"},
    "job": {"dev", "monitoring", "api", "cli"},
    "delivery": {"dev", "monitoring", "api", "cli"},
    "dev": {"monitoring", "api", "cli"},
    "monitoring": {"dev", "api", "cli"},
    "api": {"dev", "cli"},
}


def test_each_part_imports_only_the_parts_below_it() -> None:
    bad = [
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if module.split(".")[0] in NEVER and target.split(".")[0] in NEVER[module.split(".")[0]]
    ]
    assert bad == []
    assert all((PACKAGE / part / "__init__.py").is_file() for part in PARTS)


if __name__ == "__main__":
    graph = import_graph()
    found = cycles(graph)
    print(f"root modules: {len(root_modules())} ({', '.join(root_modules())})")
    print(f"cycles: {len(found)}" + "".join(f"\n  {' <-> '.join(c)}" for c in found))
    chain = longest_chain(graph)
    print(f"import depth: {len(chain)}: {' -> '.join(chain)}")
