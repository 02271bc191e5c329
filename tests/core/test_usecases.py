"""Use cases decide what the front ends no longer do: which project an actor acts in, and which
role each action needs (real Postgres; no n8n, no LLM, no Slack)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.deploy import create_workflow_record
from core.kernel.errors import InvalidInput, NotFound, PermissionDenied
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.usecases import Actor
from core.usecases.dashboard import dashboard, project_list, workflows
from core.usecases.policy import change_node_types, node_policy
from core.usecases.projects import create_project, remove_member, set_member
from core.usecases.secrets import secret_form
from core.usecases.tokens import create_token
from core.usecases.versions import find_workflow_id, rollback_choice, versions

OWNER = Actor("T1", "U-owner")
VIEWER = Actor("T1", "U-viewer")
STRANGER = Actor("T2", "U-stranger")
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def shared(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    """Project "shared" of OWNER with VIEWER as a viewer, holding one workflow; (ids)."""
    project = create_project(session_factory, actor=OWNER, name="shared")
    set_member(
        session_factory, actor=OWNER, project="shared", user_id=VIEWER.user_id, role="viewer"
    )
    with session_factory.begin() as s:
        wf = create_workflow_record(
            session=s, project_id=project.id, name="Morning news", created_by=OWNER.user_id
        )
    return project.id, wf.id


def test_a_project_is_named_by_id_name_or_none_and_checked_each_time(
    session_factory: sessionmaker[Session], shared: tuple[int, int]
) -> None:
    project_id, workflow_id = shared
    assert (
        find_workflow_id(session_factory, actor=VIEWER, ref="Morning news", project="shared")
        == workflow_id
    )
    assert workflows(session_factory, actor=VIEWER, project="shared").project.role == Role.viewer
    board = dashboard(session_factory, settings=SETTINGS, actor=VIEWER, switch_to=project_id)
    assert board.page.project.name == "shared"
    # Switching is remembered: the viewer's active project is now "shared".
    assert project_list(session_factory, actor=VIEWER).active.name == "shared"
    with pytest.raises(NotFound, match="no project called 'nope'"):
        workflows(session_factory, actor=VIEWER, project="nope")
    # An id from another workspace reads like a missing project.
    with pytest.raises(PermissionDenied):
        dashboard(session_factory, settings=SETTINGS, actor=STRANGER, project_id=project_id)


def test_each_action_asks_for_its_own_role(
    session_factory: sessionmaker[Session], shared: tuple[int, int]
) -> None:
    _, workflow_id = shared
    assert versions(session_factory, actor=VIEWER, workflow_id=workflow_id).versions == []
    with pytest.raises(PermissionDenied, match="viewer"):
        rollback_choice(session_factory, actor=VIEWER, workflow_id=workflow_id)
    with pytest.raises(PermissionDenied, match="viewer"):
        create_token(session_factory, actor=VIEWER, project="shared", name="ci")
    assert create_token(session_factory, actor=OWNER, project="shared", name="ci").raw
    assert node_policy(session_factory, actor=VIEWER, project="shared").project == "shared"
    with pytest.raises(PermissionDenied, match="owner"):
        change_node_types(
            session_factory, actor=VIEWER, project="shared", types=["n8n-nodes-base.ssh"], deny=True
        )
    set_member(
        session_factory, actor=OWNER, project="shared", user_id=VIEWER.user_id, role="editor"
    )
    project_list(session_factory, actor=VIEWER, switch_to="shared")
    assert secret_form(session_factory, actor=VIEWER).project == "shared"
    with pytest.raises(InvalidInput, match="Unknown role"):
        set_member(session_factory, actor=OWNER, project="shared", user_id="U-x", role="admin")


def test_a_removed_member_is_out_until_added_back(
    session_factory: sessionmaker[Session], shared: tuple[int, int]
) -> None:
    with pytest.raises(PermissionDenied, match="owner"):
        remove_member(session_factory, actor=VIEWER, project="shared", user_id=OWNER.user_id)
    removed = remove_member(session_factory, actor=OWNER, project="shared", user_id=VIEWER.user_id)
    assert (removed.project, removed.role) == ("shared", None)
    with pytest.raises(PermissionDenied, match="not a member"):
        workflows(session_factory, actor=VIEWER, project="shared")
    with pytest.raises(InvalidInput, match="at least one owner"):
        remove_member(session_factory, actor=OWNER, project="shared", user_id=OWNER.user_id)
