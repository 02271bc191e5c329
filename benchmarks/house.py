"""How the house reads, measured on a tree: loose modules at the top of `core/`, import circles
between modules (function-level imports included), the product modules reachable from the
slash-command listener (static import closure), the imports made inside functions in `core/`
and the product functions longer than 60 lines. The same AST walk as tests/test_architecture.py.

    .venv/bin/python benchmarks/house.py [TREE] [-v]      # default: this checkout; -v lists

To compare with an older commit: `git worktree add /tmp/old <rev>` and pass /tmp/old.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

START = "bot.listeners.commands.clixen"


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for top in ("core", "cli", "bot", "api"):
        for path in (root / top).rglob("*.py") if (root / top).is_dir() else ():
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(path: Path, mods: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [s for s in subs if s in mods] or [node.module]
        for name in names:
            while name not in mods and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in mods:
                found.add(name)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def main() -> None:
    given = [a for a in sys.argv[1:] if a != "-v"]
    root = Path(given[0] if given else Path(__file__).resolve().parent.parent)
    mods = modules(root)
    graph = {
        m: {t for t in imports(p, mods) if t != m and not m.startswith(t + ".")}
        for m, p in mods.items()
    }
    seen, todo = set(), [START]
    while todo:
        m = todo.pop()
        if m in seen or m not in mods:
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # packages run first
        todo += sorted(graph[m] - seen)
    loose = sorted(p.name for p in (root / "core").glob("*.py") if p.name != "__init__.py")
    print(f"tree: {root}")
    print(f"product modules: {len(mods)}")
    print(f"loose modules at the top of core/: {len(loose)}")
    found = circles(graph)
    print(f"import circles: {len(found)}")
    for c in found:
        print("  " + " <-> ".join(c))
    print(f"modules reachable from {START}: {len(seen)}")
    local = function_imports(root / "core")
    print(f"function-level imports in core/: {len(local)}")
    long = long_functions(root, mods)
    print(f"product functions over {LONG} lines: {len(long)}")
    if "-v" in sys.argv:
        for line in local + long:
            print("  " + line)


def function_imports(top: Path) -> list[str]:
    """`file:line module` of every import statement inside a function body under `top`."""
    out = []
    for path in sorted(top.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        out.append(f"{path.relative_to(top.parent)}:{node.lineno}")
    return sorted(set(out))


LONG = 60


def long_functions(root: Path, mods: dict[str, Path]) -> list[str]:
    """`file:line name (n lines)` of every product function longer than LONG lines."""
    out = []
    for path in sorted(set(mods.values())):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.end_lineno:
                n = fn.end_lineno - fn.lineno + 1
                if n > LONG:
                    out.append(f"{path.relative_to(root)}:{fn.lineno} {fn.name} ({n} lines)")
    return out


if __name__ == "__main__":
    main()
