"""`clixen --help` and `clixen validate --no-policy FILE` start at once: they load no database,
LLM, MCP, Slack or settings code. Each subcommand imports what it uses when it runs, so no command
pays for every other command's dependencies (timings: benchmarks/cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows import schedule_workflow

REPO = Path(__file__).resolve().parents[2]

# Each test starts a fresh interpreter: a process of ours, so not the fast tier.
pytestmark = pytest.mark.integration

# Packages that cost the CLI seconds to import (SQLAlchemy's ORM, openai, the MCP SDK) or
# hundreds of milliseconds (pydantic-settings), none of which these two commands use.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "openai",
    "mcp",
    "httpx",
    "slack_bolt",
    "slack_sdk",
    "starlette",
    "apscheduler",
    "pydantic_settings",
)

# Runs one `clixen` command in a fresh interpreter; prints its output and the modules it loaded.
RUN_AND_LIST_MODULES = """
import contextlib, io, json, sys
from cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(json.dumps({"out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def run_clixen(*argv: str) -> tuple[str, set[str]]:
    """What `clixen ARGV...` printed and the top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    result = json.loads(proc.stdout)
    return result["out"], {m.split(".")[0] for m in result["modules"]}


def test_help_loads_no_heavy_package() -> None:
    out, loaded = run_clixen("--help")
    assert "validate" in out and "serve" in out  # every command registered, the bot's too
    assert sorted(loaded.intersection(HEAVY)) == []


def test_validate_loads_no_heavy_package(tmp_path: Path) -> None:
    # Without --no-policy, validate reads the project's policy from the database (settings,
    # SQLAlchemy): a check of a file alone loads none of that.
    path = tmp_path / "morning.json"
    path.write_text(json.dumps(schedule_workflow()))
    out, loaded = run_clixen("validate", "--no-policy", "--json", str(path))
    assert json.loads(out)["valid"] is True
    assert sorted(loaded.intersection(HEAVY)) == []
