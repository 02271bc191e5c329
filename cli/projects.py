"""`clixen project list|create|use|add-member|remove-member`: the CLI's project switcher, each
command one use case (`core.usecases.projects`, `core.usecases.dashboard`)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import cli_actor, cli_session_factory

ROLES = ("viewer", "editor", "owner")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("project", help="list, create and switch projects")
    psub = p.add_subparsers(dest="project_command", metavar="ACTION")
    psub.required = True
    ls = psub.add_parser("list", help="your projects (* marks the active one)")
    ls.set_defaults(func=_list)
    create = psub.add_parser("create", help="create a project (you become its owner)")
    create.add_argument("name")
    create.set_defaults(func=_create)
    use = psub.add_parser("use", help="make a project your active one (created if missing)")
    use.add_argument("name")
    use.set_defaults(func=_use)
    member = psub.add_parser("add-member", help="add a member or change their role (owners)")
    member.add_argument("name", help="project name")
    member.add_argument("user", help="user id, e.g. cli:alice or a Slack user id")
    member.add_argument("role", choices=ROLES)
    member.set_defaults(func=_add_member)
    remove = psub.add_parser(
        "remove-member", help="remove a member; they stay out until added back (owners)"
    )
    remove.add_argument("name", help="project name")
    remove.add_argument("user", help="user id, e.g. cli:alice or a Slack user id")
    remove.set_defaults(func=_remove_member)


def _list(args: argparse.Namespace) -> int:
    from core.usecases.dashboard import project_list

    with cli_session_factory() as factory:
        listed = project_list(factory, actor=cli_actor())
    for project in listed.projects:
        mark = "*" if project.id == listed.active.id else " "
        print(f"{mark} {project.name}  ({project.role.name})")
    return 0


def _create(args: argparse.Namespace) -> int:
    from core.usecases.projects import create_project

    with cli_session_factory() as factory:
        project = create_project(factory, actor=cli_actor(), name=args.name)
    print(f"created project {project.name!r}; you are its owner")
    return 0


def _use(args: argparse.Namespace) -> int:
    from core.usecases.dashboard import project_list

    with cli_session_factory() as factory:
        listed = project_list(factory, actor=cli_actor(), switch_to=args.name)
    print(f"active project: {listed.active.name}")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    from core.usecases.projects import set_member

    with cli_session_factory() as factory:
        done = set_member(
            factory, actor=cli_actor(), project=args.name, user_id=args.user, role=args.role
        )
    assert done.role is not None
    print(f"{done.user_id} is now {done.role.name} of {done.project!r}")
    return 0


def _remove_member(args: argparse.Namespace) -> int:
    from core.usecases.projects import remove_member

    with cli_session_factory() as factory:
        done = remove_member(factory, actor=cli_actor(), project=args.name, user_id=args.user)
    print(f"{done.user_id} is no longer a member of {done.project!r}")
    return 0
