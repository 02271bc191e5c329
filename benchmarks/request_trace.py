"""Following a request through the code, measured on a running tree: for the two requests of
`trace_scenarios.py` (the slash command to the thread reply; a missing credential → the user
connects an account → the run resumes), the calls that cross from one product module to another,
the files and packages they enter, and the climbs.

    .venv/bin/python benchmarks/request_trace.py [--compare-rev REV] [--paths] [--json OUT]

Each tree runs the scenarios in its own pytest process, on its own test fixtures (real Postgres,
the real n8n — N8N_URL / N8N_API_KEY / owner login from the environment, as the tests take them —
the scripted LLM, the Slack and OAuth fakes). `--compare-rev REV` also runs REV's tree, checked
out into a temporary `git worktree`, with today's scenarios file.

- **step**: one distinct call from a function of one product module into a function of another
  (caller → callee, each counted once however often it ran: a loop over nodes is one step).
- **files** / **packages**: the product modules entered, and their packages (`core.<package>`,
  `bot`, `cli`, `api`).
- **climb**: a step into a module that imports the caller's module (directly or not, function-
  level imports included): control running back up the import order — a callback, a protocol an
  upper layer implements, a service handed down and called back.
- **file hops**: distinct (caller file → callee file) pairs among the steps.
- **entered**: per file, how many distinct steps lead into it from other modules.
- **door files** (a second count, beside *files*, not instead of it): the files entered by a
  call from another package (or from outside the product) — where a request goes through a
  package's door. A package's fan-out behind its door (validation's checks, retrieval's helpers,
  the layout's modules) is not counted. *files* counts every module a running request touches,
  helpers included; issue 27's static count of "51 files" likewise left the "~20 files fanned
  out in validation, generation and graph" aside, and this is the count that changes when a
  request stops wandering between packages.

These are this script's own definitions (a running trace, every helper call counted once); the
figures quoted in issue 27 came from another, static count and are not comparable with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from house import imports, modules

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "trace_scenarios.py"
NAMES = ("slash_command", "connect_resume")


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """REV checked out (detached) into a temporary directory, removed afterwards; its `.stack`
    is this checkout's (the installed n8n-mcp and its template database)."""
    with tempfile.TemporaryDirectory(prefix="clixen-rev-") as parent:
        path = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(path), rev],
            check=True,
        )
        stack = path / ".stack"
        if (REPO / ".stack").exists() and not stack.exists():
            stack.symlink_to(REPO / ".stack")
        try:
            yield path
        finally:
            if stack.is_symlink():
                stack.unlink()  # the link only, before git removes the tree
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=True
            )


@dataclass
class Trace:
    steps: int
    hops: int
    files: list[str]
    packages: list[str]
    climbs: list[str]
    entered: Counter[str]
    doors: list[str]


def package(mod: str) -> str:
    parts = mod.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 1 else parts[0]


def reaches(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every module each module imports, directly or not."""
    out: dict[str, set[str]] = {}
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph.get(m, ())
        out[start] = seen
    return out


def file_of(mod: str, mods: dict[str, Path], root: Path) -> str:
    return str(mods[mod].relative_to(root)) if mod in mods else mod


def measure(root: Path, edges: list[list[object]]) -> Trace:
    mods = modules(root)
    graph = {m: {t for t in imports(p, mods) if t != m} for m, p in mods.items()}
    closure = reaches(graph)
    files: list[str] = []
    climbs: list[str] = []
    entered: Counter[str] = Counter()
    hops: set[tuple[str, str]] = set()
    doors: list[str] = []
    steps = 0
    for caller, caller_fn, callee, callee_fn, _count in edges:
        assert isinstance(caller, str) and isinstance(callee, str)
        steps += 1
        path = file_of(callee, mods, root)
        if path not in files:
            files.append(path)
        entered[path] += 1
        if (caller not in mods or package(caller) != package(callee)) and path not in doors:
            doors.append(path)
        if caller in mods:
            hops.add((file_of(caller, mods, root), path))
        if caller in mods and caller in closure.get(callee, ()):
            climbs.append(f"{file_of(caller, mods, root)}:{caller_fn} -> {path}:{callee_fn}")
    packages = sorted({package(m) for m in {str(e[2]) for e in edges}})
    return Trace(steps, len(hops), files, packages, climbs, entered, doors)


def run_tree(root: Path, out: Path) -> dict[str, Trace]:
    env = {**os.environ, "PYTHONPATH": str(root), "CLIXEN_TRACE_OUT": str(out)}
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
        "--rootdir", str(root), "-c", str(root / "pyproject.toml"),
        "-p", "tests.conftest", "-p", "tests.bot.conftest", "-p", "tests.bot.test_connect_flow",
        "-o", "python_files=trace_scenarios.py", str(SCENARIOS),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(
            f"scenarios failed on {root}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        )
    return {
        name: measure(root, json.loads((out / f"{name}.json").read_text())["edges"])
        for name in NAMES
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare-rev", metavar="REV", help="also trace this git revision's tree")
    ap.add_argument("--paths", action="store_true", help="list the files of each request")
    ap.add_argument("--climbs", action="store_true", help="list the climbs")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    results: dict[str, dict[str, Trace]] = {}
    with (
        worktree(args.compare_rev) if args.compare_rev else nullcontext() as old,
        tempfile.TemporaryDirectory() as tmp,
    ):
        if old is not None:
            results[args.compare_rev] = run_tree(old, Path(tmp) / "old")
        results["this tree"] = run_tree(REPO, Path(tmp) / "new")
    trees = list(results)
    print("| request | measure | " + " | ".join(trees) + " |")
    print("| --- | --- |" + " ---: |" * len(trees))
    for name in NAMES:
        for label, value in (
            ("steps", lambda t: t.steps),
            ("file hops", lambda t: t.hops),
            ("files", lambda t: len(t.files)),
            ("door files (2nd count)", lambda t: len(t.doors)),
            ("packages", lambda t: len(t.packages)),
            ("climbs", lambda t: len(t.climbs)),
            ("most entered", lambda t: ", ".join(f"{f} {n}" for f, n in t.entered.most_common(3))),
        ):
            cells = [str(value(results[t][name])) for t in trees]
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")
    for tree in trees:
        for name in NAMES:
            trace = results[tree][name]
            if args.paths:
                print(f"\n{tree}, {name}: {len(trace.files)} files")
                for f in trace.files:
                    print(f"  {f}")
            if args.paths:
                print(f"\n{tree}, {name}: {len(trace.doors)} door files")
                for f in trace.doors:
                    print(f"  {f}")
            if args.climbs:
                print(f"\n{tree}, {name}: {len(trace.climbs)} climbs")
                for c in trace.climbs:
                    print(f"  {c}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    t: {
                        n: {
                            "steps": r.steps,
                            "file_hops": r.hops,
                            "files": r.files,
                            "door_files": r.doors,
                            "packages": r.packages,
                            "climbs": r.climbs,
                        }
                        for n, r in v.items()
                    }
                    for t, v in results.items()
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
