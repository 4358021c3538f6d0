"""The runner's modules form no import circle, and each imports on its own.

Why: a circle (the grid driver importing the engines, the engines importing the driver back for
the run function) works only in some import orders and hides which module owns what. Imports
inside functions count too: they close a circle as soon as they run. Only imports for type
checking are left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "harness" / "runner"
MODULES = sorted(p.stem for p in RUNNER.glob("*.py") if p.stem != "__init__")


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _runner_imports(path: Path) -> set[str]:
    """The harness.runner modules a file imports anywhere but under ``if TYPE_CHECKING``."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "harness.runner":
                out.update(a.name for a in node.names)
            elif node.module.startswith("harness.runner."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("harness.runner."):
                    out.add(a.name.split(".")[2])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    out.discard(path.stem)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (found := dfs(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := dfs(m)):
            return found
    return None


def test_the_runner_modules_import_no_circle():
    graph = {m: _runner_imports(RUNNER / f"{m}.py") for m in MODULES}
    assert {"config", "compute", "storage", "experiment", "engines"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    # the engines get the run function from the driver; they import no run code
    assert not graph["engines"] & {"experiment", "compute", "config", "components", "loop"}


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", MODULES)
def test_each_runner_module_imports_first_and_alone(module):
    code = f"import harness.runner.{module}"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
