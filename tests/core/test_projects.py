"""Projects, members, roles and the active project, on the real Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.models import Project, ProjectMember, TelemetryEvent, User
from core.workspace.projects import (
    Role,
    add_member,
    create_project,
    default_project,
    ensure_user,
    get_project_by_name,
    list_projects,
    remove_member,
    require_role,
    switch_project,
)

T = "T1"
T_ = TypeVar("T_")


def test_first_interaction_creates_user_once_and_records_signup(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        _, created = ensure_user(session=s, team_id=T, user_id="U1")
        _, again = ensure_user(session=s, team_id=T, user_id="U1")
    assert created and not again
    with session_factory() as s:
        signups = s.scalars(select(TelemetryEvent).where(TelemetryEvent.type == "signup")).all()
        assert [(e.team_id, e.user_id) for e in signups] == [(T, "U1")]


def test_creator_owns_project_and_names_are_unique_per_team(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        p = create_project(session=s, team_id=T, name="  Marketing ", creator_user_id="U1")
        assert p.name == "Marketing"
        member = require_role(
            session=s, project_id=p.id, team_id=T, user_id="U1", at_least=Role.owner
        )
        assert member.role == "owner"
        with pytest.raises(InvalidInput, match="already exists"):
            create_project(session=s, team_id=T, name="Marketing", creator_user_id="U2")
        # Another workspace may use the same name.
        other = create_project(session=s, team_id="T2", name="Marketing", creator_user_id="V1")
        assert other.id != p.id


@pytest.mark.parametrize("bad", ["", "   ", "x" * 81, "evil\nname", "tab\there", "zero\u200bwidth"])
def test_bad_project_names_are_refused(session_factory: sessionmaker[Session], bad: str) -> None:
    with session_factory.begin() as s, pytest.raises(InvalidInput):
        create_project(session=s, team_id=T, name=bad, creator_user_id="U1")


def test_roles_are_ordered_and_checked_server_side(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        p = create_project(session=s, team_id=T, name="ops", creator_user_id="owner")
        add_member(
            session=s, project_id=p.id, actor_user_id="owner", user_id="ed", role=Role.editor
        )
        add_member(
            session=s, project_id=p.id, actor_user_id="owner", user_id="vi", role=Role.viewer
        )
        assert require_role(
            session=s, project_id=p.id, team_id=T, user_id="ed", at_least=Role.editor
        )
        with pytest.raises(PermissionDenied, match="viewer"):
            require_role(session=s, project_id=p.id, team_id=T, user_id="vi", at_least=Role.editor)
        with pytest.raises(PermissionDenied, match="not a member"):
            require_role(
                session=s, project_id=p.id, team_id=T, user_id="stranger", at_least=Role.viewer
            )
        # Same user id in another workspace sees nothing.
        with pytest.raises(PermissionDenied, match="don't have access"):
            require_role(
                session=s, project_id=p.id, team_id="T2", user_id="owner", at_least=Role.viewer
            )
        # Only owners add members.
        with pytest.raises(PermissionDenied):
            add_member(session=s, project_id=p.id, actor_user_id="ed", user_id="x", role=Role.owner)
        # The last owner cannot demote themself.
        with pytest.raises(InvalidInput, match="at least one owner"):
            add_member(
                session=s, project_id=p.id, actor_user_id="owner", user_id="owner", role=Role.viewer
            )


def test_default_project_is_created_then_remembered(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        first = default_project(session=s, team_id=T, user_id="U1")
        assert first.name == "default"
        assert default_project(session=s, team_id=T, user_id="U1").id == first.id
        require_role(session=s, project_id=first.id, team_id=T, user_id="U1", at_least=Role.owner)
        # A later user of the workspace joins its "default" project as an editor.
        second = default_project(session=s, team_id=T, user_id="U2")
        assert second.id == first.id
        member = require_role(
            session=s, project_id=first.id, team_id=T, user_id="U2", at_least=Role.editor
        )
        assert member.role == "editor"
        # Another workspace has its own.
        other = default_project(session=s, team_id="T2", user_id="U2")
        assert other.id != first.id


def _at_once(n: int, work: Callable[[int], T_]) -> list[T_]:
    """Run `work(i)` for i in 0..n-1 on n threads released together; re-raises the first error."""
    barrier = threading.Barrier(n)

    def go(i: int) -> T_:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_new_users_asking_at_once_share_one_default_project(
    session_factory: sessionmaker[Session],
) -> None:
    n = 12

    def first_request(i: int) -> int:
        with session_factory.begin() as s:
            return default_project(session=s, team_id=T, user_id=f"U{i}").id

    ids = _at_once(n, first_request)
    assert len(set(ids)) == 1
    with session_factory() as s:
        projects = s.scalars(select(Project).where(Project.team_id == T)).all()
        assert [p.name for p in projects] == ["default"]
        roles = dict(
            s.execute(
                select(ProjectMember.user_id, ProjectMember.role).where(
                    ProjectMember.project_id == ids[0]
                )
            ).all()
        )
        assert sorted(roles) == sorted(f"U{i}" for i in range(n))
        assert sorted(roles.values()) == ["editor"] * (n - 1) + ["owner"]
        assert roles[projects[0].created_by] == "owner"
        users = s.scalars(select(User).where(User.team_id == T)).all()
        assert len(users) == n and all(u.last_project_id == ids[0] for u in users)


def test_one_user_arriving_many_times_at_once_is_created_and_signed_up_once(
    session_factory: sessionmaker[Session],
) -> None:
    def first_touch(_: int) -> tuple[int, bool]:
        with session_factory.begin() as s:
            user, created = ensure_user(session=s, team_id=T, user_id="U1")
            return user.id, created

    results = _at_once(10, first_touch)
    assert len({user_id for user_id, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    with session_factory() as s:
        signups = s.scalars(select(TelemetryEvent).where(TelemetryEvent.type == "signup")).all()
        assert len(signups) == 1


def test_two_users_switching_to_a_new_project_at_once(
    session_factory: sessionmaker[Session],
) -> None:
    """One creates it and owns it; the other is told it is not theirs (not "already exists")."""

    def switch(i: int) -> str:
        try:
            with session_factory.begin() as s:
                switch_project(session=s, team_id=T, user_id=f"U{i}", name="launch")
            return "ok"
        except PermissionDenied:
            return "denied"

    assert sorted(_at_once(2, switch)) == ["denied", "ok"]


def test_switch_remembers_last_active_project(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        a = create_project(session=s, team_id=T, name="alpha", creator_user_id="U1")
        b = switch_project(session=s, team_id=T, user_id="U1", name="beta")  # created on the fly
        assert default_project(session=s, team_id=T, user_id="U1").id == b.id
        switch_project(session=s, team_id=T, user_id="U1", name="alpha")
        assert default_project(session=s, team_id=T, user_id="U1").id == a.id
        user = s.scalar(select(User).where(User.team_id == T, User.user_id == "U1"))
        assert user is not None and user.last_project_id == a.id
        names = [(p.name, r) for p, r in list_projects(session=s, team_id=T, user_id="U1")]
        assert names == [("alpha", Role.owner), ("beta", Role.owner)]


def test_switching_into_someone_elses_project_is_denied(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        create_project(session=s, team_id=T, name="private", creator_user_id="U1")
        with pytest.raises(PermissionDenied):
            switch_project(session=s, team_id=T, user_id="U2", name="private")
        with pytest.raises(NotFound):
            switch_project(session=s, team_id=T, user_id="U2", name="nope", create_if_missing=False)
        assert get_project_by_name(session=s, team_id=T, name="nope") is None


def test_removed_member_falls_back_to_another_project(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        shared = create_project(session=s, team_id=T, name="shared", creator_user_id="boss")
        add_member(
            session=s, project_id=shared.id, actor_user_id="boss", user_id="U1", role=Role.editor
        )
        own = create_project(session=s, team_id=T, name="own", creator_user_id="U1")
        switch_project(session=s, team_id=T, user_id="U1", name="shared")
        remove_member(session=s, project_id=shared.id, actor_user_id="boss", user_id="U1")
        with pytest.raises(PermissionDenied):
            require_role(
                session=s, project_id=shared.id, team_id=T, user_id="U1", at_least=Role.viewer
            )
        assert default_project(session=s, team_id=T, user_id="U1").id == own.id


def test_member_removed_from_the_default_project_stays_removed(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        shared = default_project(session=s, team_id=T, user_id="boss")
        assert default_project(session=s, team_id=T, user_id="U1").id == shared.id
        remove_member(session=s, project_id=shared.id, actor_user_id="boss", user_id="U1")
    # Their next request does not put them back in.
    with (
        session_factory.begin() as s,
        pytest.raises(PermissionDenied, match=r"removed from project 'default'.*owners"),
    ):
        default_project(session=s, team_id=T, user_id="U1")
    with session_factory.begin() as s:
        with pytest.raises(PermissionDenied):
            require_role(
                session=s, project_id=shared.id, team_id=T, user_id="U1", at_least=Role.viewer
            )
        # A new member of the workspace still joins as an editor.
        assert default_project(session=s, team_id=T, user_id="U2").id == shared.id
        assert require_role(
            session=s, project_id=shared.id, team_id=T, user_id="U2", at_least=Role.editor
        )
        # A project of their own is where their requests go now.
        own = create_project(session=s, team_id=T, name="own", creator_user_id="U1")
        assert default_project(session=s, team_id=T, user_id="U1").id == own.id


def test_an_owner_can_add_a_removed_member_back(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        shared = default_project(session=s, team_id=T, user_id="boss")
        default_project(session=s, team_id=T, user_id="U1")
        remove_member(session=s, project_id=shared.id, actor_user_id="boss", user_id="U1")
        add_member(
            session=s, project_id=shared.id, actor_user_id="boss", user_id="U1", role=Role.viewer
        )
        assert default_project(session=s, team_id=T, user_id="U1").id == shared.id
        member = require_role(
            session=s, project_id=shared.id, team_id=T, user_id="U1", at_least=Role.viewer
        )
        assert member.role == "viewer"
        # Removed a second time: removed again.
        remove_member(session=s, project_id=shared.id, actor_user_id="boss", user_id="U1")
        with pytest.raises(PermissionDenied, match="removed from project 'default'"):
            default_project(session=s, team_id=T, user_id="U1")
