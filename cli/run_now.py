"""`clixen test W [--sample JSON] [--yes]`: run a workflow now, whatever its trigger, on a test
copy in n8n, and print what each node did. W is a workflow (name or #id) or a workflow JSON file,
which runs in the project given (or the active one) under its policy and with its secrets, like a
deploy there (the user must be an editor).

A test run really runs the workflow's outside effects (HTTP calls, messages, writes): they are
listed first, and the run asks for confirmation unless --yes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import (
    cli_actor,
    cli_n8n,
    cli_session_factory,
    read_runnable_workflow,
)
from core.kernel.errors import InvalidInput

if TYPE_CHECKING:
    from core.run_now import RunNowReport

FIRST_ITEM_COLUMN = 70


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test", help="run a workflow now on a test copy in n8n and show each node's result"
    )
    p.add_argument("workflow", help="workflow name or #id, or a workflow JSON file")
    p.add_argument("--project", "-p", help="project name (default: your active project)")
    p.add_argument(
        "--sample", help="JSON object the trigger emits (webhooks and app triggers)", default=None
    )
    p.add_argument("--yes", "-y", action="store_true", help="run outside effects without asking")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the run")
    p.set_defaults(func=_test)


def _sample(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise InvalidInput(f"--sample is not JSON: {e}") from e
    if not isinstance(value, dict):
        raise InvalidInput('--sample must be a JSON object, e.g. \'{"email": "a@b.c"}\'.')
    return value


def _workflow_file(args: argparse.Namespace) -> dict[str, Any] | None:
    """The workflow of the JSON file W names (read before anything else is touched), or None
    when W names a workflow of the project."""
    path = Path(args.workflow)
    if args.workflow.endswith(".json") and path.is_file():
        return read_runnable_workflow(path)
    return None


def _confirm(effects: list[tuple[str, str]], yes: bool) -> bool:
    if not effects:
        print("No node reaches outside n8n: nothing is posted, sent or written.")
        return True
    print("This test run really runs these nodes (they reach outside n8n):")
    for name, what in effects:
        print(f"  - {name}: {what}")
    if yes:
        return True
    if not sys.stdin.isatty():
        print("Not run: confirm with --yes.", file=sys.stderr)
        return False
    answer = input("Run it now? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def report_table(report: RunNowReport) -> list[str]:
    """The per-node table and the verdict, as printed lines."""
    rows = [("node", "status", "items", "first item / error")]
    for r in report.nodes:
        detail = r.message if r.status == "failed" else r.first_item
        if r.sample:
            detail = f"[{r.sample}] {detail}"
        if len(detail) > FIRST_ITEM_COLUMN:
            detail = detail[: FIRST_ITEM_COLUMN - 1] + "…"
        items = str(r.items) if r.status != "not run" else "-"
        rows.append((r.name, r.status, items, detail))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        for row in rows
        if report.nodes  # refused before anything ran: no table, only why
    ]
    if report.ok:
        lines.append(f"test run succeeded (execution {report.execution_id})")
    else:
        where = f" at {report.node}" if report.node else ""
        lines.append(f"test run {report.status}{where}: {report.message}")
    return lines


def _test(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.run_now import file_target, run_now_target, run_workflow_now
    from core.usecases.versions import find_workflow_id

    sample = _sample(args.sample)
    from_file = _workflow_file(args)
    actor = cli_actor()
    with cli_session_factory() as factory:
        if from_file is not None:
            name = str(from_file.get("name") or Path(args.workflow).stem)
            target = file_target(
                factory, actor=actor, project=args.project, workflow=from_file, name=name
            )
        else:
            workflow_id = find_workflow_id(
                factory, actor=actor, ref=args.workflow, project=args.project
            )
            target = run_now_target(factory, actor=actor, workflow_id=workflow_id)
        if not _confirm(target.effects, args.yes):
            return 1
        with cli_n8n() as n8n:
            done = run_workflow_now(
                factory,
                n8n=n8n,
                settings=get_settings(),
                target=target,
                sample=sample,
                timeout_s=args.timeout,
            )
    for line in report_table(done.report):
        print(line)
    return 0 if done.report.ok else 1
