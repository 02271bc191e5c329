"""`clixen graph WORKFLOW|FILE.json --png OUT`: the same workflow picture Slack shows, written to a
file, with the text outline printed; optionally with what changed since another version or what
an execution did to each node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor, cli_n8n, cli_session_factory, read_runnable_workflow
from core.kernel.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from core.graph import Marks

# A file drawn by `clixen graph` may hold more nodes than a deploy takes: it gets its outline.
OUTLINE_MAX_NODES = 2_000


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
    workflow, title, _ = _stored_with_id(args, version)
    return workflow, title


def _stored_with_id(
    args: argparse.Namespace, version: int | None
) -> tuple[dict[str, Any], str, str | None]:
    """`_stored`, and the workflow's n8n id (None: never deployed, or deleted)."""
    from core.usecases.versions import find_workflow_id, stored_version

    actor = cli_actor()
    with cli_session_factory() as factory:
        workflow_id = find_workflow_id(
            factory, actor=actor, ref=args.workflow, project=args.project, include_deleted=True
        )
        stored = stored_version(factory, actor=actor, workflow_id=workflow_id, version=version)
    return stored.payload, stored.title, stored.n8n_workflow_id


def _graph(args: argparse.Namespace) -> int:
    from_file = _is_file(args.workflow)
    workflow, title, n8n_id = _workflow_to_draw(args, from_file=from_file)
    marks: Marks | None = None
    if args.changes_from is not None:
        workflow, marks = _changes_from(args, workflow, from_file=from_file)
    if args.execution is not None:
        marks = _what_execution_did(args, workflow, n8n_id)
    engine = _layout_engine(args.layout)
    _print_outline(workflow, marks)
    return _write_picture(args.png, workflow, marks=marks, title=title, engine=engine)


def _workflow_to_draw(
    args: argparse.Namespace, *, from_file: bool
) -> tuple[dict[str, Any], str, str | None]:
    """(JSON, title, n8n id) of the file or stored workflow named on the command line."""
    if not from_file:
        return _stored_with_id(args, args.version)
    if args.version is not None:
        raise InvalidInput("--version needs a stored workflow, not a file.")
    # Only looked at: more nodes than a deploy takes still get their outline.
    workflow = read_runnable_workflow(Path(args.workflow), max_nodes=OUTLINE_MAX_NODES)
    return workflow, str(workflow.get("name") or Path(args.workflow).stem), None


def _changes_from(
    args: argparse.Namespace, workflow: dict[str, Any], *, from_file: bool
) -> tuple[dict[str, Any], Marks]:
    """The workflow to draw (removed nodes put back) and the marks of what changed since the
    version or file `--changes-from` names."""
    from core.graph import diff_marks

    ref = str(args.changes_from)
    if _is_file(ref):
        old = read_runnable_workflow(Path(ref))
    elif ref.isdigit() and not from_file:
        old, _ = _stored(args, int(ref))
    else:
        raise InvalidInput("--changes-from takes a version number (stored workflows) or a file.")
    return diff_marks(old, workflow)


def _what_execution_did(
    args: argparse.Namespace, workflow: dict[str, Any], n8n_id: str | None
) -> Marks:
    """The marks of what the n8n execution `--execution` did to each node; refused when it is
    an execution of another workflow."""
    from core.graph import check_execution_of, execution_marks
    from core.n8n import N8nNotFound

    with cli_n8n() as n8n:
        try:
            execution = n8n.get_execution(str(args.execution), include_data=True)
        except N8nNotFound:
            raise NotFound(
                f"n8n at {n8n.base_url} has no execution {args.execution}. A test run's "
                "execution goes with its test copy, which is deleted after the run: graph "
                "it while the run reports, or pick an execution of the workflow itself."
            ) from None
    check_execution_of(workflow, execution, n8n_workflow_id=n8n_id)
    return execution_marks(workflow, execution)


def _layout_engine(requested: str) -> str:
    from core.graph import INSTALL_HINT, dot_available

    if requested == "auto" and not dot_available():
        print(f"note: Graphviz is missing, so a simple layout; {INSTALL_HINT}", file=sys.stderr)
        return "simple"
    return requested


def _print_outline(workflow: dict[str, Any], marks: Marks | None) -> None:
    from core.graph import text_outline, workflow_graph

    for line in text_outline(workflow_graph(workflow)):
        print(f"  {line}")
    if marks is not None and marks.caption:
        print(f"  ({marks.caption})")


def _write_picture(
    png: Path, workflow: dict[str, Any], *, marks: Marks | None, title: str, engine: str
) -> int:
    """Exit status 0 with the PNG written, 1 (and why) when the workflow is too large to draw."""
    from core.graph import PictureTooLarge, layout_workflow, render_png

    try:
        layout = layout_workflow(workflow, marks=marks, title=title, engine=engine)
        png.write_bytes(render_png(layout))
    except PictureTooLarge as e:
        print(f"no picture written: {e}", file=sys.stderr)
        return 1
    print(
        f"wrote {png} ({layout.width}×{layout.height} px, {len(layout.nodes)} nodes, "
        f"layout: {layout.engine})"
    )
    return 0
