"""`clixen pause|resume|rename|delete|runs-of|explain|digest`: owning a workflow from a terminal,
through the same use cases as Slack (`core.usecases.lifecycle`, `runs`, `explain`).

`deactivate` is `pause` and `activate` is `resume` under their older names."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.context import cli_actor, cli_n8n, cli_session_factory


def _workflow_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", help="workflow name or #id")
    p.add_argument("--project", "-p", help="project name (default: your active project)")


def register(sub: Any) -> None:
    for name, aliases, helptext, action in (
        ("pause", ["deactivate"], "stop a workflow running in n8n until resumed", "pause"),
        ("resume", ["activate"], "start a paused workflow again", "resume"),
        (
            "delete",
            [],
            "remove a workflow from n8n with its test copies (versions kept; an owner can "
            "`clixen restore` it for 30 days)",
            "delete",
        ),
    ):
        p = sub.add_parser(name, aliases=aliases, help=helptext)
        _workflow_args(p)
        p.set_defaults(func=_change, change=action)

    rn = sub.add_parser("rename", help="give a workflow a new name (here and in n8n)")
    _workflow_args(rn)
    rn.add_argument("name", help="the new name (quote it if it has spaces)")
    rn.set_defaults(func=_rename)

    runs = sub.add_parser(
        "runs-of", help="a workflow's last runs in n8n (status, start, duration, failed node)"
    )
    _workflow_args(runs)
    runs.add_argument("--limit", type=int, default=10, help="runs per page (1-50)")
    runs.add_argument("--cursor", help="page cursor printed by a previous `clixen runs-of`")
    runs.add_argument(
        "--execution", metavar="ID", help="open one run: the failed node and why, in plain words"
    )
    runs.add_argument(
        "--png", type=Path, help="with --execution: draw the run (failed node marked) here"
    )
    runs.set_defaults(func=_runs)

    ex = sub.add_parser("explain", help="what a workflow does: trigger, steps, where it posts")
    _workflow_args(ex)
    ex.add_argument(
        "--no-ai", action="store_true", help="no AI summary on top, even with an LLM configured"
    )
    ex.set_defaults(func=_explain)

    dg = sub.add_parser(
        "digest", help="a project's daily or weekly digest in a Slack channel (owners)"
    )
    dg.add_argument("every", choices=["daily", "weekly", "off"])
    dg.add_argument("--channel", help="the Slack channel's id (C0123ABCD)")
    dg.add_argument("--project", "-p", help="project name (default: your active project)")
    dg.set_defaults(func=_digest)


def _workflow_id(args: argparse.Namespace) -> int:
    from core.usecases.versions import find_workflow_id

    with cli_session_factory() as factory:
        return find_workflow_id(factory, actor=cli_actor(), ref=args.workflow, project=args.project)


def _change(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases import lifecycle

    change = {"pause": lifecycle.pause, "resume": lifecycle.resume, "delete": lifecycle.delete}
    with cli_session_factory() as factory, cli_n8n() as n8n:
        workflow_id = _workflow_id(args)
        extra = {"settings": get_settings()} if args.change == "resume" else {}
        done = change[args.change](
            factory, n8n=n8n, actor=cli_actor(), workflow_id=workflow_id, **extra
        )
    if not done.changed:
        state = "paused" if done.status == "inactive" else done.status
        print(f"#{done.workflow_id} {done.name!r} is already {state}; nothing changed.")
        return 0
    said = {
        "pause": "is paused: it does not run, is not repaired and sends no failure alerts "
        "until `clixen resume`",
        "resume": "is running again in n8n",
        "delete": "is deleted from n8n"
        + (f" with {done.test_copies_deleted} test copies" if done.test_copies_deleted else "")
        + f"; its versions are kept (a project owner can `clixen restore #{done.workflow_id}` "
        "for 30 days)",
    }[args.change]
    print(f"#{done.workflow_id} {done.name!r} {said}")
    return 0


def _rename(args: argparse.Namespace) -> int:
    from core.usecases.lifecycle import rename

    with cli_session_factory() as factory, cli_n8n() as n8n:
        done = rename(
            factory, n8n=n8n, actor=cli_actor(), workflow_id=_workflow_id(args), name=args.name
        )
    if not done.changed:
        print(f"#{done.workflow_id} is already called {done.name!r}; nothing changed.")
    else:
        print(f"#{done.workflow_id} {done.previous_name!r} is now called {done.name!r}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.runs import failed_run, runs_of

    with cli_session_factory() as factory, cli_n8n() as n8n:
        workflow_id = _workflow_id(args)
        if args.execution is not None:
            run = failed_run(
                factory,
                n8n=n8n,
                settings=get_settings(),
                actor=cli_actor(),
                workflow_id=workflow_id,
                execution_id=str(args.execution),
            )
        else:
            page = runs_of(
                factory,
                n8n=n8n,
                settings=get_settings(),
                actor=cli_actor(),
                workflow_id=workflow_id,
                cursor=args.cursor,
                limit=args.limit,
            )
    if args.execution is not None:
        print(f"#{run.workflow_id} {run.name!r} execution {run.execution_id}")
        print(f"  {run.plain}")
        print(f"  n8n said: {run.message}")
        if run.url:
            print(f"  {run.url}")
        if args.png is not None:
            from core.graph import render_png

            args.png.write_bytes(render_png(run.picture))
            print(f"  wrote {args.png}")
        return 0
    print(f"runs of #{page.workflow_id} {page.name!r}, newest first")
    if not page.deployed:
        print("  (not in n8n: never deployed, or deleted)")
    elif not page.runs:
        print("  (no runs yet)")
    for r in page.runs:
        started = f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-"
        took = f"{r.duration_s:.1f}s" if r.duration_s is not None else "running"
        line = f"  {r.execution_id:>8}  {r.status:<8} {started}  {took:>8}  {r.mode or ''}"
        print(line.rstrip())
        if r.failed:
            print(f"            failed at {r.failed_node or '?'}: {r.error or 'no reason given'}")
    if page.next_cursor:
        print(f"more: clixen runs-of {args.workflow!r} --cursor {page.next_cursor}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from core.kernel.settings import get_settings
    from core.usecases.explain import explain, explain_workflow

    with cli_session_factory() as factory:
        workflow_id = _workflow_id(args)
        use = explain if args.no_ai else explain_workflow
        expl = use(factory, settings=get_settings(), actor=cli_actor(), workflow_id=workflow_id)
    print(f"#{expl.workflow_id} {expl.name!r} v{expl.version}")
    if expl.summary:
        print(f"  {expl.summary}")
    elif expl.summary_note:
        print(f"  ({expl.summary_note})")
    for sentence in expl.sentences:
        print(f"  {sentence}")
    print("steps:")
    for i, step in enumerate(expl.steps, 1):
        print(f"  {i}. {step.node}: {step.words}")
    print("flow:")
    for line in expl.outline:
        print(f"  {line}")
    return 0


def _digest(args: argparse.Namespace) -> int:
    from core.usecases.digest import set_digest

    with cli_session_factory() as factory:
        done = set_digest(
            factory,
            actor=cli_actor(),
            project=args.project,
            every=args.every,
            channel=args.channel,
        )
    if done.every is None:
        print(f"The digest of project {done.project} is off.")
    else:
        print(f"A {done.every} digest of project {done.project} goes to channel {done.channel}.")
    return 0
