"""Projects, members, roles and the active project, on the real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import TelemetryEvent, User
from core.projects import (
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
        # A second user in the workspace gets their own default, not access to U1's.
        second = default_project(session=s, team_id=T, user_id="U2")
        assert second.id != first.id
        require_role(session=s, project_id=second.id, team_id=T, user_id="U2", at_least=Role.owner)


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
