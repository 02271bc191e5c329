"""Start-up time of the `clixen` CLI: `clixen --help`, `clixen validate --json FILE` (one valid
workflow) and `clixen versions W` (a workflow with 5 versions) against `python -c pass`, and the
node catalog's load inside one process (import, `default_catalog()`, two lookups).

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--compare-rev 3a062ab] [--pg ...]

Each command runs in a fresh process, as a user runs it (`.venv/bin/clixen`), with the tree under
test first on PYTHONPATH. `versions` reads a throwaway Postgres database the run creates, migrates
and drops; its workflow and versions are written straight into the tables (no n8n needed). With
`--compare-rev REV` the same commands also run on REV's tree, checked out into a temporary
`git worktree` (removed afterwards), interleaved run by run with the working tree's, so before and
after share the machine's load. One warm-up run per command and tree (it writes the .pyc files) is
not counted. Prints median, min and max per command and tree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from common import add_pg_arguments, throwaway_database
from sqlalchemy.orm import Session, sessionmaker

from cli.context import CLI_TEAM_ID
from core.deploy import create_workflow_record
from core.kernel.models import WorkflowVersion
from core.workspace.projects import default_project
from tests.workflows import labelled_schedule, schedule_workflow

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
CLIXEN = PYTHON.parent / "clixen"
CLI_USER = "bench"
WORKFLOW = "Morning news"
VERSIONS = 5
CATALOG = "catalog: import, load, 2 lookups (in process)"
# What `clixen validate` spends on the catalog, timed inside the process it runs in.
TIME_CATALOG_LOAD = """
import time
t = time.perf_counter()
from core.catalog import default_catalog
catalog = default_catalog()
catalog.get("n8n-nodes-base.scheduleTrigger"), catalog.get("n8n-nodes-base.set")
print(time.perf_counter() - t)
"""


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """REV checked out (detached) into a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="clixen-rev-") as parent:
        path = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(path), rev],
            check=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=True
            )


def record_workflow(factory: sessionmaker[Session]) -> str:
    """`WORKFLOW` with `VERSIONS` versions in the CLI user's default project; the database URL."""
    user_id = f"cli:{CLI_USER}"
    with factory.begin() as session:
        project = default_project(session=session, team_id=CLI_TEAM_ID, user_id=user_id)
        wf = create_workflow_record(
            session=session, project_id=project.id, name=WORKFLOW, created_by=user_id
        )
        for n in range(1, VERSIONS + 1):
            payload = labelled_schedule(f"v{n}", WORKFLOW)
            canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            session.add(
                WorkflowVersion(
                    workflow_id=wf.id,
                    version=n,
                    json_payload=payload,
                    checksum=hashlib.sha256(canonical.encode()).hexdigest(),
                    source="import" if n == 1 else "edit",
                    status="deployed" if n == VERSIONS else "superseded",
                    created_by=user_id,
                )
            )
        wf.head_version = VERSIONS
        wf.status = "active"
        return session.get_bind().url.render_as_string(hide_password=False)


def commands(workflow_file: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [str(PYTHON), "-c", "pass"],
        "clixen --help": [str(CLIXEN), "--help"],
        "clixen validate --json FILE": [str(CLIXEN), "validate", "--json", str(workflow_file)],
        f"clixen versions {WORKFLOW!r}": [str(CLIXEN), "versions", WORKFLOW],
        CATALOG: [str(PYTHON), "-c", TIME_CATALOG_LOAD],
    }


@dataclass(frozen=True)
class Tree:
    """A source tree under test: its code first on PYTHONPATH, run from a neutral directory (so
    neither the current directory nor a `.env` in it changes what is imported or read)."""

    name: str
    path: Path
    database_url: str
    workdir: Path

    def run(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(self.path), DATABASE_URL=self.database_url, CLIXEN_CLI_USER=CLI_USER
        )
        return subprocess.run(
            cmd, env=env, cwd=self.workdir, capture_output=True, text=True, check=True
        )

    def check(self, cmds: dict[str, list[str]]) -> None:
        """Fail unless the commands import this tree's code and do their job."""
        where = self.run(
            [
                str(PYTHON),
                "-c",
                "import cli, bot.cli; print(cli.__file__, bot.cli.__file__)",
            ]
        ).stdout.split()
        if not all(Path(f).is_relative_to(self.path) for f in where):
            raise SystemExit(f"{self.name}: PYTHONPATH={self.path} does not win: {where}")
        listing = self.run(cmds[f"clixen versions {WORKFLOW!r}"]).stdout
        if f"v{VERSIONS}" not in listing:
            raise SystemExit(f"{self.name}: unexpected `clixen versions` output:\n{listing}")
        verdict = self.run(cmds["clixen validate --json FILE"]).stdout
        if not json.loads(verdict)["valid"]:
            raise SystemExit(f"{self.name}: unexpected `clixen validate` output:\n{verdict}")

    def timed(self, label: str, cmd: list[str]) -> float:
        if label == CATALOG:
            return float(self.run(cmd).stdout)
        t = time.perf_counter()
        self.run(cmd)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per command and tree")
    ap.add_argument("--compare-rev", metavar="REV", help="also time this git revision's tree")
    add_pg_arguments(ap)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]

    with (
        throwaway_database(args.pg, args.pg_url) as factory,
        tempfile.TemporaryDirectory() as tmp,
        worktree(args.compare_rev) if args.compare_rev else nullcontext() as old_path,
    ):
        database_url = record_workflow(factory)
        workdir = Path(tmp)
        workflow_file = workdir / "morning.json"
        workflow_file.write_text(json.dumps(schedule_workflow(WORKFLOW)))
        trees = [Tree("working tree", REPO, database_url, workdir)]
        if old_path is not None:
            trees.insert(0, Tree(args.compare_rev, old_path, database_url, workdir))
        cmds = commands(workflow_file)
        for tree in trees:
            tree.check(cmds)
        times: dict[tuple[str, str], list[float]] = {(c, t.name): [] for c in cmds for t in trees}
        for run in range(args.runs + 1):  # run 0 warms up
            for label, cmd in cmds.items():
                for tree in trees:
                    took = tree.timed(label, cmd)
                    if run:
                        times[label, tree.name].append(took)

    load_after = os.getloadavg()[0]
    print(f"{args.runs} runs each; load average {load_before:.2f} before, {load_after:.2f} after")
    compare = len(trees) == 2
    print(
        "| command | "
        + " | ".join(f"{t.name}: median (min–max) ms" for t in trees)
        + (" | speed-up |" if compare else " |")
    )
    print("| --- |" + " ---: |" * (len(trees) + compare))
    for label in cmds:
        medians = [statistics.median(times[label, t.name]) for t in trees]
        cells = [
            f"{m * 1000:.0f} ({min(times[label, t.name]) * 1000:.0f}–"
            f"{max(times[label, t.name]) * 1000:.0f})"
            for m, t in zip(medians, trees, strict=True)
        ]
        if compare:
            cells.append(f"{medians[0] / medians[1]:.1f}×")
        name = label if label == CATALOG else f"`{label}`"
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
