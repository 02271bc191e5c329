"""The API's handlers called alone, without HTTP: the same rules as through the routes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api import handlers
from api.handlers import ApiDeps
from core.deploy import create_workflow_record
from core.kernel.errors import NotFound, PermissionDenied
from core.kernel.settings import Settings
from core.kernel.vocabulary import Role
from core.n8n import N8nClient
from core.workspace import api_tokens
from core.workspace.projects import add_member, create_project


def _deps(factory: sessionmaker[Session]) -> ApiDeps:
    # Nothing here reaches n8n; a client factory that points nowhere proves it.
    return ApiDeps(
        session_factory=factory,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        n8n_factory=lambda: N8nClient("http://127.0.0.1:9", "unused"),
    )


def _project(factory: sessionmaker[Session], team: str, owner: str) -> tuple[int, str]:
    with factory.begin() as s:
        project = create_project(session=s, team_id=team, name="alpha", creator_user_id=owner)
        s.flush()
        token = api_tokens.create_token(
            session=s, project_id=project.id, name="t", created_by=owner
        )
        return project.id, token.raw


def test_list_workflows_sees_only_the_tokens_project(
    session_factory: sessionmaker[Session],
) -> None:
    deps = _deps(session_factory)
    a, token_a = _project(session_factory, "T1", "U-a")
    b, _ = _project(session_factory, "T2", "U-b")
    with session_factory.begin() as s:
        create_workflow_record(session=s, project_id=a, name="mine", created_by="U-a")
        create_workflow_record(session=s, project_id=b, name="theirs", created_by="U-b")
    page = handlers.list_workflows(deps, authorization=f"Bearer {token_a}", limit=10, cursor=None)
    assert [w["name"] for w in page["items"]] == ["mine"]


def test_a_token_without_bearer_or_unknown_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    deps = _deps(session_factory)
    _, token = _project(session_factory, "T1", "U-a")
    for header in (token, "Basic abc", "Bearer nope", ""):
        with pytest.raises(api_tokens.InvalidToken):
            handlers.list_workflows(deps, authorization=header, limit=10, cursor=None)


def test_another_projects_workflow_is_not_found(session_factory: sessionmaker[Session]) -> None:
    deps = _deps(session_factory)
    _, token_a = _project(session_factory, "T1", "U-a")
    b, _ = _project(session_factory, "T2", "U-b")
    with session_factory.begin() as s:
        other = create_workflow_record(session=s, project_id=b, name="theirs", created_by="U-b").id
    with pytest.raises(NotFound):
        handlers.list_versions(deps, authorization=f"Bearer {token_a}", workflow_id=other)
    with pytest.raises(NotFound):
        handlers.rollback_caller(deps, authorization=f"Bearer {token_a}", workflow_id=other)


def test_rollback_needs_a_token_whose_creator_is_still_an_editor(
    session_factory: sessionmaker[Session],
) -> None:
    deps = _deps(session_factory)
    a, _ = _project(session_factory, "T1", "U-a")
    with session_factory.begin() as s:
        add_member(
            session=s, project_id=a, actor_user_id="U-a", user_id="U-viewer", role=Role.viewer
        )
        viewer_token = api_tokens.create_token(
            session=s, project_id=a, name="v", created_by="U-viewer"
        ).raw
        wf = create_workflow_record(session=s, project_id=a, name="w", created_by="U-a").id
    with pytest.raises((api_tokens.InvalidToken, PermissionDenied)):
        handlers.rollback_caller(deps, authorization=f"Bearer {viewer_token}", workflow_id=wf)
    listed = handlers.list_versions(deps, authorization=f"Bearer {viewer_token}", workflow_id=wf)
    assert listed["workflow"]["name"] == "w" and listed["items"] == []


def test_deps_need_exactly_one_way_to_reach_n8n(session_factory: sessionmaker[Session]) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        ApiDeps(session_factory=session_factory, settings=settings)
