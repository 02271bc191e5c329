"""`clixen list|deploy|versions|rollback|diff`: workflows and their versions
from a terminal, through the same core functions as Slack (no LLM needed)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import cli_actor, cli_n8n, cli_session_factory, read_workflow_file

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def register(sub: Any) -> None:
    ls = sub.add_parser("list", help="workflows of a project, newest first (paged)")
    ls.add_argument("--project", "-p", help="project name (default: your active project)")
    ls.add_argument("--cursor", help="page cursor printed by a previous `clixen list`")
    ls.add_argument("--limit", type=int, default=10, help="workflows per page (1-100)")
    ls.add_argument(
        "--deleted", action="store_true", help="also list deleted workflows (restorable)"
    )
    ls.set_defaults(func=_list)

    dep = sub.add_parser("deploy", help="validate and deploy a workflow JSON file (no LLM)")
    dep.add_argument("file", type=Path, help="n8n workflow JSON file")
    dep.add_argument("--project", "-p", help="project name (default: your active project)")
    dep.add_argument(
        "--name",
        "-n",
        help="workflow name (default: the JSON's name); an existing name gets a new version",
    )
    dep.set_defaults(func=_deploy)

    ver = sub.add_parser("versions", help="version history of a workflow")
    ver.add_argument("workflow", help="workflow name or #id")
    ver.add_argument("--project", "-p")
    ver.set_defaults(func=_versions)

    rb = sub.add_parser("rollback", help="redeploy an earlier version as the new head")
    rb.add_argument("workflow", help="workflow name or #id")
    rb.add_argument("--to", type=int, required=True, metavar="N", help="version to restore")
    rb.add_argument("--project", "-p")
    rb.set_defaults(func=_rollback)

    df = sub.add_parser("diff", help="what changed between two versions")
    df.add_argument("workflow", help="workflow name or #id")
    df.add_argument("a", type=int, help="older version")
    df.add_argument("b", type=int, help="newer version")
    df.add_argument("--project", "-p")
    df.set_defaults(func=_diff)

    rs = sub.add_parser(
        "restore", help="bring a deleted workflow back in n8n from its last version (owners)"
    )
    rs.add_argument("workflow", help="workflow name or #id (see `clixen list --deleted`)")
    rs.add_argument("--project", "-p")
    rs.set_defaults(func=_restore)


def _progress(line: str) -> None:
    print(f"  … {line}", flush=True)


def _list(args: argparse.Namespace) -> int:
    from core.usecases.dashboard import workflows

    with cli_session_factory() as factory:
        page = workflows(
            factory,
            actor=cli_actor(),
            project=args.project,
            limit=args.limit,
            cursor=args.cursor,
            include_deleted=args.deleted,
        )
    name = page.project.name
    print(f"project {name}:")
    if not page.workflows:
        print("  (no workflows yet)")
    for wf in page.workflows:
        head = f"v{wf.head_version}" if wf.head_version else "-"
        print(f"  #{wf.id:<5} {wf.name[:50]:<50} {wf.status:<9} {head}")
    more = " --deleted" if args.deleted else ""
    if page.prev_cursor:
        print(f"newer: clixen list -p {name!r}{more} --cursor {page.prev_cursor}")
    if page.next_cursor:
        print(f"older: clixen list -p {name!r}{more} --cursor {page.next_cursor}")
    if args.deleted and any(wf.status == "deleted" for wf in page.workflows):
        print("restore a deleted one (project owners): clixen restore #ID")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.workflows import deploy_workflow_json

    payload = read_workflow_file(args.file)
    name = (args.name or str(payload.get("name") or args.file.stem)).strip()
    with cli_session_factory() as factory, cli_n8n() as n8n:
        done = deploy_workflow_json(
            factory,
            n8n=n8n,
            settings=get_settings(),
            actor=cli_actor(),
            project=args.project,
            name=name,
            payload=payload,
            progress=_progress,
        )
    if done.created:
        print(f"new workflow #{done.workflow_id} {done.name!r} in project {done.project!r}")
    else:
        print(f"workflow #{done.workflow_id} {done.name!r}: a new version")
    print(f"deployed v{done.version} (n8n id {done.n8n_workflow_id or '?'})")
    return 0


def _workflow_id(
    factory: sessionmaker[Session], args: argparse.Namespace, *, include_deleted: bool = False
) -> int:
    from core.usecases.versions import find_workflow_id

    return find_workflow_id(
        factory,
        actor=cli_actor(),
        ref=args.workflow,
        project=args.project,
        include_deleted=include_deleted,
    )


def _versions(args: argparse.Namespace) -> int:
    from core.usecases.versions import versions

    with cli_session_factory() as factory:
        workflow_id = _workflow_id(factory, args, include_deleted=True)
        history = versions(factory, actor=cli_actor(), workflow_id=workflow_id)
    wf = history.workflow
    deleted = wf.status == "deleted"
    print(f"workflow #{wf.id} {wf.name!r}" + (" (deleted)" if deleted else ""))
    if not history.versions:
        print("  (no versions yet)")
    for v in history.versions:
        when = v.created_at.strftime("%Y-%m-%d %H:%M")
        source = v.source + (f" of v{v.rolled_back_from}" if v.rolled_back_from else "")
        line = f"  v{v.version:<4} · {when} · {source:<16} · {v.created_by} · {v.status}"
        print(line)
        if v.status == "failed" and v.error:
            # The whole reason, on its own line: a cut one hides what to do.
            print(f"        why: {' '.join(v.error.split())[:600]}")
    for e in history.events:
        detail = f" ({e.detail})" if e.detail else ""
        print(f"  {e.kind}{detail} by {e.actor} · {e.created_at:%Y-%m-%d %H:%M}")
    if history.reviews:
        from cli.reviews import row_line

        print("reviews (review before live):")
        for r in history.reviews:
            print(f"  {row_line(r)}")
    if deleted:
        print(f"bring it back (project owners, 30 days): clixen restore #{wf.id}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.versions import restore

    print(f"restoring {args.workflow!r}")
    with cli_session_factory() as factory, cli_n8n() as n8n:
        done = restore(
            factory,
            n8n=n8n,
            settings=get_settings(),
            actor=cli_actor(),
            ref=args.workflow,
            project=args.project,
            progress=_progress,
        )
    print(
        f"#{done.workflow_id} {done.name!r} is back: v{done.version} (v{done.from_version}'s "
        f"workflow) is active (n8n id {done.n8n_workflow_id or '?'})"
    )
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.versions import RollbackWaits, roll_back

    with cli_session_factory() as factory, cli_n8n() as n8n:
        workflow_id = _workflow_id(factory, args)
        print(f"rolling back #{workflow_id} {args.workflow!r} to v{args.to}")
        done = roll_back(
            factory,
            n8n=n8n,
            settings=get_settings(),
            actor=cli_actor(),
            workflow_id=workflow_id,
            version=args.to,
            idempotency_prefix=None,  # each command is a new request
        )
    if isinstance(done, RollbackWaits):
        print(
            f"v{done.new_version} (v{args.to}'s workflow) waits for a project owner's approval "
            f"(review #{done.review_id}: clixen reviews show {done.review_id}); nothing changed "
            "in n8n until then"
        )
        return 0
    print(f"v{done.new_version} now runs v{args.to}'s workflow")
    return 0


def _diff(args: argparse.Namespace) -> int:
    from core.usecases.versions import version_changes

    with cli_session_factory() as factory:
        workflow_id = _workflow_id(factory, args, include_deleted=True)
        diff = version_changes(
            factory,
            actor=cli_actor(),
            workflow_id=workflow_id,
            from_version=args.a,
            to_version=args.b,
        )
    print(f"#{workflow_id} {args.workflow!r} v{args.a} → v{args.b}: {diff.summary()}")
    for line in diff.lines():
        print(f"  {line}")
    return 0
