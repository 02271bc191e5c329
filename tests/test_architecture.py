"""The import graph of every product module: one direction, no circles, lazy imports included.

Layers of core, lowest first: a package may import its own layer and the layers below, never one
above. Front ends (cli, bot, api) sit on top: core imports none of them, and none imports Slack
but bot. Imports inside functions count like any other: a lazy import that climbs a layer is
still a dependency, only later.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("core", "cli", "bot", "api")

# Lowest first. Packages of one layer do not import each other.
CORE_LAYERS: list[set[str]] = [
    {"core.kernel"},
    {"core.n8n", "core.conversation"},
    {"core.catalog", "core.graph"},
    {"core.workspace"},
    {"core.triggers"},
    {"core.validation"},
    {"core.generation", "core.credentials"},
    {"core.deploy", "core.observability"},
    {"core.run_now"},
    {"core.pipeline"},
    {"core.connect"},
    {"core.scheduler"},
    {"core.usecases"},
]
# Front ends: which front end may use which other one.
FRONT_ENDS = {"api": set(), "cli": set(), "bot": {"api"}}


def _modules() -> dict[str, Path]:
    out = {}
    for top in PRODUCT:
        for path in (REPO / top).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every module of ours `path` imports (a `from package import submodule` counts as the
    submodule, not the package's __init__), with its line."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            ours = [s for s in subs if s in MODULES]
            if ours:
                yield from ((s, node.lineno) for s in ours)
            if len(ours) < len(subs):
                yield node.module, node.lineno


def _owner(name: str) -> str | None:
    """The module of ours that `name` (a module or an attribute path) resolves to."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def _graph() -> dict[str, set[tuple[str, int]]]:
    edges: dict[str, set[tuple[str, int]]] = {}
    for name, path in MODULES.items():
        for target, line in _imports(path):
            owner = _owner(target)
            if owner and owner != name and not name.startswith(owner + "."):
                # A package's own __init__ runs before its modules anyway: not an edge.
                edges.setdefault(name, set()).add((owner, line))
    return edges


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 1 else parts[0]


def _layer(package: str) -> int | None:
    for i, layer in enumerate(CORE_LAYERS):
        if package in layer:
            return i
    return None


def test_the_scan_sees_the_product() -> None:
    assert len(MODULES) > 150 and "core.pipeline.engine" in MODULES and "bot.app" in MODULES


def test_every_core_package_has_a_layer() -> None:
    packages = {_package(m) for m in MODULES if m.startswith("core.")}
    assert {p for p in packages if _layer(p) is None} == set()


def test_the_top_of_core_holds_packages_only() -> None:
    loose = sorted(p.name for p in (REPO / "core").glob("*.py") if p.name != "__init__.py")
    assert loose == []


def test_imports_run_one_way() -> None:
    wrong = []
    for source, targets in _graph().items():
        src = _package(source)
        for target, line in targets:
            dst = _package(target)
            if src == dst or dst == "core":
                continue
            where = f"{MODULES[source].relative_to(REPO)}:{line} imports {target}"
            if src.startswith("core"):
                if not dst.startswith("core"):
                    wrong.append(f"{where} (core never imports a front end)")
                elif (_layer(dst) or 0) >= (_layer(src) or 0):
                    wrong.append(f"{where} ({dst} is not below {src})")
            elif dst in FRONT_ENDS and dst not in FRONT_ENDS.get(src, set()):
                wrong.append(f"{where} (front ends stay apart)")
    assert wrong == []


def test_no_import_circles_between_modules() -> None:
    edges = {m: {t for t, _ in ts} for m, ts in _graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
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
                circles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert circles == []


def test_only_the_bot_imports_slack() -> None:
    wrong = []
    for name, path in MODULES.items():
        if name.startswith("bot"):
            continue
        for target, line in _imports(path):
            if target.split(".")[0] in ("slack_bolt", "slack_sdk"):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert wrong == []


def test_only_credentials_reads_and_writes_secret_rows() -> None:
    """The `Secret` table has one home: every product module outside `core.credentials` that
    names the model (to query it, write it, or build a row) goes through `core.credentials`."""
    wrong = []
    for name, path in MODULES.items():
        if name.startswith("core.credentials") or name == "core.kernel.models":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "core.kernel.models"
                and any(alias.name == "Secret" for alias in node.names)
            ):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} imports Secret")
    assert wrong == []


FRONT_END_DIRS = ("bot", "cli", "api")
# What only core does: open a transaction, query, choose a role level.
ROLE_LEVELS = {"viewer", "editor", "owner"}
AUTHORIZING = {"require_role", "project_for", "run_and_project", "select"}
QUERYING = {"get", "scalar", "scalars", "execute", "add", "delete", "flush", "begin"}


