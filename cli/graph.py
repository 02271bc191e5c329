"""`clixen graph WORKFLOW|FILE.json --png OUT`: the same workflow picture Slack shows, written to a
file, with the text outline printed; optionally with what changed since another version or what
an execution did to each node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor, cli_n8n, cli_session_factory, read_runnable_workflow
from core.kernel.errors import InvalidInput

if TYPE_CHECKING:
    from core.graph import Marks


def register(sub: Any) -> None:
    g = sub.add_parser(
        "graph",
        help="draw a workflow (name, #id or JSON file) as a PNG, as Slack shows it",
    )
    g.add_argument("workflow", help="workflow name, #id, or an n8n workflow JSON file")
    g.add_argument("--png", type=Path, required=True, metavar="OUT", help="PNG file to write")
    g.add_argument("--version", type=int, metavar="N", help="version to draw (default: current)")
    g.add_argument("--project", "-p", help="project name (default: your active project)")
    g.add_argument(
        "--changes-from",
        metavar="N|FILE",
        help="mark nodes added, removed and changed since version N (or since a JSON file)",
    )
    g.add_argument(
        "--execution",
        metavar="ID",
        help="mark what this n8n execution did: ran, failed (with n8n's message), not reached",
    )
    g.add_argument(
        "--layout",
        choices=("auto", "dot", "simple"),
        default="auto",
        help="layout engine (auto: Graphviz dot when installed)",
    )
    g.set_defaults(func=_graph, uses_settings=False)


def _is_file(ref: str) -> bool:
    return ref.endswith(".json") or Path(ref).is_file()


def _stored(args: argparse.Namespace, version: int | None) -> tuple[dict[str, Any], str]:
    """(JSON, title) of a stored version of the named workflow (the current one by default)."""
    from core.usecases.versions import find_workflow_id, stored_version

    actor = cli_actor()
    with cli_session_factory() as factory:
        workflow_id = find_workflow_id(
            factory, actor=actor, ref=args.workflow, project=args.project
        )
        stored = stored_version(factory, actor=actor, workflow_id=workflow_id, version=version)
    return stored.payload, stored.title


def _graph(args: argparse.Namespace) -> int:
    from core.graph import (
        INSTALL_HINT,
        diff_marks,
        dot_available,
        execution_marks,
        layout_workflow,
        render_png,
        text_outline,
        workflow_graph,
    )

    from_file = _is_file(args.workflow)
    if from_file:
        if args.version is not None:
            raise InvalidInput("--version needs a stored workflow, not a file.")
        workflow = read_runnable_workflow(Path(args.workflow))
        title = str(workflow.get("name") or Path(args.workflow).stem)
    else:
        workflow, title = _stored(args, args.version)
    marks: Marks | None = None
    if args.changes_from is not None:
        ref = str(args.changes_from)
        if _is_file(ref):
            old = read_runnable_workflow(Path(ref))
        elif ref.isdigit() and not from_file:
            old, _ = _stored(args, int(ref))
        else:
            raise InvalidInput(
                "--changes-from takes a version number (stored workflows) or a file."
            )
        workflow, marks = diff_marks(old, workflow)
    if args.execution is not None:
        with cli_n8n() as n8n:
            execution = n8n.get_execution(str(args.execution), include_data=True)
        marks = execution_marks(workflow, execution)
    engine = args.layout
    if engine == "auto" and not dot_available():
        print(f"note: Graphviz is missing, so a simple layout; {INSTALL_HINT}", file=sys.stderr)
        engine = "simple"
    layout = layout_workflow(workflow, marks=marks, title=title, engine=engine)
    args.png.write_bytes(render_png(layout))
    for line in text_outline(workflow_graph(workflow)):
        print(f"  {line}")
    if marks is not None and marks.caption:
        print(f"  ({marks.caption})")
    print(
        f"wrote {args.png} ({layout.width}×{layout.height} px, {len(layout.nodes)} nodes, "
        f"layout: {layout.engine})"
    )
    return 0
