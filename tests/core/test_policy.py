"""Node policy: the default denylist, per-project adjustments, and who may change them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.errors import InvalidInput, PermissionDenied
from core.kernel.models import Project, ProjectMember
from core.workspace.policy import (
    DEFAULT_DENYLIST,
    NodePolicy,
    policy_for_project,
    set_project_policy,
)


def make_project(session: Session) -> int:
    project = Project(team_id="T1", name="Ops", created_by="U_OWNER")
    session.add(project)
    session.flush()
    session.add_all(
        [
            ProjectMember(project_id=project.id, user_id="U_OWNER", role="owner"),
            ProjectMember(project_id=project.id, user_id="U_EDITOR", role="editor"),
        ]
    )
    session.flush()
    return project.id


def test_default_denies_host_nodes_with_reasons() -> None:
    policy = NodePolicy.default()
    for t in (
        "n8n-nodes-base.executeCommand",
        "n8n-nodes-base.ssh",
        "n8n-nodes-base.readWriteFile",
    ):
        assert policy.is_denied(t)
        assert policy.why(t) == DEFAULT_DENYLIST[t]
    assert not policy.is_denied("n8n-nodes-base.code")
    assert not policy.is_denied("n8n-nodes-base.httpRequest")


def test_project_policy_adjusts_the_default(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        pid = make_project(session)
        assert policy_for_project(session=session, project_id=pid).denied == frozenset(
            DEFAULT_DENYLIST
        )
        set_project_policy(
            session=session,
            project_id=pid,
            actor_user_id="U_OWNER",
            deny=["n8n-nodes-base.ftp"],
            allow=["n8n-nodes-base.git"],
        )
    with session_factory.begin() as session:
        policy = policy_for_project(session=session, project_id=pid)
        assert policy.is_denied("n8n-nodes-base.ftp")
        assert "owner" in policy.why("n8n-nodes-base.ftp")
        assert not policy.is_denied("n8n-nodes-base.git")
        assert policy.is_denied("n8n-nodes-base.ssh")


def test_only_owners_change_the_policy(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        pid = make_project(session)
        for user in ("U_EDITOR", "U_STRANGER"):
            with pytest.raises(PermissionDenied):
                set_project_policy(
                    session=session, project_id=pid, actor_user_id=user, allow=["x.y"]
                )
        with pytest.raises(InvalidInput):
            set_project_policy(
                session=session,
                project_id=pid,
                actor_user_id="U_OWNER",
                deny=[""],
            )
        assert policy_for_project(session=session, project_id=pid).denied == frozenset(
            DEFAULT_DENYLIST
        )