def front_end_decisions(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for each thing in `source` a front end leaves to core: a transaction or
    session opened, a query, a role level chosen, an authorization check of its own."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in AUTHORIZING:
                yield node.lineno, f"calls {name}"
            elif isinstance(func, ast.Attribute) and name in QUERYING:
                owner = func.value
                owner_name = (
                    owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                )
                if name == "begin" or "session" in owner_name:
                    yield node.lineno, f"calls {owner_name}.{name}"
            elif name in {"session_factory", "factory"}:
                yield node.lineno, f"opens a session ({name}())"
            for kw in node.keywords:
                if kw.arg in {"session", "at_least"}:
                    yield node.lineno, f"passes {kw.arg}="
        elif isinstance(node, ast.Attribute) and node.attr in ROLE_LEVELS:
            if isinstance(node.value, ast.Name) and node.value.id == "Role":
                yield node.lineno, f"chooses Role.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name in AUTHORIZING | {"Role"}:
                    yield node.lineno, f"imports {alias.name}"


def test_front_ends_leave_sessions_queries_and_roles_to_core() -> None:
    """bot/, cli/ and api/ parse, call one use case (`core.usecases`) and render: no session
    or transaction of their own, no query, no role level, no authorization check."""
    wrong = []
    for top in FRONT_END_DIRS:
        for path in sorted((REPO / top).rglob("*.py")):
            for line, what in front_end_decisions(path.read_text()):
                wrong.append(f"{path.relative_to(REPO)}:{line} {what}")
    assert wrong == []


def test_the_front_end_check_sees_what_it_forbids() -> None:
    """The check above is not blind: each forbidden move in a sample is reported."""
    sample = """
from core.kernel.vocabulary import Role
with services.session_factory.begin() as session:
    project = project_for(session=session, project_id=None, team_id=t, user_id=u,
                          at_least=Role.editor)
    session.scalar(select(Workflow))
with factory() as s:
    pass
"""
    found = {what for _, what in front_end_decisions(sample)}
    assert {
        "imports Role",
        "calls session_factory.begin",
        "calls project_for",
        "passes session=",
        "passes at_least=",
        "chooses Role.editor",
        "calls session.scalar",
        "calls select",
        "opens a session (factory())",
    } <= found


def test_the_architecture_map_names_every_module() -> None:
    """docs/architecture.md lists each module under its folder: the map matches the tree."""
    text = (REPO / "docs" / "architecture.md").read_text()
    missing = []
    for path in MODULES.values():
        folder = path.parent.relative_to(REPO).as_posix()
        if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text())):
            continue
        section = text.find(f"**`{folder}/`**")
        nxt = text.find("**`", section + 1)
        body = text[section : nxt if nxt != -1 else len(text)]
        if section == -1 or f"`{path.name}`" not in body:
            missing.append(f"{folder}/{path.name}")
    assert missing == []


# An emoji code (":warning:"), not a word between colons (":memory:" of SQLite).
EMOJI_CODE = re.compile(r"(?<![\w:]):(?!memory:)[a-z][a-z0-9_+-]*[a-z0-9]:(?![\w:])")


def test_slack_text_is_written_only_in_the_bot() -> None:
    """Core (and the other front ends) hand typed results and events; no string of theirs holds
    a Slack emoji code or mrkdwn escaping: the words Slack shows are the bot's."""
    wrong = []
    for name, path in MODULES.items():
        if name.startswith("bot"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if EMOJI_CODE.search(text) or "&lt;" in text or "&amp;" in text:
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno} {text[:50]!r}")
    assert wrong == []


def test_error_ids_are_made_in_one_place() -> None:
    """`core.kernel.errors.new_error_id` makes every error id; no front end makes its own."""
    wrong = []
    for top in FRONT_END_DIRS:
        for path in sorted((REPO / top).rglob("*.py")):
            for target, line in _imports(path):
                if target == "uuid":
                    wrong.append(f"{path.relative_to(REPO)}:{line} imports uuid")
    assert wrong == []


def test_core_imports_inside_functions_say_why() -> None:
    """Imports sit at the top of core's modules. One inside a function stays there only for a
    cost its comment names (an SDK that is slow to load, a library only one command needs): the
    comment is on the import's line or on the line above it. None is needed to break a circle."""
    silent = []
    for path in sorted((REPO / "core").rglob("*.py")):
        lines = path.read_text().splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                here = lines[node.lineno - 1]
                above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                # One comment may cover a run of lazy imports written together (a blank line
                # between the groups of one run included).
                k = node.lineno - 2
                while k > 0 and (
                    not lines[k].strip() or lines[k].strip().startswith(("import ", "from "))
                ):
                    if "#" in lines[k]:
                        break
                    k -= 1
                    above = lines[k].strip()
                if "#" not in here and not above.startswith("#") and "#" not in above:
                    silent.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert silent == []
