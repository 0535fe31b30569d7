"""The house holds its shape: no import cycle, imports only in the directions that
docs/architecture.md allows, routers imported by `app.main` alone, no module over 400 lines or
function over 60, and no block of six lines of code written twice in `app/`.

The import graph is grimp's (the engine of import-linter), built from the source, so a
function-level or `TYPE_CHECKING` import counts like any other."""

from __future__ import annotations

import ast
import collections
import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
DOC = ROOT / "docs" / "architecture.md"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
REPEAT_WINDOW = 6


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", include_external_packages=False)


def package_of(module: str) -> str:
    """`app.diary.entries` → `diary`; a top-level module is its own name (`main`, `db`)."""
    return module.split(".")[1] if module.count(".") else "app"


def allowed_directions() -> tuple[dict[str, set[str]], set[str]]:
    """The `text` block under "Which way imports point" in docs/architecture.md:
    `a, b → c, d` lines; `kit` names the kit modules (listed on the `kit:` line), `*` any.
    Returns each package's allowed targets (transitively closed) and the kit."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"## Which way imports point.*?```text\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md lost its import directions block"
    direct: dict[str, set[str]] = {}
    kit: set[str] = set()
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("kit:"):
            kit = {k.strip() for k in line[4:].split(",") if k.strip()}
        elif "→" in line:
            left, right = line.split("→")
            targets = {t.strip() for t in right.split(",") if t.strip()}
            for source in (s.strip() for s in left.split(",")):
                direct.setdefault(source, set()).update(targets)
    assert kit, "the kit: line is missing"
    closed: dict[str, set[str]] = {}
    for source in direct:
        seen, todo = set(), list(direct[source])
        while todo:
            target = todo.pop()
            if target in seen:
                continue
            seen.add(target)
            todo.extend(direct.get(target, ()))
        expanded = set()
        for target in seen:
            expanded |= kit if target == "kit" else {target}
        closed[source] = expanded
    for module in kit:
        closed.setdefault(module, set()).update(kit)
    return closed, kit


def edges(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    return sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
    )


def is_router(module: str) -> bool:
    return module.rsplit(".", 1)[-1].endswith("router")


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    adjacency = collections.defaultdict(set)
    for importer, imported in edges(graph):
        adjacency[importer].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in adjacency[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not cycles, "\n".join(map(str, cycles))


def test_imports_point_only_the_allowed_ways(graph: grimp.ImportGraph) -> None:
    allowed, _kit = allowed_directions()
    known = set(allowed)
    unplaced = sorted({package_of(m) for m in graph.modules} - known)
    assert not unplaced, f"no line in docs/architecture.md for {unplaced}"
    wrong = []
    for importer, imported in edges(graph):
        source, target = package_of(importer), package_of(imported)
        if source == target or is_router(importer):
            continue
        if "*" in allowed[source]:
            continue
        if target not in allowed[source]:
            wrong.append(f"{importer} → {imported}")
    assert not wrong, "\n".join(map(str, wrong))


def test_routers_are_imported_by_main_only(graph: grimp.ImportGraph) -> None:
    routers = {m for m in graph.modules if is_router(m)}
    assert len(routers) >= 10
    wrong = sorted(
        f"{importer} → {router}"
        for router in routers
        for importer in graph.find_modules_that_directly_import(router)
        if importer != "app.main"
    )
    assert not wrong, "\n".join(map(str, wrong))


def python_files() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def test_no_module_or_function_too_long() -> None:
    long = []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name}(): {length} lines")
    assert not long, "\n".join(map(str, long))


def significant_lines(path: Path) -> list[tuple[int, str]]:
    """The lines that carry code: not blank, not a comment, not part of an import."""
    source = path.read_text(encoding="utf-8")
    imports: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return [
        (number, line.strip())
        for number, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and number not in imports
    ]


def test_no_block_of_six_lines_written_twice() -> None:
    """The same six lines of code (whitespace aside) in two places is one piece of logic
    kept twice. Windows made mostly of bare punctuation (`)`, `],`) do not count."""
    places: dict[tuple[str, ...], list[str]] = collections.defaultdict(list)
    for path in python_files():
        lines = significant_lines(path)
        for i in range(len(lines) - REPEAT_WINDOW + 1):
            window = tuple(text for _, text in lines[i : i + REPEAT_WINDOW])
            if sum(len(text) > 3 for text in window) < REPEAT_WINDOW - 1:
                continue
            places[window].append(f"{path.relative_to(ROOT)}:{lines[i][0]}")
    repeated = sorted(" ~ ".join(where[:2]) for where in places.values() if len(where) > 1)
    assert not repeated, "\n".join(map(str, repeated))
