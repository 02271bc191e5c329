"""`clixen project list|create|use|add-member`: the CLI's project switcher."""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import cli_actor, cli_session_factory
from core.kernel.errors import NotFound
from core.kernel.vocabulary import Role


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
    member.add_argument("role", choices=[r.name for r in Role])
    member.set_defaults(func=_add_member)


def _list(args: argparse.Namespace) -> int:
    from core.workspace.projects import default_project, list_projects

    actor = cli_actor()
    with cli_session_factory() as factory, factory.begin() as session:
        active = default_project(session=session, team_id=actor.team_id, user_id=actor.user_id)
        for project, role in list_projects(
            session=session, team_id=actor.team_id, user_id=actor.user_id
        ):
            mark = "*" if project.id == active.id else " "
            print(f"{mark} {project.name}  ({role.name})")
    return 0


def _create(args: argparse.Namespace) -> int:
    from core.workspace.projects import create_project

    actor = cli_actor()
    with cli_session_factory() as factory, factory.begin() as session:
        project = create_project(
            session=session, team_id=actor.team_id, name=args.name, creator_user_id=actor.user_id
        )
        print(f"created project {project.name!r}; you are its owner")
    return 0


def _use(args: argparse.Namespace) -> int:
    from core.workspace.projects import switch_project

    actor = cli_actor()
    with cli_session_factory() as factory, factory.begin() as session:
        project = switch_project(
            session=session, team_id=actor.team_id, user_id=actor.user_id, name=args.name
        )
        print(f"active project: {project.name}")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    from core.workspace.projects import add_member, get_project_by_name

    actor = cli_actor()
    with cli_session_factory() as factory, factory.begin() as session:
        project = get_project_by_name(session=session, team_id=actor.team_id, name=args.name)
        if project is None:
            raise NotFound(f"There is no project called {args.name!r}.")
        member = add_member(
            session=session,
            project_id=project.id,
            actor_user_id=actor.user_id,
            user_id=args.user,
            role=Role.parse(args.role),
        )
        print(f"{member.user_id} is now {member.role} of {project.name!r}")
    return 0
