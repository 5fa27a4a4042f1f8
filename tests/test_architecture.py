"""Checks a newcomer can make by hand, made by a test: no import circle between copilot's modules (every import
counts, lazy and type-checking ones too), the entry point is the only importer of `copilot.app`, stages do not import
each other, nothing outside `copilot/llm` imports an LLM SDK, `ExecutionLoop.run` stays a page, and no module is
over 600 lines."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "copilot"
SDKS = {"openai", "anthropic", "llama_cpp", "transformers"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """The copilot modules and top-level packages `path` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name in MODULES:
                found.add(name)
            elif not name.startswith("copilot"):
                found.add(name.split(".")[0])
    return found


GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in GRAPH[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return groups


def test_no_import_circle():
    assert cycles() == []


def test_only_the_entry_point_imports_the_app_and_stages_do_not_import_each_other():
    assert {m for m, deps in GRAPH.items() if "copilot.app" in deps} == {"copilot.cli"}
    stages = {"copilot.idea.stage", "copilot.experiment.stage", "copilot.execution.stage"}
    for stage in stages:
        assert not GRAPH[stage] & (stages - {stage}), stage


def test_llm_sdks_are_imported_only_in_the_llm_layer():
    for name, path in MODULES.items():
        if not name.startswith("copilot.llm"):
            assert not imports(path) & SDKS, name


def test_the_loop_reads_like_a_page_and_modules_stay_small():
    from copilot.execution.loop import ExecutionLoop

    assert len(inspect.getsource(ExecutionLoop.run).splitlines()) <= 40
    for name, path in MODULES.items():
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, name
