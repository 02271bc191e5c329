"""`clixen validate [--json] FILE...`: check n8n workflow JSON files with our validator."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.validation import ValidationReport

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate", help="validate n8n workflow JSON files (exit 0 valid, 1 invalid, 2 unreadable)"
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="workflow JSON files")
    p.add_argument("--json", action="store_true", help="one JSON object per file, per line")
    p.add_argument(
        "--project",
        "-p",
        help="apply this project's policy (default: your active project's, once a database "
        "exists; else the default policy)",
    )
    p.add_argument(
        "--no-policy",
        action="store_true",
        help="apply no policy at all (node types, internal hosts); needs no database",
    )
    p.set_defaults(func=run, uses_settings=False)


def _policy(project: str | None) -> Any:
    """The node policy deploys of the project would apply: `project`'s, else the active
    project's; the default policy when there is no database yet (said on stderr)."""
    from cli.context import cli_actor, cli_session_factory, database_exists
    from core.usecases.policy import node_policy
    from core.workspace.policy import NodePolicy

    if project is None and not database_exists():
        print(
            "note: no database yet, so the default node policy applies (once there is one, "
            "your active project's; --no-policy for none)",
            file=sys.stderr,
        )
        return NodePolicy.default()
    with cli_session_factory() as factory:
        return node_policy(factory, actor=cli_actor(), project=project).policy


def _issue(i: Any) -> dict[str, Any]:
    return {"code": i.code, "message": i.message, "node": i.node, "hint": i.hint}


def run(args: argparse.Namespace) -> int:
    from core.validation import validate

    policy = None if args.no_policy else _policy(args.project)
    worst = EXIT_VALID
    for name in args.files:
        try:
            wf = json.loads(Path(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            _print_unreadable(name, reason, as_json=args.json)
            worst = EXIT_UNREADABLE
            continue
        report = validate(wf, policy=policy)
        _print_report(name, report, as_json=args.json)
        if not report.valid and worst == EXIT_VALID:
            worst = EXIT_INVALID
    return worst


def _print_unreadable(name: str, reason: str, *, as_json: bool) -> None:
    if as_json:
        line = {
            "file": name,
            "valid": False,
            "errors": [{"code": "unreadable", "message": reason, "node": None}],
            "warnings": [],
        }
        print(json.dumps(line, ensure_ascii=False))
    else:
        print(f"{name}: unreadable: {reason}", file=sys.stderr)


def _print_report(name: str, report: ValidationReport, *, as_json: bool) -> None:
    if as_json:
        line = {
            "file": name,
            "valid": report.valid,
            "errors": [_issue(i) for i in report.errors],
            "warnings": [_issue(i) for i in report.warnings],
        }
        print(json.dumps(line, ensure_ascii=False))
        return
    verdict = "valid" if report.valid else "INVALID"
    print(f"{name}: {verdict} ({len(report.errors)} errors, {len(report.warnings)} warnings)")
    for i in report.issues:
        where = f" [{i.node}]" if i.node else ""
        print(f"  {i.severity}: {i.code}{where}: {i.message}")
        if i.hint:
            print(f"      fix: {i.hint}")
